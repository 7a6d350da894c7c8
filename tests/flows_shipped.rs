//! The shipped flows and their transcripts, through the library: every
//! flow has a transcript, each transcript covers what flows/TESTING.md asks
//! of it, and every conversation passes against the compiled flows.

use std::collections::BTreeSet;
use std::path::PathBuf;

use bawaba::engine::session::{Bearer, Outcome};
use bawaba::engine::transcript::{self, StepKind, Transcript};
use bawaba::engine::{compile, CompileContext, FlowSet, Lang, Source, StepContext};

fn flows_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("flows")
}

fn files(ext: &str) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(flows_dir())
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == ext))
        .collect();
    v.sort();
    v
}

fn compiled() -> FlowSet {
    let sources: Vec<Source> = files("yaml")
        .into_iter()
        .map(|p| Source {
            path: p.display().to_string(),
            text: std::fs::read_to_string(&p).unwrap(),
        })
        .collect();
    compile(&sources, &CompileContext::default()).unwrap_or_else(|d| panic!("{d:#?}"))
}

fn transcript(id: &str) -> Transcript {
    let text = std::fs::read_to_string(flows_dir().join(format!("{id}.test"))).unwrap();
    Transcript::parse(&text).unwrap_or_else(|e| panic!("{id}.test: {e:?}"))
}

fn inputs(t: &Transcript) -> impl Iterator<Item = &str> {
    t.conversations
        .iter()
        .flat_map(|c| &c.steps)
        .filter_map(|s| match &s.kind {
            StepKind::Send(x) => Some(x.as_str()),
            _ => None,
        })
}

#[test]
fn the_five_services_are_shipped() {
    let set = compiled();
    let ids: BTreeSet<&str> = set.flows().map(|f| f.id()).collect();
    assert_eq!(
        ids,
        BTreeSet::from(["home", "pds", "electricity", "passport", "pension"])
    );
    assert_eq!(
        set.by_service_code("*123#").map(|(f, _)| f.id()),
        Some("home")
    );
    let (pds, rest) = set.by_service_code("*123*1*12345678#").unwrap();
    assert_eq!((pds.id(), rest), ("pds", vec!["12345678".to_string()]));
    for (keyword, id) in [
        ("PDS 1", "pds"),
        ("تموينيه ١", "pds"),
        ("كهرباء", "electricity"),
        ("پاسپۆرت", "passport"),
    ] {
        assert_eq!(
            set.by_keyword(keyword).map(|(f, _)| f.id()),
            Some(id),
            "{keyword}"
        );
    }
}

#[test]
fn every_flow_has_a_transcript_that_passes() {
    let set = compiled();
    for flow in set.flows() {
        let t = transcript(flow.id());
        let report = transcript::run(&set, &t, &StepContext::default());
        let shown: Vec<String> = report.failures.iter().map(|f| f.to_string()).collect();
        assert_eq!(report.failed, 0, "{}.test:\n{}", flow.id(), shown.join(""));
        assert!(
            report.passed >= 4,
            "{}.test has only {} conversations",
            flow.id(),
            report.passed
        );
    }
}

#[test]
fn service_transcripts_cover_languages_failures_and_digits() {
    for id in ["pds", "electricity", "passport", "pension"] {
        let t = transcript(id);
        // In every language: the happy path, invalid input, a back-end
        // failure and a timeout (the flows' first language, ar, is the
        // default of a conversation without @lang).
        for lang in Lang::ALL {
            let convs: Vec<_> = t
                .conversations
                .iter()
                .filter(|c| c.lang.unwrap_or(Lang::Ar) == lang)
                .collect();
            let outcomes: BTreeSet<&str> = convs
                .iter()
                .flat_map(|c| &c.steps)
                .filter_map(|s| match &s.kind {
                    StepKind::Answer(a) => Some(a.outcome.key()),
                    _ => None,
                })
                .collect();
            for o in [Outcome::Ok, Outcome::Failed, Outcome::Timeout] {
                assert!(
                    outcomes.contains(o.key()),
                    "{id}.test never answers `{}` in {lang}",
                    o.key()
                );
            }
            let invalid = convs
                .iter()
                .any(|c| c.name.contains("invalid") || c.name.contains("must be"));
            assert!(invalid, "{id}.test has no invalid input in {lang}");
        }
        let not_found = t
            .conversations
            .iter()
            .flat_map(|c| &c.steps)
            .any(|s| matches!(&s.kind, StepKind::Answer(a) if a.outcome == Outcome::NotFound));
        assert!(not_found, "{id}.test never answers `not_found`");
        let arabic_digits =
            inputs(&t).any(|s| s.chars().any(|c| ('\u{0660}'..='\u{0669}').contains(&c)));
        assert!(arabic_digits, "{id}.test never types Arabic-Indic digits");
    }
}

#[test]
fn shortcuts_sms_kurdish_and_resume_are_covered_somewhere() {
    let all: Vec<Transcript> = ["home", "pds", "electricity", "passport", "pension"]
        .map(transcript)
        .into();
    let convs = || all.iter().flat_map(|t| &t.conversations);
    assert!(convs().any(|c| c.lang == Some(Lang::Ckb)));
    assert!(convs().any(|c| c.bearer == Bearer::Sms));
    let dial_depth = |s: &str| s.matches('*').count();
    assert!(
        all.iter()
            .flat_map(inputs)
            .any(|s| s.starts_with('*') && dial_depth(s) >= 3),
        "no shortcut dial"
    );
    assert!(all
        .iter()
        .flat_map(inputs)
        .any(|s| s.chars().any(|c| ('\u{06F0}'..='\u{06F9}').contains(&c))));
    let events = |c: &transcript::Conversation| {
        c.steps.iter().any(|s| {
            matches!(
                s.kind,
                StepKind::Event(transcript::Event::Abort | transcript::Event::Timeout)
            )
        })
    };
    assert!(convs().any(events), "no dropped session");
}

#[test]
fn the_pension_pin_reaches_the_back_end_and_nothing_else() {
    use bawaba::engine::{step, Effect, Input, Session};
    let set = compiled();
    let s = Session::new(Bearer::Ussd, Some(Lang::En));
    let (s, _) = step(
        &set,
        s,
        Input::Dial {
            code: "*123*4*1234567#".into(),
        },
        1_000,
    );
    let (s, fx) = step(
        &set,
        s,
        Input::Reply {
            text: "٤٣٢١".into(),
        },
        2_000,
    );
    let call = fx.iter().find_map(|e| match e {
        Effect::Call { params, .. } => Some(params.clone()),
        _ => None,
    });
    let params = call.expect("a call to the pension back-end");
    assert_eq!(params.get("pin").map(String::as_str), Some("4321"));
    assert_eq!(params.get("number").map(String::as_str), Some("1234567"));
    // The runtime is told which parameters it must not store or log.
    assert_eq!(set.secret_params(&s), BTreeSet::from(["pin".to_string()]));
    assert!(s.secrets.is_empty(), "PIN kept after the call");
    assert_eq!(s.secrets.get("pin"), None);
    let stored = serde_json::to_string(&s).unwrap();
    assert!(
        !stored.contains("4321"),
        "PIN in the stored session: {stored}"
    );
    assert!(fx
        .iter()
        .all(|e| !matches!(e, Effect::Show { text, .. } if text.contains("4321"))));
}

#[test]
fn the_runtime_routes_dials_and_keywords_through_the_flow_set() {
    let set = compiled();
    let route = |dial: &str| {
        set.by_service_code(dial)
            .map(|(f, parts)| (f.id().to_string(), parts))
    };
    let v = |id: &str, parts: &[&str]| {
        Some((
            id.to_string(),
            parts.iter().map(|p| p.to_string()).collect::<Vec<_>>(),
        ))
    };
    assert_eq!(route("*123#"), v("home", &[]));
    assert_eq!(route("*123*5#"), v("home", &["5"]));
    assert_eq!(route("*123*1*12345678#"), v("pds", &["12345678"]));
    assert_eq!(route("*١٢٣*٤*١٢٣٤٥٦٧#"), v("pension", &["1234567"]));
    assert_eq!(route("*124#"), None);
    assert_eq!(route("not a dial"), None);
    let kw = |text: &str| {
        set.by_keyword(text)
            .map(|(f, rest)| (f.id().to_string(), rest))
    };
    let k = |id: &str, rest: &str| Some((id.to_string(), rest.to_string()));
    assert_eq!(kw("pds 12345678"), k("pds", "12345678"));
    // Arabic with a shadda, tatweel and a teh marbuta written as heh, and
    // Arabic-Indic digits; Kurdish; a bidi mark before the keyword.
    assert_eq!(kw("تموينيّـه ١٢٣٤٥٦٧٨"), k("pds", "12345678"));
    assert_eq!(kw("کارەبا 998877"), k("electricity", "998877"));
    assert_eq!(kw("\u{200F}Passport"), k("passport", ""));
    assert_eq!(kw("hello"), None);
    assert_eq!(
        set.get("pension").map(|f| f.service_codes().to_vec()),
        Some(vec!["*123*4#".to_string()])
    );
}

#[test]
fn sms_help_lists_every_service_in_the_citizens_script() {
    let set = compiled();
    let en = set.sms_help(Lang::En);
    assert!(en.starts_with("Send one of these words:\n"), "{en}");
    assert!(en.contains("\nPDS / RATION - Ration card\n"), "{en}");
    assert!(en.contains("\nPENSION - "), "{en}");
    let ar = set.sms_help(Lang::Ar);
    assert!(ar.contains("\nتموينية - البطاقة التموينية"), "{ar}");
    assert!(!ar.contains("PDS") && !ar.contains("خۆراک"), "{ar}");
    assert_eq!(ar.lines().count(), 6, "{ar}");
    let ckb = set.sms_help(Lang::Ckb);
    assert!(ckb.contains("\nخۆراک - کارتی بەشە خۆراک"), "{ckb}");
    assert!(ckb.contains("\nپاسپۆرت - "), "{ckb}");
    assert!(!ckb.contains("تموينية") && !ckb.contains("PDS"), "{ckb}");
}
