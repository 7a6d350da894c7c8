//! MTs from the ESME (submit_sm, data_sm): turn them into `Submitted`, answer them according to
//! the scripted `Behaviour`, and schedule delivery receipts. Receipt text is built here.

use std::time::{SystemTime, UNIX_EPOCH};

use rusmpp::pdus::{DataSm, DataSmResp, DeliverSm, SubmitSm, SubmitSmResp};
use rusmpp::tlvs::{MessageDeliveryRequestTlvValue, Tlv, TlvValue};
use rusmpp::types::{COctetString, OctetString};
use rusmpp::values::{DataCoding, EsmClass, MessageState, RegisteredDelivery};
use rusmpp::{Command, CommandStatus, Pdu};

use crate::frame::{self, Header};
use crate::observe::{bump, Answer, BindId, SubmitKind, Submitted};
use crate::session::{Control, Flow, Session};
use crate::smsc::Target;
use crate::text::{self, Concat};

/// Keeps the first 3 and last 2 digits of an MSISDN for logs.
pub fn mask(msisdn: &str) -> String {
    let n = msisdn.chars().count();
    if n <= 5 {
        return "*".repeat(n);
    }
    msisdn
        .chars()
        .enumerate()
        .map(|(i, c)| if i < 3 || i >= n - 2 { c } else { '*' })
        .collect()
}

fn base(
    kind: SubmitKind,
    service_type: &str,
    source: &str,
    dest: &str,
    dcs: u8,
    esm: u8,
    rd: u8,
) -> Submitted {
    Submitted {
        kind,
        bind: BindId(0),
        system_id: String::new(),
        service_type: service_type.to_owned(),
        source: source.to_owned(),
        dest: dest.to_owned(),
        data_coding: dcs,
        esm_class: esm,
        registered_delivery: rd,
        text: String::new(),
        text_error: None,
        short_message: Vec::new(),
        ussd_service_op: None,
        its_session_info: None,
        message_payload: None,
        sar: None,
        udh: None,
        message_id: None,
        sequence: 0,
        answer: Answer::Nothing,
        received: std::time::Instant::now(),
    }
}

pub(crate) fn from_submit_sm(sm: &SubmitSm) -> (Submitted, Vec<String>) {
    let mut s = base(
        SubmitKind::SubmitSm,
        sm.service_type.value().as_str(),
        sm.source_addr.as_str(),
        sm.destination_addr.as_str(),
        u8::from(sm.data_coding),
        u8::from(sm.esm_class),
        u8::from(sm.registered_delivery),
    );
    s.short_message = sm.short_message().to_vec();
    finish(s, sm.tlvs())
}

pub(crate) fn from_data_sm(sm: &DataSm) -> (Submitted, Vec<String>) {
    let s = base(
        SubmitKind::DataSm,
        sm.service_type.value().as_str(),
        sm.source_addr.as_str(),
        sm.destination_addr.as_str(),
        u8::from(sm.data_coding),
        u8::from(sm.esm_class),
        u8::from(sm.registered_delivery),
    );
    finish(s, sm.tlvs())
}

/// Reads the TLVs we care about, decodes the text, and lists what the ESME got wrong.
fn finish(mut s: Submitted, tlvs: &[Tlv]) -> (Submitted, Vec<String>) {
    let mut problems = Vec::new();
    let (mut sar_ref, mut sar_total, mut sar_seq) = (None, None, None);
    for value in tlvs.iter().filter_map(Tlv::value) {
        match value {
            TlvValue::UssdServiceOp(op) => s.ussd_service_op = Some(u8::from(*op)),
            TlvValue::ItsSessionInfo(i) => {
                s.its_session_info = Some([i.session_number, i.sequence_number])
            }
            TlvValue::MessagePayload(p) => s.message_payload = Some(p.value.to_vec()),
            TlvValue::SarMsgRefNum(r) => sar_ref = Some(*r),
            TlvValue::SarTotalSegments(t) => sar_total = Some(*t),
            TlvValue::SarSegmentSeqnum(q) => sar_seq = Some(*q),
            _ => {}
        }
    }
    match (sar_ref, sar_total, sar_seq) {
        (Some(reference), Some(total), Some(seq)) => {
            s.sar = Some(Concat {
                reference,
                total,
                seq,
            })
        }
        (None, None, None) => {}
        _ => problems.push("sar_* TLVs must come as a set of three".to_owned()),
    }
    if !s.short_message.is_empty() && s.message_payload.is_some() {
        problems.push("both short_message and message_payload are set".to_owned());
    }
    let body = if s.short_message.is_empty() {
        s.message_payload.clone().unwrap_or_default()
    } else {
        s.short_message.clone()
    };
    let decoded = if s.esm_class & 0x40 != 0 {
        text::split_udh(&body).and_then(|(c, b)| {
            s.udh = c;
            text::decode(s.data_coding, b)
        })
    } else {
        text::decode(s.data_coding, &body)
    };
    match decoded {
        Ok(t) => s.text = t,
        Err(e) => {
            problems.push(format!("undecodable text: {e}"));
            s.text_error = Some(e.to_string());
        }
    }
    (s, problems)
}

/// Receipt date format: YYMMDDhhmm (UTC).
fn receipt_date(now: SystemTime) -> String {
    let secs = now.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs());
    let (days, rem) = (secs / 86_400, secs % 86_400);
    // Civil-from-days (H. Hinnant), valid for the Unix era.
    let z = days as i64 + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{:02}{:02}{:02}{:02}{:02}",
        year % 100,
        month,
        day,
        rem / 3600,
        rem % 3600 / 60
    )
}

/// The SMPP 3.4 Appendix B receipt text.
pub fn receipt_text(
    message_id: &str,
    submitted_at: SystemTime,
    done_at: SystemTime,
    text: &str,
) -> String {
    let head: String = text.chars().take(20).collect();
    format!(
        "id:{message_id} sub:001 dlvrd:001 submit date:{} done date:{} stat:DELIVRD err:000 text:{head}",
        receipt_date(submitted_at),
        receipt_date(done_at),
    )
}

/// The receipt deliver_sm for an accepted MT: addresses swapped, esm_class 0x04 set explicitly
/// (rusmpp's default would be 0x08), receipted_message_id and message_state TLVs.
pub(crate) fn receipt(s: &Submitted, message_id: &str) -> Option<DeliverSm> {
    let now = SystemTime::now();
    let body = receipt_text(message_id, now, now, &s.text);
    let septets: Vec<u8> = body
        .chars()
        .flat_map(|c| text::encode_gsm7(&c.to_string()).unwrap_or_else(|| vec![0x3F]))
        .collect();
    let pdu = DeliverSm::builder()
        .source_addr(COctetString::from_string(s.dest.clone()).ok()?)
        .destination_addr(COctetString::from_string(s.source.clone()).ok()?)
        .esm_class(EsmClass::from(0x04))
        .registered_delivery(RegisteredDelivery::from(0))
        .data_coding(DataCoding::McSpecific)
        .short_message(OctetString::from_vec(septets).ok()?)
        .push_tlv(MessageDeliveryRequestTlvValue::ReceiptedMessageId(
            COctetString::from_string(message_id.to_owned()).ok()?,
        ))
        .push_tlv(MessageDeliveryRequestTlvValue::MessageState(
            MessageState::Delivered,
        ))
        .build();
    Some(pdu)
}

/// One submit the SMSC has not answered yet (see `Stats::submits_in_flight`); the count drops
/// when this drops.
pub(crate) struct InFlight(std::sync::Arc<crate::smsc::Shared>);

impl InFlight {
    fn new(shared: std::sync::Arc<crate::smsc::Shared>) -> Self {
        use std::sync::atomic::Ordering::Relaxed;
        let c = &shared.counters;
        let n = c.submits_in_flight.fetch_add(1, Relaxed) + 1;
        c.max_submits_in_flight.fetch_max(n, Relaxed);
        InFlight(shared)
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        let c = &self.0.counters;
        c.submits_in_flight
            .fetch_sub(1, std::sync::atomic::Ordering::Relaxed);
    }
}

impl Session {
    pub(crate) async fn on_submit(
        &mut self,
        seq: u32,
        bytes: &[u8],
        (mut s, problems): (Submitted, Vec<String>),
    ) -> Flow {
        let in_flight = InFlight::new(self.shared.clone());
        let counters = &self.shared.counters;
        bump(match s.kind {
            SubmitKind::SubmitSm => &counters.submits,
            SubmitKind::DataSm => &counters.data_sms,
        });
        s.bind = self.id;
        s.system_id = self.system_id().unwrap_or_default();
        s.sequence = seq;
        let resp_id = if s.kind == SubmitKind::SubmitSm {
            0x8000_0004
        } else {
            0x8000_0103
        };
        let header = Header {
            length: 0,
            command_id: resp_id & 0x7FFF_FFFF,
            status: 0,
            sequence: seq,
        };
        for problem in problems {
            self.protocol_error(&header, bytes, problem);
        }
        tracing::info!(dest = %mask(&s.dest), dcs = s.data_coding, op = ?s.ussd_service_op, "MT received");
        let b = self.shared.behaviour();
        let n = {
            let mut count = crate::smsc::lock(&self.shared.submit_count);
            *count += 1;
            *count
        };
        let every = |k: Option<u32>| k.is_some_and(|k| k > 0 && n % u64::from(k) == 0);
        if b.never_respond {
            bump(&counters.unanswered);
            self.shared.route_submit(s);
            return Flow::Continue;
        }
        if let Some(status) = b.nack_instead_of_resp {
            bump(&counters.nacks_instead_of_resp);
            s.answer = Answer::GenericNack(status);
            self.shared.route_submit(s);
            return self.nack(seq, status).await;
        }
        let refusal = if every(b.throttle_every) {
            bump(&counters.throttled);
            Some(CommandStatus::EsmeRthrottled)
        } else if every(b.queue_full_every) {
            bump(&counters.queue_full);
            Some(CommandStatus::EsmeRmsgqful)
        } else {
            None
        };
        if let Some(status) = refusal {
            s.answer = Answer::Resp(status);
            self.shared.route_submit(s);
            return self.header_resp(&header, status).await;
        }
        self.accept(s, b, in_flight).await
    }

    async fn accept(
        &mut self,
        mut s: Submitted,
        b: crate::config::Behaviour,
        in_flight: InFlight,
    ) -> Flow {
        let id = self.shared.new_message_id();
        let (seq, kind) = (s.sequence, s.kind);
        s.message_id = Some(id.clone());
        s.answer = Answer::Resp(CommandStatus::EsmeRok);
        let rd = s.registered_delivery & 0x03;
        let receipt = if rd == 1 || rd == 3 {
            receipt(&s, &id)
        } else {
            None
        };
        self.shared.route_submit(s);
        let cid = COctetString::from_string(id).unwrap_or_default();
        let pdu: Pdu = match kind {
            SubmitKind::SubmitSm => SubmitSmResp::new(cid, vec![]).into(),
            SubmitKind::DataSm => DataSmResp::new(cid, vec![]).into(),
        };
        let resp = frame::encode(&Command::new(CommandStatus::EsmeRok, seq, pdu));
        bump(&self.shared.counters.submit_resps_sent);
        // Receipts go back on this bind if it can receive, else on a receiver of the same account.
        let here = self.bound.as_ref().is_some_and(|b| b.kind.can_receive());
        let receipt_to = if here {
            Some(self.control.clone())
        } else {
            self.shared
                .receiver(&Target::SystemId(self.system_id().unwrap_or_default()))
        };
        let mut later = receipt.zip(receipt_to);
        if b.receipt_before_resp {
            if let Some((r, to)) = later.take() {
                let flow = if here {
                    self.send_deliver(r, true, None).await
                } else {
                    let _ = to.send(receipt_control(r)).await;
                    Flow::Continue
                };
                if let Flow::Close = flow {
                    return Flow::Close;
                }
            }
        }
        let delay = b.submit_resp_delay;
        let receipt_delay = self.shared.config.receipt_delay;
        let control = self.control.clone();
        if delay.is_zero() {
            tracing::debug!(seq, "sending submit resp");
            if let Flow::Close = self.write(&resp).await {
                return Flow::Close;
            }
        }
        if !delay.is_zero() || later.is_some() {
            tokio::spawn(async move {
                if !delay.is_zero() {
                    tokio::time::sleep(delay).await;
                    let _ = control
                        .send(Control::Raw {
                            bytes: resp,
                            done: None,
                        })
                        .await;
                }
                drop(in_flight);
                if let Some((pdu, to)) = later {
                    tokio::time::sleep(receipt_delay).await;
                    let _ = to.send(receipt_control(pdu)).await;
                }
            });
        }
        Flow::Continue
    }
}

fn receipt_control(pdu: DeliverSm) -> Control {
    Control::Deliver {
        pdu: Box::new(pdu),
        receipt: true,
        done: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn masks_msisdn() {
        assert_eq!(mask("9647701234567"), "964********67");
        assert_eq!(mask("123"), "***");
    }

    #[test]
    fn receipt_text_has_the_appendix_b_fields() {
        let t = UNIX_EPOCH + std::time::Duration::from_secs(1_764_172_800 + 3_723); // 2025-11-26 17:02:03 UTC
        let r = receipt_text("0000002a", t, t, "hello world, this is long");
        assert_eq!(
            r,
            "id:0000002a sub:001 dlvrd:001 submit date:2511261702 done date:2511261702 stat:DELIVRD err:000 text:hello world, this is"
        );
    }
}
