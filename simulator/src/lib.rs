//! Bawaba's test peers. The SMSC is built on rusmpp =0.4.0, an SMPP codec nobody on this team
//! wrote, so a bug in the gateway's codec shows up instead of cancelling out. This crate must
//! not depend on the `bawaba` crate.
//!
//! What it owns: a simulated SMSC ([`Smsc`]) with accounts, the three bind kinds (SMPP 3.4 and
//! 5.0), enquire_link, submit_sm/data_sm with message ids, delivery receipts, scripted
//! misbehaviour ([`Behaviour`] and the actions on [`SmscHandle`]), and the phone side of USSD
//! dialogues ([`UssdPhone`]) and SMS ([`SmsPhone`]). Framing is ours ([`frame`](crate) module),
//! so a PDU rusmpp cannot decode is answered (generic_nack, or the matching `*_resp` with
//! ESME_RINVMSGLEN), recorded as a [`ProtocolError`], and the link stays up.
//!
//! Tests wait on readiness, never on sleeps: every `wait_*`, `next_*` and phone call returns
//! [`SimError::Timeout`] after [`SmscConfig::observe_timeout`] (default 10 s, tokio's clock).
//!
//! ## Misbehaviour
//! Standing knobs live in [`Behaviour`] (set in [`SmscConfig::behaviour`] or at runtime with
//! [`SmscHandle::set_behaviour`] / [`SmscHandle::update_behaviour`]): `submit_resp_delay`,
//! `throttle_every` (ESME_RTHROTTLED on every Nth submit, counted SMSC-wide), `queue_full_every`
//! (ESME_RMSGQFUL), `never_respond`, `nack_instead_of_resp`, `duplicate_deliver` (same body,
//! fresh sequence number), `receipt_before_resp`, `refuse_binds` (next N binds get
//! ESME_RBINDFAIL). One-off actions are methods on [`SmscHandle`]: `drop_link`, `send_unbind`,
//! `send_garbage`, `send_oversized`, `send_raw`, `refuse_binds_for`, `deliver`; each resolves once
//! its bytes are written and returns how many binds it touched.
//!
//! ## Routing of MTs
//! A submit_sm/data_sm goes to the [`UssdPhone`] waiting on (destination MSISDN, its_session_info
//! session number), else to the [`SmsPhone`] of that MSISDN, else to the bounded queue behind
//! [`SmscHandle::next_submit`]. A gateway that does not echo its_session_info therefore leaves
//! the phone waiting (a timeout) and the MT in `next_submit`.
//!
//! ## Phones for humans and mock ministries
//! [`SmscConfig::phones`] opens a phone control port (JSON lines, [`control`]); [`link`] has the
//! two ends a UI drives ([`link::LocalLink`] in process, [`link::RemoteLink`] over the port), and
//! [`terminal`] is the phone UI on either (`bawaba-sim phone`, `bawaba demo`). [`ministries`]
//! serves fake PDS, electricity, passport and pension back-ends over HTTP with knobs and a raw
//! request log. [`proxy`] is a fault-injecting TCP proxy (latency and jitter, a half-open link,
//! a reset, a close after N bytes, a one-way stall) to put between the gateway and the SMSC.
//! simulator/README.md documents the protocol, endpoints and sample ids.
//!
//! ## Modules
//! `frame` (our length-prefixed framing, rusmpp decode/encode), `session` (one task per
//! connection), `pdu` (binds, enquire_link, unbind, responses), `mt` (submits, receipts),
//! `smsc`/`handle` (shared state and the test-facing handle), `phone`/`sms_phone`, [`text`]
//! (GSM 03.38, Latin-1, UCS-2, UDH), `observe` (what tests read), `phone_port` (the control
//! listener), [`control`], [`link`], [`terminal`], [`ministries`].
//!
//! ```no_run
//! use bawaba_sim::{Behaviour, Smsc, SmscConfig, Target};
//!
//! # async fn demo() -> Result<(), bawaba_sim::SimError> {
//! let mut config = SmscConfig::local("bawaba", "secret");
//! config.behaviour = Behaviour { throttle_every: Some(10), ..Behaviour::default() };
//! let smsc = Smsc::start(config).await?;
//! let addr = smsc.local_addr(); // give this to the gateway under test
//!
//! smsc.wait_bound(1).await?; // the gateway's bind is up
//! let mut phone = smsc.ussd("9647701234567");
//! let menu = phone.dial("*123#").await?; // deliver_sm op 1, waits for the gateway's submit_sm
//! assert!(!menu.end);
//! let done = phone.reply("1").await?; // deliver_sm op 18, same session
//! assert!(done.end);
//!
//! let mt = smsc.next_submit().await?; // an MT no phone claimed
//! println!("{} got {:?}", mt.dest, mt.text);
//! smsc.drop_link(Target::All).await; // the link drops; the gateway must rebind
//! smsc.wait_until("rebind", |_, s| s.binds_accepted >= 2).await?;
//! assert!(smsc.protocol_errors().is_empty(), "our ESME sent a malformed PDU");
//! # Ok(()) }
//! ```

mod config;
pub mod control;
mod frame;
mod handle;
pub mod link;
pub mod load;
pub mod ministries;
mod mt;
mod observe;
mod pdu;
mod phone;
mod phone_port;
pub mod proxy;
mod redact;
mod session;
mod sms_phone;
mod smsc;
pub mod terminal;
pub mod text;

pub use config::{Account, Behaviour, DialField, SmscConfig, UssdProfile};
pub use handle::SmscHandle;
pub use mt::{mask, receipt_text};
pub use observe::{
    Answer, BindId, BindInfo, BindKind, NackReceived, ProtocolError, Stats, SubmitKind, Submitted,
};
pub use phone::{Screen, UssdPhone};
pub use sms_phone::{SmsMessage, SmsPhone};
pub use smsc::{SimError, Smsc, Target};

/// rusmpp, re-exported so tests build PDUs with the same version the simulator decodes with.
pub use rusmpp;
