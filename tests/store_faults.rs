//! Storage faults through the real binary: a store that cannot be opened
//! stops `bawaba serve` with a clear message (exit 1) before anything is
//! acknowledged; a disk that fills up while it runs (a real, tiny tmpfs)
//! makes it refuse MOs with ESME_RX_T_APPN instead of acknowledging what
//! it cannot keep, without crashing; sled then keeps failing until the
//! process is restarted, and after a restart with room it takes traffic
//! again and answers everything it had acknowledged.

mod e2e_support;

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use bawaba_sim::rusmpp::CommandStatus;
use e2e_support::admin::{add_admin, admin_addr, get, wait_ready};
use e2e_support::{run, write_config, Peers, Serve};

fn serve_fails_with(config: &Path, store: &Path) -> String {
    let out = run(
        &["serve", "--config", &config.display().to_string()],
        Duration::from_secs(60),
    );
    let stderr = String::from_utf8_lossy(&out.stderr).to_string();
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains(&format!("store at {}", store.display())),
        "the message names the store: {stderr}"
    );
    stderr
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_store_that_cannot_be_opened_stops_serve_with_a_clear_message() {
    let peers = Peers::start().await;
    let dir = tempfile::tempdir().unwrap();
    let addrs = (peers.smsc.local_addr(), peers.ministries.local_addr());

    // The store path is a file, not a directory.
    let file = dir.path().join("not-a-dir");
    std::fs::write(&file, b"x").unwrap();
    let config = write_config(dir.path(), addrs, &file, "text", "info");
    let why = serve_fails_with(&config, &file);
    println!("store path is a file: {}", why.lines().last().unwrap_or(""));

    // The store is held by another running gateway (sled's lock).
    let store = dir.path().join("store");
    let config = write_config(dir.path(), addrs, &store, "text", "info");
    let mut first = Serve::spawn(&config, &dir.path().join("first.log"));
    peers.wait_binds(1).await;
    let why = tokio::task::spawn_blocking(move || serve_fails_with(&config, &store))
        .await
        .unwrap();
    println!("store in use: {}", why.lines().last().unwrap_or(""));
    assert_eq!(
        peers.smsc.stats().binds_accepted,
        1,
        "the second one never bound"
    );
    first.signal("TERM");
    assert!(first.wait(Duration::from_secs(20)).await.success());
}

/// A tmpfs of `size` at `at`; false if this machine does not let us mount.
fn mount_tmpfs(at: &Path, size: &str) -> bool {
    std::fs::create_dir_all(at).unwrap();
    Command::new("mount")
        .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
        .arg(at)
        .status()
        .is_ok_and(|s| s.success())
}

struct Unmount<'a>(&'a Path);

impl Drop for Unmount<'_> {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg("-l").arg(self.0).status();
    }
}

/// Fills the filesystem of `path` (a file there grows until ENOSPC).
fn fill(path: &Path) -> u64 {
    use std::io::Write;
    let mut f = std::fs::File::create(path).unwrap();
    let chunk = vec![0u8; 64 * 1024];
    let mut n = 0u64;
    while f.write_all(&chunk).is_ok() {
        n += chunk.len() as u64;
    }
    let tail = vec![0u8; 512];
    while f.write_all(&tail).is_ok() {}
    let _ = f.sync_all();
    n
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_disk_refuses_to_acknowledge_and_recovers_when_there_is_room() {
    let dir = tempfile::tempdir().unwrap();
    let mnt = dir.path().join("mnt");
    if !mount_tmpfs(&mnt, "24m") {
        // Not root, or no CAP_SYS_ADMIN: say so loudly rather than pass quietly.
        eprintln!("SKIPPED: cannot mount a tmpfs here; the full-disk test needs it");
        return;
    }
    let _unmount = Unmount(&mnt);
    let peers = Peers::start().await;
    let store = mnt.join("store");
    let addrs = (peers.smsc.local_addr(), peers.ministries.local_addr());
    let config = write_config(dir.path(), addrs, &store, "text", "info");
    add_admin(
        &config,
        "publisher-token-0123456789",
        "viewer-token-0123456789",
        "",
    );
    let mut gateway = Serve::spawn(&config, &dir.path().join("serve.log"));
    peers.wait_binds(1).await;
    let admin = admin_addr(&gateway).await;
    wait_ready(admin).await;

    let mut phone = peers.smsc.sms("9647701234567");
    let ok = phone.send("2150", "HELP").await.expect("MO answered");
    assert_eq!(ok, vec![CommandStatus::EsmeRok]);
    phone.next_message().await.expect("the reply");

    let filler = mnt.join("filler");
    let filled = fill(&filler);
    // Every MO now: refused (the SMSC keeps it) or, if a write still fit
    // in a block sled had already reserved, acknowledged *and* kept.
    let mut refused = 0;
    let mut acked = 0;
    for i in 0..40 {
        match phone.send("2150", &format!("HELP {i}")).await {
            Ok(s) if s == [CommandStatus::EsmeRxTAppn] => refused += 1,
            Ok(s) if s == [CommandStatus::EsmeRok] => acked += 1,
            other => panic!("MO {i}: {other:?}\n{}", gateway.logs()),
        }
    }
    assert!(
        refused > 0,
        "nothing refused on a full disk ({acked} acked)"
    );
    assert!(
        gateway.logs().contains("ESME_RX_T_APPN"),
        "the refusal is logged:\n{}",
        gateway.logs()
    );
    // Not ready, and /readyz says why.
    let (status, body) = get(admin, "/readyz", None).await;
    assert_eq!(status, 503, "{body}");
    assert!(body.contains("\"store\":\"writes failing\""), "{body}");
    // Still running.
    assert!(
        tokio::time::timeout(
            Duration::from_millis(200),
            gateway.wait(Duration::from_secs(1))
        )
        .await
        .is_err(),
        "the gateway died on a full disk:\n{}",
        gateway.logs()
    );

    // sled keeps the first I/O error and fails every later write, so the
    // gateway refuses (never acknowledges) until it is restarted with room.
    eprintln!("while full: {refused} refused, {acked} acknowledged");
    std::fs::remove_file(&filler).unwrap();
    gateway.signal("TERM");
    let stopped = gateway.wait(Duration::from_secs(30)).await;
    let mut gateway = Serve::spawn(&config, &dir.path().join("again.log"));
    peers.wait_binds(2).await;
    let again = phone.send("2150", "HELP again").await.expect("MO answered");
    assert_eq!(again, vec![CommandStatus::EsmeRok], "{}", gateway.logs());
    // Every acknowledged MO is answered (any acked while full too).
    for _ in 0..=acked {
        phone
            .next_message()
            .await
            .expect("a reply to each acknowledged MO");
    }
    println!(
        "disk full ({} MiB filler): {refused} of 40 MOs refused with ESME_RX_T_APPN, {acked} acknowledged and answered; \
         stopped with {stopped:?}, acknowledged again after a restart with room",
        filled >> 20
    );
    gateway.signal("TERM");
    let status = gateway.wait(Duration::from_secs(20)).await;
    assert!(status.success(), "{status:?}\n{}", gateway.logs());
}
