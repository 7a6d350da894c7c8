//! SMPP 3.4 ESME: the pure codec (`pdu`, `codec`, `text`, `receipt`) and the
//! tokio bind session (`session`). Everything but `session` does no I/O.

pub mod codec;
pub mod pdu;
pub mod receipt;
pub mod session;
pub mod text;
