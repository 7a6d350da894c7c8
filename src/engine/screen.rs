//! Screen layout, in one place for both sides of the budget proof: the
//! compiler measures worst cases with `Cost`, the interpreter renders
//! strings, and both build screens from the same lines in the same order.
//!
//! A menu page is: heading, `n. label` per option, then `98. More`,
//! `0. Back`, `00. Home` when they apply, joined by `\n`. An invalid choice
//! replaces the heading with "Invalid choice". An input error screen is the
//! error text, `\n`, then the prompt. Option numbers are ASCII digits at the
//! start of the line (bidi-safe on feature phones).

use std::ops::Add;

use super::lang::{Lang, Ui};
use super::model::{CharClass, Navigation};
use crate::charset::{gsm7_len, ucs2_len, Alphabet, Budget};

/// Worst-case size of (part of) a screen.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Cost {
    /// Septets if the screen goes out in GSM-7.
    pub gsm: usize,
    /// UTF-16 units if it goes out in UCS-2.
    pub ucs2: usize,
    /// A literal outside GSM-7: the screen is always UCS-2.
    pub forced_ucs2: bool,
    /// A value may be outside GSM-7: the screen may be UCS-2.
    pub may_ucs2: bool,
}

impl Cost {
    /// The cost of fixed text.
    pub fn literal(s: &str) -> Cost {
        match gsm7_len(s) {
            Some(n) => Cost {
                gsm: n,
                ucs2: ucs2_len(s),
                ..Cost::default()
            },
            None => Cost {
                gsm: 0,
                ucs2: ucs2_len(s),
                forced_ucs2: true,
                may_ucs2: true,
            },
        }
    }

    /// The worst cost of a value of at most `len` characters of `class`;
    /// `localised` when a filter writes Arabic-Indic digits.
    pub fn value(len: usize, class: CharClass, localised: bool) -> Cost {
        let any = class == CharClass::Any;
        Cost {
            gsm: if any { 2 * len } else { len },
            ucs2: len,
            forced_ucs2: false,
            may_ucs2: any || localised,
        }
    }

    /// The larger of two alternatives, part by part.
    pub fn max(self, o: Cost) -> Cost {
        Cost {
            gsm: self.gsm.max(o.gsm),
            ucs2: self.ucs2.max(o.ucs2),
            forced_ucs2: self.forced_ucs2 || o.forced_ucs2,
            may_ucs2: self.may_ucs2 || o.may_ucs2,
        }
    }

    /// Lines joined by `\n`.
    pub fn lines(parts: impl IntoIterator<Item = Cost>) -> Cost {
        let mut total: Option<Cost> = None;
        for p in parts {
            total = Some(match total {
                None => p,
                Some(t) => t + Cost::literal("\n") + p,
            });
        }
        total.unwrap_or_default()
    }

    /// The first limit this cost can break: (alphabet, worst length, limit).
    pub fn overflow(&self, budget: &Budget) -> Option<(Alphabet, usize, usize)> {
        if !self.forced_ucs2 && self.gsm > budget.gsm7 {
            return Some((Alphabet::Gsm7, self.gsm, budget.gsm7));
        }
        if self.may_ucs2 && self.ucs2 > budget.ucs2 {
            return Some((Alphabet::Ucs2, self.ucs2, budget.ucs2));
        }
        None
    }

    /// Whether every rendering fits.
    pub fn fits(&self, budget: &Budget) -> bool {
        self.overflow(budget).is_none()
    }
}

impl Add for Cost {
    type Output = Cost;
    fn add(self, o: Cost) -> Cost {
        Cost {
            gsm: self.gsm + o.gsm,
            ucs2: self.ucs2 + o.ucs2,
            forced_ucs2: self.forced_ucs2 || o.forced_ucs2,
            may_ucs2: self.may_ucs2 || o.may_ucs2,
        }
    }
}

/// Describes an overflow for a diagnostic.
pub fn describe(alphabet: Alphabet, len: usize, limit: usize) -> String {
    let name = match alphabet {
        Alphabet::Gsm7 => "GSM-7",
        Alphabet::Ucs2 => "UCS-2",
    };
    format!("worst case {len} {name} characters, limit {limit}")
}

/// `12. ` — what precedes an option label.
pub fn option_prefix(number: usize) -> String {
    format!("{number}. ")
}

/// Which navigation lines a menu page carries.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct NavLines {
    pub more: bool,
    pub back: bool,
    pub home: bool,
}

impl NavLines {
    /// All three: what the budget proof assumes.
    pub const ALL: NavLines = NavLines {
        more: true,
        back: true,
        home: true,
    };

    /// The lines, in display order.
    pub fn render(self, keys: &Navigation, lang: Lang) -> Vec<String> {
        let mut out = Vec::new();
        let mut push = |on: bool, key: &str, ui: Ui| {
            if on {
                out.push(format!("{key}. {}", ui.text(lang)));
            }
        };
        push(self.more, &keys.more, Ui::More);
        push(self.back, &keys.back, Ui::Back);
        push(self.home, &keys.home, Ui::Home);
        out
    }

    /// Their worst cost.
    pub fn cost(self, keys: &Navigation, lang: Lang) -> Vec<Cost> {
        self.render(keys, lang)
            .iter()
            .map(|l| Cost::literal(l))
            .collect()
    }
}

/// A menu screen: heading, numbered options, navigation lines.
pub fn menu(
    heading: &str,
    options: &[(usize, String)],
    nav: NavLines,
    keys: &Navigation,
    lang: Lang,
) -> String {
    let mut lines = vec![heading.to_string()];
    lines.extend(
        options
            .iter()
            .map(|(n, label)| format!("{}{label}", option_prefix(*n))),
    );
    lines.extend(nav.render(keys, lang));
    lines.join("\n")
}

/// The worst cost of a menu page with `heading` and `options` costs.
pub fn menu_cost(
    heading: Cost,
    options: &[(usize, Cost)],
    nav: NavLines,
    keys: &Navigation,
    lang: Lang,
) -> Cost {
    let mut lines = vec![heading];
    lines.extend(
        options
            .iter()
            .map(|(n, c)| Cost::literal(&option_prefix(*n)) + *c),
    );
    lines.extend(nav.cost(keys, lang));
    Cost::lines(lines)
}

/// Cuts `s` to fit `budget` (a last-resort guard; the compiler's proof
/// should make it a no-op).
pub fn clamp(s: String, budget: &Budget) -> String {
    if budget.fits(&s) {
        return s;
    }
    let mut out = String::new();
    for c in s.chars() {
        out.push(c);
        if !budget.fits(&out) {
            out.pop();
            break;
        }
    }
    out
}

/// Makes an outside value safe to show: control characters (a newline
/// would forge a menu line) become spaces and characters outside the Basic
/// Multilingual Plane (two UCS-2 units; feature phones cannot show them)
/// become `?`; then at most `max_len` characters are kept.
pub fn sanitise(s: &str, max_len: usize) -> String {
    s.chars()
        .map(|c| match c {
            c if c.is_control() => ' ',
            c if c.len_utf16() > 1 => '?',
            c => c,
        })
        .take(max_len)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn costs_add_and_decide_alphabet() {
        let b = Budget::default();
        let c = Cost::literal("Hello ") + Cost::value(10, CharClass::Any, false);
        assert_eq!(
            (c.gsm, c.ucs2, c.forced_ucs2, c.may_ucs2),
            (26, 16, false, true)
        );
        assert!(c.fits(&b));
        let long = Cost::literal(&"a".repeat(75)) + Cost::value(10, CharClass::Any, false);
        assert_eq!(long.overflow(&b), Some((Alphabet::Ucs2, 85, 80)));
        let digits = Cost::literal(&"a".repeat(170)) + Cost::value(12, CharClass::Gsm1, false);
        assert!(digits.fits(&b));
        assert!(!(digits + Cost::literal("x")).fits(&b));
        assert!(Cost::literal(&"ب".repeat(81)).overflow(&b).is_some());
    }

    #[test]
    fn menu_render_matches_cost() {
        let keys = Navigation::default();
        for lang in Lang::ALL {
            let opts = vec![(1, "Balance".to_string()), (2, "رصيد".to_string())];
            let s = menu("Ration card", &opts, NavLines::ALL, &keys, lang);
            let c = menu_cost(
                Cost::literal("Ration card"),
                &opts
                    .iter()
                    .map(|(n, l)| (*n, Cost::literal(l)))
                    .collect::<Vec<_>>(),
                NavLines::ALL,
                &keys,
                lang,
            );
            assert_eq!(c.ucs2, ucs2_len(&s));
            assert!(c.forced_ucs2);
        }
        let s = menu("T", &[(1, "a".into())], NavLines::ALL, &keys, Lang::En);
        assert_eq!(s, "T\n1. a\n98. More\n0. Back\n00. Home");
    }

    #[test]
    fn sanitise_and_clamp() {
        assert_eq!(sanitise("a\nb😀cdef", 5), "a b?c");
        let b = Budget { gsm7: 5, ucs2: 3 };
        assert_eq!(clamp("abcdefg".into(), &b), "abcde");
        assert_eq!(clamp("ابتثج".into(), &b), "ابت");
    }
}
