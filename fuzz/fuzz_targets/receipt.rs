//! The delivery receipt parser and message-id normalisation on arbitrary
//! bytes: never a panic, and a parsed receipt always has an id.
#![no_main]

use bawaba::smpp::receipt;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(r) = receipt::parse_bytes(data) {
        assert!(!r.id.is_empty());
        let _ = receipt::normalize_message_id(&r.id);
    }
    if let Ok(s) = std::str::from_utf8(data) {
        let _ = receipt::parse(s);
    }
});
