//! Configuration of the simulated SMSC: accounts, timers, the USSD operator profile, and the
//! scripted misbehaviour knobs. Plain data: no I/O, no clock reads.

use std::fmt;
use std::net::SocketAddr;
use std::time::Duration;

use rusmpp::CommandStatus;

/// One ESME account the SMSC accepts at bind time.
#[derive(Clone, PartialEq, Eq)]
pub struct Account {
    pub system_id: String,
    pub password: String,
}

impl Account {
    pub fn new(system_id: impl Into<String>, password: impl Into<String>) -> Self {
        Self {
            system_id: system_id.into(),
            password: password.into(),
        }
    }
}

impl fmt::Debug for Account {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Account")
            .field("system_id", &self.system_id)
            .field("password", &"***")
            .finish()
    }
}

/// Where a phone's dial string (`*123#`) travels in the MO deliver_sm.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DialField {
    /// In `short_message`; `destination_addr` carries [`UssdProfile::service_addr`].
    ShortMessage,
    /// In `destination_addr`; `short_message` is empty.
    DestinationAddr,
}

/// How this "operator" frames USSD over SMPP. Operators differ, so it is data.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UssdProfile {
    pub service_type: String,
    pub dial_in: DialField,
    /// `destination_addr` of every USSD MO when the dial string is in `short_message`.
    pub service_addr: String,
    /// `ussd_service_op` of the first MO (1 = PSSR indication).
    pub dial_op: u8,
    /// `ussd_service_op` of a subscriber's answer (18 = USSR confirm).
    pub reply_op: u8,
    /// `ussd_service_op` of a user/network abort (vendor; Mica uses 129 "USSREL").
    pub abort_op: u8,
    /// Ops on a gateway MT that mean "more to come" (2 = USSR request).
    pub continue_ops: Vec<u8>,
    /// Ops on a gateway MT that end the dialogue (17 = PSSR response).
    pub end_ops: Vec<u8>,
    /// Send and match `its_session_info`; without it, sessions are matched by MSISDN alone.
    pub its_session_info: bool,
}

impl Default for UssdProfile {
    fn default() -> Self {
        Self {
            service_type: "USSD".into(),
            dial_in: DialField::ShortMessage,
            service_addr: "123".into(),
            dial_op: 1,
            reply_op: 18,
            abort_op: 129,
            continue_ops: vec![2],
            end_ops: vec![17],
            its_session_info: true,
        }
    }
}

/// Scripted misbehaviour. Set at start in [`SmscConfig::behaviour`] and changed at runtime
/// through [`crate::SmscHandle::set_behaviour`] / [`crate::SmscHandle::update_behaviour`].
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Behaviour {
    /// Hold every submit_sm_resp / data_sm_resp this long.
    pub submit_resp_delay: Duration,
    /// Answer every Nth submit (counted over the whole SMSC) with ESME_RTHROTTLED.
    pub throttle_every: Option<u32>,
    /// Answer every Nth submit with ESME_RMSGQFUL.
    pub queue_full_every: Option<u32>,
    /// Record submits but never answer them.
    pub never_respond: bool,
    /// Answer submits with generic_nack carrying this status instead of a submit_sm_resp.
    pub nack_instead_of_resp: Option<CommandStatus>,
    /// Send every deliver_sm twice (same body, fresh sequence number, as an SMSC resend does).
    pub duplicate_deliver: bool,
    /// Send the delivery receipt before the submit_sm_resp.
    pub receipt_before_resp: bool,
    /// Refuse this many further bind attempts with ESME_RBINDFAIL.
    pub refuse_binds: u32,
}

/// Everything [`crate::Smsc::start`] needs.
#[derive(Debug, Clone)]
pub struct SmscConfig {
    pub listen: SocketAddr,
    pub accounts: Vec<Account>,
    /// The SMSC's own enquire_link period; `None` sends none.
    pub enquire_link_interval: Option<Duration>,
    /// Delay between a submit_sm_resp and its delivery receipt.
    pub receipt_delay: Duration,
    /// Frames whose command_length is below 16 or above this get generic_nack RINVCMDLEN and a close.
    pub max_command_length: u32,
    /// Capacity of the queue behind [`crate::SmscHandle::next_submit`]; beyond it submits are
    /// still answered, counted in `Stats::observer_overflow`, and not queued.
    pub submit_queue: usize,
    /// How long `wait_*`, `next_submit` and the phones wait before returning a timeout error.
    pub observe_timeout: Duration,
    pub ussd: UssdProfile,
    pub behaviour: Behaviour,
    /// Where to listen for phone control connections (JSON lines, see [`crate::control`]);
    /// `None` runs no phone port. `127.0.0.1:0` picks a free port (see
    /// [`crate::SmscHandle::phones_addr`]).
    pub phones: Option<SocketAddr>,
}

impl SmscConfig {
    /// A config listening on `listen` with one account.
    pub fn new(listen: SocketAddr, system_id: &str, password: &str) -> Self {
        Self {
            listen,
            accounts: vec![Account::new(system_id, password)],
            enquire_link_interval: None,
            receipt_delay: Duration::from_millis(0),
            max_command_length: 16 * 1024,
            submit_queue: 1024,
            observe_timeout: Duration::from_secs(10),
            ussd: UssdProfile::default(),
            behaviour: Behaviour::default(),
            phones: None,
        }
    }

    /// `127.0.0.1:0` (an ephemeral port) with one account: what tests want.
    pub fn local(system_id: &str, password: &str) -> Self {
        Self::new(SocketAddr::from(([127, 0, 0, 1], 0)), system_id, password)
    }
}
