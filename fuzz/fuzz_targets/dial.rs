//! USSD dial strings on arbitrary text: never a panic; anything accepted
//! is at most one USSD string long, prints in canonical form and parses
//! back to the same dial; an error's offset lies inside the text; the
//! shortcut split of a dial against its own service code is its parts.
#![no_main]

use bawaba::engine::dial::{self, DialError, MAX_LEN};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(raw) = std::str::from_utf8(data) else {
        return;
    };
    match dial::parse(raw) {
        Ok(d) => {
            let canonical = d.canonical();
            assert!(canonical.len() <= MAX_LEN, "{canonical}");
            assert!(canonical
                .bytes()
                .all(|b| b.is_ascii_digit() || b == b'*' || b == b'#'));
            assert_eq!(dial::parse(&canonical).as_ref(), Ok(&d), "{raw:?}");
            assert!(d.parts.iter().all(|p| !p.is_empty()));
            assert_eq!(dial::split_shortcut(raw, &d.code), Some(d.parts.clone()));
        }
        Err(DialError::EmptyPart { offset } | DialError::Junk { offset }) => {
            // Offsets are into the normalised text, which is never longer
            // than the input in characters, nor than one USSD string.
            assert!(
                offset <= raw.len() && offset <= MAX_LEN * 4,
                "{raw:?} {offset}"
            );
        }
        // Normalising never lengthens the text; the canonical form may add a '#'.
        Err(DialError::TooLong) => assert!(raw.chars().count() >= MAX_LEN, "{raw:?}"),
        Err(DialError::Empty | DialError::NoPrefix) => {}
    }
});
