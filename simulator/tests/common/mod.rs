//! A minimal ESME on rusmpp's codec, playing the gateway in the simulator's tests.
#![allow(dead_code)]

use std::net::SocketAddr;
use std::time::Duration;

use bawaba_sim::rusmpp::pdus::{BindReceiver, BindTransceiver, BindTransmitter, SubmitSm};
use bawaba_sim::rusmpp::tlvs::{MessageSubmissionRequestTlvValue, TlvValue};
use bawaba_sim::rusmpp::tokio_codec::CommandCodec;
use bawaba_sim::rusmpp::types::{COctetString, OctetString};
use bawaba_sim::rusmpp::values::{
    DataCoding, EsmClass, InterfaceVersion, ItsSessionInfo, RegisteredDelivery, ServiceType,
    UssdServiceOp,
};
use bawaba_sim::rusmpp::{Command, CommandStatus, Pdu};
use bawaba_sim::{Smsc, SmscConfig, SmscHandle};
use bytes::BytesMut;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio_util::codec::{Decoder, Encoder};

pub const WAIT: Duration = Duration::from_secs(5);

pub async fn smsc(tweak: impl FnOnce(&mut SmscConfig)) -> SmscHandle {
    let mut c = SmscConfig::local("bawaba", "secret");
    tweak(&mut c);
    Smsc::start(c).await.expect("start SMSC")
}

pub fn cstr<const MIN: usize, const MAX: usize>(s: &str) -> COctetString<MIN, MAX> {
    COctetString::from_string(s.to_owned()).unwrap()
}

#[derive(Clone, Copy)]
pub enum Kind {
    Tx,
    Rx,
    Trx,
}

pub struct Esme {
    stream: TcpStream,
    buf: BytesMut,
    codec: CommandCodec,
    seq: u32,
}

impl Esme {
    pub async fn connect(addr: SocketAddr) -> Self {
        let stream = TcpStream::connect(addr).await.unwrap();
        Self {
            stream,
            buf: BytesMut::new(),
            codec: CommandCodec::new(),
            seq: 0,
        }
    }

    /// Connects and binds as a transceiver, asserting success.
    pub async fn bound(smsc: &SmscHandle) -> Self {
        let mut e = Self::connect(smsc.local_addr()).await;
        let resp = e.bind(Kind::Trx, "bawaba", "secret", 0x34).await;
        assert_eq!(resp.status(), CommandStatus::EsmeRok);
        e
    }

    pub fn next_seq(&mut self) -> u32 {
        self.seq += 1;
        self.seq
    }

    pub async fn send(&mut self, cmd: Command) {
        let mut out = BytesMut::new();
        self.codec.encode(cmd, &mut out).unwrap();
        self.stream.write_all(&out).await.unwrap();
    }

    pub async fn send_raw(&mut self, bytes: &[u8]) {
        self.stream.write_all(bytes).await.unwrap();
    }

    /// Sends a request with a fresh sequence number and returns it.
    pub async fn request(&mut self, pdu: impl Into<Pdu>) -> u32 {
        let seq = self.next_seq();
        self.send(Command::new(CommandStatus::EsmeRok, seq, pdu))
            .await;
        seq
    }

    pub async fn recv(&mut self) -> Command {
        tokio::time::timeout(WAIT, async {
            loop {
                if let Some(cmd) = self
                    .codec
                    .decode(&mut self.buf)
                    .expect("SMSC sent a PDU rusmpp cannot decode")
                {
                    return cmd;
                }
                let n = self.stream.read_buf(&mut self.buf).await.unwrap();
                assert!(n > 0, "SMSC closed the link");
            }
        })
        .await
        .expect("timed out waiting for a PDU")
    }

    /// Receives the next PDU, answering (and skipping) the SMSC's enquire_links.
    pub async fn recv_skip_enquire(&mut self) -> Command {
        loop {
            let cmd = self.recv().await;
            if matches!(cmd.pdu(), Some(Pdu::EnquireLink)) {
                self.send(Command::new(
                    CommandStatus::EsmeRok,
                    cmd.sequence_number(),
                    Pdu::EnquireLinkResp,
                ))
                .await;
                continue;
            }
            return cmd;
        }
    }

    pub async fn recv_raw(&mut self, n: usize) -> Vec<u8> {
        tokio::time::timeout(WAIT, async {
            while self.buf.len() < n {
                let r = self.stream.read_buf(&mut self.buf).await.unwrap();
                assert!(r > 0, "SMSC closed the link");
            }
            self.buf.split_to(n).to_vec()
        })
        .await
        .expect("timed out waiting for raw bytes")
    }

    /// Reads until the SMSC closes the link.
    pub async fn expect_eof(&mut self) {
        tokio::time::timeout(WAIT, async {
            loop {
                match self.stream.read_buf(&mut self.buf).await {
                    Ok(0) | Err(_) => return,
                    Ok(_) => self.buf.clear(),
                }
            }
        })
        .await
        .expect("SMSC did not close the link");
    }

    pub async fn bind(
        &mut self,
        kind: Kind,
        system_id: &str,
        password: &str,
        version: u8,
    ) -> Command {
        // The three binds are distinct rusmpp types with the same builder.
        macro_rules! bind {
            ($t:ident) => {
                $t::builder()
                    .system_id(cstr(system_id))
                    .password(cstr(password))
                    .interface_version(InterfaceVersion::from(version))
                    .build()
                    .into()
            };
        }
        let pdu: Pdu = match kind {
            Kind::Tx => bind!(BindTransmitter),
            Kind::Rx => bind!(BindReceiver),
            Kind::Trx => bind!(BindTransceiver),
        };
        let seq = self.request(pdu).await;
        let resp = self.recv().await;
        assert_eq!(resp.sequence_number(), seq);
        resp
    }

    pub async fn ack_deliver(&mut self, cmd: &Command, status: CommandStatus) {
        let resp = bawaba_sim::rusmpp::pdus::DeliverSmResp::new(COctetString::empty(), vec![]);
        self.send(Command::new(status, cmd.sequence_number(), resp))
            .await;
    }
}

/// A plain submit_sm (esm_class set explicitly: rusmpp's default encodes 0x08).
pub fn submit(dest: &str, dcs: u8, body: Vec<u8>, registered_delivery: u8) -> SubmitSm {
    SubmitSm::builder()
        .source_addr(cstr("4455"))
        .destination_addr(cstr(dest))
        .esm_class(EsmClass::from(0))
        .registered_delivery(RegisteredDelivery::from(registered_delivery))
        .data_coding(DataCoding::from(dcs))
        .short_message(OctetString::from_vec(body).unwrap())
        .build()
}

/// A USSD screen from the gateway: service_type USSD, UCS-2, op and its_session_info.
pub fn ussd_screen(dest: &str, text: &str, op: u8, its: [u8; 2]) -> SubmitSm {
    let body = bawaba_sim::text::encode_ucs2(text);
    let mut sm = submit(dest, 8, body, 0);
    sm.service_type = ServiceType::new(cstr("USSD"));
    sm.push_tlv(MessageSubmissionRequestTlvValue::UssdServiceOp(
        UssdServiceOp::from(op),
    ));
    sm.push_tlv(MessageSubmissionRequestTlvValue::ItsSessionInfo(
        ItsSessionInfo::new(its[0], its[1]),
    ));
    sm
}

pub fn deliver_of(cmd: &Command) -> &bawaba_sim::rusmpp::pdus::DeliverSm {
    match cmd.pdu() {
        Some(Pdu::DeliverSm(d)) => d,
        other => panic!("expected deliver_sm, got {other:?}"),
    }
}

/// (ussd_service_op, its_session_info) of a deliver_sm.
pub fn ussd_tlvs(d: &bawaba_sim::rusmpp::pdus::DeliverSm) -> (Option<u8>, Option<[u8; 2]>) {
    let (mut op, mut its) = (None, None);
    for v in d.tlvs().iter().filter_map(|t| t.value()) {
        match v {
            TlvValue::UssdServiceOp(o) => op = Some(u8::from(*o)),
            TlvValue::ItsSessionInfo(i) => its = Some([i.session_number, i.sequence_number]),
            _ => {}
        }
    }
    (op, its)
}
