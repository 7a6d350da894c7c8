//! The store's size on disk after N completed USSD dialogues (default
//! 1,000,000): each one a subscriber's session record written as a
//! three-step PDS dialogue writes it in the gateway (create, update,
//! finish; compare-and-swap each time, the same encoding), all still
//! within retention (nothing swept yet: the worst case; sled does not give
//! space back when the sweep removes them, it reuses it).
//!
//! `cargo run --release --example store_size -- [N=1000000]`
//! The store lives under target/tmp (the real disk, not tmpfs).

use std::path::Path;
use std::time::Instant;

use bawaba::engine::session::{FlowRef, Frame, Status, Value};
use bawaba::engine::{Bearer, Lang, Session};
use bawaba::msisdn::Msisdn;
use bawaba::runtime::{ussd_key, DialogueId, Record};
use bawaba::store::{SledConfig, SledStore, Store, Timestamp};

/// A PDS dialogue after step `step` of 3 (the last one finished).
fn pds_record(step: u32, now: u64) -> Record {
    let mut session = Session::new(Bearer::Ussd, Some(Lang::Ar));
    session.flow = Some(FlowRef {
        id: "pds".into(),
        version: 1,
    });
    session.entry = Some("pds".into());
    session.at = Frame {
        node: step,
        page: 0,
    };
    session.history = (0..step).map(|node| Frame { node, page: 0 }).collect();
    if step > 1 {
        session
            .vars
            .insert("card".into(), Value::Text("12345678".into()));
    }
    if step > 2 {
        session
            .vars
            .insert("balance".into(), Value::Text("40000".into()));
    }
    session.status = if step == 3 {
        Status::Finished
    } else {
        Status::Active
    };
    session.last_activity_ms = now;
    Record {
        session,
        dialogue: Some(DialogueId::Its(7)),
        started_ms: now,
    }
}

fn dir_bytes(dir: &Path) -> std::io::Result<u64> {
    let mut total = 0;
    for entry in std::fs::read_dir(dir)? {
        let entry = entry?;
        let meta = entry.metadata()?;
        total += if meta.is_dir() {
            dir_bytes(&entry.path())?
        } else {
            meta.len()
        };
    }
    Ok(total)
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let n: u64 = match std::env::args().nth(1) {
        Some(a) => a.parse()?,
        None => 1_000_000,
    };
    std::fs::create_dir_all("target/tmp")?;
    let dir = tempfile::tempdir_in("target/tmp")?;
    let path = dir.path().join("store");
    let store = SledStore::open(SledConfig::new(&path)).await?;
    let t0 = Instant::now();
    let (now, keep) = (1_790_000_000_000u64, 600_000u64);
    let mut bytes = 0usize;
    for i in 0..n {
        let who = Msisdn::parse(&format!("96477{:08}", i % 100_000_000))?;
        let key = ussd_key("zain", &who);
        let mut version = None;
        for step in 1..=3 {
            let data = pds_record(step, now + i).encode()?;
            bytes += data.len();
            let expires = Timestamp(now + i + keep);
            version = Some(store.put_session(&key, version, data, expires).await?);
        }
    }
    store.sync().await?;
    let written = t0.elapsed();
    println!(
        "{n} dialogues ({} session writes, {:.0} B a record on average) in {:.1} s",
        3 * n,
        bytes as f64 / (3 * n) as f64,
        written.as_secs_f64()
    );
    println!(
        "sled size_on_disk {:.1} MB, directory {:.1} MB",
        store.size_on_disk()? as f64 / 1e6,
        dir_bytes(&path)? as f64 / 1e6
    );
    store.close().await?;
    Ok(())
}
