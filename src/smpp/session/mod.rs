//! The tokio bind session layer (ESME side): one task per SMPP bind; an
//! [`Operator`] owns every bind of one SMSC account and spreads submits
//! over the binds that are up and have window room.
//!
//! * `bind`: the task: connect, bind, run the link, reconnect with backoff.
//! * `link`: one bound connection: a single `select!` over the socket, the
//!   shared submit queue, inbound answers, timers and the cancel token.
//! * `window`, `throttle`, `backoff`: the pure parts (no I/O, no clock).
//! * `inbound`: deliver_sm / data_sm for the application, and `Responder`.
//! * `operator`: the public handle.
//!
//! Must not: know about flows, the store or HTTP; log a password or a
//! message body at info; hold anything unbounded.
//!
//! ## Using it
//! * `Operator::start(cfg, inbound_tx, shutdown)` spawns the binds (inside
//!   a tokio runtime) and returns at once; `wait_bound` / `wait_all_bound`
//!   wait for them. `binds` transceivers, or `binds` transmitter+receiver
//!   pairs with `bind_mode = "tx_rx"`.
//! * `submit` waits for a bind with window room and a TPS token, at most
//!   `Options::submit_wait` (30 s) for one to take the message (else
//!   `NotBound`), then for the answer (bounded by `response_timeout`).
//!   `Unknown` = sent but unanswered (link died, or the response timer
//!   fired; the slot is freed, the link is kept: enquire_link decides
//!   whether it is dead). `Rejected { temporary: true }` carries
//!   `retry_after()`; ESME_RTHROTTLED is retried here (pause 1 s, rate
//!   halved, additive increase) up to `THROTTLE_RETRIES` times first.
//! * TPS: `tps` is per operator account, split evenly over the binds that
//!   submit (`tps_share`).
//! * Inbound deliver_sm / data_sm arrive on the application's bounded
//!   channel as `Inbound`; `Responder::respond(status)` sends the
//!   `*_resp` on the same connection (after the SMS is stored). A full
//!   channel, too many unanswered PDUs, or a dropped `Responder` answers
//!   ESME_RX_T_APPN so the SMSC retries later.
//! * enquire_link goes out after `enquire_link.idle` with nothing received,
//!   and the link is declared dead after `enquire_link.timeout`.
//! * Shutdown: cancel the token or call `Operator::shutdown` (which also
//!   waits): no new submits, the window drains, unbind, unbind_resp, close,
//!   each step bounded by `Options::unbind_grace`.

mod backoff;
mod bind;
mod inbound;
mod link;
mod operator;
mod throttle;
mod tls;
mod window;

use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::oneshot;

use crate::smpp::pdu::{Body, CommandStatus};

pub use backoff::{Backoff, Failure};
pub use inbound::{Inbound, InboundPdu, Responder};
pub use operator::{BindStats, Operator};
pub use throttle::{share as tps_share, Throttle};
pub use window::{Window, MAX_SEQUENCE};

/// How a submit ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SubmitResult {
    Accepted {
        message_id: String,
    },
    /// The SMSC refused it. `temporary`: ESME_RMSGQFUL, ESME_RSYSERR,
    /// ESME_RX_T_APPN, and ESME_RTHROTTLED after [`THROTTLE_RETRIES`]
    /// retries; try again later (see [`SubmitResult::retry_after`]).
    /// Anything else failed for good; `status.name()` says why.
    Rejected {
        status: CommandStatus,
        temporary: bool,
    },
    /// Sent, but the link died or the response timer fired before an
    /// answer: it may or may not have been delivered.
    Unknown,
    /// Not sent: no bind took it within the caller's wait (or the operator
    /// is shutting down). Queue it and retry.
    NotBound,
}

impl SubmitResult {
    /// How long to hold a temporarily rejected message before trying it
    /// again: ESME_RMSGQFUL means that one destination's queue is full
    /// (Jasmin waits 180 s), the others are short.
    pub fn retry_after(&self) -> Option<Duration> {
        match self {
            SubmitResult::Rejected {
                status,
                temporary: true,
            } => Some(if *status == CommandStatus::ESME_RMSGQFUL {
                Duration::from_secs(180)
            } else if *status == CommandStatus::ESME_RTHROTTLED {
                Duration::from_secs(1)
            } else {
                Duration::from_secs(30)
            }),
            SubmitResult::NotBound => Some(Duration::from_secs(1)),
            _ => None,
        }
    }
}

/// ESME_RTHROTTLED answers the session layer absorbs (pausing and
/// resending the same submit) before it gives the message back as a
/// temporary rejection.
pub const THROTTLE_RETRIES: u32 = 5;

/// Is a submit refused with `status` worth trying again later?
pub fn is_temporary(status: CommandStatus) -> bool {
    [
        CommandStatus::ESME_RMSGQFUL,
        CommandStatus::ESME_RTHROTTLED,
        CommandStatus::ESME_RSYSERR,
        CommandStatus::ESME_RX_T_APPN,
    ]
    .contains(&status)
}

/// Knobs that are not in the operator configuration (tests, benchmarks).
#[derive(Debug, Clone)]
pub struct Options {
    /// How long `submit` waits for a bind to take the message before it
    /// answers `NotBound`.
    pub submit_wait: Duration,
    /// The first sequence number each connection uses.
    pub first_sequence: u32,
    /// Inbound PDUs per connection waiting for the application's answer;
    /// beyond it the SMSC gets ESME_RX_T_APPN at once.
    pub unanswered_inbound: usize,
    /// How long a graceful unbind waits for unbind_resp.
    pub unbind_grace: Duration,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            submit_wait: Duration::from_secs(30),
            first_sequence: 1,
            unanswered_inbound: 1024,
            unbind_grace: Duration::from_secs(5),
        }
    }
}

const QUEUED: u8 = 0;
const TAKEN: u8 = 1;
const CANCELLED: u8 = 2;

/// One submit on its way from `Operator::submit` to a bind.
pub(crate) struct Request {
    pub body: Body,
    state: Arc<AtomicU8>,
    reply: oneshot::Sender<SubmitResult>,
    /// ESME_RTHROTTLED answers so far.
    pub throttled: u32,
}

impl Request {
    pub fn new(body: Body) -> (Self, Ticket) {
        let state = Arc::new(AtomicU8::new(QUEUED));
        let (reply, rx) = oneshot::channel();
        let req = Request {
            body,
            state: state.clone(),
            reply,
            throttled: 0,
        };
        (req, Ticket { state, rx })
    }

    /// A bind takes it; false if the caller already gave up on it.
    pub fn take(&self) -> bool {
        self.state
            .compare_exchange(QUEUED, TAKEN, Ordering::AcqRel, Ordering::Acquire)
            .is_ok()
    }

    pub fn finish(self, result: SubmitResult) {
        let _ = self.reply.send(result);
    }
}

/// The caller's side of a `Request`.
pub(crate) struct Ticket {
    state: Arc<AtomicU8>,
    rx: oneshot::Receiver<SubmitResult>,
}

impl Ticket {
    /// Waits for the result; if no bind took the request by `pickup`, it
    /// is withdrawn and the answer is `NotBound`.
    pub async fn wait(mut self, pickup: tokio::time::Instant) -> SubmitResult {
        tokio::select! {
            r = &mut self.rx => return self.settle(r.ok()),
            _ = tokio::time::sleep_until(pickup) => {}
        }
        let withdrawn = self
            .state
            .compare_exchange(QUEUED, CANCELLED, Ordering::AcqRel, Ordering::Acquire)
            .is_ok();
        if withdrawn {
            return SubmitResult::NotBound;
        }
        let r = (&mut self.rx).await.ok();
        self.settle(r)
    }

    fn settle(&self, r: Option<SubmitResult>) -> SubmitResult {
        r.unwrap_or_else(|| {
            // The request was dropped without an answer: if no bind had
            // taken it, it was never sent.
            if self.state.load(Ordering::Acquire) == TAKEN {
                SubmitResult::Unknown
            } else {
                SubmitResult::NotBound
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn temporary_statuses_are_the_four_named_ones() {
        assert!(is_temporary(CommandStatus::ESME_RMSGQFUL));
        assert!(is_temporary(CommandStatus::ESME_RX_T_APPN));
        assert!(!is_temporary(CommandStatus::ESME_RINVPASWD));
        assert!(!is_temporary(CommandStatus::ESME_RX_P_APPN));
        let r = SubmitResult::Rejected {
            status: CommandStatus::ESME_RMSGQFUL,
            temporary: true,
        };
        assert_eq!(r.retry_after(), Some(Duration::from_secs(180)));
    }

    #[tokio::test(start_paused = true)]
    async fn a_request_nobody_takes_is_withdrawn_as_not_bound() {
        let (req, ticket) = Request::new(Body::EnquireLink);
        let pickup = tokio::time::Instant::now() + Duration::from_secs(1);
        assert_eq!(ticket.wait(pickup).await, SubmitResult::NotBound);
        assert!(!req.take(), "a withdrawn request must not be sent");
    }

    #[tokio::test(start_paused = true)]
    async fn a_taken_request_that_is_dropped_is_unknown() {
        let (req, ticket) = Request::new(Body::EnquireLink);
        assert!(req.take());
        let pickup = tokio::time::Instant::now() + Duration::from_secs(1);
        let wait = tokio::spawn(ticket.wait(pickup));
        tokio::time::sleep(Duration::from_secs(2)).await;
        drop(req);
        assert_eq!(wait.await.unwrap(), SubmitResult::Unknown);
    }
}
