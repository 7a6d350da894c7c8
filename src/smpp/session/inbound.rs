//! Inbound deliver_sm / data_sm handed to the application, and the
//! `Responder` that answers them. The application decides when the
//! `*_resp` goes out and with which status: an SMS is acknowledged only
//! after it is stored.
//!
//! Each `Responder` holds a reserved slot of its connection's bounded
//! answer channel, so `respond` never blocks and never fails. If the link
//! that carried the PDU is gone, the answer goes nowhere (the SMSC resends
//! it on the next bind): it is never sent on a later connection, whose
//! sequence numbers mean other things.

use std::fmt;
use std::sync::Arc;

use tokio::sync::mpsc::OwnedPermit;

use crate::smpp::pdu::{CommandStatus, DataSm, Sm};

/// One PDU from the SMSC for the application.
#[derive(Debug)]
pub struct Inbound {
    pub operator: Arc<str>,
    /// The bind index within the operator (0-based).
    pub bind: u32,
    pub pdu: InboundPdu,
    pub responder: Responder,
}

#[derive(Debug)]
pub enum InboundPdu {
    Deliver(Sm),
    Data(DataSm),
}

/// Which response a `Responder` sends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Answers {
    DeliverSm,
    DataSm,
}

/// An answer on its way back to the bind task.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Answer {
    pub sequence: u32,
    pub answers: Answers,
    pub status: CommandStatus,
}

/// Answers one inbound PDU on the bind it came from.
pub struct Responder {
    permit: Option<OwnedPermit<Answer>>,
    sequence: u32,
    answers: Answers,
}

impl Responder {
    pub(crate) fn new(permit: OwnedPermit<Answer>, sequence: u32, answers: Answers) -> Self {
        Responder {
            permit: Some(permit),
            sequence,
            answers,
        }
    }

    /// Sends `deliver_sm_resp` / `data_sm_resp` with `status` on the same
    /// bind (ESME_ROK once stored; ESME_RX_T_APPN to have the SMSC retry).
    pub fn respond(mut self, status: CommandStatus) {
        self.send(status);
    }

    /// The sequence number of the PDU this answers.
    pub fn sequence(&self) -> u32 {
        self.sequence
    }

    /// Gives the answer back without sending it (the bind writes it itself).
    pub(crate) fn into_answer(mut self, status: CommandStatus) -> Answer {
        self.permit = None;
        self.answer(status)
    }

    fn answer(&self, status: CommandStatus) -> Answer {
        Answer {
            sequence: self.sequence,
            answers: self.answers,
            status,
        }
    }

    fn send(&mut self, status: CommandStatus) {
        if let Some(permit) = self.permit.take() {
            // A closed channel means that link is gone; see the module docs.
            let _ = permit.send(self.answer(status));
        }
    }
}

impl Drop for Responder {
    fn drop(&mut self) {
        if self.permit.is_some() {
            tracing::warn!(
                sequence = self.sequence,
                "inbound PDU dropped without an answer; answering ESME_RX_T_APPN so the SMSC retries"
            );
            self.send(CommandStatus::ESME_RX_T_APPN);
        }
    }
}

impl fmt::Debug for Responder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Responder")
            .field("sequence", &self.sequence)
            .field("answers", &self.answers)
            .field("answered", &self.permit.is_none())
            .finish()
    }
}
