//! The screen template parser on arbitrary text: never a panic; an error's
//! offset is a character boundary inside the text (the compiler turns it
//! into a column); a parsed template prints back to source that parses to
//! the same template; and rendering keeps every filter within the worst
//! case the compiler's screen proof assumes (`Filter::max_output_len`).
#![no_main]

use bawaba::charset::{gsm7_len, ucs2_len};
use bawaba::engine::screen::sanitise;
use bawaba::engine::template::{Filter, Part, Template};
use bawaba::engine::Lang;
use libfuzzer_sys::fuzz_target;

const LANGS: [Lang; 3] = [Lang::Ar, Lang::Ckb, Lang::En];

fuzz_target!(|data: &[u8]| {
    let Ok(src) = std::str::from_utf8(data) else {
        return;
    };
    let t = match Template::parse(src) {
        Ok(t) => t,
        Err(e) => {
            assert!(src.is_char_boundary(e.offset), "{e} in {src:?}");
            assert!(!e.message.is_empty());
            return;
        }
    };
    let printed = t.to_string();
    assert_eq!(
        Template::parse(&printed).as_ref(),
        Ok(&t),
        "{src:?} -> {printed:?}"
    );

    // Each variable holds the whole input, as a back-end value would be
    // stored (sanitised and cut to a declared length); the filters must
    // stay within what the proof counts for that length.
    for lang in LANGS {
        for (len, value) in [8usize, 40].map(|n| (n, sanitise(src, n))) {
            let n = value.chars().count();
            assert!(n <= len);
            for f in Filter::ALL {
                let out = f.apply(&value, lang);
                let bound = f.max_output_len(n);
                assert!(
                    ucs2_len(&out) <= bound,
                    "{f:?} {lang:?} {value:?} -> {out:?}"
                );
                if let Some(g) = gsm7_len(&out) {
                    assert!(g <= 2 * bound, "{f:?} {value:?} -> {out:?}");
                }
            }
        }
        let rendered = t.render(lang, &|_| Some(sanitise(src, 40)));
        let literal: usize = t.literal_parts().iter().map(|s| s.chars().count()).sum();
        let worst: usize = t
            .variables()
            .iter()
            .map(|(_, f)| f.map_or(40, |f| f.max_output_len(40)))
            .sum();
        assert!(
            rendered.chars().count() <= literal + worst,
            "{src:?} -> {rendered:?}"
        );
        // A missing variable renders as nothing: only the literal text is left.
        let bare = t.render(lang, &|_| None);
        assert_eq!(bare, t.literal_parts().concat());
    }
    assert!(t.parts().iter().all(|p| match p {
        Part::Literal(s) => !s.is_empty(),
        Part::Var { name, .. } => !name.is_empty(),
    }));
});
