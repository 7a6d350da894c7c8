//! Interpreter behaviour over the fixture flows (tests/fixtures/engine):
//! menus, navigation, inputs, calls, secrets, shortcuts, keywords, resume.

mod engine_support;

use bawaba::engine::{
    compile, step, step_with, Bearer, CompileContext, Effect, FlowSet, Input, Lang, Outcome,
    Session, Source, Status, StepContext,
};
use engine_support::fixture_flows;
use serde_json::json;

struct Phone<'a> {
    flows: &'a FlowSet,
    s: Option<Session>,
    now: u64,
    fx: Vec<Effect>,
}

impl<'a> Phone<'a> {
    fn new(flows: &'a FlowSet, bearer: Bearer, lang: Lang) -> Self {
        Phone {
            flows,
            s: Some(Session::new(bearer, Some(lang))),
            now: 1_000,
            fx: Vec::new(),
        }
    }
    fn send(&mut self, input: Input) -> &[Effect] {
        self.now += 1_000;
        let (s, fx) = step(self.flows, self.s.take().unwrap(), input, self.now);
        for e in &fx {
            if let Effect::Show { text, .. } = e {
                assert!(self.flows.budget().fits(text), "over budget: {text}");
            }
        }
        self.s = Some(s);
        self.fx = fx;
        &self.fx
    }
    fn dial(&mut self, code: &str) -> String {
        self.send(Input::Dial { code: code.into() });
        self.screen()
    }
    fn reply(&mut self, text: &str) -> String {
        self.send(Input::Reply { text: text.into() });
        self.screen()
    }
    fn screen(&self) -> String {
        self.fx
            .iter()
            .find_map(|e| match e {
                Effect::Show { text, .. } => Some(text.clone()),
                _ => None,
            })
            .unwrap_or_default()
    }
    fn session(&self) -> &Session {
        self.s.as_ref().unwrap()
    }
    fn call_id(&self) -> u64 {
        self.fx
            .iter()
            .find_map(|e| match e {
                Effect::Call { call_id, .. } => Some(*call_id),
                _ => None,
            })
            .expect("a call")
    }
}

#[test]
fn balance_happy_path_with_secret_pin() {
    let f = fixture_flows();
    let mut p = Phone::new(&f, Bearer::Ussd, Lang::En);
    assert_eq!(
        p.dial("*123*1#"),
        "Ration card\n1. Balance\n2. Items\n3. Language\n4. Electricity"
    );
    assert_eq!(p.reply("1"), "Enter your ration card number");
    assert_eq!(
        p.reply("١٢٣٤٥٦٧٨"),
        "Enter your PIN\n0. Back".replace("\n0. Back", "")
    );
    p.reply("4321");
    let Effect::Call {
        backend,
        operation,
        params,
        ..
    } = &p.fx[0]
    else {
        panic!("{:?}", p.fx)
    };
    assert_eq!((backend.as_str(), operation.as_str()), ("pds", "balance"));
    assert_eq!(params["card"], "12345678");
    assert_eq!(params["pin"], "4321");
    // The PIN is gone once the call is emitted, and never serialised.
    assert!(p.session().secrets.is_empty());
    let stored = serde_json::to_string(p.session()).unwrap();
    assert!(!stored.contains("4321"), "{stored}");
    let id = p.call_id();
    p.send(Input::CallDone {
        call_id: id,
        outcome: Outcome::Ok,
        data: json!({"holder": "Ali Hassan", "balance": 25000, "ref": "R-77"}),
    });
    assert_eq!(
        p.fx,
        vec![
            Effect::SendSms {
                text: "Your reference is R-77".into()
            },
            Effect::Show {
                text: "Ali Hassan: 25,000 IQD".into(),
                end: true
            },
            Effect::End,
        ]
    );
    assert!(p.session().is_finished());
}

#[test]
fn arabic_screens_and_call_outcomes() {
    let f = fixture_flows();
    let mut p = Phone::new(&f, Bearer::Ussd, Lang::Ar);
    assert!(p
        .dial("*١٢٣*١#")
        .starts_with("البطاقة التموينية\n1. الرصيد"));
    p.reply("1");
    p.reply("12345678");
    p.reply("1111");
    let id = p.call_id();
    // A stale answer is ignored.
    assert!(p
        .send(Input::CallDone {
            call_id: id + 5,
            outcome: Outcome::Ok,
            data: json!({})
        })
        .is_empty());
    p.send(Input::CallDone {
        call_id: id,
        outcome: Outcome::Ok,
        data: json!({"holder": "علي", "balance": "0"}),
    });
    assert_eq!(p.screen(), "لا يوجد رصيد");
    let mut p = Phone::new(&f, Bearer::Ussd, Lang::Ar);
    p.dial("*123*1*1*12345678*1111#");
    let id = p.call_id();
    p.send(Input::CallDone {
        call_id: id,
        outcome: Outcome::Timeout,
        data: json!(null),
    });
    assert_eq!(p.screen(), "الخدمة متوقفة مؤقتا");
    p.dial("*123*1*1*12345678*1111#");
    let id = p.call_id();
    p.send(Input::CallDone {
        call_id: id,
        outcome: Outcome::NotFound,
        data: json!(null),
    });
    assert_eq!(p.screen(), "البطاقة غير موجودة");
}

#[test]
fn invalid_choices_and_inputs_are_screens() {
    let f = fixture_flows();
    let mut p = Phone::new(&f, Bearer::Ussd, Lang::En);
    p.dial("*123*1#");
    assert_eq!(
        p.reply("9"),
        "Invalid choice\n1. Balance\n2. Items\n3. Language\n4. Electricity"
    );
    assert_eq!(
        p.reply("hello"),
        "Invalid choice\n1. Balance\n2. Items\n3. Language\n4. Electricity"
    );
    p.reply("1");
    assert_eq!(
        p.reply("123"),
        "Card numbers have 8 to 12 digits.\nEnter your ration card number"
    );
    assert_eq!(p.session().status, Status::Active);
}

#[test]
fn back_and_home() {
    let f = fixture_flows();
    let mut p = Phone::new(&f, Bearer::Ussd, Lang::En);
    p.dial("*123*1#");
    p.reply("1");
    p.reply("12345678");
    assert_eq!(p.reply("0"), "Enter your ration card number");
    assert!(p.reply("0").starts_with("Ration card\n1. Balance"));
    p.reply("1");
    p.reply("12345678");
    assert!(p.reply("00").starts_with("Ration card\n1. Balance"));
    assert!(p.session().history.is_empty());
}

#[test]
fn shortcut_dial_and_language_choice() {
    let f = fixture_flows();
    let mut p = Phone::new(&f, Bearer::Ussd, Lang::En);
    assert_eq!(p.dial("*123*1*1*12345678#"), "Enter your PIN");
    let mut p = Phone::new(&f, Bearer::Ussd, Lang::En);
    let s = p.dial("*123*1*3#");
    assert!(s.contains("1. العربية\n2. کوردی\n3. English"), "{s}");
    let s = p.reply("2");
    assert!(p.fx.contains(&Effect::SetLanguage { lang: Lang::Ckb }));
    assert!(s.starts_with("کارتی خۆراک\n1. باڵانس"), "{s}");
    // A bad shortcut part is an invalid-choice screen, the rest is dropped.
    let mut p = Phone::new(&f, Bearer::Ussd, Lang::En);
    assert!(p.dial("*123*1*7*5#").starts_with("Invalid choice"));
    let mut p = Phone::new(&f, Bearer::Ussd, Lang::En);
    assert_eq!(p.dial("*999#"), "Service unavailable");
    assert!(p.session().is_finished());
}

#[test]
fn sms_keyword_fills_first_input_and_expires() {
    let f = fixture_flows();
    let mut p = Phone::new(&f, Bearer::Sms, Lang::En);
    p.send(Input::Keyword {
        text: "pds ١٢٣٤٥٦٧٨".into(),
    });
    assert!(p.screen().starts_with("Ration card"));
    // A keyword on a menu starts the service again (the prefill with it).
    p.reply("BILL");
    assert_eq!(p.screen(), "Enter your mobile number");
    // ... but on an input it is just the answer.
    assert_eq!(
        p.reply("BILL"),
        "Not a mobile number.\nEnter your mobile number"
    );
    p.send(Input::Keyword {
        text: "pds ١٢٣٤٥٦٧٨".into(),
    });
    assert_eq!(p.reply("1"), "Enter your PIN");
    // Idle past the SMS window: the conversation has expired.
    p.now += 60 * 60_000;
    assert_eq!(p.reply("1234"), "Session expired, please start again");
    assert!(p.session().is_finished());
    // Any later SMS that is a keyword starts again.
    p.send(Input::Reply {
        text: "تمويـنيّة".into(),
    });
    assert!(p.screen().starts_with("البطاقة التموينية") || p.screen().starts_with("Ration card"));
}

#[test]
fn resume_after_drop_within_window_only() {
    let f = fixture_flows();
    let mut p = Phone::new(&f, Bearer::Ussd, Lang::En);
    p.dial("*123*1#");
    p.reply("1");
    p.send(Input::Abort);
    assert_eq!(p.session().status, Status::Interrupted);
    assert_eq!(p.dial("*123*1#"), "Ration card\n1. Continue\n2. Start over");
    assert_eq!(p.reply("7"), "Invalid choice\n1. Continue\n2. Start over");
    assert_eq!(p.reply("1"), "Enter your ration card number");
    p.send(Input::Timeout);
    p.now += 200_000;
    assert!(p.dial("*123*1#").starts_with("Ration card\n1. Balance"));
    // A custom window.
    let ctx = StepContext {
        resume_window_ms: 500_000,
        ..StepContext::default()
    };
    p.reply("1");
    p.send(Input::Abort);
    let (s, fx) = step_with(
        &f,
        p.s.take().unwrap(),
        Input::Dial {
            code: "*123*1#".into(),
        },
        p.now + 400_000,
        &ctx,
    );
    assert_eq!(s.status, Status::ResumeOffer);
    assert!(matches!(&fx[0], Effect::Show { text, end: false } if text.ends_with("2. Start over")));
    // bills has resume: false -> an abort ends it.
    let mut p = Phone::new(&f, Bearer::Ussd, Lang::En);
    p.dial("*123*2#");
    assert_eq!(p.send(Input::Abort), &[Effect::End]);
}

#[test]
fn list_menu_paginates_and_saves_choice() {
    let f = fixture_flows();
    let mut p = Phone::new(&f, Bearer::Ussd, Lang::Ar);
    let first = items_menu(&mut p, 20);
    assert!(first.starts_with("المواد\n1. "), "{first}");
    assert!(first.contains("\n98. المزيد"), "{first}");
    let mut pages = 1;
    let mut screen = first;
    while screen.contains("98. ") {
        screen = p.reply("98");
        pages += 1;
        assert!(pages < 13);
    }
    assert!(pages > 1);
    // 12 items kept at most (max_items), the last one shows on the last page.
    assert!(screen.contains("12. "), "{screen}");
    let s = p.reply("12");
    assert!(s.starts_with("مادة رقم 12"), "{s}");
    assert!(s.ends_with(": 12"), "{s}");
}

#[test]
fn goto_other_flow() {
    let f = fixture_flows();
    let mut p = Phone::new(&f, Bearer::Ussd, Lang::En);
    p.dial("*123*1#");
    assert_eq!(p.reply("4"), "Enter your mobile number");
    assert_eq!(
        p.reply("0770 123 4567"),
        "We will text the bill to 9647701234567"
    );
}

#[test]
fn cross_flow_goto_loop_ends_politely() {
    let flow = |id: &str, other: &str, code: &str| {
        Source {
        path: format!("{id}.yaml"),
        text: format!(
            "id: {id}\nversion: 1\ntitle: {{en: L}}\nlanguages: [en]\nentry: {{ussd: [\"{code}\"]}}\nstart: g\nnodes:\n  g:\n    type: goto\n    flow: {other}\n"
        ),
    }
    };
    let f = compile(
        &[flow("la", "lb", "*7#"), flow("lb", "la", "*8#")],
        &CompileContext::default(),
    )
    .unwrap();
    let mut p = Phone::new(&f, Bearer::Ussd, Lang::En);
    assert_eq!(p.dial("*7#"), "Service unavailable");
    assert!(p.session().is_finished());
}

#[test]
fn navigation_edges_are_screens() {
    let f = fixture_flows();
    let mut p = Phone::new(&f, Bearer::Ussd, Lang::En);
    p.dial("*123*1#");
    // Nothing to go back to, no next page, no home: invalid choices.
    for key in ["0", "98"] {
        assert!(
            p.reply(key).starts_with("Invalid choice\n1. Balance"),
            "{key}"
        );
    }
    // History stays bounded however long the citizen wanders.
    for _ in 0..100 {
        p.reply("3"); // language menu
        p.reply("3"); // English -> main
    }
    assert!(p.session().history.len() <= StepContext::default().history_limit);
    // An empty list still shows a screen the citizen can leave.
    let mut p = Phone::new(&f, Bearer::Ussd, Lang::En);
    p.dial("*123*1*2*12345678#");
    let id = p.call_id();
    p.send(Input::CallDone {
        call_id: id,
        outcome: Outcome::Ok,
        data: json!({"items": []}),
    });
    assert_eq!(p.screen(), "Your items\n0. Back\n00. Home");
    assert!(p.reply("1").starts_with("Invalid choice"));
    assert!(p.reply("00").starts_with("Ration card"));
}

/// Dials the items list (shortcut) and answers with `n` long item names;
/// the first screen of the list menu.
fn items_menu(p: &mut Phone, n: usize) -> String {
    p.dial("*123*1*2*12345678#");
    let id = p.call_id();
    let items: Vec<_> = (1..=n)
        .map(|i| json!({"name": format!("مادة رقم {i} طويلة جدا جدا"), "qty": i}))
        .collect();
    p.send(Input::CallDone {
        call_id: id,
        outcome: Outcome::Ok,
        data: json!({ "items": items }),
    });
    p.screen()
}

#[test]
fn list_menu_numbers_work_from_any_page() {
    let f = fixture_flows();
    for lang in [Lang::Ar, Lang::En] {
        let mut p = Phone::new(&f, Bearer::Ussd, lang);
        let first = items_menu(&mut p, 12);
        assert!(!first.contains("\n11. "), "{first}");
        // A page index from another paging (a stored session, another
        // language) reads as the last page.
        p.s.as_mut().unwrap().at.page = 40;
        let s = p.reply("x");
        assert!(s.contains("\n12. "), "{s}");
        assert!(!s.contains("\n98. "), "{s}");
        // Item 11 is on a later page; its number still picks it.
        let s = p.reply("11");
        assert!(s.starts_with("مادة رقم 11"), "{lang}: {s}");
        // A number past the list is an invalid choice, not a crash.
        let mut p = Phone::new(&f, Bearer::Ussd, lang);
        items_menu(&mut p, 3);
        assert!(p.reply("4").starts_with(if lang == Lang::En {
            "Invalid choice"
        } else {
            "اختيار غير صحيح"
        }));
    }
}

#[test]
fn navigation_keys_are_configurable_and_translated() {
    let yaml = "id: nav\nversion: 1\ntitle: {ar: تجربة, en: Test}\nlanguages: [ar, en]\nentry: {ussd: [\"*700#\"]}\nnavigation: {back: \"*\", home: \"**\", more: \"9\"}\nstart: main\nnodes:\n  main:\n    type: menu\n    text: {ar: الرئيسية, en: Main}\n    options:\n      - label: {ar: فرعية, en: Sub}\n        next: sub\n  sub:\n    type: menu\n    text: {ar: فرعية, en: Sub}\n    options:\n      - label: {ar: عودة, en: Again}\n        next: sub\n";
    let f = compile(
        &[Source {
            path: "nav.yaml".into(),
            text: yaml.into(),
        }],
        &CompileContext::default(),
    )
    .unwrap_or_else(|d| panic!("{d:?}"));
    let mut p = Phone::new(&f, Bearer::Ussd, Lang::En);
    assert_eq!(p.dial("*700#"), "Main\n1. Sub");
    assert_eq!(p.reply("1"), "Sub\n1. Again\n*. Back\n**. Home");
    assert_eq!(p.reply("*"), "Main\n1. Sub");
    p.reply("1");
    p.reply("1");
    assert_eq!(p.reply("**"), "Main\n1. Sub");
    // The defaults are plain choices here: `0` is not "back".
    p.reply("1");
    assert!(p.reply("0").starts_with("Invalid choice\n1. Again"));
    let mut p = Phone::new(&f, Bearer::Ussd, Lang::Ar);
    p.dial("*700#");
    assert_eq!(p.reply("١"), "فرعية\n1. عودة\n*. رجوع\n**. الرئيسية");
    // A key ending in `#` could never be typed: handsets add or strip it.
    let bad = yaml.replace("home: \"**\"", "home: \"*#\"");
    let d = compile(
        &[Source {
            path: "nav.yaml".into(),
            text: bad,
        }],
        &CompileContext::default(),
    )
    .unwrap_err();
    assert!(
        d.iter()
            .any(|x| x.line == 6 && x.message.contains("must not end with `#`")),
        "{d:?}"
    );
}
