//! What each PDU from the SMSC means on a bound link: responses settle
//! the request they answer (accepted, throttled and retried, refused,
//! unknown), requests from the SMSC are answered (enquire_link, unbind) or
//! handed to the application (deliver_sm, data_sm), and malformed input
//! gets the codec's reply.

use tokio::sync::mpsc;
use tokio::time::Instant;

use super::{End, Link, Pending, State};
use crate::smpp::codec::{self, DecodeError};
use crate::smpp::pdu::{Body, CommandStatus, Pdu, Tlvs};
use crate::smpp::session::inbound::{Answer, Answers, Inbound, InboundPdu, Responder};
use crate::smpp::session::{is_temporary, Request, SubmitResult, THROTTLE_RETRIES};

impl Link<'_> {
    pub(super) fn on_framing_error(&mut self, e: codec::FramingError) {
        let Some(reply) = e.reply() else {
            return self.finish(End::Dropped(format!("read: {e}")));
        };
        tracing::warn!(error = %e, "framing error from the SMSC: generic_nack ESME_RINVCMDLEN, reconnecting");
        codec::encode(&reply, &mut self.wbuf);
        self.finish(End::Framing);
    }

    pub(super) fn on_bad_body(&mut self, bad: DecodeError) {
        if let DecodeError::Framing { .. } = bad {
            tracing::warn!(error = %bad, "framing error from the SMSC: generic_nack ESME_RINVCMDLEN, reconnecting");
            if let Some(reply) = bad.reply() {
                codec::encode(&reply, &mut self.wbuf);
            }
            return self.finish(End::Framing);
        }
        tracing::warn!(error = %bad, "malformed PDU from the SMSC; answered, link kept");
        self.ctx.stats.add_malformed();
        if let DecodeError::Body {
            command_id,
            sequence,
            ..
        } = &bad
        {
            if command_id.is_response() {
                // An answer we cannot read: whether it was accepted is unknown.
                if let Some(Pending::Submit(req)) = self.window.remove(*sequence) {
                    self.ctx.stats.add_unknown(1);
                    req.finish(SubmitResult::Unknown);
                }
            }
        }
        if let Some(reply) = bad.reply() {
            codec::encode(&reply, &mut self.wbuf);
        }
    }

    pub(super) fn on_pdu(&mut self, pdu: Pdu) {
        let (status, seq) = (pdu.status, pdu.sequence);
        match pdu.body {
            Body::SubmitSmResp { message_id } => self.on_response(seq, status, message_id),
            Body::DataSmResp { message_id, .. } => self.on_response(seq, status, message_id),
            Body::GenericNack => {
                if [
                    CommandStatus::ESME_RINVCMDLEN,
                    CommandStatus::ESME_RINVCMDID,
                ]
                .contains(&status)
                {
                    // The SMSC could not read what we sent: our encoder is wrong.
                    tracing::error!(seq, status = %status, "the SMSC nacked our PDU as malformed");
                }
                self.on_response(seq, status, String::new())
            }
            Body::EnquireLinkResp | Body::UnbindResp => {
                self.on_response(seq, status, String::new())
            }
            Body::EnquireLink => self.write(CommandStatus::ESME_ROK, seq, Body::EnquireLinkResp),
            Body::Unbind => self.on_unbind(seq),
            Body::DeliverSm(sm) => self.on_inbound(seq, InboundPdu::Deliver(sm)),
            Body::DataSm(sm) => self.on_inbound(seq, InboundPdu::Data(sm)),
            Body::AlertNotification { .. } => tracing::debug!("alert_notification ignored"),
            other => {
                let id = other.command_id();
                if id.is_response() {
                    tracing::debug!(seq, command_id = %id, "unexpected response ignored");
                } else {
                    tracing::warn!(seq, command_id = %id, "request an ESME does not take: generic_nack");
                    self.write(CommandStatus::ESME_RINVCMDID, seq, Body::GenericNack);
                }
            }
        }
    }

    fn on_response(&mut self, seq: u32, status: CommandStatus, message_id: String) {
        match self.window.remove(seq) {
            Some(Pending::Submit(req)) => self.on_submit_resp(req, status, message_id),
            Some(Pending::EnquireLink) => self.enquiring = false,
            Some(Pending::Unbind) => self.finish(End::Shutdown),
            Some(Pending::Bind) => {}
            None => tracing::debug!(seq, "response to no request in flight ignored"),
        }
        self.ctx.stats.set_in_flight(self.window.used());
        if self.window.used() == 0 {
            match self.state {
                State::Draining(_) => self.finish(End::UnbindBySmsc),
                State::Stopping(_) => self.unbind(),
                _ => {}
            }
        }
    }

    fn on_submit_resp(&mut self, mut req: Request, status: CommandStatus, message_id: String) {
        if status == CommandStatus::ESME_ROK {
            return req.finish(SubmitResult::Accepted { message_id });
        }
        if status == CommandStatus::ESME_RTHROTTLED {
            self.throttle.throttled(Instant::now());
            self.ctx.stats.throttled(self.throttle.rate());
            req.throttled += 1;
            tracing::info!(
                rate = self.throttle.rate(),
                "ESME_RTHROTTLED: bind paused, rate halved"
            );
            if req.throttled <= THROTTLE_RETRIES {
                self.retry.push_back(req);
                return;
            }
        }
        if status == CommandStatus::ESME_RMSGQFUL {
            self.ctx.stats.add_queue_full();
        }
        let temporary = is_temporary(status);
        tracing::debug!(status = %status, temporary, "submit refused");
        req.finish(SubmitResult::Rejected { status, temporary });
    }

    fn on_unbind(&mut self, seq: u32) {
        tracing::info!("the SMSC unbound us: unbind_resp, draining");
        self.write(CommandStatus::ESME_ROK, seq, Body::UnbindResp);
        if matches!(self.state, State::Unbinding | State::Stopping(_)) {
            return self.finish(End::Shutdown);
        }
        self.state = State::Draining(Instant::now() + self.ctx.cfg.response_timeout);
        if self.window.used() == 0 {
            self.finish(End::UnbindBySmsc);
        }
    }

    fn on_inbound(&mut self, seq: u32, pdu: InboundPdu) {
        let answers = match pdu {
            InboundPdu::Deliver(_) => Answers::DeliverSm,
            InboundPdu::Data(_) => Answers::DataSm,
        };
        let busy = Answer {
            sequence: seq,
            answers,
            status: CommandStatus::ESME_RX_T_APPN,
        };
        let Ok(permit) = self.answers_tx.clone().try_reserve_owned() else {
            tracing::warn!(seq, "too many inbound PDUs unanswered: ESME_RX_T_APPN");
            self.ctx.stats.add_busy();
            return self.write_answer(busy);
        };
        let inbound = Inbound {
            operator: self.ctx.operator.clone(),
            bind: self.ctx.index,
            pdu,
            responder: Responder::new(permit, seq, answers),
        };
        if let Err(e) = self.ctx.inbound.try_send(inbound) {
            let inbound = match e {
                mpsc::error::TrySendError::Full(i) | mpsc::error::TrySendError::Closed(i) => i,
            };
            tracing::warn!(seq, "application queue full: ESME_RX_T_APPN");
            self.ctx.stats.add_busy();
            let answer = inbound.responder.into_answer(CommandStatus::ESME_RX_T_APPN);
            self.write_answer(answer);
        }
    }

    pub(super) fn write_answer(&mut self, a: Answer) {
        let body = match a.answers {
            Answers::DeliverSm => Body::DeliverSmResp {
                message_id: String::new(),
            },
            Answers::DataSm => Body::DataSmResp {
                message_id: String::new(),
                tlvs: Tlvs::default(),
            },
        };
        self.write(a.status, a.sequence, body);
    }
}
