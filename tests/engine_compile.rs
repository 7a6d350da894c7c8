//! The flow compiler reports every problem at once, each with
//! path:line:column, and refuses screens that can overflow.

use std::collections::{BTreeMap, BTreeSet};

use bawaba::charset::Budget;
use bawaba::engine::{compile, CompileContext, Diagnostic, Source};
use engine_support::has;

mod engine_support;

fn src(path: &str, text: &str) -> Source {
    Source {
        path: path.into(),
        text: text.into(),
    }
}

fn errors(sources: &[Source], ctx: &CompileContext) -> Vec<Diagnostic> {
    match compile(sources, ctx) {
        Ok(_) => panic!("expected diagnostics"),
        Err(d) => d,
    }
}

const BROKEN: &str = r#"id: broken
version: 1
title: {en: Broken, ar: معطل}
languages: [en, ar]
entry: {ussd: ["*200#"], sms: [BRK]}
vars:
  name: {max_len: 20}
start: main
nodes:
  main:
    type: menu
    text: {en: "Hi {nobody}", ar: مرحبا}
    options:
      - label: {en: Go, ar: اذهب}
        next: nowhere
      - label: {en: Ask}
        next: ask
  ask:
    type: input
    prompt: {en: Code, ar: الرمز}
    validate: {regex: "([a-z", max_len: 5}
    error: {en: Bad, ar: خطأ}
    save: code
    next: call
  call:
    type: call
    backend: ministry
    operation: lookup
    results: [name]
    on: {ok: decide, failed: bye}
  decide:
    type: branch
    cases:
      - if: "ghost > 3"
        next: bye
    else: bye
  bye:
    type: message
    text: {en: Bye, ar: مع السلامة}
  lonely:
    type: message
    text: {en: Never shown, ar: لا يظهر}
  range:
    type: input
    prompt: {en: N, ar: ن}
    validate: {digits: {min: 9, max: 3}}
    error: {en: Bad, ar: خطأ}
    save: n
  stray:
    type: sms
    text: {en: x, ar: س}
    options: []
    next: bye
"#;

#[test]
fn every_problem_reported_at_once_with_places() {
    let mut backends = BTreeMap::new();
    backends.insert("pds".to_string(), BTreeSet::from(["balance".to_string()]));
    let ctx = CompileContext {
        backends: Some(backends),
        budget: Budget::default(),
    };
    let d = errors(&[src("flows/broken.yaml", BROKEN)], &ctx);
    has(&d, 12, "undeclared variable `nobody`");
    has(&d, 15, "unknown target node `nowhere`");
    has(&d, 16, "missing translation `ar`");
    has(&d, 21, "bad regex");
    has(&d, 27, "unknown backend `ministry`");
    has(&d, 34, "undeclared variable `ghost`");
    has(&d, 46, "invalid range min 9 max 3");
    has(&d, 44, "node with no way out: a `input` node needs `next`");
    has(&d, 52, "`options` is not allowed on a `sms` node");
    // `nowhere` (line 15) might have been meant for `lonely`: with a way
    // out that leads nowhere known, no node is called unreachable, and the
    // bad regex does not make its `code` variable "undeclared".
    assert!(
        !d.iter()
            .any(|x| x.message.contains("unreachable") || x.message.contains("`code`")),
        "{d:?}"
    );
    let fixed = BROKEN.replace("next: nowhere", "next: bye");
    let d = errors(&[src("flows/broken.yaml", &fixed)], &ctx);
    has(&d, 40, "unreachable node `lonely`");
    assert!(
        d.iter()
            .all(|x| x.path == "flows/broken.yaml" && x.column > 0),
        "{d:?}"
    );
    assert!(d[0].to_string().starts_with("flows/broken.yaml:"));
}

const OK: &str = r#"id: ok
version: 1
title: {en: OK}
languages: [en]
entry: {ussd: ["*300#"], sms: [OK]}
start: a
nodes:
  a:
    type: menu
    text: {en: Menu}
    options:
      - label: {en: One}
        next: b
  b:
    type: message
    text: {en: Done}
  c:
    type: message
    text: {en: Orphan}
"#;

#[test]
fn unreachable_unknown_field_and_syntax() {
    let d = errors(&[src("ok.yaml", OK)], &CompileContext::default());
    has(&d, 17, "unreachable node `c`");
    let d = errors(
        &[src(
            "x.yaml",
            &OK.replace(
                "    text: {en: Done}",
                "    text: {en: Done}\n    colour: red",
            ),
        )],
        &CompileContext::default(),
    );
    has(&d, 17, "unknown field `colour`");
    let d = errors(
        &[src("y.yaml", "id: [unclosed\n")],
        &CompileContext::default(),
    );
    assert_eq!(d.len(), 1);
    assert!(d[0].line >= 1, "{}", d[0]);
}

#[test]
fn loops_and_navigation_clashes() {
    let looping = OK
        .replace("  c:\n    type: message\n    text: {en: Orphan}\n", "")
        .replace("        next: b\n", "        next: l1\n")
        .replace("  b:\n", "  l1:\n    type: goto\n    node: l2\n  l2:\n    type: branch\n    cases:\n      - if: \"present(x)\"\n        next: b\n    else: l1\n  b:\n")
        .replace("start: a\n", "vars:\n  x: {max_len: 3}\nstart: a\n");
    let d = errors(&[src("l.yaml", &looping)], &CompileContext::default());
    has(&d, 16, "loop through `l1` never waits for the citizen");
    let clash = OK
        .replace("  c:\n    type: message\n    text: {en: Orphan}\n", "")
        .replace("start: a\n", "navigation: {more: \"1\"}\nstart: a\n");
    let d = errors(&[src("n.yaml", &clash)], &CompileContext::default());
    has(&d, 9, "clashing with navigation key `1`");
}

#[test]
fn duplicates_across_flows() {
    let fixed = OK.replace("  c:\n    type: message\n    text: {en: Orphan}\n", "");
    let again = fixed.replace("sms: [OK]", "sms: [ok, Other]");
    let d = errors(
        &[src("a.yaml", &fixed), src("b.yaml", &again)],
        &CompileContext::default(),
    );
    has(&d, 1, "duplicate flow id `ok` (also in a.yaml)");
    has(&d, 5, "duplicate service code `*300#`");
    has(&d, 5, "duplicate SMS keyword `ok`");
    assert!(d.iter().all(|x| x.path == "b.yaml"), "{d:?}");
    assert!(compile(&[src("a.yaml", &fixed)], &CompileContext::default()).is_ok());
}

fn flow_with_message(text: &str, var_len: usize) -> String {
    format!(
        "id: m\nversion: 1\ntitle: {{ar: ت, en: T}}\nlanguages: [ar, en]\nvars:\n  v: {{max_len: {var_len}}}\nstart: s\nnodes:\n  s:\n    type: message\n    text: {{ar: \"{text}\", en: \"{text}\"}}\n"
    )
}

#[test]
fn worst_case_screen_length_is_proven() {
    let ctx = CompileContext::default();
    // 70 Latin letters + a 10-character value: fine in GSM-7 (70 + 2*10),
    // and 80 UCS-2 units if the value is Arabic: exactly the limit.
    let text = format!("{}{{v}}", "a".repeat(70));
    assert!(compile(&[src("m.yaml", &flow_with_message(&text, 10))], &ctx).is_ok());
    // One more character in the value: the Latin text is UCS-2 at 81.
    let d = errors(&[src("m.yaml", &flow_with_message(&text, 11))], &ctx);
    has(
        &d,
        9,
        "message `s` in `en` can overflow the screen: worst case 81 UCS-2 characters, limit 80",
    );
    // `number` grows its input: 7 digits -> 9 characters.
    let text = format!("{}{{v|number}}", "a".repeat(72));
    let d = errors(&[src("m.yaml", &flow_with_message(&text, 7))], &ctx);
    has(&d, 9, "worst case 81 UCS-2");
    // A tighter operator budget from the context.
    let small = CompileContext {
        budget: Budget { gsm7: 60, ucs2: 30 },
        ..CompileContext::default()
    };
    let d = errors(&[src("m.yaml", &flow_with_message("{v}", 31))], &small);
    has(&d, 9, "62 GSM-7 characters, limit 60");
}

#[test]
fn menus_paginate_and_refuse_when_one_option_cannot_fit() {
    let options: String = (1..=30)
        .map(|i| format!("      - label: {{ar: \"خيار رقم {i} في القائمة\", en: \"Option number {i}\"}}\n        next: end\n"))
        .collect();
    let flow = format!(
        "id: big\nversion: 1\ntitle: {{ar: ق, en: M}}\nlanguages: [ar, en]\nstart: menu\nnodes:\n  menu:\n    type: menu\n    text: {{ar: القائمة, en: Menu}}\n    options:\n{options}  end:\n    type: message\n    text: {{ar: تم, en: Done}}\n"
    );
    assert!(compile(&[src("big.yaml", &flow)], &CompileContext::default()).is_ok());
    let huge = flow.replace(
        "text: {ar: القائمة, en: Menu}",
        &format!("text: {{ar: \"{}\", en: Menu}}", "ا".repeat(60)),
    );
    let d = errors(&[src("big.yaml", &huge)], &CompileContext::default());
    has(
        &d,
        7,
        "menu `menu` (heading, option 1, navigation) in `ar` can overflow",
    );
}

#[test]
fn the_proof_is_tight_at_run_time() {
    use bawaba::charset::ucs2_len;
    use bawaba::engine::{step, Bearer, Effect, Input, Lang, Outcome, Session};
    // 71 letters + `number` of 7 digits (9 characters with separators) = 80.
    let yaml = |pad: usize| {
        format!(
            "id: t\nversion: 1\ntitle: {{ar: ت}}\nlanguages: [ar]\nentry: {{ussd: [\"*500#\"]}}\nvars:\n  w: {{max_len: 7}}\nstart: c\nnodes:\n  c:\n    type: call\n    backend: b\n    operation: o\n    results: [w]\n    on: {{ok: s, failed: s}}\n  s:\n    type: message\n    text: {{ar: \"{}{{w|number}}\"}}\n",
            "ب".repeat(pad)
        )
    };
    let ctx = CompileContext::default();
    assert!(compile(&[src("t.yaml", &yaml(72))], &ctx).is_err());
    let flows = compile(&[src("t.yaml", &yaml(71))], &ctx).unwrap();
    let (s, fx) = step(
        &flows,
        Session::new(Bearer::Ussd, Some(Lang::Ar)),
        Input::Dial {
            code: "*500#".into(),
        },
        0,
    );
    let Effect::Call { call_id, .. } = fx[0] else {
        panic!("{fx:?}")
    };
    let data = serde_json::json!({"w": "12345678901"}); // cut to 7 digits
    let (_, fx) = step(
        &flows,
        s,
        Input::CallDone {
            call_id,
            outcome: Outcome::Ok,
            data,
        },
        1,
    );
    let Effect::Show { text, end: true } = &fx[0] else {
        panic!("{fx:?}")
    };
    assert!(text.ends_with("١٬٢٣٤٬٥٦٧"), "{text}");
    assert_eq!(ucs2_len(text), 80);
}

#[test]
fn call_results_must_be_declared_not_implied() {
    // `card` is implied by a digits input (GSM-7 only); a back-end filling
    // it could put any characters there, so the proof would not hold.
    let yaml = "id: r\nversion: 1\ntitle: {en: R}\nlanguages: [en]\nstart: ask\nnodes:\n  ask:\n    type: input\n    prompt: {en: Card}\n    validate: {digits: {max: 8}}\n    error: {en: Bad}\n    save: card\n    next: c\n  c:\n    type: call\n    backend: b\n    operation: o\n    results: [card]\n    on: {ok: s, failed: s}\n  s:\n    type: message\n    text: {en: \"{card}\"}\n";
    let d = errors(&[src("r.yaml", yaml)], &CompileContext::default());
    has(&d, 18, "result `card` is not declared in vars");
}

#[test]
fn lang_is_built_in_and_cannot_be_taken() {
    let yaml = "id: r\nversion: 1\ntitle: {en: R}\nlanguages: [en]\nvars:\n  lang: {max_len: 2}\nstart: ask\nnodes:\n  ask:\n    type: input\n    prompt: {en: \"Card ({lang})\"}\n    validate: {digits: {max: 8}}\n    error: {en: Bad}\n    save: lang\n    next: s\n  s:\n    type: message\n    text: {en: \"{lang}\"}\n";
    let d = errors(&[src("r.yaml", yaml)], &CompileContext::default());
    has(&d, 6, "`lang` is built in");
    has(&d, 14, "`lang` is built in");
    assert_eq!(d.len(), 2, "{d:?}");
}

/// A one-option Arabic start menu of exactly 80 characters; its option
/// leads to an input whose `next` is `after`.
fn full_start_menu(after: &str) -> String {
    format!(
        "id: f\nversion: 1\ntitle: {{ar: ت}}\nlanguages: [ar]\nentry: {{ussd: [\"*600#\"]}}\nstart: main\nnodes:\n  main:\n    type: menu\n    text: {{ar: \"{}\"}}\n    options:\n      - label: {{ar: \"{}\"}}\n        next: ask\n  ask:\n    type: input\n    prompt: {{ar: الرقم}}\n    validate: {{digits: {{max: 4}}}}\n    error: {{ar: خطأ}}\n    save: n\n    next: {after}\n  done:\n    type: message\n    text: {{ar: تم}}\n",
        "ا".repeat(60),
        "ب".repeat(16)
    )
}

#[test]
fn navigation_lines_are_counted_only_where_they_can_show() {
    use bawaba::charset::ucs2_len;
    use bawaba::engine::{step, Bearer, Effect, Input, Lang, Session};
    let ctx = CompileContext::default();
    // The start menu is never shown with back history (nothing leads back
    // to it) and has one page: no `98`, `0` or `00` line can appear, so a
    // screen of exactly 80 characters is fine.
    let only_once = full_start_menu("done");
    let flows = compile(&[src("f.yaml", &only_once)], &ctx).unwrap_or_else(|d| panic!("{d:?}"));
    let (_, fx) = step(
        &flows,
        Session::new(Bearer::Ussd, Some(Lang::Ar)),
        Input::Dial {
            code: "*600#".into(),
        },
        0,
    );
    let Effect::Show { text, end: false } = &fx[0] else {
        panic!("{fx:?}")
    };
    assert_eq!(ucs2_len(text), 80, "{text}");
    // Once the input leads back to it, the menu can be shown with history:
    // `0. رجوع` (but not `00. Home`: it is the start node) makes it 88.
    let again = full_start_menu("main");
    let again = &again[..again.find("  done:").unwrap()];
    let d = errors(&[src("f.yaml", again)], &ctx);
    has(
        &d,
        8,
        "menu `main` (heading, option 1, navigation) in `ar` can overflow the screen: worst case 88 UCS-2 characters, limit 80",
    );
    assert_eq!(d.len(), 1, "{d:?}");
}

#[test]
fn replaced_versions_stay_for_pinned_sessions_then_go() {
    let flow = |version: u32, text: &str| {
        let yaml = format!("id: f\nversion: {version}\ntitle: {{en: F}}\nlanguages: [en]\nentry: {{ussd: [\"*7#\"]}}\nstart: s\nnodes:\n  s:\n    type: message\n    text: {{en: \"{text}\"}}\n");
        compile(&[src("f.yaml", &yaml)], &CompileContext::default()).unwrap()
    };
    let keep = 500;
    let v1 = flow(1, "one");
    let v2 = flow(2, "two").succeed(&v1, 1_000, keep).unwrap();
    assert_eq!(v2.get("f").map(|f| f.version()), Some(2));
    assert!(v2.pinned("f", 1).is_some() && v2.pinned("f", 2).is_some());
    assert_eq!(v2.retired().collect::<Vec<_>>(), [("f", 1)]);
    // Version 1 was retired at 1 000: kept until 1 500, gone at 1 600.
    let v3 = flow(3, "three").succeed(&v2, 1_600, keep).unwrap();
    assert_eq!(v3.retired().collect::<Vec<_>>(), [("f", 2)]);
    assert!(v3.pinned("f", 1).is_none());
    // Rolling back to version 2 makes it current again, not also retired.
    let back = flow(2, "two").succeed(&v3, 1_700, keep).unwrap();
    assert_eq!(back.get("f").map(|f| f.version()), Some(2));
    assert_eq!(back.retired().collect::<Vec<_>>(), [("f", 3)]);
    // The same version with other text is refused, even when only retired.
    let err = flow(3, "changed").succeed(&back, 1_800, keep).unwrap_err();
    assert_eq!((err[0].id.as_str(), err[0].version), ("f", 3));
    assert!(
        err[0].to_string().contains("raise its `version:`"),
        "{}",
        err[0]
    );
    // Unchanged text under the same version is no change at all.
    assert!(flow(2, "two").succeed(&back, 1_900, keep).is_ok());
    assert_eq!(v1.get("f").unwrap().checksum().len(), 64);
}

/// A flow with a card input, an optional secret PIN input and a call
/// marked `personal: true`; `call_extra` is added to the call node.
fn personal_flow(pin: &str, call_extra: &str) -> String {
    format!(
        "id: p\nversion: 1\ntitle: {{en: P}}\nlanguages: [en]\nvars:\n  name: {{max_len: 20}}\nstart: ask\nnodes:\n  ask:\n    type: input\n    prompt: {{en: Card}}\n    validate: {{digits: {{max: 8}}}}\n    error: {{en: Bad}}\n    save: card\n    next: {first}\n{pin}  get:\n    type: call\n    backend: b\n    operation: o\n    params: {{card: \"{{card}}\"}}\n    results: [name]\n    on: {{ok: show, failed: show}}\n    personal: true\n{call_extra}  show:\n    type: message\n    text: {{en: \"{{name}}\"}}\n",
        first = if pin.is_empty() { "get" } else { "ask_pin" },
    )
}

const PIN_INPUT: &str = "  ask_pin:\n    type: input\n    prompt: {en: PIN}\n    validate: {digits: {min: 4, max: 4}}\n    error: {en: Bad}\n    save: pin\n    secret: true\n    next: get\n";

#[test]
fn personal_data_needs_a_secret_checked_by_the_back_end() {
    let ctx = CompileContext::default();
    // Only the caller's number and a card number: refused, at the call.
    let d = errors(&[src("flows/p.yaml", &personal_flow("", ""))], &ctx);
    has(&d, 16, "returns personal data (`personal: true`) but can be reached without a secret checked by a back-end");
    // A PIN input that the call does not check is not enough either.
    let d = errors(&[src("flows/p.yaml", &personal_flow(PIN_INPUT, ""))], &ctx);
    has(&d, 24, "can be reached without a secret");
    // `verifies` must name a secret input, and send it.
    let d = errors(
        &[src(
            "flows/p.yaml",
            &personal_flow(PIN_INPUT, "    verifies: card\n"),
        )],
        &ctx,
    );
    has(&d, 24, "`verifies: card` must name a `secret: true` input");
    let d = errors(
        &[src(
            "flows/p.yaml",
            &personal_flow(PIN_INPUT, "    verifies: pin\n"),
        )],
        &ctx,
    );
    has(&d, 24, "does not send it: add it to `params`");
    let d = errors(
        &[src(
            "flows/p.yaml",
            &personal_flow(PIN_INPUT, "    verifies: pin\n    wrong: [ok]\n"),
        )],
        &ctx,
    );
    has(&d, 33, "`ok` cannot mean a wrong secret");
    // Checked by the call itself: accepted.
    let ok = personal_flow(PIN_INPUT, "    verifies: pin\n").replace(
        "params: {card: \"{card}\"}",
        "params: {card: \"{card}\", pin: \"{pin}\"}",
    );
    compile(&[src("flows/p.yaml", &ok)], &ctx).unwrap();
}

#[test]
fn personal_data_after_the_ok_of_a_verifying_call_is_accepted() {
    let yaml = "id: v\nversion: 1\ntitle: {en: V}\nlanguages: [en]\nvars:\n  name: {max_len: 20}\nstart: ask_pin\nnodes:\n  ask_pin:\n    type: input\n    prompt: {en: PIN}\n    validate: {digits: {min: 4, max: 4}}\n    error: {en: Bad}\n    save: pin\n    secret: true\n    next: check\n  check:\n    type: call\n    backend: b\n    operation: login\n    params: {pin: \"{pin}\"}\n    verifies: pin\n    on: {ok: get, failed: bye}\n  get:\n    type: call\n    backend: b\n    operation: o\n    results: [name]\n    personal: true\n    on: {ok: show, failed: bye}\n  show:\n    type: message\n    text: {en: \"{name}\"}\n  bye:\n    type: message\n    text: {en: Bye}\n";
    compile(&[src("flows/v.yaml", yaml)], &CompileContext::default()).unwrap();
    // The same flow with a way around the check: refused.
    let around = yaml.replace("on: {ok: get, failed: bye}", "on: {ok: get, failed: get}");
    let d = errors(&[src("flows/v.yaml", &around)], &CompileContext::default());
    has(&d, 24, "call `get` returns personal data");
}
