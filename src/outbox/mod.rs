//! The durable outbound SMS queue (MT) and delivery receipts.
//!
//! Owns: routing an MT to an operator, encoding and splitting it per that
//! operator, the per-operator sender loops over the store's leased queue,
//! the retry policy, recording receipts and answering `status`.
//! Must not: open sockets (the session layer's `Operator` does), keep
//! unbounded work in memory (claims are bounded by what the binds can take),
//! or log a message body at info (MSISDNs only masked).
//!
//! # Delivery contract: at-least-once
//! `enqueue` returns once the MT is on disk. An MT leaves the queue only
//! after the SMSC accepted every part and the ids were recorded. When the
//! link dies with a submit in flight (`Unknown`), after a crash between
//! submit_sm_resp and `complete`, or when a lease expires with the sender
//! still holding the MT, it is sent again: the citizen may get it twice
//! (parts already accepted are not resent on a retry of the same process).
//! It is never dropped without a `Failed` status saying why.

pub mod encode;
pub mod receipts;
pub mod retry;
pub mod routing;
pub mod status;

use serde::{Deserialize, Serialize};

use crate::msisdn::Msisdn;
use crate::store;

pub use encode::{PartSpec, TextPolicy};
pub use retry::RetryPolicy;
pub use routing::Routes;
pub use status::SmsStatus;

/// An MT to send.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutboundSms {
    pub to: Msisdn,
    /// The short code (or sender name) it comes from.
    pub from: String,
    pub text: String,
    /// `None`: routed by the operators' `msisdn_prefixes`.
    pub operator: Option<String>,
    /// 0 interactive (a citizen waits for it), 1 normal, 2 (or more) bulk.
    pub priority: u8,
}

/// Why the outbox refused or could not do something.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("no operator serves {0} (no msisdn_prefixes entry matches)")]
    NoRoute(Msisdn),
    #[error("no operator named {0:?}")]
    UnknownOperator(String),
    #[error("the text cannot be sent: {0}")]
    Text(#[from] crate::smpp::text::Error),
    #[error("the sender {0:?} is not a valid source address (1 to 20 printable ASCII characters)")]
    BadSource(String),
    #[error("not a delivery receipt (esm_class message type is not 0x04)")]
    NotAReceipt,
    #[error("malformed delivery receipt: {0}")]
    MalformedReceipt(&'static str),
    #[error(transparent)]
    Store(#[from] store::Error),
}

/// The queued form of an MT (the store's opaque payload).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Payload {
    pub to: String,
    pub from: String,
    pub text: String,
    pub operator: String,
}

impl Payload {
    pub fn encode(&self) -> Vec<u8> {
        serde_json::to_vec(self).unwrap_or_default()
    }
    pub fn decode(bytes: &[u8]) -> Option<Payload> {
        serde_json::from_slice(bytes).ok()
    }
}
