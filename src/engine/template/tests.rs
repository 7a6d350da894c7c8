use super::*;
use proptest::prelude::*;
use std::collections::BTreeMap;

fn render(src: &str, lang: Lang, pairs: &[(&str, &str)]) -> String {
    let vars: BTreeMap<String, String> = pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    Template::parse(src)
        .unwrap_or_else(|e| panic!("{src}: {e}"))
        .render(lang, &|k| vars.get(k).cloned())
}

fn err(src: &str) -> TemplateError {
    Template::parse(src).expect_err(src)
}

#[test]
fn plain_variables_and_braces() {
    assert_eq!(
        render(
            "{holder}: {balance|number} IQD",
            Lang::En,
            &[("holder", "Ali Hassan"), ("balance", "25000")]
        ),
        "Ali Hassan: 25,000 IQD"
    );
    assert_eq!(
        render("{{literal}} {x}", Lang::En, &[("x", "1")]),
        "{literal} 1"
    );
    assert_eq!(render("a }} b {{", Lang::En, &[]), "a } b {");
    assert_eq!(render("{{{x}}}", Lang::En, &[("x", "v")]), "{v}");
    assert_eq!(render("", Lang::En, &[]), "");
    assert_eq!(
        render("{ item.name | upper }", Lang::En, &[("item.name", "rice")]),
        "RICE"
    );
}

#[test]
fn missing_values_render_empty_and_controls_become_spaces() {
    assert_eq!(render("[{x}]", Lang::Ar, &[]), "[]");
    assert_eq!(render("[{x|number}]", Lang::Ar, &[]), "[]");
    assert_eq!(render("{x}", Lang::En, &[("x", "a\nb\tc")]), "a b c");
}

#[test]
fn number_filter() {
    let n = |v: &str, lang| Filter::Number.apply(v, lang);
    assert_eq!(n("25000", Lang::En), "25,000");
    assert_eq!(n("1234567", Lang::En), "1,234,567");
    assert_eq!(n("123", Lang::En), "123");
    assert_eq!(n("-1234.50", Lang::En), "-1,234.50");
    assert_eq!(n("25000", Lang::Ar), "٢٥٬٠٠٠");
    assert_eq!(n("1234.5", Lang::Ckb), "١٬٢٣٤٫٥");
    assert_eq!(n("٢٥٠٠٠", Lang::En), "25,000");
    assert_eq!(n("n/a", Lang::Ar), "n/a");
    assert_eq!(n("1.", Lang::En), "1.");
    assert_eq!(n("", Lang::En), "");
}

#[test]
fn digits_date_upper_mask() {
    assert_eq!(Filter::Digits.apply("A-102 ٣", Lang::Ar), "A-١٠٢ ٣");
    assert_eq!(Filter::Digits.apply("٣۴5", Lang::En), "345");
    assert_eq!(Filter::Date.apply("2026-11-26", Lang::En), "26/11/2026");
    assert_eq!(
        Filter::Date.apply("2026-11-26T10:00:00Z", Lang::En),
        "26/11/2026"
    );
    assert_eq!(Filter::Date.apply("2026-11-26", Lang::Ar), "٢٦/١١/٢٠٢٦");
    assert_eq!(Filter::Date.apply("26-11-2026", Lang::En), "26-11-2026");
    assert_eq!(Filter::Date.apply("2026-11-2", Lang::En), "2026-11-2");
    assert_eq!(Filter::Upper.apply("abc straße", Lang::En), "ABC STRAßE");
    assert_eq!(Filter::Mask.apply("12345678", Lang::En), "****5678");
    assert_eq!(Filter::Mask.apply("123", Lang::En), "123");
    assert_eq!(Filter::Mask.apply("", Lang::En), "");
}

#[test]
fn variables_and_literal_parts() {
    let t = Template::parse("Hi {name|upper}, {x} and {x}{{}}").unwrap();
    assert_eq!(
        t.variables(),
        [
            ("name".to_string(), Some(Filter::Upper)),
            ("x".to_string(), None),
            ("x".to_string(), None)
        ]
    );
    assert_eq!(t.literal_parts(), ["Hi ", ", ", " and ", "{}"]);
}

#[test]
fn errors_point_at_the_problem() {
    let e = err("abc {");
    assert_eq!(e.offset, 5);
    assert!(e.message.contains("variable name"), "{e}");
    let e = err("abc {name");
    assert_eq!(e.offset, 9);
    assert!(e.message.contains("'}'"));
    let e = err("ab } c");
    assert_eq!(e.offset, 3);
    assert!(e.message.contains("unmatched"));
    let e = err("{x|money}");
    assert_eq!(e.offset, 2);
    assert!(e.message.contains("unknown filter 'money'"), "{e}");
    assert_eq!(err("{x|}").offset, 3);
    assert_eq!(err("{1x}").offset, 1);
    assert_eq!(err("{a b}").offset, 3);
    assert_eq!(err("{x.}").offset, 2);
    assert_eq!(err("نص {اسم}").offset, "نص {".len());
}

#[test]
fn display_round_trips() {
    for src in ["a {b|mask} {{c}} }}", "{x}", "", "{{{{"] {
        let t = Template::parse(src).unwrap();
        assert_eq!(Template::parse(&t.to_string()).unwrap(), t);
    }
}

fn arb_template() -> impl Strategy<Value = String> {
    let piece = prop_oneof![
        "[a-z ءاب٠-٩:]{1,8}".prop_map(|s| s),
        Just("{{".to_string()),
        Just("}}".to_string()),
        (
            "[a-z]{1,5}",
            proptest::option::of(proptest::sample::select(Filter::ALL.to_vec()))
        )
            .prop_map(|(n, f)| match f {
                Some(f) => format!("{{{n}|{}}}", f.name()),
                None => format!("{{{n}}}"),
            }),
    ];
    proptest::collection::vec(piece, 0..8).prop_map(|v| v.concat())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn never_panics(s in "\\PC{0,60}") {
        if let Ok(t) = Template::parse(&s) {
            let _ = t.render(Lang::Ar, &|k| Some(k.to_string()));
        }
    }

    #[test]
    fn never_panics_on_brace_soup(s in "[{}|a-z. ]{0,30}") {
        if let Ok(t) = Template::parse(&s) {
            prop_assert_eq!(Template::parse(&t.to_string()).unwrap(), t);
        }
    }

    #[test]
    fn generated_templates_round_trip(src in arb_template()) {
        let t = Template::parse(&src).map_err(|e| TestCaseError::fail(format!("{src}: {e}")))?;
        prop_assert_eq!(Template::parse(&t.to_string()).unwrap(), t);
    }

    /// The budget proof rests on this: output never exceeds max_output_len.
    #[test]
    fn filters_respect_max_output_len(v in "[0-9٠-٩.\\-a-zß ]{0,16}|-?[0-9]{1,15}(\\.[0-9]{1,3})?|[0-9]{4}-[0-9]{2}-[0-9]{2}") {
        let n = v.chars().count();
        for f in Filter::ALL {
            for lang in Lang::ALL {
                let out = f.apply(&v, lang).chars().count();
                prop_assert!(out <= f.max_output_len(n), "{:?} {} {:?} -> {}", f, lang, v, out);
            }
        }
    }

    /// Rendering equals the literal parts plus each filtered value.
    #[test]
    fn render_length_is_bounded(src in arb_template(), value in "[0-9]{0,10}") {
        let t = Template::parse(&src).unwrap();
        let len = value.chars().count();
        let bound: usize = t.literal_parts().iter().map(|s| s.chars().count()).sum::<usize>()
            + t.variables().iter().map(|(_, f)| f.map_or(len, |f| f.max_output_len(len))).sum::<usize>();
        let out = t.render(Lang::Ckb, &|_| Some(value.clone()));
        prop_assert!(out.chars().count() <= bound);
    }
}
