//! The audit record of one API request: who, what, which message, the
//! outcome and when. Never the text; the number masked. Appended through
//! the [`Port`](super::Port) (durable, hash-chained by the store).

use serde::Serialize;

/// One request, as audited.
#[derive(Debug, Serialize)]
pub(super) struct Record {
    /// Wall-clock ms since the epoch.
    pub at: u64,
    /// The authenticated client; `None` when authentication failed.
    pub client: Option<String>,
    /// `send` or `status`.
    pub action: &'static str,
    pub peer: String,
    pub id: Option<String>,
    /// The HTTP status answered.
    pub status: u16,
    /// A refusal's code (`unauthorized`, `rate_limited`, `invalid_field`...).
    pub code: Option<&'static str>,
    /// The masked destination (`964********67`).
    pub to: Option<String>,
    pub template: Option<String>,
    pub reference: Option<String>,
    /// True when an Idempotency-Key matched an earlier message.
    pub replay: bool,
}

impl Record {
    pub fn new(action: &'static str, peer: std::net::IpAddr) -> Record {
        Record {
            at: now_ms(),
            client: None,
            action,
            peer: peer.to_string(),
            id: None,
            status: 0,
            code: None,
            to: None,
            template: None,
            reference: None,
            replay: false,
        }
    }

    pub fn encode(&self) -> Vec<u8> {
        serde_json::to_vec(self).unwrap_or_default()
    }
}

pub(super) fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}
