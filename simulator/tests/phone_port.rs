//! The phone control port over real TCP: a scripted terminal phone (RemoteLink) and the
//! `bawaba-sim phone` binary against a test ESME playing the gateway; malformed lines.

mod common;

use bawaba_sim::control::Event;
use bawaba_sim::link::{LinkError, PhoneLink, RemoteLink};
use bawaba_sim::rusmpp::{CommandId, CommandStatus};
use bawaba_sim::{terminal, text, SmscHandle};
use common::*;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;

const PHONE: &str = "9647701234567";

async fn smsc_with_phones() -> SmscHandle {
    smsc(|c| c.phones = Some("127.0.0.1:0".parse().unwrap())).await
}

/// Plays the gateway for `*123#`, `١`, `sms 4455 PDS ١٢٣`, then sends an MT SMS.
async fn gateway_side(gw: &mut Esme) {
    let dial = gw.recv().await;
    let d = deliver_of(&dial);
    assert_eq!(text::decode_gsm7(d.short_message()).unwrap(), "*123#");
    assert_eq!(d.source_addr.as_str(), PHONE);
    let [session, _] = ussd_tlvs(d).1.unwrap();
    gw.ack_deliver(&dial, CommandStatus::EsmeRok).await;
    gw.request(ussd_screen(
        PHONE,
        "البطاقة التموينية\n1) الرصيد",
        2,
        [session, 2],
    ))
    .await;
    assert_eq!(gw.recv().await.id(), CommandId::SubmitSmResp);

    let reply = gw.recv().await;
    let r = deliver_of(&reply);
    assert_eq!(
        text::decode_ucs2(r.short_message()).unwrap(),
        "١",
        "sent as typed"
    );
    assert_eq!(ussd_tlvs(r).0, Some(18));
    gw.ack_deliver(&reply, CommandStatus::EsmeRok).await;
    gw.request(ussd_screen(PHONE, "رصيدك 25000 دينار", 17, [session, 4]))
        .await;
    assert_eq!(gw.recv().await.id(), CommandId::SubmitSmResp);

    let mo = gw.recv().await;
    let m = deliver_of(&mo);
    assert_eq!(
        (
            m.destination_addr.as_str(),
            text::decode_ucs2(m.short_message()).unwrap().as_str()
        ),
        ("4455", "PDS ١٢٣")
    );
    gw.ack_deliver(&mo, CommandStatus::EsmeRok).await;
    gw.request(submit(PHONE, 8, text::encode_ucs2("حصتك جاهزة"), 0))
        .await;
    assert_eq!(gw.recv().await.id(), CommandId::SubmitSmResp);
}

const SCRIPT: &str = "# a citizen checks a ration card\n*123#\n١\nsms 4455 PDS ١٢٣\nwait-sms\n";

#[tokio::test]
async fn scripted_phone_through_the_phone_port() {
    let smsc = smsc_with_phones().await;
    let mut gw = Esme::bound(&smsc).await;
    let mut link = RemoteLink::connect(smsc.phones_addr().unwrap(), PHONE)
        .await
        .unwrap();
    let phone = tokio::spawn(async move {
        let mut out = Vec::new();
        let r = terminal::script(&mut link, SCRIPT, &mut out, WAIT).await;
        (r, String::from_utf8(out).unwrap())
    });
    gateway_side(&mut gw).await;
    let (r, out) = phone.await.unwrap();
    r.unwrap_or_else(|e| panic!("{e}\n{out}"));
    let rule = "+--------------------------------+";
    let want = [
        "> *123#".to_owned(),
        rule.into(),
        "| البطاقة التموينية".into(),
        "| 1) الرصيد".into(),
        rule.into(),
        "[reply]".into(),
        "> ١".into(),
        rule.into(),
        "| رصيدك 25000 دينار".into(),
        rule.into(),
        "[session ended]".into(),
        "> sms 4455 PDS ١٢٣".into(),
        "[sms sent, 1 part(s)]".into(),
        "> wait-sms".into(),
        "[sms from 4455] حصتك جاهزة".into(),
    ];
    assert_eq!(out.lines().collect::<Vec<_>>(), want, "{out}");
    assert!(smsc.protocol_errors().is_empty());
}

#[tokio::test]
async fn phone_binary_script_succeeds_and_fails_on_timeout() {
    let smsc = smsc_with_phones().await;
    let mut gw = Esme::bound(&smsc).await;
    let dir = std::env::temp_dir().join(format!("bawaba-sim-phone-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let ok = dir.join("ok.txt");
    std::fs::write(&ok, SCRIPT).unwrap();
    let run = |script: std::path::PathBuf, timeout: &str| {
        tokio::process::Command::new(env!("CARGO_BIN_EXE_bawaba-sim"))
            .args(["phone", "--smsc", &smsc.phones_addr().unwrap().to_string()])
            .args(["--msisdn", PHONE, "--timeout", timeout, "--script"])
            .arg(script)
            .output()
    };
    let (out, ()) = tokio::join!(run(ok, "10s"), gateway_side(&mut gw));
    let out = out.unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains("| رصيدك 25000 دينار\n"), "{stdout}");
    assert!(stdout.contains("[sms from 4455] حصتك جاهزة"), "{stdout}");

    // The gateway takes the dial but never answers: the script times out, exit code 1.
    let stuck = dir.join("stuck.txt");
    std::fs::write(&stuck, "*123#\n").unwrap();
    let (out, dial) = tokio::join!(run(stuck, "300ms"), gw.recv());
    gw.ack_deliver(&dial, CommandStatus::EsmeRok).await;
    let out = out.unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("line 1: timed out"), "{stderr}");
}

struct Raw {
    lines: tokio::io::Lines<BufReader<tokio::net::tcp::OwnedReadHalf>>,
    w: tokio::net::tcp::OwnedWriteHalf,
}

impl Raw {
    async fn send(&mut self, bytes: &[u8]) -> Event {
        self.w.write_all(bytes).await.unwrap();
        let line = tokio::time::timeout(WAIT, self.lines.next_line())
            .await
            .expect("no answer")
            .unwrap()
            .expect("port closed the connection");
        serde_json::from_str(&line).unwrap()
    }
}

fn is_error(e: &Event, request: Option<&str>, needle: &str) -> bool {
    matches!(e, Event::Error { message, request: r } if r.as_deref() == request && message.contains(needle))
}

#[tokio::test]
async fn malformed_control_lines_get_error_events_and_the_link_stays_up() {
    let smsc = smsc_with_phones().await;
    let (r, w) = TcpStream::connect(smsc.phones_addr().unwrap())
        .await
        .unwrap()
        .into_split();
    let mut raw = Raw {
        lines: BufReader::new(r).lines(),
        w,
    };
    let e = raw.send(b"not json\n").await;
    assert!(is_error(&e, None, "bad request"), "{e:?}");
    let e = raw.send(b"{\"op\":\"dial\",\"code\":\"*123#\"}\n").await;
    assert!(is_error(&e, Some("dial"), "hello"), "{e:?}");
    let e = raw.send(b"{\"op\":\"hello\",\"msisdn\":\"12ab\"}\n").await;
    assert!(is_error(&e, Some("hello"), "digits"), "{e:?}");
    let mut long = vec![b'{'; 20_000];
    long.push(b'\n');
    let e = raw.send(&long).await;
    assert!(is_error(&e, None, "longer than"), "{e:?}");
    let e = raw.send(b"\xff\xfe{}\n").await;
    assert!(is_error(&e, None, "UTF-8"), "{e:?}");
    let e = raw.send(b"{\"op\":\"fly\"}\r\n").await;
    assert!(is_error(&e, None, "bad request"), "{e:?}");

    let e = raw
        .send(format!("{{\"op\":\"hello\",\"msisdn\":\"{PHONE}\"}}\n").as_bytes())
        .await;
    assert_eq!(
        e,
        Event::Ready {
            msisdn: PHONE.into()
        }
    );
    let e = raw.send(b"{\"op\":\"hello\",\"msisdn\":\"12345\"}\n").await;
    assert!(is_error(&e, Some("hello"), "already"), "{e:?}");
    let e = raw
        .send(b"{\"op\":\"dial\",\"code\":\"*123#\",\"extra\":1}\n")
        .await;
    assert!(is_error(&e, None, "unknown field"), "{e:?}");
    // No USSD session is open, and no gateway is bound: answered, not fatal.
    let e = raw.send(b"{\"op\":\"reply\",\"text\":\"1\"}\n").await;
    assert!(is_error(&e, Some("reply"), "already ended"), "{e:?}");
    let e = raw
        .send(b"{\"op\":\"sms-send\",\"to\":\"4455\",\"text\":\"x\"}\n")
        .await;
    assert!(is_error(&e, Some("sms-send"), "no bind"), "{e:?}");

    // A client that says hello with a bad number is refused by RemoteLink.
    let refused = RemoteLink::connect(smsc.phones_addr().unwrap(), "+964").await;
    assert!(matches!(refused, Err(LinkError::Refused(_))), "{refused:?}");
}

/// A `Write` the test can watch: the terminal prints into it from its own task.
#[derive(Clone, Default)]
struct Screenshot {
    bytes: std::sync::Arc<std::sync::Mutex<Vec<u8>>>,
    changed: std::sync::Arc<tokio::sync::Notify>,
}

impl std::io::Write for Screenshot {
    fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
        self.bytes.lock().unwrap().extend_from_slice(b);
        self.changed.notify_one();
        Ok(b.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Screenshot {
    fn text(&self) -> String {
        String::from_utf8(self.bytes.lock().unwrap().clone()).unwrap()
    }
    /// Waits until the output contains `needle` (a readiness signal, not a sleep).
    async fn wait_for(&self, needle: &str) {
        let t = tokio::time::timeout(WAIT, async {
            while !self.text().contains(needle) {
                self.changed.notified().await;
            }
        });
        t.await
            .unwrap_or_else(|_| panic!("no {needle:?} in:\n{}", self.text()));
    }
}

#[tokio::test]
async fn interactive_terminal_on_an_in_process_phone() {
    // What `bawaba demo` does: the terminal on a LocalLink, no phone port.
    let smsc = smsc(|_| {}).await;
    let mut gw = Esme::bound(&smsc).await;
    let mut link = smsc.local_phone(PHONE);
    let (mut keys, input) = tokio::io::duplex(1024);
    let screen = Screenshot::default();
    let mut out = screen.clone();
    let terminal = tokio::spawn(async move {
        terminal::interactive(&mut link, BufReader::new(input), &mut out).await
    });

    keys.write_all("1\n*123#\n".as_bytes()).await.unwrap();
    screen.wait_for("[?] no USSD session open").await;
    let dial = gw.recv().await;
    let [session, _] = ussd_tlvs(deliver_of(&dial)).1.unwrap();
    gw.ack_deliver(&dial, CommandStatus::EsmeRok).await;
    gw.request(ussd_screen(PHONE, "1) رصيد\n2) حصة", 2, [session, 2]))
        .await;
    assert_eq!(gw.recv().await.id(), CommandId::SubmitSmResp);
    screen.wait_for("| 2) حصة\n").await;
    screen.wait_for("[reply]").await;

    keys.write_all("٢\n".as_bytes()).await.unwrap();
    let reply = gw.recv().await;
    let r = deliver_of(&reply);
    assert_eq!(text::decode_ucs2(r.short_message()).unwrap(), "٢");
    gw.ack_deliver(&reply, CommandStatus::EsmeRok).await;
    // An SMS arrives while the dialogue is open: printed as it comes.
    gw.request(submit(PHONE, 8, text::encode_ucs2("تذكير"), 0))
        .await;
    assert_eq!(gw.recv().await.id(), CommandId::SubmitSmResp);
    screen.wait_for("[sms from 4455] تذكير").await;
    keys.write_all(b"abort\n").await.unwrap();
    let abort = gw.recv().await;
    assert_eq!(ussd_tlvs(deliver_of(&abort)).0, Some(129));
    gw.ack_deliver(&abort, CommandStatus::EsmeRok).await;
    screen.wait_for("[session aborted]").await;

    keys.write_all(b"quit\n").await.unwrap();
    terminal.await.unwrap().unwrap();
}

#[tokio::test]
async fn a_second_phone_on_the_msisdn_takes_its_sms_and_shutdown_closes_phones() {
    let smsc = smsc_with_phones().await;
    let addr = smsc.phones_addr().unwrap();
    let mut first = RemoteLink::connect(addr, PHONE).await.unwrap();
    let mut second = RemoteLink::connect(addr, PHONE).await.unwrap();
    let e = tokio::time::timeout(WAIT, first.next_event())
        .await
        .unwrap();
    assert!(
        matches!(&e, Ok(Event::Error { message, .. }) if message.contains("took over")),
        "{e:?}"
    );
    smsc.shutdown().await;
    let closed = tokio::time::timeout(WAIT, second.next_event())
        .await
        .unwrap();
    assert!(matches!(closed, Err(LinkError::Closed)), "{closed:?}");
}
