//! `gateway.watch_flows`: `bawaba serve` picks up an edited flow for the
//! next dialogue, and refuses a broken edit (every problem logged) while
//! the running flows keep serving.

mod e2e_support;

use std::path::Path;
use std::time::Duration;

use e2e_support::{root, Rig, Serve};

/// Waits until the gateway's log holds `needle` (readiness from the log,
/// polled; the watcher looks every second).
async fn logged(serve: &Serve, needle: &str, times: usize) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(15);
    while serve.logs().matches(needle).count() < times {
        assert!(
            tokio::time::Instant::now() < deadline,
            "{needle:?} not logged {times} time(s):\n{}",
            serve.logs()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

fn copy_flows(to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(root("flows")).unwrap() {
        let p = e.unwrap().path();
        if p.extension().is_some_and(|x| x == "yaml") {
            std::fs::copy(&p, to.join(p.file_name().unwrap())).unwrap();
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_edited_flow_serves_the_next_dialogue_and_a_broken_one_is_refused() {
    let rig = Rig::start("text", e2e_support::DEBUG).await;
    let flows = rig.dir.path().join("flows");
    copy_flows(&flows);
    let text = std::fs::read_to_string(&rig.config).unwrap();
    let shipped = format!("flows_dir = \"{}\"", root("flows").display());
    assert!(
        text.contains(&shipped) && text.contains("watch_flows = false"),
        "{text}"
    );
    let text = text
        .replace(&shipped, &format!("flows_dir = \"{}\"", flows.display()))
        .replace("watch_flows = false", "watch_flows = true");
    std::fs::write(&rig.config, text).unwrap();
    let mut serve = rig.serve("serve.log", 1).await;
    let peers = &rig.peers;

    let mut phone = peers.smsc.ussd("9647701234567");
    let s = phone.dial("*123#").await.unwrap();
    assert!(s.text.contains("الخدمات الحكومية"), "{s:?}");
    phone.abort().await.unwrap();

    let home = flows.join("home.yaml");
    let original = std::fs::read_to_string(&home).unwrap();
    std::fs::write(&home, format!("{original}\n  broken: {{type: menu}}\n")).unwrap();
    logged(&serve, "changed flows refused", 1).await;
    let s = phone.dial("*123#").await.unwrap();
    assert!(
        s.text.contains("الخدمات الحكومية"),
        "the running flows stay: {s:?}"
    );
    phone.abort().await.unwrap();

    // Edited without a new version: refused (sessions pinned to version 1
    // could not tell the two apart), the running flows stay.
    let edited = original.replace("ar: الخدمات الحكومية", "ar: خدمات البوابة");
    assert_ne!(edited, original);
    std::fs::write(&home, &edited).unwrap();
    logged(&serve, "changed but is still version 1", 1).await;
    let s = phone.dial("*123#").await.unwrap();
    assert!(s.text.contains("الخدمات الحكومية"), "{s:?}");
    phone.abort().await.unwrap();

    std::fs::write(&home, edited.replacen("version: 1", "version: 2", 1)).unwrap();
    logged(&serve, "flows replaced", 1).await;
    let s = phone.dial("*123#").await.unwrap();
    assert!(s.text.contains("خدمات البوابة"), "the edit serves: {s:?}");
    phone.abort().await.unwrap();

    serve.signal("TERM");
    assert!(serve.wait(Duration::from_secs(20)).await.success());
}
