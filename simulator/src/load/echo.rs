//! A trivial ESME that stands in for the gateway when we measure the load generator itself:
//! it binds as a transceiver and answers every USSD deliver_sm with one submit_sm, after a
//! fixed delay (zero: at once). The screen is `echo INPUT`, and ends the dialogue when the input
//! is `0`; the input `fail` gets `service unavailable`, so tests can check that a wrong screen
//! is never counted as a success. An SMS gets one SMS back with the same text; an abort gets
//! only its deliver_sm_resp.
//!
//! One task reads (and spawns one short task per delayed answer), one writes; the writer's
//! queue is bounded, and a full queue waits (backpressure onto the reader, hence onto the SMSC).

use std::net::SocketAddr;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;
use std::time::Duration;

use anyhow::{bail, Context};
use futures::{SinkExt, StreamExt};
use rusmpp::pdus::{BindTransceiver, DeliverSm, DeliverSmResp, SubmitSm};
use rusmpp::tlvs::{MessageSubmissionRequestTlvValue, TlvValue};
use rusmpp::tokio_codec::CommandCodec;
use rusmpp::types::{COctetString, OctetString};
use rusmpp::values::{
    DataCoding, EsmClass, InterfaceVersion, ItsSessionInfo, RegisteredDelivery, ServiceType,
    UssdServiceOp,
};
use rusmpp::{Command, CommandStatus, Pdu};
use tokio::net::TcpStream;
use tokio::sync::mpsc;
use tokio_util::codec::{FramedRead, FramedWrite};

use crate::text;

const OUT_QUEUE: usize = 1024;
/// The USSD op of a subscriber's abort in the simulator's default profile.
const ABORT_OP: u8 = 129;

/// The screen the echo ESME answers `input` with, and whether it ends the dialogue.
pub fn screen_for(input: &str) -> (String, bool) {
    match input {
        "fail" => ("service unavailable".into(), false),
        "0" => ("echo 0".into(), true),
        other => (format!("echo {other}"), false),
    }
}

/// Connects to `smsc`, binds as a transceiver and answers until the link closes.
/// Returns once bound; the answering runs in spawned tasks.
pub async fn start(
    smsc: SocketAddr,
    system_id: &str,
    password: &str,
    delay: Duration,
) -> anyhow::Result<()> {
    start_with(smsc, system_id, password, delay, Duration::ZERO).await
}

/// [`start`], but the answer goes at once and each deliver_sm_resp `ack_delay` later: like
/// a gateway that works on an MO while it makes it durable.
pub async fn start_acking_late(
    smsc: SocketAddr,
    system_id: &str,
    password: &str,
    ack_delay: Duration,
) -> anyhow::Result<()> {
    start_with(smsc, system_id, password, Duration::ZERO, ack_delay).await
}

async fn start_with(
    smsc: SocketAddr,
    system_id: &str,
    password: &str,
    delay: Duration,
    ack_delay: Duration,
) -> anyhow::Result<()> {
    let stream = TcpStream::connect(smsc)
        .await
        .with_context(|| format!("connect {smsc}"))?;
    stream.set_nodelay(true)?;
    let (r, w) = stream.into_split();
    let mut reader = FramedRead::new(r, CommandCodec::new());
    let mut writer = FramedWrite::new(w, CommandCodec::new());
    let bind = BindTransceiver::builder()
        .system_id(cstr(system_id)?)
        .password(cstr(password)?)
        .interface_version(InterfaceVersion::from(0x34))
        .build();
    writer
        .send(Command::new(CommandStatus::EsmeRok, 1, bind))
        .await?;
    let resp = reader
        .next()
        .await
        .context("the SMSC closed before bind_resp")??;
    if resp.status() != CommandStatus::EsmeRok {
        bail!("bind refused: {:?}", resp.status());
    }
    let (tx, mut rx) = mpsc::channel::<Command>(OUT_QUEUE);
    tokio::spawn(async move {
        while let Some(cmd) = rx.recv().await {
            if writer.send(cmd).await.is_err() {
                return;
            }
        }
    });
    let seq = Arc::new(AtomicU32::new(2));
    tokio::spawn(async move {
        while let Some(Ok(cmd)) = reader.next().await {
            if answer(cmd, &tx, &seq, (delay, ack_delay)).await.is_err() {
                return;
            }
        }
    });
    Ok(())
}

fn cstr<const MIN: usize, const MAX: usize>(s: &str) -> anyhow::Result<COctetString<MIN, MAX>> {
    COctetString::from_string(s.to_owned()).map_err(|_| anyhow::anyhow!("bind field too long"))
}

type Out = mpsc::Sender<Command>;

async fn answer(
    cmd: Command,
    tx: &Out,
    seq: &Arc<AtomicU32>,
    (delay, ack_delay): (Duration, Duration),
) -> Result<(), ()> {
    let send = |c| async move { tx.send(c).await.map_err(|_| ()) };
    let n = cmd.sequence_number();
    match cmd.pdu() {
        Some(Pdu::EnquireLink) => {
            send(Command::new(
                CommandStatus::EsmeRok,
                n,
                Pdu::EnquireLinkResp,
            ))
            .await
        }
        Some(Pdu::Unbind) => {
            send(Command::new(CommandStatus::EsmeRok, n, Pdu::UnbindResp)).await?;
            Err(())
        }
        Some(Pdu::DeliverSm(d)) => {
            let resp = DeliverSmResp::new(COctetString::empty(), vec![]);
            let resp = Command::new(CommandStatus::EsmeRok, n, resp);
            if ack_delay.is_zero() {
                send(resp).await?;
            } else {
                let tx = tx.clone();
                tokio::spawn(async move {
                    tokio::time::sleep(ack_delay).await;
                    let _ = tx.send(resp).await;
                });
            }
            let Some(sm) = screen(d) else { return Ok(()) };
            let next = seq.fetch_add(1, Ordering::Relaxed);
            let cmd = Command::new(CommandStatus::EsmeRok, next, sm);
            if delay.is_zero() {
                return send(cmd).await;
            }
            let tx = tx.clone();
            tokio::spawn(async move {
                tokio::time::sleep(delay).await;
                let _ = tx.send(cmd).await;
            });
            Ok(())
        }
        _ => Ok(()),
    }
}

/// The submit_sm answering a deliver_sm: a USSD screen, or for an SMS one SMS back from the
/// short code it was sent to; `None` for an abort or text it cannot decode.
fn screen(d: &DeliverSm) -> Option<SubmitSm> {
    let (mut op, mut its) = (None, None);
    for v in d.tlvs().iter().filter_map(|t| t.value()) {
        match v {
            TlvValue::UssdServiceOp(o) => op = Some(u8::from(*o)),
            TlvValue::ItsSessionInfo(i) => its = Some(i.session_number),
            _ => {}
        }
    }
    if op == Some(ABORT_OP) {
        return None;
    }
    let input = text::decode(u8::from(d.data_coding), d.short_message()).ok()?;
    let (body, end) = screen_for(&input);
    let Some(_) = op else {
        return SubmitSm::builder()
            .source_addr(COctetString::from_string(d.destination_addr.as_str().to_owned()).ok()?)
            .destination_addr(COctetString::from_string(d.source_addr.as_str().to_owned()).ok()?)
            .data_coding(DataCoding::from(text::DCS_UCS2))
            .short_message(OctetString::from_vec(text::encode_ucs2(&body)).ok()?)
            .build()
            .into();
    };
    let mut sm = SubmitSm::builder()
        .service_type(ServiceType::new(
            COctetString::from_string("USSD".into()).ok()?,
        ))
        .source_addr(COctetString::from_string("123".into()).ok()?)
        .destination_addr(COctetString::from_string(d.source_addr.as_str().to_owned()).ok()?)
        .esm_class(EsmClass::from(0))
        .registered_delivery(RegisteredDelivery::from(0))
        .data_coding(DataCoding::from(text::DCS_UCS2))
        .short_message(OctetString::from_vec(text::encode_ucs2(&body)).ok()?)
        .build();
    sm.push_tlv(MessageSubmissionRequestTlvValue::UssdServiceOp(
        UssdServiceOp::from(if end { 17 } else { 2 }),
    ));
    if let Some(n) = its {
        sm.push_tlv(MessageSubmissionRequestTlvValue::ItsSessionInfo(
            ItsSessionInfo::new(n, u8::from(end)),
        ));
    }
    Some(sm)
}
