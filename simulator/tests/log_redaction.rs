//! The SMSC never logs a bind password, even at TRACE: `bawaba demo` runs it inside the
//! gateway, so what it logs lands in the gateway's log. Real ESMEs bind over loopback while
//! every event the process emits is captured into a buffer.

mod common;

use std::io;
use std::sync::{Arc, Mutex, PoisonError};

use bawaba_sim::rusmpp::pdus::Outbind;
use bawaba_sim::rusmpp::{CommandStatus, Pdu};
use bawaba_sim::{Smsc, SmscConfig};
use common::{cstr, Esme, Kind};
use tracing_subscriber::fmt::MakeWriter;

const SYSTEM_ID: &str = "log-gw";
const PASSWORD: &str = "Pw9#zQ!k";
const WRONG_PASSWORD: &str = "Xw8$rN0g";
const OUTBIND_PASSWORD: &str = "Ob7%tY2m";
/// Too long for a bind (9 octets with its NUL), so rusmpp cannot decode the PDU at all.
const LONG_PASSWORD: &str = "TooLong#Secret42";

/// Everything the process logs, as text.
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Captured {
    fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().unwrap_or_else(PoisonError::into_inner)).into_owned()
    }
}

impl io::Write for Captured {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.0
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl<'a> MakeWriter<'a> for Captured {
    type Writer = Captured;
    fn make_writer(&'a self) -> Self::Writer {
        self.clone()
    }
}

/// A bind_transmitter written by hand, so its password may be longer than rusmpp allows.
fn raw_bind(system_id: &str, password: &str, sequence: u32) -> Vec<u8> {
    let mut body = Vec::new();
    for field in [system_id, password, ""] {
        body.extend_from_slice(field.as_bytes());
        body.push(0);
    }
    body.extend_from_slice(&[0x34, 0, 0, 0]); // interface_version, addr_ton, addr_npi, address_range
    let mut pdu = Vec::new();
    for word in [16 + body.len() as u32, 0x02, 0, sequence] {
        pdu.extend_from_slice(&word.to_be_bytes());
    }
    pdu.extend_from_slice(&body);
    pdu
}

#[tokio::test]
async fn bind_passwords_never_reach_the_log() {
    let log = Captured::default();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .with_ansi(false)
        .with_writer(log.clone())
        .finish();
    tracing::subscriber::set_global_default(subscriber).expect("the only subscriber");

    let smsc = Smsc::start(SmscConfig::local(SYSTEM_ID, PASSWORD))
        .await
        .expect("start SMSC");
    for kind in [Kind::Tx, Kind::Rx, Kind::Trx] {
        let mut e = Esme::connect(smsc.local_addr()).await;
        let resp = e.bind(kind, SYSTEM_ID, PASSWORD, 0x34).await;
        assert_eq!(resp.status(), CommandStatus::EsmeRok);
    }
    let mut e = Esme::connect(smsc.local_addr()).await;
    let resp = e.bind(Kind::Trx, SYSTEM_ID, WRONG_PASSWORD, 0x34).await;
    assert_eq!(resp.status(), CommandStatus::EsmeRinvpaswd);

    // An ESME must not send outbind, but the SMSC reads (and logs) it before refusing it.
    let mut e = Esme::connect(smsc.local_addr()).await;
    e.request(Outbind::new(cstr(SYSTEM_ID), cstr(OUTBIND_PASSWORD)))
        .await;
    assert!(matches!(e.recv().await.pdu(), Some(Pdu::GenericNack)));

    let mut e = Esme::connect(smsc.local_addr()).await;
    e.send_raw(&raw_bind(SYSTEM_ID, LONG_PASSWORD, 9)).await;
    let resp = e.recv_raw(16).await;
    assert_eq!(
        resp[4..8],
        0x8000_0002u32.to_be_bytes(),
        "bind_transmitter_resp"
    );
    assert_eq!(
        resp[8..12],
        u32::from(CommandStatus::EsmeRinvmsglen).to_be_bytes()
    );
    smsc.shutdown().await;

    let text = log.text();
    assert!(
        text.contains("received"),
        "debug PDU lines were captured:\n{text}"
    );
    assert!(text.contains(SYSTEM_ID), "the system_id is logged:\n{text}");
    assert_eq!(smsc.protocol_errors().len(), 2, "outbind and the long bind");
    for secret in [PASSWORD, WRONG_PASSWORD, OUTBIND_PASSWORD, LONG_PASSWORD] {
        assert!(!text.contains(secret), "{secret:?} is in the log:\n{text}");
        // rusmpp's Debug of a C string prints its bytes too, as hex.
        let bytes: Vec<_> = secret.bytes().map(|b| format!("{b:02X}")).collect();
        let bytes = bytes.join(", ");
        assert!(
            !text.contains(&bytes),
            "{secret:?} is in the log as {bytes}:\n{text}"
        );
    }
    assert!(
        text.contains(r#"password: "***""#),
        "the password shows as ***:\n{text}"
    );
}
