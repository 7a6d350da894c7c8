//! Property tests: for fixture flows and randomly generated flows that the
//! compiler accepts, any sequence of inputs (random text, Arabic-Indic
//! digits, navigation keys, dials, keywords, back-end answers with random
//! JSON, timeouts, aborts) never panics and never shows a screen over the
//! budget. The interpreter's own guard is a `debug_assert!`, so a hole in
//! the compiler's proof fails these tests instead of being clamped.

mod engine_support;

use bawaba::charset::Budget;
use bawaba::engine::{
    compile, step, Bearer, CompileContext, Effect, FlowSet, Input, Lang, Outcome, Session, Source,
};
use engine_support::fixture_flows;
use proptest::prelude::*;
use serde_json::{json, Value};

/// Text with Latin, Arabic, extension-table and astral characters.
fn text(max: usize) -> impl Strategy<Value = String> {
    proptest::collection::vec(
        prop_oneof![
            Just('a'),
            Just('Z'),
            Just('€'),
            Just('['),
            Just('ب'),
            Just('ێ'),
            Just('٣'),
            Just('😀'),
            Just('\n'),
            Just(' '),
            Just('7'),
        ],
        0..max,
    )
    .prop_map(|v| v.into_iter().collect())
}

#[derive(Clone, Debug)]
enum Act {
    Dial(String),
    Keyword(String),
    Reply(String),
    /// Answer the last call (or a random id when none is pending).
    Answer(Outcome, Value, bool),
    Timeout,
    Abort,
}

fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        text(60).prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        any::<bool>().prop_map(Value::from),
        Just(Value::Null),
    ];
    leaf.prop_recursive(2, 40, 30, |inner| {
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..30).prop_map(Value::Array),
            proptest::collection::btree_map("(name|qty|x|v|w)", inner, 0..4)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

fn answer_data() -> impl Strategy<Value = Value> {
    // Values made only of GSM extension characters: two septets each.
    let wide = "[€\\[\\]{}]{0,60}";
    prop_oneof![
        json_value(),
        "[0-9]{1,12}".prop_map(|w| json!({ "w": w })),
        (wide, wide, proptest::collection::vec(wide, 0..25)).prop_map(|(a, b, items)| {
            let items: Vec<Value> = items.into_iter().map(|n| json!({"name": n.clone(), "qty": n})).collect();
            json!({"holder": a.clone(), "balance": b.clone(), "ref": a.clone(), "v": a, "w": b, "items": items})
        }),
        (text(50), any::<u32>(), json_value(), proptest::collection::vec((text(40), text(10)), 0..25)).prop_map(
            |(name, n, other, items)| {
                let items: Vec<Value> = items.into_iter().map(|(name, qty)| json!({"name": name, "qty": qty})).collect();
                json!({"holder": name.clone(), "balance": n, "ref": other, "v": name, "w": n, "items": items})
            }
        ),
    ]
}

fn outcome() -> impl Strategy<Value = Outcome> {
    prop_oneof![
        Just(Outcome::Ok),
        Just(Outcome::NotFound),
        Just(Outcome::Failed),
        Just(Outcome::Timeout)
    ]
}

/// Inputs aimed at the generated flow: mostly option numbers it has and
/// navigation keys, so walks reach every menu page with and without back
/// history (random text alone rarely gets past the first screen).
fn gen_act() -> impl Strategy<Value = Act> {
    let numbers = "[1-9]|1[0-9]|2[0-4]";
    prop_oneof![
        1 => prop_oneof![
            Just("*400#".to_string()),
            "\\*400(\\*([1-9]|1[0-9]|2[0-4]|98|0)){1,4}#",
        ]
        .prop_map(Act::Dial),
        12 => prop_oneof![
            4 => numbers.prop_map(String::from),
            2 => Just("98".to_string()),
            2 => Just("0".to_string()),
            1 => Just("00".to_string()),
            1 => text(12),
        ]
        .prop_map(Act::Reply),
        2 => (outcome(), answer_data(), Just(true)).prop_map(|(o, d, right)| Act::Answer(o, d, right)),
        1 => Just(Act::Abort),
    ]
}

fn act() -> impl Strategy<Value = Act> {
    let outcome = outcome();
    prop_oneof![
        2 => prop_oneof![
            Just("*123*1#".to_string()),
            Just("*123*1*2*12345678#".to_string()),
            Just("*123*1*1*١٢٣٤٥٦٧٨*1234#".to_string()),
            Just("*400#".to_string()),
            Just("*400*1*1#".to_string()),
            Just("*400*2#".to_string()),
            text(12),
        ]
        .prop_map(Act::Dial),
        1 => prop_oneof![Just("PDS 12345678".to_string()), Just("gen ٤٢".to_string()), text(20)].prop_map(Act::Keyword),
        8 => prop_oneof![
            "[0-9]{1,2}",
            Just("98".to_string()),
            Just("0".to_string()),
            Just("00".to_string()),
            "[٠-٩]{1,12}",
            "[0-9]{8,12}",
            text(30),
        ]
        .prop_map(Act::Reply),
        3 => (outcome, answer_data(), any::<bool>()).prop_map(|(o, d, right)| Act::Answer(o, d, right)),
        1 => Just(Act::Timeout),
        1 => Just(Act::Abort),
    ]
}

fn drive(flows: &FlowSet, bearer: Bearer, lang: Option<Lang>, acts: Vec<Act>) {
    let budget = flows.budget();
    let mut s = Session::new(bearer, lang);
    let mut now = 0u64;
    let mut last_call = 0u64;
    for a in acts {
        now += 30_000;
        let input = match a {
            Act::Dial(code) => Input::Dial { code },
            Act::Keyword(text) => Input::Keyword { text },
            Act::Reply(text) => Input::Reply { text },
            Act::Answer(outcome, data, right) => Input::CallDone {
                call_id: if right { last_call } else { last_call + 7 },
                outcome,
                data,
            },
            Act::Timeout => Input::Timeout,
            Act::Abort => Input::Abort,
        };
        // Round-trip through serde as the runtime's store would.
        let stored = serde_json::to_string(&s).unwrap();
        s = serde_json::from_str(&stored).unwrap();
        let (next, fx) = step(flows, s, input, now);
        s = next;
        for e in fx {
            match e {
                Effect::Show { text, .. } => assert!(budget.fits(&text), "over budget: {text:?}"),
                Effect::Call { call_id, .. } => last_call = call_id,
                _ => {}
            }
        }
    }
}

/// A generated flow: menus of random size and label lengths (the start
/// menu with or without a way back to it, so with or without `0. Back`
/// lines; a second menu off the start, with `00. Home`), a list menu,
/// inputs and messages with variables and filters.
fn generated_flow() -> impl Strategy<Value = String> {
    let label = prop_oneof!["[a-zA-Z€ بێ]{1,24}", "[a-zA-Z€ ]{1,24}"];
    (
        (proptest::collection::vec(label.clone(), 7..25), 55usize..80),
        (label.clone(), proptest::collection::vec(label, 1..12), any::<bool>()),
        1usize..40,
        1usize..30,
        1usize..30,
        1usize..12,
        prop_oneof![Just("[ar, en]"), Just("[en]"), Just("[en]"), Just("[ckb, ar, en]")],
    )
        .prop_map(|((labels, pad), (heading, sub_labels, loops), v_len, max_items, name_len, w_len, langs)| {
            let langs_list: Vec<&str> = langs.trim_matches(['[', ']']).split(", ").collect();
            let t = |s: &str| {
                let parts: Vec<String> = langs_list.iter().map(|l| format!("{l}: \"{s}\"")).collect();
                format!("{{{}}}", parts.join(", "))
            };
            // Without `loops` nothing leads back to `main`: it is only ever
            // shown without history.
            let back_to_main = if loops { "main" } else { "sub" };
            let mut y = format!(
                "id: gen\nversion: 1\ntitle: {}\nlanguages: {langs}\nentry: {{ussd: [\"*400#\"], sms: [GEN]}}\nvars:\n  v: {{max_len: {v_len}}}\n  w: {{max_len: {w_len}}}\n  items:\n    list: {{max_items: {max_items}, fields: {{name: {{max_len: {name_len}}}}}}}\nstart: main\nnodes:\n  main:\n    type: menu\n    text: {}\n    options:\n",
                t("Gen"),
                t(&format!("{heading} {{v}}"))
            );
            for (i, l) in labels.iter().enumerate() {
                let next = ["ask", "fetch", "bye", "lang", back_to_main, "num", "sub"][i % 7];
                y.push_str(&format!("      - label: {}\n        next: {next}\n", t(l)));
            }
            y.push_str(&format!("  sub:\n    type: menu\n    text: {}\n    options:\n", t(&heading)));
            for (i, l) in sub_labels.iter().enumerate() {
                let next = ["bye", "lang", "ask", "sub"][i % 4];
                y.push_str(&format!("      - label: {}\n        next: {next}\n", t(l)));
            }
            y.push_str(&format!(
                "  lang:\n    type: language\n    next: {back_to_main}\n  ask:\n    type: input\n    prompt: {}\n    validate: {{text: {{min: 1, max: 10}}}}\n    error: {}\n    save: typed\n    next: fetch\n  fetch:\n    type: call\n    backend: b\n    operation: o\n    params: {{q: \"{{typed}}\"}}\n    results: [v, w, items]\n    on: {{ok: pick, failed: num}}\n  pick:\n    type: menu\n    text: {}\n    options_from: {{list: items, label: \"{{item.name}}\", save: chosen, next: bye}}\n  bye:\n    type: message\n    text: {}\n  num:\n    type: message\n    text: {}\n",
                t("Type {v}"),
                t("Bad"),
                t("{w|number}"),
                t("{v} {w|number} {typed} {chosen.name}"),
                t(&format!("{}{{w|number}}", "x".repeat(pad))),
            ));
            y
        })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn fixtures_never_panic_nor_overflow(
        acts in proptest::collection::vec(act(), 1..40),
        sms in any::<bool>(),
        lang in prop_oneof![Just(None), Just(Some(Lang::Ar)), Just(Some(Lang::Ckb)), Just(Some(Lang::En))],
    ) {
        let flows = fixture_flows();
        drive(&flows, if sms { Bearer::Sms } else { Bearer::Ussd }, lang, acts);
    }

    #[test]
    fn generated_flows_that_compile_never_overflow(
        yaml in generated_flow(),
        acts in proptest::collection::vec(prop_oneof![3 => gen_act(), 1 => act()], 1..60),
        tight in any::<bool>(),
    ) {
        let budget = if tight { Budget { gsm7: 120, ucs2: 60 } } else { Budget::default() };
        let ctx = CompileContext { backends: None, budget };
        if let Ok(flows) = compile(&[Source { path: "gen.yaml".into(), text: yaml }], &ctx) {
            drive(&flows, Bearer::Ussd, Some(Lang::Ar), acts.clone());
            drive(&flows, Bearer::Ussd, Some(Lang::En), acts.clone());
            drive(&flows, Bearer::Sms, Some(Lang::En), acts);
        }
    }
}

#[test]
fn generated_flows_mostly_compile() {
    // Guard against a generator that only produces rejected flows (which
    // would make the property above vacuous).
    use proptest::strategy::ValueTree;
    use proptest::test_runner::TestRunner;
    let mut runner = TestRunner::deterministic();
    let mut ok = 0;
    for _ in 0..50 {
        let yaml = generated_flow().new_tree(&mut runner).unwrap().current();
        match compile(
            &[Source {
                path: "gen.yaml".into(),
                text: yaml.clone(),
            }],
            &CompileContext::default(),
        ) {
            Ok(_) => ok += 1,
            Err(d) => {
                let only_overflow = d.iter().all(|x| x.message.contains("overflow"));
                assert!(only_overflow, "{yaml}\n{d:?}");
            }
        }
    }
    assert!(ok >= 10, "only {ok} of 50 generated flows compiled");
}
