//! Bawaba: an SMS/USSD e-services gateway.
//!
//! Dependencies point inward: `engine` knows nothing of `smpp`, `store`,
//! sockets or sled. `charset` is shared arithmetic about what fits on a
//! phone screen. Only the runtime wiring knows every part.

pub mod admin;
pub mod app;
pub mod backend;
pub mod charset;
pub mod config;
pub mod engine;
pub mod files;
pub mod logging;
pub mod metrics;
pub mod msisdn;
pub mod notify;
pub mod outbox;
pub mod runtime;
pub mod shards;
pub mod smpp;
pub mod store;
pub mod tls;
