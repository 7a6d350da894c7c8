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
