//! `bawaba demo` as a newcomer runs it: no script, the phone reading the
//! keyboard (here a pipe). Each line is typed only after the previous
//! screen was printed, as a person would; `quit` leaves with exit 0.

mod e2e_support;

use std::process::Stdio;
use std::time::Duration;

use e2e_support::{BIN, ROOT};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};

const WAIT: Duration = Duration::from_secs(30);

type Stdout = tokio::io::Lines<BufReader<tokio::process::ChildStdout>>;

/// Reads stdout until a line contains `until`; returns what was read (and
/// keeps it in `seen`).
async fn read_until(lines: &mut Stdout, seen: &mut String, until: &str) -> String {
    let mut got = String::new();
    let wait = async {
        while let Some(line) = lines.next_line().await.expect("stdout") {
            got.push_str(&line);
            got.push('\n');
            if line.contains(until) {
                return true;
            }
        }
        false
    };
    let found = tokio::time::timeout(WAIT, wait).await;
    seen.push_str(&got);
    match found {
        Ok(true) => got,
        Ok(false) => panic!("demo exited before {until:?}:\n{seen}"),
        Err(_) => panic!("no {until:?} within {WAIT:?}:\n{seen}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_person_dials_replies_texts_and_quits() {
    let mut child = tokio::process::Command::new(BIN)
        .arg("demo")
        .current_dir(ROOT)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("spawn bawaba demo");
    let mut stdin = child.stdin.take().unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let mut seen = String::new();
    let banner = read_until(&mut lines, &mut seen, "dial a code").await;
    assert!(banner.contains("*123#"), "{banner}");
    for (typed, shown) in [
        ("*123#", "5. اللغة"),
        ("5", "3. English"),
        ("3", "Government e-services"),
        ("1", "Enter your ration card number"),
        ("12345678", "Card 12345678"),
        ("1", "Balance: 40,000 IQD"),
        ("sms 2150 ELEC 123456", "Amount due: 20,000 IQD"),
    ] {
        stdin
            .write_all(format!("{typed}\n").as_bytes())
            .await
            .unwrap();
        let screen = read_until(&mut lines, &mut seen, shown).await;
        assert!(!screen.contains("[error]"), "{typed}: {screen}");
    }
    stdin.write_all(b"quit\n").await.unwrap();
    let status = tokio::time::timeout(WAIT, child.wait())
        .await
        .expect("demo exits after quit")
        .unwrap();
    assert!(status.success(), "{status:?}\n{seen}");
}
