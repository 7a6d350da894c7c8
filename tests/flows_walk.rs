//! Random citizens on the shipped flows: random dials, replies (menu
//! numbers, navigation keys, Arabic-Indic digits, junk), drops and back-end
//! answers with every outcome and oversized, mixed-script values. Whatever
//! happens, the interpreter must not panic (its debug assertion checks the
//! compiler's screen proof) and every screen must fit one USSD string.

use std::path::PathBuf;

use bawaba::charset::Budget;
use bawaba::engine::session::{Bearer, Outcome};
use bawaba::engine::{
    compile, step, CompileContext, Effect, FlowSet, Input, Lang, Session, Source,
};
use proptest::prelude::*;
use serde_json::{json, Map, Value};

fn compiled() -> FlowSet {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("flows");
    let mut sources = Vec::new();
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "yaml") {
            let text = std::fs::read_to_string(&path).unwrap();
            sources.push(Source {
                path: path.display().to_string(),
                text,
            });
        }
    }
    compile(&sources, &CompileContext::default()).unwrap_or_else(|d| panic!("{d:#?}"))
}

#[derive(Clone, Debug)]
enum Act {
    Dial(String),
    Keyword(String),
    Reply(String),
    Timeout,
    Abort,
}

fn reply() -> impl Strategy<Value = String> {
    prop_oneof![
        (1u32..13).prop_map(|n| n.to_string()),
        prop_oneof![Just("0"), Just("00"), Just("98"), Just("٩٨"), Just("")].prop_map(String::from),
        "[0-9]{4,12}",
        "[٠-٩]{4,12}#?",
        "\\PC{0,20}",
    ]
}

fn act() -> impl Strategy<Value = Act> {
    let dial = prop_oneof![
        Just("*123#"),
        Just("*123*1#"),
        Just("*123*2#"),
        Just("*123*3#"),
        Just("*123*4#")
    ];
    let keyword = prop_oneof![
        Just("PDS"),
        Just("كهرباء"),
        Just("پاسپۆرت"),
        Just("pension"),
        Just("help")
    ];
    prop_oneof![
        1 => dial.prop_map(|s| Act::Dial(s.to_string())),
        1 => ("[1-4]", "[0-9]{6,10}").prop_map(|(s, n)| Act::Dial(format!("*123*{s}*{n}#"))),
        1 => keyword.prop_map(|k| Act::Keyword(k.to_string())),
        6 => reply().prop_map(Act::Reply),
        1 => Just(Act::Timeout),
        1 => Just(Act::Abort),
    ]
}

/// A value of any length in any script: Arabic, Kurdish, GSM-7 extension
/// characters (two septets each), emoji (outside the BMP).
fn value() -> impl Strategy<Value = String> {
    prop_oneof![
        "[a-zA-Z ]{0,60}",
        "[ءاأبتثجحخدذرزسشصضطظعغفقكلمنهويیەۆڕڵێ ]{0,60}",
        "[{}\\[\\]~€|^\\\\]{0,40}",
        "[0-9]{0,14}",
        "\\PC{0,40}"
    ]
}

/// One answer object holding every variable any shipped flow reads.
fn answer(values: &[String], i: usize) -> Value {
    let v = |k: usize| Value::String(values[(i + k) % values.len()].clone());
    let mut obj = Map::new();
    let scalars = [
        "holder",
        "members",
        "balance",
        "subscriber",
        "amount",
        "due",
        "state",
        "office_ar",
        "office_ckb",
        "office_en",
        "ready_date",
        "pensioner",
        "pay_date",
    ];
    for (k, name) in scalars.iter().enumerate() {
        obj.insert(name.to_string(), v(k));
    }
    let fields = [
        "name_ar", "name_ckb", "name_en", "qty", "unit_ar", "unit_ckb", "unit_en",
    ];
    let items: Vec<Value> = (0..(i % 15))
        .map(|n| {
            Value::Object(
                fields
                    .iter()
                    .enumerate()
                    .map(|(k, f)| (f.to_string(), v(n + k)))
                    .collect(),
            )
        })
        .collect();
    obj.insert("items".into(), Value::Array(items));
    if i % 7 == 0 {
        obj.insert(
            "state".into(),
            json!(["ready", "processing", "received", "collected", "rejected"][i % 5]),
        );
    }
    Value::Object(obj)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]

    #[test]
    fn random_walks_never_overflow_a_screen(
        bearer in prop_oneof![Just(Bearer::Ussd), Just(Bearer::Sms)],
        lang in proptest::option::of(prop_oneof![Just(Lang::Ar), Just(Lang::Ckb), Just(Lang::En)]),
        acts in proptest::collection::vec(act(), 1..25),
        values in proptest::collection::vec(value(), 1..12),
        outcomes in proptest::collection::vec(0usize..4, 1..8),
    ) {
        let flows = compiled();
        let budget = Budget::default();
        let mut session = Session::new(bearer, lang);
        let mut now = 1_000_000u64;
        let mut calls = 0usize;
        for a in acts {
            let mut next = Some(match a {
                Act::Dial(code) => Input::Dial { code },
                Act::Keyword(text) => Input::Keyword { text },
                Act::Reply(text) => Input::Reply { text },
                Act::Timeout => Input::Timeout,
                Act::Abort => Input::Abort,
            });
            while let Some(input) = next.take() {
                now += 1_000;
                let (s, effects) = step(&flows, session, input, now);
                session = s;
                for e in effects {
                    match e {
                        Effect::Show { text, .. } => prop_assert!(budget.fits(&text), "screen over budget: {text:?}"),
                        Effect::Call { call_id, .. } => {
                            calls += 1;
                            let outcome = Outcome::ALL[outcomes[calls % outcomes.len()]];
                            next = Some(Input::CallDone { call_id, outcome, data: answer(&values, calls) });
                        }
                        _ => {}
                    }
                }
            }
        }
    }
}
