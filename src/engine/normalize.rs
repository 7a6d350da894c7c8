//! Input normalisation: what a citizen typed on a feature phone, made
//! comparable. Arabic-Indic (U+0660..) and Persian (U+06F0..) digits become
//! ASCII, Arabic punctuation becomes its ASCII twin, invisible bidi marks go,
//! and a trailing `#` that some handsets append is stripped.
//!
//! Pure functions over `&str`: no allocation beyond the result, no I/O, no
//! validation (whether "123" is a valid card number is the flow's business).

/// The ASCII digit for an Arabic-Indic (U+0660..U+0669), Persian/Extended
/// Arabic-Indic (U+06F0..U+06F9) or ASCII digit.
pub fn ascii_digit(c: char) -> Option<char> {
    let base = match c {
        '0'..='9' => return Some(c),
        '\u{0660}'..='\u{0669}' => 0x0660,
        '\u{06F0}'..='\u{06F9}' => 0x06F0,
        _ => return None,
    };
    char::from_digit(c as u32 - base, 10)
}

/// Zero-width and bidi control characters that phones and copy-paste add
/// around Arabic text; they carry no meaning for a reply.
pub fn is_invisible(c: char) -> bool {
    matches!(
        c,
        '\u{200B}'..='\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}' | '\u{061C}' | '\u{FEFF}'
    )
}

/// Normalise a citizen's reply before validation or menu matching.
///
/// - Arabic-Indic and Persian digits -> ASCII digits;
/// - Arabic comma `،` -> `,`, semicolon `؛` -> `;`, question mark `؟` -> `?`,
///   decimal separator `٫` -> `.`; the Arabic thousands separator `٬` is
///   dropped (`٢٥٬٠٠٠` -> `25000`);
/// - bidi marks and zero-width characters are removed;
/// - runs of whitespace collapse to one space, and the ends are trimmed;
/// - trailing `#` characters (handsets append them to USSD replies) go.
pub fn input(raw: &str) -> String {
    let mut out = String::with_capacity(raw.len());
    let mut pending_space = false;
    for c in raw.chars() {
        let mapped = match c {
            '\u{060C}' => Some(','),
            '\u{061B}' => Some(';'),
            '\u{061F}' => Some('?'),
            '\u{066B}' => Some('.'),
            '\u{066C}' => None,
            c if is_invisible(c) => None,
            c => Some(ascii_digit(c).unwrap_or(c)),
        };
        let Some(c) = mapped else { continue };
        if c.is_whitespace() {
            pending_space = !out.is_empty();
            continue;
        }
        if pending_space {
            out.push(' ');
            pending_space = false;
        }
        out.push(c);
    }
    while out.ends_with('#') {
        out.pop();
        let trimmed = out.trim_end().len();
        out.truncate(trimmed);
    }
    out
}

/// Fold one character for keyword comparison; `None` drops it.
fn fold_keyword_char(c: char) -> Option<char> {
    Some(match c {
        // Tashkeel (harakat, tanween, shadda, sukun, ...) and superscript alef.
        '\u{064B}'..='\u{065F}' | '\u{0670}' => return None,
        // Tatweel (kashida) only stretches a word.
        '\u{0640}' => return None,
        // Alef with hamza above/below, with madda, and alef wasla.
        '\u{0623}' | '\u{0625}' | '\u{0622}' | '\u{0671}' => '\u{0627}',
        // Alef maqsura and Persian/Kurdish yeh -> Arabic yeh.
        '\u{0649}' | '\u{06CC}' => '\u{064A}',
        // Teh marbuta, Kurdish ae, heh doachashmee and heh with yeh -> heh:
        // on an Arabic keyboard a Sorani speaker types ه for all of them.
        '\u{0629}' | '\u{06D5}' | '\u{06BE}' | '\u{06C0}' => '\u{0647}',
        // Persian/Kurdish keheh -> Arabic kaf.
        '\u{06A9}' => '\u{0643}',
        c => ascii_digit(c).unwrap_or(c),
    })
}

/// Normalise an SMS keyword (or a word compared with one): everything
/// [`input`] does, then case folding, Arabic diacritics and tatweel removed,
/// and the letter forms people type interchangeably unified
/// (أ إ آ ٱ -> ا, ى ی -> ي, ة ە ھ -> ه, ک -> ك).
pub fn keyword(raw: &str) -> String {
    input(raw)
        .chars()
        .filter_map(fold_keyword_char)
        .flat_map(char::to_lowercase)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn digits_of_every_script_become_ascii() {
        assert_eq!(input("١٢٣٤٥٦٧٨٩٠"), "1234567890");
        assert_eq!(input("۱۲۳۴۵۶۷۸۹۰"), "1234567890");
        assert_eq!(input("12٣۴"), "1234");
    }

    #[test]
    fn trims_collapses_and_strips_hash() {
        assert_eq!(input("  1 \t 2  "), "1 2");
        assert_eq!(input("1#"), "1");
        assert_eq!(input(" ١٢٣ # # "), "123");
        assert_eq!(input("#"), "");
        assert_eq!(input("#1"), "#1");
        assert_eq!(input(""), "");
    }

    #[test]
    fn arabic_punctuation() {
        assert_eq!(input("نعم، شكرا؛ لماذا؟"), "نعم, شكرا; لماذا?");
        assert_eq!(input("٢٥٬٠٠٠"), "25000");
        assert_eq!(input("٣٫٥"), "3.5");
    }

    #[test]
    fn bidi_marks_vanish() {
        assert_eq!(input("\u{200F}١\u{200E}2\u{061C}"), "12");
        assert_eq!(input("\u{FEFF}PDS"), "PDS");
    }

    #[test]
    fn keyword_folds_case_and_letter_forms() {
        assert_eq!(keyword("PdS"), "pds");
        assert_eq!(keyword("تَمْوِيـنِيَّة"), "تموينيه");
        assert_eq!(keyword("تموينية"), keyword("تموينيه"));
        assert_eq!(keyword("أحمد"), "احمد");
        assert_eq!(keyword("إسلام آمنة"), "اسلام امنه");
        assert_eq!(keyword("مستشفى"), "مستشفي");
        assert_eq!(keyword("کارتی"), "كارتي");
        assert_eq!(keyword("خۆراک"), "خۆراك");
        assert_eq!(keyword("کارەبا"), keyword("كارهبا"));
        assert_eq!(keyword("PDS ١٢٣"), "pds 123");
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]

        #[test]
        fn input_is_idempotent_and_trimmed(s in "\\PC{0,40}") {
            let once = input(&s);
            prop_assert_eq!(input(&once), once.clone());
            prop_assert_eq!(once.trim(), once.as_str());
            prop_assert!(!once.ends_with('#'));
        }

        #[test]
        fn keyword_is_idempotent(s in "\\PC{0,40}") {
            let once = keyword(&s);
            prop_assert_eq!(keyword(&once), once);
        }

        #[test]
        fn no_non_ascii_digits_survive(s in "[0-9\u{0660}-\u{0669}\u{06F0}-\u{06F9} ]{0,20}") {
            prop_assert!(input(&s).chars().all(|c| c.is_ascii_digit() || c == ' '));
        }
    }
}
