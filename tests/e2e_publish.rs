//! Publishing flows on a running `bawaba serve` through its admin API
//! (real TCP, sled on disk, the simulator SMSC and mock ministries): auth
//! and roles, a broken draft refused with its diagnostics, publish,
//! staging to one test number, rollback, the history, ending a session,
//! the CLI, and the audit chain verified live, then offline, then found
//! broken after a record is altered in the store.

mod e2e_support;

use std::net::SocketAddr;
use std::time::Duration;

use e2e_support::admin::{add_admin, admin_addr, get, request};
use e2e_support::{Rig, Serve};
use serde_json::{json, Value};

const PUBLISHER: &str = "publisher-token-0123456789";
const VIEWER: &str = "viewer-token-0123456789ab";

/// passport.yaml as shipped, with a new version and Arabic texts that say
/// which version answered.
fn passport(version: u32) -> String {
    let text = std::fs::read_to_string(e2e_support::root("flows/passport.yaml")).unwrap();
    let text = text.replace("version: 1\n", &format!("version: {version}\n"));
    if version == 1 {
        return text;
    }
    text.replace(
        "أدخل رقم طلب الجواز",
        &format!("نسخة {version} رقم طلب الجواز"),
    )
}

async fn post(admin: SocketAddr, path: &str, token: Option<&str>, body: Value) -> (u16, Value) {
    let (status, text) = request(admin, "POST", path, token, Some(&body)).await;
    (
        status,
        serde_json::from_str(&text).unwrap_or(json!({ "raw": text })),
    )
}

/// The first screen of `*123*3#` for `msisdn` (a number not used before:
/// a redial would be offered to resume): which version answered.
async fn prompt(rig: &Rig, msisdn: &str) -> String {
    let mut phone = rig.peers.smsc.ussd(msisdn);
    let s = phone.dial("*123*3#").await.unwrap();
    assert!(!s.end, "{s:?}");
    phone.abort().await.unwrap();
    if s.text.contains("نسخة 2") {
        "v2".into()
    } else if s.text.contains("أدخل رقم طلب الجواز") {
        "v1".into()
    } else {
        s.text
    }
}

/// The CLI with `token` in its environment (only the child's).
fn cli(args: &[&str], token: &str) -> std::process::Output {
    let out = std::process::Command::new(e2e_support::BIN)
        .args(args)
        .env("BAWABA_E2E_ADMIN_TOKEN", token)
        .stdin(std::process::Stdio::null())
        .output()
        .expect("run bawaba");
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn publish_stage_roll_back_and_audit_through_the_admin_api() {
    let rig = Rig::start("text", "info").await;
    add_admin(&rig.config, PUBLISHER, VIEWER, "");
    let mut serve = rig.serve("serve.log", 1).await;
    let admin = admin_addr(&serve).await;

    // Auth: no token, a wrong one, a viewer publishing.
    let v2 = json!({"files": [{"name": "passport.yaml", "text": passport(2)}]});
    assert_eq!(get(admin, "/v1/flows", None).await.0, 401);
    assert_eq!(
        get(admin, "/v1/flows", Some("viewer-token-0123456789aX"))
            .await
            .0,
        401
    );
    assert_eq!(get(admin, "/v1/flows", Some(VIEWER)).await.0, 200);
    assert_eq!(
        post(admin, "/v1/flows/publish", None, v2.clone()).await.0,
        401
    );
    let (status, _) = post(admin, "/v1/flows/publish", Some(VIEWER), v2.clone()).await;
    assert_eq!(status, 403);
    assert_eq!(prompt(&rig, "9647700000001").await, "v1");

    // A broken draft: refused with file:line:column, nothing changes.
    let broken = passport(3).replace("next: get_status", "next: nowhere");
    let bad = json!({"files": [{"name": "passport.yaml", "text": broken}]});
    let (status, body) = post(admin, "/v1/flows/publish", Some(PUBLISHER), bad.clone()).await;
    assert_eq!(status, 422, "{body}");
    let diags = body["diagnostics"].as_array().unwrap();
    assert!(!diags.is_empty(), "{body}");
    assert!(diags.iter().all(|d| d["line"].as_u64() > Some(0)), "{body}");
    assert!(
        diags[0]["text"]
            .as_str()
            .unwrap()
            .starts_with("passport.yaml:"),
        "{body}"
    );
    assert_eq!(prompt(&rig, "9647700000011").await, "v1");
    let (status, _) = post(admin, "/v1/flows/drafts", Some(PUBLISHER), bad).await;
    assert_eq!(status, 422);

    // Staging: only the test number's new sessions get version 2.
    let mut staged = v2.clone();
    staged["staging"] = json!(["9647700000002"]);
    let (status, body) = post(admin, "/v1/flows/publish", Some(PUBLISHER), staged).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["changed"], json!(["passport@2"]));
    assert_eq!(prompt(&rig, "9647700000002").await, "v2");
    assert_eq!(prompt(&rig, "9647700000003").await, "v1");
    let (status, body) = post(admin, "/v1/flows/publish", Some(PUBLISHER), v2.clone()).await;
    assert_eq!(status, 409, "a publish waits for the staged set: {body}");
    let (status, body) = post(
        admin,
        "/v1/flows/staging/promote",
        Some(PUBLISHER),
        json!({}),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(prompt(&rig, "9647700000013").await, "v2");

    // The same version number with another text is refused.
    let other = passport(2).replace("نسخة 2", "نسخة 2ب");
    let again = json!({"files": [{"name": "passport.yaml", "text": other}]});
    let (status, body) = post(admin, "/v1/flows/publish", Some(PUBLISHER), again).await;
    assert_eq!(status, 422, "{body}");

    // A session in progress when the flows change, then ended by the API.
    let mut open = rig.peers.smsc.ussd("9647700000004");
    assert!(!open.dial("*123*3#").await.unwrap().end);

    // Rollback through the CLI, the list and history through the CLI.
    let admin_s = admin.to_string();
    let base = ["--admin", &admin_s, "--token-env", "BAWABA_E2E_ADMIN_TOKEN"];
    let out = cli(
        &[&["flows", "rollback", "passport", "1"][..], &base].concat(),
        PUBLISHER,
    );
    assert!(out.status.success(), "{out:?}");
    assert_eq!(prompt(&rig, "9647700000005").await, "v1");
    let out = cli(
        &[&["flows", "list", "--history"][..], &base].concat(),
        VIEWER,
    );
    let listed = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{out:?}");
    assert!(listed.contains("passport@1 passport.yaml"), "{listed}");
    assert!(
        listed.contains("passport@2 (kept for sessions in progress)"),
        "{listed}"
    );
    for action in [
        "rollback passport@1 by ops",
        "promote",
        "stage passport@2 by ops",
        "start",
    ] {
        assert!(listed.contains(action), "{action}: {listed}");
    }
    // A broken file through the CLI: every problem printed, exit 1.
    let dir = rig.dir.path().join("broken");
    std::fs::create_dir_all(&dir).unwrap();
    let bad = passport(4).replace("next: get_status", "next: nowhere");
    std::fs::write(dir.join("passport.yaml"), bad).unwrap();
    let dir_s = dir.display().to_string();
    let out = cli(&[&["flows", "push", &dir_s][..], &base].concat(), PUBLISHER);
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("passport.yaml:") && err.contains("nowhere"),
        "{err}"
    );
    let out = cli(&[&["flows", "publish", &dir_s][..], &base].concat(), VIEWER);
    assert_eq!(out.status.code(), Some(2), "a viewer is refused: {out:?}");

    // Sessions: the open one is listed (masked), then ended.
    let (status, body) = get(admin, "/v1/sessions?limit=10", Some(VIEWER)).await;
    assert_eq!(status, 200, "{body}");
    let v: Value = serde_json::from_str(&body).unwrap();
    let mine = v["sessions"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["msisdn"] == "964********04")
        .unwrap_or_else(|| panic!("{body}"))
        .clone();
    assert!(!body.contains("9647700000004"), "masked: {body}");
    assert_eq!(mine["flow"], "passport");
    assert_eq!(mine["version"], 2);
    assert_eq!(mine["node"], "ask_number");
    let key = mine["key"].as_str().unwrap();
    let path = format!("/v1/sessions/{key}");
    assert_eq!(
        request(admin, "DELETE", &path, Some(VIEWER), None).await.0,
        403
    );
    assert_eq!(
        request(admin, "DELETE", &path, Some(PUBLISHER), None)
            .await
            .0,
        200
    );
    let after = open.reply("1122334455").await.unwrap();
    assert!(after.end, "the ended session cannot go on: {after:?}");

    // The audit chain, through the API.
    let (status, body) = get(admin, "/v1/audit/verify", Some(VIEWER)).await;
    assert_eq!(status, 200, "{body}");
    let v: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(v["broken_at"], Value::Null, "{body}");
    assert!(v["entries"].as_u64().unwrap() >= 6, "{body}");
    let out = cli(&[&["audit", "verify"][..], &base].concat(), VIEWER);
    assert!(out.status.success(), "{out:?}");

    serve.signal("TERM");
    assert!(serve.wait(Duration::from_secs(20)).await.success());

    // Offline, on the stopped gateway's store; then with one record altered.
    let store = rig.dir.path().join("store");
    let store_s = store.display().to_string();
    let out = e2e_support::run(
        &["audit", "verify", "--store", &store_s],
        Duration::from_secs(30),
    );
    assert!(out.status.success(), "{out:?}");
    let records = String::from_utf8_lossy(&out.stdout).to_string();
    assert!(records.contains("intact"), "{records}");
    // Who published: "ops" becomes "eve" in the first record naming ops.
    let seq = {
        let db = sled::open(&store).unwrap();
        let audit = db.open_tree("audit").unwrap();
        let (k, v) = audit
            .iter()
            .map(Result::unwrap)
            .find(|(_, v)| String::from_utf8_lossy(&v[64..]).contains("\"actor\":\"ops\""))
            .expect("a record of ops");
        let text = String::from_utf8(v[64..].to_vec()).unwrap();
        let mut altered = v[..64].to_vec();
        altered.extend_from_slice(text.replace("\"ops\"", "\"eve\"").as_bytes());
        audit.insert(&k, altered).unwrap();
        db.flush().unwrap();
        u64::from_be_bytes(k.as_ref().try_into().unwrap())
    };
    let out = e2e_support::run(
        &["audit", "verify", "--store", &store_s],
        Duration::from_secs(30),
    );
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    let said = String::from_utf8_lossy(&out.stdout);
    assert!(said.contains(&format!("BROKEN at entry {seq}")), "{said}");

    // A restart serves what was last published through the API.
    let mut serve = rig.serve("serve2.log", 2).await;
    assert_eq!(prompt(&rig, "9647700000006").await, "v1");
    let admin = admin_addr(&serve).await;
    let (_, body) = post(
        admin,
        "/v1/flows/rollback",
        Some(PUBLISHER),
        json!({"id": "passport", "version": 2}),
    )
    .await;
    assert_eq!(body["changed"], json!(["passport@2"]), "{body}");
    serve.signal("TERM");
    assert!(serve.wait(Duration::from_secs(20)).await.success());
    let mut serve = rig.serve("serve3.log", 3).await;
    assert_eq!(prompt(&rig, "9647700000007").await, "v2");
    serve.signal("TERM");
    assert!(serve.wait(Duration::from_secs(20)).await.success());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_peer_outside_allowed_ips_gets_403() {
    let rig = Rig::start("text", e2e_support::DEBUG).await;
    add_admin(
        &rig.config,
        PUBLISHER,
        VIEWER,
        "allowed_ips = [\"10.9.9.0/24\"]",
    );
    let mut serve = rig.serve("serve.log", 1).await;
    let admin = admin_addr(&serve).await;
    assert_eq!(get(admin, "/healthz", None).await.0, 403);
    assert_eq!(get(admin, "/v1/flows", Some(PUBLISHER)).await.0, 403);
    let logs = serve.logs();
    assert!(logs.contains("not in allowed_ips"), "{logs}");
    serve.signal("TERM");
    assert!(serve.wait(Duration::from_secs(20)).await.success());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bind_the_smsc_refuses_is_audited_and_bodies_are_bounded() {
    let rig = Rig::start("text", "info").await;
    add_admin(&rig.config, PUBLISHER, VIEWER, "");
    let text = std::fs::read_to_string(&rig.config).unwrap();
    let right = format!("password = \"{}\"", e2e_support::BIND_PASSWORD);
    assert!(text.contains(&right), "{text}");
    let wrong = text.replace(&right, "password = \"wrong\"");
    std::fs::write(&rig.config, wrong).unwrap();
    let mut serve = Serve::spawn(&rig.config, &rig.dir.path().join("serve.log"));
    let admin = admin_addr(&serve).await;

    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    let record = loop {
        let (status, body) = get(admin, "/v1/audit?limit=100", Some(VIEWER)).await;
        assert_eq!(status, 200, "{body}");
        let v: Value = serde_json::from_str(&body).unwrap();
        let found = v["entries"]
            .as_array()
            .unwrap()
            .iter()
            .find(|e| e["record"]["action"] == "bind.rejected")
            .cloned();
        if let Some(r) = found {
            break r;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "{body}\n{}",
            serve.logs()
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    assert_eq!(record["record"]["operator"], "sim", "{record}");
    assert!(record["record"]["count"].as_u64() >= Some(1), "{record}");
    assert!(
        !record.to_string().contains("wrong"),
        "no password: {record}"
    );

    // A draft over the body cap is refused before it is read whole.
    let big = "#".repeat(1024 * 1024 + 1);
    let body = json!({"files": [{"name": "big.yaml", "text": big}]});
    let (status, _) = post(admin, "/v1/flows/drafts", Some(PUBLISHER), body).await;
    assert_eq!(status, 413);

    serve.signal("TERM");
    assert!(serve.wait(Duration::from_secs(20)).await.success());
}
