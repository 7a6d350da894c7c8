//! What an HTTP answer means for a flow: the one mapping from status,
//! body and transport errors to `engine::Outcome`, and which failures are
//! worth another attempt or count against the circuit breaker.

use crate::engine::Outcome;

/// Why a call produced no answer. Each is `Outcome::Failed` except
/// `Timeout`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Failure {
    /// The back-end or operation is not in the configuration.
    Unknown,
    /// The request could not be built: a parameter is missing, would be a
    /// `.`/`..`/empty path segment, or is not a valid header value.
    Request,
    /// The back-end's concurrency limit is reached (fail fast).
    Busy,
    /// The circuit breaker is open: nothing was sent.
    Open,
    /// Connecting, TLS, or reading the answer failed.
    Transport,
    /// A status that is neither 2xx nor "not found" (3xx included: no
    /// redirect is followed).
    Status(u16),
    /// A 2xx whose body is not a JSON object.
    Malformed,
    /// The answer was larger than `max_response_bytes`.
    TooLarge,
    /// The call's deadline passed.
    Timeout,
}

impl Failure {
    pub fn outcome(self) -> Outcome {
        match self {
            Failure::Timeout => Outcome::Timeout,
            _ => Outcome::Failed,
        }
    }

    /// Worth another attempt (for an idempotent operation): the back-end
    /// may answer differently in a moment.
    pub fn retryable(self) -> bool {
        match self {
            Failure::Transport => true,
            Failure::Status(s) => s == 429 || (500..=599).contains(&s),
            _ => false,
        }
    }

    /// Says the back-end is unhealthy (opens the breaker): a 4xx is about
    /// the request, not the back-end.
    pub fn unhealthy(self) -> bool {
        match self {
            Failure::Transport | Failure::Malformed | Failure::TooLarge | Failure::Timeout => true,
            Failure::Status(s) => s == 429 || s >= 500,
            Failure::Unknown | Failure::Request | Failure::Busy | Failure::Open => false,
        }
    }

    /// A short, fixed reason for logs (never request or answer content).
    pub fn reason(self) -> &'static str {
        match self {
            Failure::Unknown => "unknown back-end or operation",
            Failure::Request => "request could not be built",
            Failure::Busy => "concurrency limit reached",
            Failure::Open => "circuit breaker open",
            Failure::Transport => "connection failed",
            Failure::Status(_) => "error status",
            Failure::Malformed => "answer is not a JSON object",
            Failure::TooLarge => "answer larger than max_response_bytes",
            Failure::Timeout => "deadline exceeded",
        }
    }
}

/// An answer the back-end gave.
#[derive(Debug, Clone, PartialEq)]
pub enum Answer {
    Found(serde_json::Value),
    NotFound,
}

/// Status and body -> answer or failure. `not_found` lists the statuses
/// that mean "no such record" for this operation.
pub fn classify(status: u16, body: &[u8], not_found: &[u16]) -> Result<Answer, Failure> {
    if not_found.contains(&status) {
        return Ok(Answer::NotFound);
    }
    if !(200..=299).contains(&status) {
        return Err(Failure::Status(status));
    }
    if body.is_empty() && status == 204 {
        return Ok(Answer::Found(serde_json::Value::Object(Default::default())));
    }
    match serde_json::from_slice::<serde_json::Value>(body) {
        Ok(v @ serde_json::Value::Object(_)) => Ok(Answer::Found(v)),
        _ => Err(Failure::Malformed),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_and_bodies_map_to_outcomes() {
        let nf = [404];
        assert_eq!(
            classify(200, br#"{"a":"1"}"#, &nf),
            Ok(Answer::Found(serde_json::json!({"a": "1"})))
        );
        assert_eq!(classify(404, b"{}", &nf), Ok(Answer::NotFound));
        assert_eq!(classify(403, b"{}", &[403, 404]), Ok(Answer::NotFound));
        assert_eq!(classify(403, b"{}", &nf), Err(Failure::Status(403)));
        assert_eq!(classify(302, b"", &nf), Err(Failure::Status(302)));
        assert_eq!(classify(200, br#"{"a":"#, &nf), Err(Failure::Malformed));
        assert_eq!(classify(200, b"[1]", &nf), Err(Failure::Malformed));
        assert!(matches!(classify(204, b"", &nf), Ok(Answer::Found(_))));
        assert!(Failure::Status(503).retryable() && !Failure::Status(400).retryable());
        assert!(!Failure::Malformed.retryable() && Failure::Malformed.unhealthy());
        assert!(!Failure::Status(403).unhealthy());
        assert_eq!(Failure::Timeout.outcome(), Outcome::Timeout);
        assert_eq!(Failure::Open.outcome(), Outcome::Failed);
    }
}
