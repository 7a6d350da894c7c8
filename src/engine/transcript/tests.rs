use super::*;

fn parse(text: &str) -> Transcript {
    Transcript::parse(text).unwrap_or_else(|e| panic!("{e:?}"))
}

fn errors(text: &str) -> Vec<ParseError> {
    Transcript::parse(text).expect_err("should not parse")
}

#[test]
fn parses_a_conversation() {
    let t = parse(
        "# leading comment\n\
         ## happy path\n\
         @lang en\n\
         @bearer sms\n\
         = pds.balance ok {\"holder\": \"Ali\", \"items\": []}\n\
         > PDS 1234\n\
         < Ration card\n\
         <\n\
         < 1. Balance\n\
         ! end\n\
         ! sms Your ref\\nis 5\n\
         ! call pds.balance card=1234\n\
         ! language ckb\n\
         ! wait 130s\n\
         ! timeout\n\
         !abort\n\
         ! no sms\n\
         \n\
         ## second\n\
         = pds.balance timeout\n\
         >1\n",
    );
    assert_eq!(t.conversations.len(), 2);
    let c = &t.conversations[0];
    assert_eq!(
        (c.name.as_str(), c.line, c.lang, c.bearer),
        ("happy path", 2, Some(Lang::En), Bearer::Sms)
    );
    let kinds: Vec<&StepKind> = c.steps.iter().map(|s| &s.kind).collect();
    assert!(matches!(
        kinds[0],
        StepKind::Answer(CannedAnswer {
            outcome: Outcome::Ok,
            ..
        })
    ));
    assert_eq!(kinds[1], &StepKind::Send("PDS 1234".into()));
    assert_eq!(
        kinds[2],
        &StepKind::Expect(vec!["Ration card".into(), "".into(), "1. Balance".into()])
    );
    assert_eq!(c.steps[2].line, 7);
    assert_eq!(kinds[3], &StepKind::Check(Check::End));
    assert_eq!(
        kinds[4],
        &StepKind::Check(Check::Sms("Your ref\nis 5".into()))
    );
    assert_eq!(
        kinds[5],
        &StepKind::Check(Check::Call {
            backend: "pds".into(),
            operation: "balance".into(),
            params: vec![("card".into(), "1234".into())]
        })
    );
    assert_eq!(kinds[6], &StepKind::Check(Check::Language(Lang::Ckb)));
    assert_eq!(kinds[7], &StepKind::Event(Event::Wait(130)));
    assert_eq!(kinds[8], &StepKind::Event(Event::Timeout));
    assert_eq!(kinds[9], &StepKind::Event(Event::Abort));
    assert_eq!(kinds[10], &StepKind::Check(Check::NoSms));
    let second = &t.conversations[1];
    assert_eq!(second.bearer, Bearer::Ussd);
    match &second.steps[0].kind {
        StepKind::Answer(a) => {
            assert_eq!(a.outcome, Outcome::Timeout);
            assert_eq!(a.data, serde_json::json!({}));
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(second.steps[1].kind, StepKind::Send("1".into()));
}

#[test]
fn expectations_split_by_other_steps() {
    let t = parse("## x\n> 1\n< a\n> 2\n< b\n< c\n");
    let screens: Vec<_> = t.conversations[0]
        .steps
        .iter()
        .filter_map(|s| match &s.kind {
            StepKind::Expect(l) => Some(l.clone()),
            _ => None,
        })
        .collect();
    assert_eq!(
        screens,
        [
            vec!["a".to_string()],
            vec!["b".to_string(), "c".to_string()]
        ]
    );
}

#[test]
fn reports_every_problem_with_its_line() {
    let e = errors(
        "> before header\n\
         ## x\n\
         < before input\n\
         @lang fr\n\
         = pds ok\n\
         = pds.balance great\n\
         = pds.balance ok {bad json\n\
         > 1\n\
         @lang en\n\
         ! explode\n\
         ! wait soon\n\
         ! call pds.balance card\n\
         ? what\n",
    );
    let lines: Vec<usize> = e.iter().map(|e| e.line).collect();
    assert_eq!(lines, [1, 3, 4, 5, 6, 7, 9, 10, 11, 12, 13]);
    assert!(e[0].message.contains("## name"));
    assert!(e[2].message.contains("fr"));
    assert!(e[4].message.contains("great"));
    assert!(e[5].message.contains("JSON"));
    assert!(e[6].message.contains("before"));
    assert!(e[10].message.contains("unknown line"));
}

#[test]
fn never_panics_on_odd_text() {
    for text in [
        "",
        "#",
        "##",
        "@",
        "=",
        ">",
        "<",
        "!",
        "## a\n@",
        "## a\n=",
        "## a\n!",
        "## a\n> x\n< é",
        "é\n",
        "## a\n=  ",
    ] {
        let _ = Transcript::parse(text);
    }
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig::with_cases(256))]

    #[test]
    fn parse_never_panics(text in "((## |@|= |> |< |! |#)?\\PC{0,20}\n){0,8}") {
        let _ = Transcript::parse(&text);
    }
}

mod running {
    use super::*;
    use crate::engine::{compile, CompileContext, FlowSet, Source, StepContext};

    const FLOW: &str = r#"
id: greet
version: 1
title: {en: Greeting, ar: تحية}
languages: [en, ar]
entry: {ussd: ["*777#"], sms: [HI]}
vars:
  name: {max_len: 20}
start: menu
nodes:
  menu:
    type: menu
    text: {en: Hello, ar: أهلاً}
    options:
      - label: {en: Name, ar: الاسم}
        next: ask
      - label: {en: Language, ar: اللغة}
        next: lang
  lang:
    type: language
    next: menu
  ask:
    type: input
    prompt: {en: Your number?, ar: رقمك؟}
    validate: {digits: {min: 3, max: 6}}
    error: {en: 3 to 6 digits., ar: من ٣ إلى ٦ أرقام}
    save: number
    next: lookup
  lookup:
    type: call
    backend: people
    operation: name
    params: {number: "{number}"}
    results: [name]
    on: {ok: note, not_found: hello, failed: hello, timeout: hello}
  note:
    type: sms
    text: {en: "Hi {name}", ar: "مرحبا {name}"}
    next: hello
  hello:
    type: message
    text: {en: "Hello {name}", ar: "أهلاً {name}"}
"#;

    fn flows() -> FlowSet {
        let src = Source {
            path: "greet.yaml".into(),
            text: FLOW.into(),
        };
        compile(&[src], &CompileContext::default()).unwrap_or_else(|d| panic!("{d:?}"))
    }

    fn run_text(text: &str) -> Report {
        run(&flows(), &parse(text), &StepContext::default())
    }

    const HAPPY: &str = "## ok\n@lang en\n= people.name ok {\"name\": \"Ali\"}\n> *777*1#\n< Your number?\n> ١٢٣\n< Hello Ali\n! end\n! sms Hi Ali\n! call people.name number=123\n";

    #[test]
    fn a_true_transcript_passes() {
        let r = run_text(HAPPY);
        assert_eq!((r.passed, r.failed), (1, 0), "{:?}", r.failures);
    }

    #[test]
    fn every_kind_of_wrong_line_fails_where_it_is() {
        let text = HAPPY
            .replace("< Hello Ali", "< Hello Ali\n< extra")
            .replace("! end", "! continue")
            .replace("! sms Hi Ali", "! sms Hi Bob\n! no sms")
            .replace("number=123", "number=124")
            + "! language ar\n";
        let r = run_text(&text);
        assert_eq!((r.passed, r.failed), (0, 1));
        let got: Vec<(usize, &str)> = r
            .failures
            .iter()
            .map(|f| (f.line, f.message.as_str()))
            .collect();
        assert_eq!(
            got,
            [
                (8, "screen differs"),
                (9, "session should go on"),
                (10, "SMS not queued"),
                (11, "unexpected SMS"),
                (12, "call differs"),
                (13, "language not remembered"),
            ]
        );
        assert_eq!(r.failures[0].expected, "Hello Ali\nextra");
        assert_eq!(r.failures[0].actual, "Hello Ali");
        assert_eq!(r.failures[4].actual, "people.name number=123");
    }

    #[test]
    fn canned_answers_must_match_the_calls() {
        let missing = run_text("## x\n> *777*1*123#\n< Hello\n");
        assert_eq!(missing.failures.len(), 1);
        assert_eq!(missing.failures[0].line, 2);
        assert_eq!(missing.failures[0].actual, "people.name");

        let wrong = run_text("## x\n= pds.balance ok\n> *777*1*123#\n");
        assert_eq!(wrong.failures[0].line, 2);
        assert_eq!(
            wrong.failures[0].message,
            "canned answer is for another call"
        );

        let unused = run_text(
            "## x\n@lang en\n= people.name ok\n> *777#\n< Hello\n< 1. Name\n< 2. Language\n",
        );
        assert_eq!(unused.failures.len(), 1, "{:?}", unused.failures);
        assert_eq!(
            (unused.failures[0].line, unused.failures[0].message.as_str()),
            (3, "canned answer never used")
        );
    }

    #[test]
    fn no_screen_and_language_choice() {
        let r = run_text("## x\n> *777#\n! abort\n< Hello\n");
        assert_eq!(r.failures[0].message, "no screen was shown");
        let r = run_text(
            "## x\n@lang en\n> *777*2*2#\n< أهلاً\n< 1. الاسم\n< 2. اللغة\n< 0. رجوع\n! language ar\n",
        );
        assert_eq!((r.passed, r.failed), (1, 0), "{:?}", r.failures);
    }

    #[test]
    fn sms_conversations_start_with_a_keyword() {
        let r = run_text("## sms\n@bearer sms\n@lang en\n= people.name ok {\"name\": \"Ali\"}\n> hi\n< Hello\n< 1. Name\n< 2. Language\n> 1\n< Your number?\n> 123\n< Hello Ali\n! sms Hi Ali\n");
        assert_eq!((r.passed, r.failed), (1, 0), "{:?}", r.failures);
    }
}
