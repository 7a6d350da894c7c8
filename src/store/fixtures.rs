//! Test fixtures shared by the store's unit tests (src/store/tests.rs) and
//! tests/store_sled.rs, which include this file by `#[path]`: it is part of
//! no build but theirs. The including module has the store types in scope.

use super::*;

pub fn key(s: &str) -> SessionKey {
    SessionKey(s.as_bytes().to_vec())
}

pub fn mt(priority: Priority, due: u64, body: &str) -> NewOutbound {
    NewOutbound {
        priority,
        due_at: Timestamp(due),
        payload: body.as_bytes().to_vec(),
        lease_until: None,
        unless_sent: None,
    }
}
