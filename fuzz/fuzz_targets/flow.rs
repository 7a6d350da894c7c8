//! A flow file on arbitrary text through the YAML loader and the compiler,
//! then, when it compiles, a walk through it. Must hold:
//! - no panic, no stack overflow, bounded time and memory (run with
//!   `-timeout` and `-rss_limit_mb`);
//! - a refused file comes back with problems, each naming the file and a
//!   line inside it (or 0, the file as a whole);
//! - a compiled flow keeps the screen proof at run time: dialled at every
//!   service code and texted every keyword, then walked with menu choices,
//!   navigation keys, junk and back-end answers whose every declared
//!   variable holds an oversized value, every screen fits the budget. The
//!   interpreter's debug assertion checks the text before it is clamped,
//!   so use a build with debug assertions (cargo-fuzz's default) to test
//!   the proof itself.
#![no_main]

use bawaba::engine::doc::{self, FlowDoc};
use bawaba::engine::{
    compile, step, Bearer, CompileContext, Effect, FlowSet, Input, Outcome, Session, Source,
};
use libfuzzer_sys::fuzz_target;
use serde_json::{Map, Value};

const PATH: &str = "fuzz.yaml";

/// Replies tried in turn, mixed by the file's length so different flows
/// take different paths.
const REPLIES: [&str; 12] = [
    "1",
    "2",
    "0",
    "98",
    "00",
    "12345678",
    "٣",
    "",
    "9",
    "ب€{}\u{1F600}",
    "2026-11-26",
    "07701234567",
];

/// A value longer than any screen, in every alphabet at once.
fn oversized(i: usize) -> Value {
    let parts = ["ب", "€", "a", "1", "\u{1F600}", "\n", "{x}"];
    Value::String(parts[i % parts.len()].repeat(200) + "12345")
}

/// A back-end answer filling every declared variable and list field.
fn answer(fd: &FlowDoc, i: usize) -> Value {
    let mut obj = Map::new();
    for (k, (name, var)) in fd.vars.0.iter().enumerate() {
        let value = match &var.value.list {
            Some(list) => {
                let item: Map<String, Value> = list
                    .value
                    .fields
                    .0
                    .iter()
                    .enumerate()
                    .map(|(f, (field, _))| (field.value.clone(), oversized(i + k + f)))
                    .collect();
                Value::Array(vec![Value::Object(item); 40])
            }
            None => oversized(i + k),
        };
        obj.insert(name.value.clone(), value);
    }
    Value::Object(obj)
}

fn check(flows: &FlowSet, fx: &[Effect]) {
    for e in fx {
        if let Effect::Show { text, .. } = e {
            assert!(flows.budget().fits(text), "screen over budget: {text:?}");
        }
    }
}

/// Starts a session with `first` and plays up to 16 more inputs.
fn walk(flows: &FlowSet, fd: &FlowDoc, bearer: Bearer, first: Input, seed: usize) {
    let (mut s, mut fx) = step(flows, Session::new(bearer, None), first, 0);
    for turn in 0..16usize {
        check(flows, &fx);
        if fx.iter().any(|e| matches!(e, Effect::End)) {
            return;
        }
        let input = match fx.iter().find_map(|e| match e {
            Effect::Call { call_id, .. } => Some(*call_id),
            _ => None,
        }) {
            Some(call_id) => Input::CallDone {
                call_id,
                outcome: Outcome::ALL[(seed + turn) % 4],
                data: answer(fd, seed + turn),
            },
            None => Input::Reply {
                text: REPLIES[(seed + turn * 7) % REPLIES.len()].to_string(),
            },
        };
        (s, fx) = step(flows, s, input, 1000 * (turn as u64 + 1));
    }
    check(flows, &fx);
}

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let sources = [Source {
        path: PATH.into(),
        text: text.into(),
    }];
    let flows = match compile(&sources, &CompileContext::default()) {
        Ok(flows) => flows,
        Err(problems) => {
            assert!(!problems.is_empty());
            // YAML ends a line at \n, \r\n or a lone \r.
            let lines = text.replace("\r\n", "\n").matches(['\n', '\r']).count() + 1;
            for p in &problems {
                assert_eq!(p.path, PATH);
                assert!(p.line <= lines, "{p} is past the end ({lines} lines)");
                assert!(!p.message.is_empty());
                assert!(p.to_string().starts_with("fuzz.yaml:"));
            }
            return;
        }
    };
    let fd = doc::parse(text).expect("a compiled flow parses");
    let seed = text.len();
    for code in fd.entry.ussd.iter().take(4) {
        let dial = Input::Dial {
            code: code.value.clone(),
        };
        walk(&flows, &fd, Bearer::Ussd, dial, seed);
    }
    for kw in fd.entry.sms.iter().take(4) {
        let sms = Input::Keyword {
            text: format!("{} 12345678", kw.value),
        };
        walk(&flows, &fd, Bearer::Sms, sms, seed);
    }
});
