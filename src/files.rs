//! Reading operator-written files (configuration, secrets, flows) with a
//! size cap: a file is read whole into memory, so its size is bounded
//! before it is read, never after.

use std::io::{self, Read};
use std::path::Path;

/// The text of `path`, refusing a file over `max` bytes without reading
/// more than `max + 1` of it.
pub fn read_capped(path: &Path, max: u64) -> io::Result<String> {
    let mut text = String::new();
    std::fs::File::open(path)?
        .take(max + 1)
        .read_to_string(&mut text)?;
    if text.len() as u64 > max {
        let msg = format!(
            "larger than {} KiB, the most this file may have",
            max / 1024
        );
        return Err(io::Error::new(io::ErrorKind::InvalidData, msg));
    }
    Ok(text)
}

#[cfg(test)]
mod tests {
    use super::read_capped;

    #[test]
    fn reads_up_to_the_cap_and_refuses_beyond() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("f");
        std::fs::write(&p, "x".repeat(2048)).unwrap();
        assert_eq!(read_capped(&p, 2048).unwrap().len(), 2048);
        let e = read_capped(&p, 1024).unwrap_err();
        assert_eq!(e.kind(), std::io::ErrorKind::InvalidData);
        assert!(e.to_string().contains("larger than 1 KiB"), "{e}");
        assert!(read_capped(&dir.path().join("missing"), 1024).is_err());
    }
}
