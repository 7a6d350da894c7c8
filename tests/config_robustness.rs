//! `Config::from_str` never panics, whatever the text: random edits of the
//! shipped configuration and arbitrary strings either parse or come back
//! as problems, each with a position inside the text.

use bawaba::config::{Config, Error};
use proptest::prelude::*;

const SHIPPED: &str = include_str!("../config/bawaba.toml");

fn check(text: &str) {
    match Config::from_str(text, "fuzz.toml") {
        Ok(_) => {}
        Err(Error::Invalid(problems)) => {
            assert!(!problems.is_empty());
            let lines = text.lines().count().max(1) + 1;
            for p in problems {
                assert!(p.line >= 1 && p.line <= lines, "{p} is outside the text");
                assert!(p.column >= 1);
            }
        }
        Err(e) => panic!("from_str cannot fail to read: {e}"),
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn edited_configs_never_panic(
        edits in prop::collection::vec((any::<prop::sample::Index>(), 0..4u8, "[ -~]{0,3}|[٠-٩]|\n"), 1..6)
    ) {
        let mut text: Vec<char> = SHIPPED.chars().collect();
        for (at, kind, insert) in edits {
            let i = at.index(text.len().max(1)).min(text.len());
            match kind {
                0 => { text.drain(i..(i + 5).min(text.len())); }
                1 => { text.splice(i..i, insert.chars()); }
                2 => { if i < text.len() { text[i] = insert.chars().next().unwrap_or('='); } }
                _ => { text.truncate(i); }
            }
        }
        check(&text.into_iter().collect::<String>());
    }

    #[test]
    fn arbitrary_text_never_panics(text in "\\PC{0,200}") {
        check(&text);
    }
}
