//! The gateway configuration (TOML) on arbitrary text: never a panic; a
//! refused text comes back as problems only, each naming the file and a
//! line and column inside the text; and checking is deterministic (the
//! same text gives the same problems, in the same order).
#![no_main]

use bawaba::config::{Config, Error};
use libfuzzer_sys::fuzz_target;

const PATH: &str = "fuzz.toml";

fn problems(text: &str) -> Option<Vec<String>> {
    match Config::from_str(text, PATH) {
        Ok(_) => None,
        Err(Error::Invalid(problems)) => {
            assert!(!problems.is_empty());
            let lines = text.lines().count() + 1;
            for p in &problems {
                assert_eq!(p.file, PATH);
                assert!(p.line >= 1 && p.line <= lines, "{p} is outside the text");
                assert!(p.column >= 1, "{p}");
                assert!(!p.message.is_empty(), "{p}");
            }
            Some(problems.iter().map(|p| p.to_string()).collect())
        }
        Err(e) => panic!("from_str reads nothing, so it cannot fail to read: {e}"),
    }
}

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let first = problems(text);
    assert_eq!(problems(text), first);
});
