//! Engine benchmarks: compiling the shipped flows (parse, check, paginate,
//! prove every screen) and interpreter steps per second on a whole pds
//! balance conversation (dial, card number, menu choice, back-end answer,
//! final screen: 4 steps), each step round-tripping the session through
//! serde_json as the runtime's store does. Run: `cargo bench --bench engine`.
//!
//! Measured 2026-11-27 on the shared 2-vCPU VM (load average 2-8 from other
//! builds), one run: compiling the five shipped flows 2.1 ms (2.0-2.2);
//! steps 570k/s pure (7.0 us a 4-step conversation), 190k/s with the
//! session's serde_json round trip per step.

use std::hint::black_box;
use std::path::PathBuf;

use bawaba::engine::{
    compile, step, Bearer, CompileContext, Effect, FlowSet, Input, Lang, Outcome, Session, Source,
};
use criterion::{criterion_group, criterion_main, Criterion, Throughput};

fn sources() -> Vec<Source> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("flows");
    let mut paths: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "yaml"))
        .collect();
    paths.sort();
    paths
        .into_iter()
        .map(|p| Source {
            path: p.display().to_string(),
            text: std::fs::read_to_string(&p).unwrap(),
        })
        .collect()
}

/// One balance conversation; returns the screens' total length.
fn conversation(flows: &FlowSet, lang: Lang, store: bool) -> usize {
    let inputs = [
        Input::Dial {
            code: "*123*1#".into(),
        },
        Input::Reply {
            text: "١٢٣٤٥٦٧٨".into(),
        },
        Input::Reply { text: "1".into() },
    ];
    let mut s = Session::new(Bearer::Ussd, Some(lang));
    let mut shown = 0;
    let mut call = 0;
    let answer = serde_json::json!({"holder": "علي حسين", "members": "6", "balance": "125000"});
    for (i, input) in inputs.into_iter().chain([Input::Timeout]).enumerate() {
        let input = match (i, input) {
            (3, _) => Input::CallDone {
                call_id: call,
                outcome: Outcome::Ok,
                data: answer.clone(),
            },
            (_, input) => input,
        };
        if store {
            s = serde_json::from_str(&serde_json::to_string(&s).unwrap()).unwrap();
        }
        let (next, fx) = step(flows, s, input, 1_000 * i as u64);
        s = next;
        for e in fx {
            match e {
                Effect::Show { text, .. } => shown += text.len(),
                Effect::Call { call_id, .. } => call = call_id,
                _ => {}
            }
        }
    }
    assert!(s.is_finished());
    shown
}

fn benches(c: &mut Criterion) {
    let src = sources();
    let ctx = CompileContext::default();
    c.bench_function("compile shipped flows (5 files)", |b| {
        b.iter(|| compile(black_box(&src), &ctx).unwrap())
    });
    let flows = compile(&src, &ctx).unwrap();
    let mut g = c.benchmark_group("steps");
    g.throughput(Throughput::Elements(4));
    for (name, store) in [("pure", false), ("with serde round trip", true)] {
        g.bench_function(format!("pds balance, ar, {name}"), |b| {
            b.iter(|| conversation(black_box(&flows), Lang::Ar, store))
        });
    }
    g.finish();
}

criterion_group!(engine, benches);
criterion_main!(engine);
