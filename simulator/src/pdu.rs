//! What the SMSC does with each decoded PDU from the ESME: binds (accounts, refusals, both
//! interface versions), enquire_link, unbind, responses, generic_nack. MTs are in `mt`.
//! A long match where each arm calls a named function; no socket code here.

use rusmpp::pdus::{BindReceiverResp, BindTransceiverResp, BindTransmitterResp};
use rusmpp::types::COctetString;
use rusmpp::values::InterfaceVersion;
use rusmpp::{Command, CommandStatus, Pdu};

use crate::frame::{self, Header};
use crate::observe::{bump, BindInfo, BindKind, NackReceived};
use crate::session::{Flow, Session};
use crate::smsc::{lock, BindEntry};

/// Requests an ESME may send, so an undecodable one gets its own `*_resp`.
pub(crate) fn is_known_request(command_id: u32) -> bool {
    matches!(command_id, 0x01..=0x04 | 0x06..=0x09 | 0x15 | 0x21 | 0x103)
}

struct BindRequest {
    kind: BindKind,
    system_id: String,
    password: String,
    version: u8,
}

impl Session {
    pub(crate) async fn on_command(&mut self, h: Header, bytes: &[u8], cmd: Command) -> Flow {
        if !h.is_response() && h.status != 0 {
            self.protocol_error(
                &h,
                bytes,
                format!("request with non-zero command_status {:#x}", h.status),
            );
        }
        let seq = cmd.sequence_number();
        let Some(pdu) = cmd.pdu() else {
            if h.is_response() && h.status != 0 && self.complete(seq, cmd.status()) {
                // A failed response without a body, as SMPP 3.4 allows.
                return Flow::Continue;
            }
            return self.on_unexpected(&h, bytes, "PDU without a body").await;
        };
        macro_rules! bind {
            ($kind:expr, $b:expr) => {
                BindRequest {
                    kind: $kind,
                    system_id: $b.system_id.as_str().to_owned(),
                    password: $b.password.as_str().to_owned(),
                    version: u8::from($b.interface_version),
                }
            };
        }
        match pdu {
            Pdu::BindTransmitter(b) => self.on_bind(seq, bind!(BindKind::Transmitter, b)).await,
            Pdu::BindReceiver(b) => self.on_bind(seq, bind!(BindKind::Receiver, b)).await,
            Pdu::BindTransceiver(b) => self.on_bind(seq, bind!(BindKind::Transceiver, b)).await,
            Pdu::SubmitSm(_) | Pdu::DataSm(_) if !self.can_submit() => {
                self.protocol_error(
                    &h,
                    bytes,
                    "submit while not bound as transmitter/transceiver",
                );
                self.header_resp(&h, CommandStatus::EsmeRinvbndsts).await
            }
            Pdu::SubmitSm(sm) => {
                self.on_submit(seq, bytes, crate::mt::from_submit_sm(sm))
                    .await
            }
            Pdu::DataSm(sm) => {
                self.on_submit(seq, bytes, crate::mt::from_data_sm(sm))
                    .await
            }
            Pdu::DeliverSmResp(_) | Pdu::DataSmResp(_) | Pdu::EnquireLinkResp | Pdu::UnbindResp => {
                self.on_response(&h, bytes, pdu).await
            }
            Pdu::EnquireLink => {
                bump(&self.shared.counters.enquire_links_received);
                self.send(&Command::new(
                    CommandStatus::EsmeRok,
                    seq,
                    Pdu::EnquireLinkResp,
                ))
                .await
            }
            Pdu::Unbind => {
                bump(&self.shared.counters.unbinds_received);
                let _ = self
                    .send(&Command::new(CommandStatus::EsmeRok, seq, Pdu::UnbindResp))
                    .await;
                Flow::Close
            }
            Pdu::GenericNack => {
                self.shared.record_nack(NackReceived {
                    bind: self.id,
                    sequence: seq,
                    status: cmd.status(),
                });
                self.complete(seq, cmd.status());
                Flow::Continue
            }
            Pdu::QuerySm(_) | Pdu::CancelSm(_) | Pdu::ReplaceSm(_) | Pdu::SubmitMulti(_) => {
                self.nack(seq, CommandStatus::EsmeRinvcmdid).await
            }
            _ => {
                self.on_unexpected(&h, bytes, "PDU an ESME must not send")
                    .await
            }
        }
    }

    fn can_submit(&self) -> bool {
        self.bound.as_ref().is_some_and(|b| b.kind.can_submit())
    }

    async fn on_unexpected(&mut self, h: &Header, bytes: &[u8], why: &str) -> Flow {
        self.protocol_error(
            h,
            bytes,
            format!("command_id {:#010x}: {why}", h.command_id),
        );
        self.nack(h.sequence, CommandStatus::EsmeRinvcmdid).await
    }

    /// A failed response: header only, as SMPP 3.4 allows when command_status is non-zero.
    pub(crate) async fn header_resp(&mut self, h: &Header, status: CommandStatus) -> Flow {
        let resp = frame::header_only(h.command_id | 0x8000_0000, status.into(), h.sequence);
        self.write(&resp).await
    }

    async fn on_response(&mut self, h: &Header, bytes: &[u8], pdu: &Pdu) -> Flow {
        let status = CommandStatus::from(h.status);
        match self.expected_response(h.sequence) {
            Some(want) if want != h.command_id => {
                let why = format!(
                    "answered with command_id {:#010x}, expected {want:#010x}",
                    h.command_id
                );
                self.protocol_error(h, bytes, why);
            }
            _ => {}
        }
        if let Pdu::DeliverSmResp(r) = pdu {
            if !r.message_id().is_empty() {
                self.protocol_error(
                    h,
                    bytes,
                    "deliver_sm_resp message_id must be NULL (SMPP 3.4 4.6.2)",
                );
            }
        }
        if !self.complete(h.sequence, status) {
            self.protocol_error(
                h,
                bytes,
                "response to a sequence number the SMSC never sent",
            );
            return Flow::Continue;
        }
        if matches!(pdu, Pdu::UnbindResp) {
            return Flow::Close;
        }
        Flow::Continue
    }

    async fn on_bind(&mut self, seq: u32, req: BindRequest) -> Flow {
        let resp_id = match req.kind {
            BindKind::Transmitter => 0x8000_0002,
            BindKind::Receiver => 0x8000_0001,
            BindKind::Transceiver => 0x8000_0009,
        };
        let status = self.check_bind(&req);
        if status != CommandStatus::EsmeRok {
            bump(&self.shared.counters.binds_refused);
            tracing::info!(system_id = %req.system_id, ?status, "bind refused");
            return self
                .write(&frame::header_only(resp_id, status.into(), seq))
                .await;
        }
        let info = BindInfo {
            id: self.id,
            system_id: req.system_id.clone(),
            kind: req.kind,
            interface_version: req.version,
            peer: self.peer,
        };
        let version = if req.version == 0x50 {
            InterfaceVersion::Smpp5_0
        } else {
            InterfaceVersion::Smpp3_4
        };
        let sid = COctetString::from_static_slice(b"bawaba-sim\0").unwrap_or_default();
        let pdu: Pdu = match req.kind {
            BindKind::Transmitter => BindTransmitterResp::new(sid, Some(version)).into(),
            BindKind::Receiver => BindReceiverResp::new(sid, Some(version)).into(),
            BindKind::Transceiver => BindTransceiverResp::new(sid, Some(version)).into(),
        };
        let flow = self
            .send(&Command::new(CommandStatus::EsmeRok, seq, pdu))
            .await;
        tracing::info!(system_id = %req.system_id, kind = ?req.kind, version = %format_args!("{:#04x}", req.version), "bound");
        self.bound = Some(info.clone());
        bump(&self.shared.counters.binds_accepted);
        lock(&self.shared.binds).insert(
            self.id,
            BindEntry {
                info,
                control: self.control.clone(),
            },
        );
        flow
    }

    fn check_bind(&self, req: &BindRequest) -> CommandStatus {
        if self.bound.is_some() {
            return CommandStatus::EsmeRalybnd;
        }
        if self.shared.take_bind_refusal() || !matches!(req.version, 0x34 | 0x50) {
            return CommandStatus::EsmeRbindfail;
        }
        match self
            .shared
            .config
            .accounts
            .iter()
            .find(|a| a.system_id == req.system_id)
        {
            None => CommandStatus::EsmeRinvsysid,
            Some(a) if a.password != req.password => CommandStatus::EsmeRinvpaswd,
            Some(_) => CommandStatus::EsmeRok,
        }
    }
}
