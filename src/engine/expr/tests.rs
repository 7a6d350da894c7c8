use super::*;
use proptest::prelude::*;
use std::collections::BTreeMap;

fn vars(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

fn eval(src: &str, pairs: &[(&str, &str)]) -> bool {
    let vars = vars(pairs);
    Expr::parse(src)
        .unwrap_or_else(|e| panic!("{src}: {e}"))
        .eval(&|k| vars.get(k).cloned())
}

fn err(src: &str) -> ExprError {
    Expr::parse(src).expect_err(src)
}

#[test]
fn comparisons_numeric_and_lexical() {
    let v = [
        ("balance", "25000"),
        ("name", "Ali"),
        ("neg", "-3.5"),
        ("ar", "٢٥"),
    ];
    assert!(eval("balance > 0", &v));
    assert!(eval("balance >= 25000", &v));
    assert!(eval("balance == 25000.00", &v));
    assert!(!eval("balance < 9999", &v)); // numeric, not "25000" < "9999" lexically
    assert!(eval("neg < 0 and neg > -4", &v));
    assert!(eval("0.5 > 0.25", &[]));
    assert!(eval("-0 == 0", &[]));
    assert!(eval("ar == 25", &v));
    assert!(eval("name == 'Ali'", &v));
    assert!(eval("name != \"Ahmed\"", &v));
    assert!(eval("name < \"Bob\"", &v));
    assert!(eval("balance != name", &v));
    assert!(eval("\"b\" > \"a\"", &[]));
}

#[test]
fn missing_variables_make_comparisons_false() {
    assert!(!eval("x == 1", &[]));
    assert!(!eval("x != 1", &[]));
    assert!(eval("not x == 1", &[]));
    assert!(!eval("x", &[]));
    assert!(!eval("present(x)", &[]));
    assert!(!eval("present(x)", &[("x", "")]));
    assert!(eval("present(x)", &[("x", "0")]));
}

#[test]
fn truthiness_of_bare_names() {
    for (v, want) in [
        ("1", true),
        ("yes", true),
        ("0", false),
        ("", false),
        ("false", false),
        ("FALSE", false),
    ] {
        assert_eq!(eval("blocked", &[("blocked", v)]), want, "{v}");
    }
}

#[test]
fn precedence_and_parentheses() {
    // and binds tighter than or
    assert!(eval("a or b and c", &[("a", "1")]));
    assert!(!eval("(a or b) and c", &[("a", "1")]));
    assert!(eval("not a and b", &[("b", "1")]));
    assert!(!eval("not (a or b)", &[("b", "1")]));
    assert!(eval(
        "balance > 0 and not blocked",
        &[("balance", "5"), ("blocked", "0")]
    ));
    assert!(eval("  ( ( a ) )  ", &[("a", "1")]));
    assert!(eval("item.qty>=2", &[("item.qty", "3")]));
}

#[test]
fn keywords_are_whole_words() {
    assert!(eval("order or notice", &[("notice", "1")]));
    assert!(eval(
        "android and presentation",
        &[("android", "1"), ("presentation", "1")]
    ));
}

#[test]
fn variables_in_order_without_duplicates() {
    let e = Expr::parse("a > 1 and (b == a or present(c)) and not d and 3 < e.f").unwrap();
    assert_eq!(e.variables(), ["a", "b", "c", "d", "e.f"]);
}

#[test]
fn errors_point_at_the_problem() {
    assert_eq!(err("").offset, 0);
    assert_eq!(err("a >").offset, 3);
    assert_eq!(err("a > 1 b").offset, 6);
    assert_eq!(err("(a > 1").offset, 6);
    assert!(err("(a > 1").message.contains("')'"));
    assert_eq!(err("a = 1").offset, 2);
    assert!(err("a = 1").message.contains("=="));
    assert!(err("name == 'Ali").message.contains("unterminated"));
    assert!(err("5").message.contains("literal"));
    assert!(err("a and or").message.contains("keyword"));
    assert_eq!(err("present x").offset, 8);
    assert!(err("a ! b").offset > 0);
    assert_eq!(err("a > 1)").offset, 5);
}

#[test]
fn depth_is_bounded() {
    let ok = format!("{}a{}", "(".repeat(MAX_DEPTH), ")".repeat(MAX_DEPTH));
    assert!(Expr::parse(&ok).is_ok());
    let deep = format!(
        "{}a{}",
        "(".repeat(MAX_DEPTH + 1),
        ")".repeat(MAX_DEPTH + 1)
    );
    assert!(err(&deep).message.contains("nested deeper"));
    assert!(err(&format!("{}a", "not ".repeat(MAX_DEPTH + 1)))
        .message
        .contains("nested deeper"));
    // Far beyond any stack: still a clean error.
    assert!(Expr::parse(&"(".repeat(100_000)).is_err());
    assert!(Expr::parse(&"not ".repeat(100_000)).is_err());
    // A long flat chain is fine and evaluates without recursion per item.
    let long = vec!["a"; 10_000].join(" and ");
    assert!(eval(&long, &[("a", "1")]));
}

fn arb_expr() -> impl Strategy<Value = String> {
    let leaf = prop_oneof![
        "[a-c]".prop_map(|s| s),
        (
            "[a-c]",
            prop_oneof!["==", "!=", "<", "<=", ">", ">="],
            "-?[0-9]{1,3}"
        )
            .prop_map(|(a, o, n)| format!("{a} {o} {n}")),
        "[a-c]".prop_map(|v| format!("present({v})")),
    ];
    leaf.prop_recursive(4, 24, 3, |inner| {
        prop_oneof![
            inner.clone().prop_map(|e| format!("not {e}")),
            inner.clone().prop_map(|e| format!("({e})")),
            (inner.clone(), inner.clone()).prop_map(|(a, b)| format!("{a} and {b}")),
            (inner.clone(), inner).prop_map(|(a, b)| format!("{a} or {b}")),
        ]
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn never_panics(s in "\\PC{0,60}") {
        if let Ok(e) = Expr::parse(&s) {
            let _ = e.eval(&|_| Some("1".into()));
            let _ = e.variables();
        }
    }

    #[test]
    fn never_panics_on_expression_alphabet(s in "[a-c0-9()<>=!'\" .-]{0,40}|(and|or|not|present|[()a1 ]){0,20}") {
        if let Ok(e) = Expr::parse(&s) {
            let _ = e.eval(&|_| None);
        }
    }

    #[test]
    fn generated_expressions_parse(src in arb_expr(), a in 0i32..5, b in 0i32..5) {
        let e = Expr::parse(&src).map_err(|e| TestCaseError::fail(format!("{src}: {e}")))?;
        let lookup = move |k: &str| match k { "a" => Some(a.to_string()), "b" => Some(b.to_string()), _ => None };
        let _ = e.eval(&lookup);
        // not X is always the negation of X
        let negated = Expr::parse(&format!("not ({src})")).unwrap();
        prop_assert_eq!(negated.eval(&lookup), !e.eval(&lookup));
    }

    #[test]
    fn numeric_order_matches_integers(x in -100_000i64..100_000, y in -100_000i64..100_000) {
        let lookup = move |k: &str| match k { "x" => Some(x.to_string()), "y" => Some(y.to_string()), _ => None };
        prop_assert_eq!(Expr::parse("x < y").unwrap().eval(&lookup), x < y);
        prop_assert_eq!(Expr::parse("x == y").unwrap().eval(&lookup), x == y);
        prop_assert_eq!(Expr::parse("x >= y").unwrap().eval(&lookup), x >= y);
    }
}
