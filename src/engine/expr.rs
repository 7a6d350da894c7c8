//! Branch conditions: a small, total expression language for `branch` nodes.
//!
//! ```text
//! expr       := or
//! or         := and ("or" and)*
//! and        := unary ("and" unary)*
//! unary      := "not" unary | primary
//! primary    := "(" expr ")" | "present" "(" name ")" | operand [cmp operand]
//! cmp        := "==" | "!=" | "<" | "<=" | ">" | ">="
//! operand    := name | number | "string" | 'string'
//! name       := [A-Za-z_][A-Za-z0-9_]* ("." [A-Za-z_][A-Za-z0-9_]*)*
//! ```
//!
//! A bare name is true when the variable holds something other than "",
//! "0" or "false". A comparison with a missing variable is false. Two
//! values that both read as decimal numbers compare numerically (exactly,
//! no floating point), otherwise as strings. Nesting of parentheses and
//! `not` is bounded ([`MAX_DEPTH`]) so a hostile flow file cannot overflow
//! the stack; parsing and evaluation never panic.

use std::cmp::Ordering;

use nom::branch::alt;
use nom::bytes::complete::{tag, take_while, take_while1};
use nom::character::complete::{char, multispace0};
use nom::combinator::{opt, recognize};
use nom::error::{ErrorKind, ParseError};
use nom::{IResult, Parser};

/// The deepest nesting of parentheses and `not` accepted.
pub const MAX_DEPTH: usize = 32;

/// A parsed condition.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Expr {
    Or(Vec<Expr>),
    And(Vec<Expr>),
    Not(Box<Expr>),
    Compare {
        left: Operand,
        op: CmpOp,
        right: Operand,
    },
    /// `present(name)`: the variable holds a non-empty value.
    Present(String),
    /// A bare name: holds something other than "", "0" or "false".
    Truthy(String),
}

/// One side of a comparison.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Operand {
    Var(String),
    Number(String),
    Text(String),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CmpOp {
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
}

/// Why a condition did not parse; `offset` is a byte offset into the source.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("at offset {offset}: {message}")]
pub struct ExprError {
    pub offset: usize,
    pub message: String,
}

#[derive(Debug)]
struct PErr<'a> {
    input: &'a str,
    message: String,
}

impl<'a> ParseError<&'a str> for PErr<'a> {
    fn from_error_kind(input: &'a str, _kind: ErrorKind) -> Self {
        PErr {
            input,
            message: "expected a condition".into(),
        }
    }
    fn append(_input: &'a str, _kind: ErrorKind, other: Self) -> Self {
        other
    }
}

type PResult<'a, T> = IResult<&'a str, T, PErr<'a>>;

fn fail<T>(input: &str, message: impl Into<String>) -> PResult<'_, T> {
    Err(nom::Err::Failure(PErr {
        input,
        message: message.into(),
    }))
}

const KEYWORDS: [&str; 4] = ["and", "or", "not", "present"];

fn is_name_start(c: char) -> bool {
    c.is_ascii_alphabetic() || c == '_'
}

fn is_name_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_'
}

fn name(i: &str) -> PResult<'_, &str> {
    let segment = || recognize((take_while1(is_name_start), take_while(is_name_char)));
    recognize((segment(), nom::multi::many0((char('.'), segment())))).parse(i)
}

/// A keyword, not the start of a longer name (`order` is not `or` + `der`).
fn keyword<'a>(kw: &'static str) -> impl Parser<&'a str, Output = &'a str, Error = PErr<'a>> {
    move |i: &'a str| {
        let (rest, word) = tag(kw).parse(i)?;
        if rest.starts_with(|c: char| is_name_char(c) || c == '.') {
            return Err(nom::Err::Error(PErr::from_error_kind(i, ErrorKind::Tag)));
        }
        Ok((rest, word))
    }
}

fn ws<'a, O>(
    p: impl Parser<&'a str, Output = O, Error = PErr<'a>>,
) -> impl Parser<&'a str, Output = O, Error = PErr<'a>> {
    nom::sequence::delimited(multispace0, p, multispace0)
}

fn number(i: &str) -> PResult<'_, &str> {
    let digits = || take_while1(|c: char| c.is_ascii_digit());
    recognize((opt(char('-')), digits(), opt((char('.'), digits())))).parse(i)
}

fn string(i: &str) -> PResult<'_, &str> {
    let Some(quote) = i.chars().next().filter(|c| *c == '"' || *c == '\'') else {
        return Err(nom::Err::Error(PErr::from_error_kind(i, ErrorKind::Char)));
    };
    let body = &i[1..];
    match body.find(quote) {
        Some(end) => Ok((&body[end + 1..], &body[..end])),
        None => fail(i, "unterminated string"),
    }
}

fn operand(i: &str) -> PResult<'_, Operand> {
    if let Ok((rest, s)) = string(i) {
        return Ok((rest, Operand::Text(s.to_string())));
    }
    if let Err(nom::Err::Failure(e)) = string(i) {
        return Err(nom::Err::Failure(e)); // an unterminated string
    }
    if let Ok((rest, n)) = number(i) {
        return Ok((rest, Operand::Number(n.to_string())));
    }
    let (rest, n) = name(i).map_err(|_| {
        nom::Err::Failure(PErr {
            input: i,
            message: "expected a variable, number or string".into(),
        })
    })?;
    if KEYWORDS.contains(&n) {
        return fail(i, format!("'{n}' is a keyword, not a variable"));
    }
    Ok((rest, Operand::Var(n.to_string())))
}

fn cmp_op(i: &str) -> PResult<'_, CmpOp> {
    let (rest, op) = alt((
        tag("=="),
        tag("!="),
        tag("<="),
        tag(">="),
        tag("<"),
        tag(">"),
    ))
    .parse(i)?;
    let op = match op {
        "==" => CmpOp::Eq,
        "!=" => CmpOp::Ne,
        "<=" => CmpOp::Le,
        ">=" => CmpOp::Ge,
        "<" => CmpOp::Lt,
        _ => CmpOp::Gt,
    };
    Ok((rest, op))
}

fn or_expr(i: &str, depth: usize) -> PResult<'_, Expr> {
    chain(i, depth, "or", and_expr, Expr::Or)
}

fn and_expr(i: &str, depth: usize) -> PResult<'_, Expr> {
    chain(i, depth, "and", unary, Expr::And)
}

/// `item (kw item)*`, kept flat so evaluation depth does not grow with length.
fn chain<'a>(
    i: &'a str,
    depth: usize,
    kw: &'static str,
    item: fn(&'a str, usize) -> PResult<'a, Expr>,
    build: fn(Vec<Expr>) -> Expr,
) -> PResult<'a, Expr> {
    let (mut i, first) = item(i, depth)?;
    let mut items = vec![first];
    while let Ok((rest, _)) = ws(keyword(kw)).parse(i) {
        let (rest, next) = item(rest, depth)?;
        items.push(next);
        i = rest;
    }
    Ok((
        i,
        if items.len() == 1 {
            items.remove(0)
        } else {
            build(items)
        },
    ))
}

fn unary(i: &str, depth: usize) -> PResult<'_, Expr> {
    let (i, _) = multispace0(i)?;
    if let Ok((rest, _)) = keyword("not").parse(i) {
        if depth >= MAX_DEPTH {
            return fail(i, format!("nested deeper than {MAX_DEPTH} levels"));
        }
        let (rest, inner) = unary(rest, depth + 1)?;
        return Ok((rest, Expr::Not(Box::new(inner))));
    }
    primary(i, depth)
}

fn primary(i: &str, depth: usize) -> PResult<'_, Expr> {
    if let Some(rest) = i.strip_prefix('(') {
        if depth >= MAX_DEPTH {
            return fail(i, format!("nested deeper than {MAX_DEPTH} levels"));
        }
        let (rest, inner) = or_expr(rest, depth + 1)?;
        let (rest, _) = multispace0(rest)?;
        return match rest.strip_prefix(')') {
            Some(rest) => Ok((rest, inner)),
            None => fail(rest, "expected ')'"),
        };
    }
    if let Ok((rest, _)) = ws(keyword("present")).parse(i) {
        let Some(rest) = rest.strip_prefix('(') else {
            return fail(rest, "expected '(' after present");
        };
        let (rest, var) = ws(name)
            .parse(rest)
            .or_else(|_: nom::Err<PErr>| fail(rest, "expected a variable name"))?;
        let Some(rest) = rest.strip_prefix(')') else {
            return fail(rest, "expected ')'");
        };
        return Ok((rest, Expr::Present(var.to_string())));
    }
    let (rest, left) = operand(i)?;
    let (after_ws, _) = multispace0(rest)?;
    if let Ok((rest, op)) = cmp_op(after_ws) {
        let (rest, _) = multispace0(rest)?;
        let (rest, right) = operand(rest)?;
        return Ok((rest, Expr::Compare { left, op, right }));
    }
    if after_ws.starts_with('=') {
        return fail(after_ws, "use '==' to compare");
    }
    match left {
        Operand::Var(v) => Ok((rest, Expr::Truthy(v))),
        _ => fail(i, "a literal alone is not a condition"),
    }
}

impl Expr {
    /// Parse a condition.
    pub fn parse(src: &str) -> Result<Expr, ExprError> {
        let at = |rest: &str| src.len() - rest.len();
        if src.trim().is_empty() {
            return Err(ExprError {
                offset: 0,
                message: "empty condition".into(),
            });
        }
        match or_expr(src, 0) {
            Ok((rest, expr)) => {
                let rest = rest.trim_start();
                if rest.is_empty() {
                    Ok(expr)
                } else {
                    let message =
                        format!("unexpected '{}'", rest.chars().take(10).collect::<String>());
                    Err(ExprError {
                        offset: at(rest),
                        message,
                    })
                }
            }
            Err(nom::Err::Error(e) | nom::Err::Failure(e)) => Err(ExprError {
                offset: at(e.input),
                message: e.message,
            }),
            Err(nom::Err::Incomplete(_)) => Err(ExprError {
                offset: src.len(),
                message: "incomplete".into(),
            }),
        }
    }

    /// Evaluate against the session's variables.
    pub fn eval(&self, lookup: &dyn Fn(&str) -> Option<String>) -> bool {
        match self {
            Expr::Or(items) => items.iter().any(|e| e.eval(lookup)),
            Expr::And(items) => items.iter().all(|e| e.eval(lookup)),
            Expr::Not(inner) => !inner.eval(lookup),
            Expr::Present(v) => lookup(v).is_some_and(|s| !s.is_empty()),
            Expr::Truthy(v) => lookup(v).is_some_and(|s| {
                let s = s.trim();
                !(s.is_empty() || s == "0" || s.eq_ignore_ascii_case("false"))
            }),
            Expr::Compare { left, op, right } => {
                let value = |o: &Operand| match o {
                    Operand::Var(v) => lookup(v),
                    Operand::Number(s) | Operand::Text(s) => Some(s.clone()),
                };
                let (Some(l), Some(r)) = (value(left), value(right)) else {
                    return false;
                };
                let ord = decimal::compare(&l, &r);
                match op {
                    CmpOp::Eq => ord == Ordering::Equal,
                    CmpOp::Ne => ord != Ordering::Equal,
                    CmpOp::Lt => ord == Ordering::Less,
                    CmpOp::Le => ord != Ordering::Greater,
                    CmpOp::Gt => ord == Ordering::Greater,
                    CmpOp::Ge => ord != Ordering::Less,
                }
            }
        }
    }

    /// Every variable the condition reads, in order of first appearance.
    pub fn variables(&self) -> Vec<String> {
        let mut out = Vec::new();
        self.collect(&mut out);
        out
    }

    fn collect(&self, out: &mut Vec<String>) {
        let mut push = |v: &String| {
            if !out.contains(v) {
                out.push(v.clone());
            }
        };
        match self {
            Expr::Or(items) | Expr::And(items) => items.iter().for_each(|e| e.collect(out)),
            Expr::Not(inner) => inner.collect(out),
            Expr::Present(v) | Expr::Truthy(v) => push(v),
            Expr::Compare { left, right, .. } => {
                for o in [left, right] {
                    if let Operand::Var(v) = o {
                        push(v);
                    }
                }
            }
        }
    }
}

mod decimal;

#[cfg(test)]
mod tests;
