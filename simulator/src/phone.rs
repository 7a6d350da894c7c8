//! The subscriber side of a USSD dialogue: dial, reply, abort. Each turn is a deliver_sm to the
//! gateway (service_type, ops and its_session_info per the operator profile) followed by a wait
//! for the gateway's submit_sm on the same session. Owns no socket; it talks to a bind's session.

use std::sync::Arc;

use rusmpp::pdus::DeliverSm;
use rusmpp::tlvs::MessageDeliveryRequestTlvValue;
use rusmpp::types::{COctetString, OctetString};
use rusmpp::values::{
    DataCoding, EsmClass, ItsSessionInfo, RegisteredDelivery, ServiceType, UssdServiceOp,
};
use rusmpp::CommandStatus;
use tokio::sync::mpsc;

use crate::config::{DialField, UssdProfile};
use crate::handle::SmscHandle;
use crate::observe::Submitted;
use crate::smsc::{lock, Shared, SimError, Target};
use crate::text;

/// One gateway screen as the phone shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Screen {
    pub text: String,
    /// The gateway ended the dialogue (an end op, or the its_session_info end bit).
    pub end: bool,
    pub op: Option<u8>,
    /// The gateway's deliver_sm_resp status for the turn that led here.
    pub deliver_status: CommandStatus,
    /// The gateway's submit_sm, every field.
    pub submitted: Submitted,
}

const SCREEN_QUEUE: usize = 8;

/// A phone in a USSD dialogue. Made by [`SmscHandle::ussd`].
pub struct UssdPhone {
    shared: Arc<Shared>,
    msisdn: String,
    profile: UssdProfile,
    target: Target,
    session: Option<u8>,
    last_its: Option<[u8; 2]>,
    ended: bool,
    rx: Option<mpsc::Receiver<Submitted>>,
}

impl std::fmt::Debug for UssdPhone {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("UssdPhone")
            .field("msisdn", &crate::mask(&self.msisdn))
            .field("session", &self.session)
            .finish()
    }
}

impl SmscHandle {
    /// A USSD phone with the SMSC's profile, delivering on any receiver/transceiver bind.
    pub fn ussd(&self, msisdn: &str) -> UssdPhone {
        self.ussd_with(msisdn, self.shared.config.ussd.clone())
    }
    /// A USSD phone with its own operator profile.
    pub fn ussd_with(&self, msisdn: &str, profile: UssdProfile) -> UssdPhone {
        UssdPhone {
            shared: self.shared.clone(),
            msisdn: msisdn.to_owned(),
            profile,
            target: Target::All,
            session: None,
            last_its: None,
            ended: true,
            rx: None,
        }
    }
}

impl UssdPhone {
    /// Deliver on binds `target` selects (default: any receiver/transceiver).
    pub fn on(mut self, target: Target) -> Self {
        self.target = target;
        self
    }
    pub fn msisdn(&self) -> &str {
        &self.msisdn
    }
    /// The its_session_info session number of the current dialogue.
    pub fn session_number(&self) -> Option<u8> {
        self.session
    }

    /// Starts a dialogue: deliver_sm with the dial op and a fresh session number, then waits
    /// for the first screen.
    pub async fn dial(&mut self, code: &str) -> Result<Screen, SimError> {
        self.forget_route();
        let session = self
            .profile
            .its_session_info
            .then(|| self.shared.new_ussd_session());
        let (tx, rx) = mpsc::channel(SCREEN_QUEUE);
        lock(&self.shared.routes)
            .ussd
            .insert((self.msisdn.clone(), session), tx);
        self.rx = Some(rx);
        self.session = session;
        self.ended = false;
        let its = session.map(|n| [n, 0]);
        let (dest, body) = match self.profile.dial_in {
            DialField::ShortMessage => (self.profile.service_addr.clone(), code),
            DialField::DestinationAddr => (code.to_owned(), ""),
        };
        let pdu = self.mo(&dest, body, self.profile.dial_op, its)?;
        self.turn(pdu).await
    }

    /// Answers the current screen: deliver_sm with the reply op, its_session_info echoed.
    pub async fn reply(&mut self, answer: &str) -> Result<Screen, SimError> {
        if self.ended {
            return Err(SimError::SessionEnded);
        }
        let pdu = self.mo(
            &self.profile.service_addr.clone(),
            answer,
            self.profile.reply_op,
            self.echo(),
        )?;
        self.turn(pdu).await
    }

    /// Abandons the dialogue with the profile's abort op; returns the deliver_sm_resp status.
    pub async fn abort(&mut self) -> Result<CommandStatus, SimError> {
        if self.ended {
            return Err(SimError::SessionEnded);
        }
        let pdu = self.mo(
            &self.profile.service_addr.clone(),
            "",
            self.profile.abort_op,
            self.echo(),
        )?;
        self.ended = true;
        self.forget_route();
        self.send(pdu).await
    }

    /// The gateway's last its_session_info with the end bit cleared, as the convention echoes it.
    fn echo(&self) -> Option<[u8; 2]> {
        let session = self.session?;
        Some(self.last_its.map_or([session, 0], |[n, s]| [n, s & 0xFE]))
    }

    fn mo(
        &self,
        dest: &str,
        body: &str,
        op: u8,
        its: Option<[u8; 2]>,
    ) -> Result<DeliverSm, SimError> {
        let (dcs, bytes) = text::encode_auto(body);
        let bad = |what: &str| SimError::Text(what.to_owned());
        let mut b = DeliverSm::builder()
            .service_type(ServiceType::new(
                COctetString::from_string(self.profile.service_type.clone())
                    .map_err(|_| bad("service_type"))?,
            ))
            .source_addr(COctetString::from_string(self.msisdn.clone()).map_err(|_| bad("msisdn"))?)
            .destination_addr(
                COctetString::from_string(dest.to_owned()).map_err(|_| bad("destination"))?,
            )
            .esm_class(EsmClass::from(0))
            .registered_delivery(RegisteredDelivery::from(0))
            .data_coding(DataCoding::from(dcs))
            .short_message(OctetString::from_vec(bytes).map_err(|_| bad("over 255 octets"))?)
            .push_tlv(MessageDeliveryRequestTlvValue::UssdServiceOp(
                UssdServiceOp::from(op),
            ));
        if let Some([n, s]) = its {
            b = b.push_tlv(MessageDeliveryRequestTlvValue::ItsSessionInfo(
                ItsSessionInfo::new(n, s),
            ));
        }
        Ok(b.build())
    }

    async fn send(&self, pdu: DeliverSm) -> Result<CommandStatus, SimError> {
        let control = self.shared.receiver(&self.target).ok_or(SimError::NoBind)?;
        crate::session::deliver(&control, pdu, self.shared.config.observe_timeout).await
    }

    async fn turn(&mut self, pdu: DeliverSm) -> Result<Screen, SimError> {
        let status = self.send(pdu).await?;
        if status != CommandStatus::EsmeRok {
            return Err(SimError::DeliverRejected(status));
        }
        let t = self.shared.config.observe_timeout;
        let rx = self.rx.as_mut().ok_or(SimError::SessionEnded)?;
        let submitted = loop {
            match tokio::time::timeout(t, rx.recv()).await {
                Err(_) => return Err(SimError::Timeout(t, "the gateway's USSD screen")),
                Ok(None) => return Err(SimError::BindClosed),
                // A submit the SMSC refused (throttled...) is not a screen; the gateway resends.
                Ok(Some(s)) if s.message_id.is_none() => continue,
                Ok(Some(s)) => break s,
            }
        };
        let op = submitted.ussd_service_op;
        let end = submitted.its_end() || op.is_some_and(|o| self.profile.end_ops.contains(&o));
        self.last_its = submitted.its_session_info.or(self.last_its);
        if end {
            self.ended = true;
            self.forget_route();
        }
        Ok(Screen {
            text: submitted.text.clone(),
            end,
            op,
            deliver_status: status,
            submitted,
        })
    }

    fn forget_route(&mut self) {
        lock(&self.shared.routes)
            .ussd
            .remove(&(self.msisdn.clone(), self.session));
        self.rx = None;
    }
}

impl Drop for UssdPhone {
    fn drop(&mut self) {
        self.forget_route();
    }
}
