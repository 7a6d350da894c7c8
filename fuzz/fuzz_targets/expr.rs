//! Branch conditions on arbitrary text: never a panic or a stack overflow
//! (nesting is bounded); an error's offset is a character boundary inside
//! the text; a parsed condition printed back (by the printer below, with
//! parentheses only where the grammar needs them) parses to the same
//! condition and evaluates the same.
#![no_main]

use std::fmt::Write;

use bawaba::engine::expr::{CmpOp, Expr, Operand};
use libfuzzer_sys::fuzz_target;

fn operand(o: &Operand, out: &mut String) {
    match o {
        Operand::Var(s) | Operand::Number(s) => out.push_str(s),
        // The parser ends a string at its first closing quote, so a text
        // never holds both kinds.
        Operand::Text(s) if s.contains('"') => write!(out, "'{s}'").unwrap(),
        Operand::Text(s) => write!(out, "\"{s}\"").unwrap(),
    }
}

fn op(o: CmpOp) -> &'static str {
    match o {
        CmpOp::Eq => "==",
        CmpOp::Ne => "!=",
        CmpOp::Lt => "<",
        CmpOp::Le => "<=",
        CmpOp::Gt => ">",
        CmpOp::Ge => ">=",
    }
}

/// Where an expression sits, which decides whether it needs parentheses:
/// the parser keeps `and`/`or` chains flat, so a chain inside another
/// chain or after `not` can only have come from parentheses, and nowhere
/// else are they printed (the printed text nests no deeper than the source).
#[derive(Clone, Copy, PartialEq)]
enum Place {
    Top,
    InOr,
    InAnd,
    AfterNot,
}

fn print(e: &Expr, place: Place, out: &mut String) {
    let chain = |items: &[Expr], kw: &str, inner: Place, parens: bool, out: &mut String| {
        if parens {
            out.push('(');
        }
        for (i, item) in items.iter().enumerate() {
            if i > 0 {
                write!(out, " {kw} ").unwrap();
            }
            print(item, inner, out);
        }
        if parens {
            out.push(')');
        }
    };
    match e {
        Expr::Or(items) => chain(items, "or", Place::InOr, place != Place::Top, out),
        Expr::And(items) => {
            let parens = matches!(place, Place::InAnd | Place::AfterNot);
            chain(items, "and", Place::InAnd, parens, out)
        }
        Expr::Not(inner) => {
            out.push_str("not ");
            print(inner, Place::AfterNot, out);
        }
        Expr::Present(v) => write!(out, "present({v})").unwrap(),
        Expr::Truthy(v) => out.push_str(v),
        Expr::Compare { left, op: o, right } => {
            operand(left, out);
            write!(out, " {} ", op(*o)).unwrap();
            operand(right, out);
        }
    }
}

fn depth(e: &Expr) -> usize {
    match e {
        Expr::Or(items) | Expr::And(items) => 1 + items.iter().map(depth).max().unwrap_or(0),
        Expr::Not(inner) => 1 + depth(inner),
        _ => 0,
    }
}

fuzz_target!(|data: &[u8]| {
    let Ok(src) = std::str::from_utf8(data) else {
        return;
    };
    let e = match Expr::parse(src) {
        Ok(e) => e,
        Err(err) => {
            assert!(src.is_char_boundary(err.offset), "{err} in {src:?}");
            assert!(!err.message.is_empty());
            return;
        }
    };
    // Every nesting level costs a `(` or a `not`, bounded by MAX_DEPTH, so
    // evaluation cannot overflow the stack either.
    assert!(depth(&e) <= bawaba::engine::expr::MAX_DEPTH + 1, "{e:?}");
    let mut printed = String::new();
    print(&e, Place::Top, &mut printed);
    let again = Expr::parse(&printed).unwrap_or_else(|err| panic!("{src:?} -> {printed:?}: {err}"));
    assert_eq!(again, e, "{src:?} -> {printed:?}");

    // Evaluate against variables that hold the whole input, nothing, or a
    // number, and check `not` and the printed form agree.
    let vars = e.variables();
    let lookups: [&dyn Fn(&str) -> Option<String>; 3] =
        [&|_| Some(src.to_string()), &|_| None, &|v| {
            Some(format!("{}", v.len()))
        }];
    for lookup in lookups {
        let r = e.eval(lookup);
        assert_eq!(again.eval(lookup), r);
        assert_eq!(Expr::Not(Box::new(e.clone())).eval(lookup), !r);
    }
    assert!(vars.iter().all(|v| !v.is_empty()));
});
