//! `bawaba-sim load` and `bawaba-sim echo-esme` as processes, as the bench scripts run them:
//! the progress line while it runs, the summary, the JSON report, and the CPU time of a
//! process given with `--cpu-pid` (here the echo ESME's), per ok step.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

const BIN: &str = env!("CARGO_BIN_EXE_bawaba-sim");

#[test]
fn load_prints_progress_a_summary_and_json() {
    let dir = std::env::temp_dir().join(format!("bawaba-sim-load-cli-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let json = dir.join("report.json");
    // The echo ESME can start only once the SMSC listens (its port comes on the load's
    // stderr), so `--cpu-pid` measures another process we know already: this test's own.
    let mut load = Command::new(BIN)
        .args([
            "load",
            "--listen",
            "127.0.0.1:0",
            "--account",
            "bawaba:demo",
        ])
        .args([
            "--mix",
            "echo=1,echo-sms=1",
            "--rate",
            "40",
            "--duration",
            "2s",
        ])
        .args(["--bind-wait", "10s", "--drain", "5s", "--json"])
        .arg(&json)
        .args(["--cpu-pid", &std::process::id().to_string()])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn bawaba-sim load");
    let stderr = load.stderr.take().unwrap();
    let (tx, rx) = mpsc::channel();
    let reader = std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            let _ = tx.send(line);
        }
    });
    let mut lines = Vec::new();
    let addr = loop {
        let line = rx
            .recv_timeout(Duration::from_secs(20))
            .expect("the load SMSC says where it listens");
        if let Some(rest) = line.split("SMSC listening on ").nth(1) {
            break rest.split(';').next().unwrap().to_owned();
        }
        lines.push(line);
    };
    let mut echo = Command::new(BIN)
        .args(["echo-esme", "--smsc", &addr, "--account", "bawaba:demo"])
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn bawaba-sim echo-esme");
    let out = load.wait_with_output().expect("load exits");
    let _ = echo.kill();
    let _ = echo.wait();
    reader.join().unwrap();
    lines.extend(rx.try_iter());
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = lines.join("\n");
    assert!(out.status.success(), "{stdout}\n{stderr}");

    // About 80 dialogues in 2 s, half USSD (3 steps), half SMS (2 steps), all passing.
    let report: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
    let started = report["started"].as_u64().unwrap();
    assert!((70..=90).contains(&started), "{stdout}");
    let ok = report["all"]["steps"]["ok"].as_u64().unwrap();
    let dialogues = &report["scenarios"];
    let ussd = dialogues["echo"]["dialogues"]["completed"]
        .as_u64()
        .unwrap();
    let sms = dialogues["echo-sms"]["dialogues"]["completed"]
        .as_u64()
        .unwrap();
    assert_eq!(ussd + sms, started, "{stdout}");
    assert_eq!(ok, ussd * 3 + sms * 2, "{stdout}");
    assert_eq!(report["all"]["latency"]["count"].as_u64(), Some(ok));
    // This test mostly waits: its CPU time may round to zero ticks, but it is measured.
    assert!(report["peer_cpu_s"].as_f64().unwrap() >= 0.0, "{report}");
    assert!(report["peer_cpu_us_per_ok_step"].as_f64().is_some());
    assert!(report["own_cpu_s"].as_f64().unwrap() > 0.0, "{report}");

    // A progress line each second while it ran, then the summary.
    assert!(
        stderr.lines().any(|l| l.starts_with("[   1s] in flight")
            && l.contains("step errors     0")
            && l.contains("ok steps/s")),
        "{stderr}"
    );
    assert!(stdout.contains("ok steps/s"), "{stdout}");
    assert!(stdout.contains("peer cpu: "), "{stdout}");
    assert!(stdout.contains(&format!("steps: ok {ok}")), "{stdout}");
    let _ = std::fs::remove_dir_all(&dir);
}
