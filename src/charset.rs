//! The GSM 03.38 default alphabet and screen-length arithmetic.
//!
//! Shared by the SMPP text codec (bytes on the wire) and the flow compiler
//! (worst-case screen length), so both agree on what fits on a phone.
//! Pure: no I/O, no allocation on the lookup paths.

/// The GSM 03.38 basic table; index = septet value. 0x1B is the escape to
/// the extension table and is never a character of its own.
pub const BASIC: [char; 128] = [
    '@', '£', '$', '¥', 'è', 'é', 'ù', 'ì', 'ò', 'Ç', '\n', 'Ø', 'ø', '\r', 'Å', 'å', //
    'Δ', '_', 'Φ', 'Γ', 'Λ', 'Ω', 'Π', 'Ψ', 'Σ', 'Θ', 'Ξ', '\u{1B}', 'Æ', 'æ', 'ß', 'É', //
    ' ', '!', '"', '#', '¤', '%', '&', '\'', '(', ')', '*', '+', ',', '-', '.', '/', //
    '0', '1', '2', '3', '4', '5', '6', '7', '8', '9', ':', ';', '<', '=', '>', '?', //
    '¡', 'A', 'B', 'C', 'D', 'E', 'F', 'G', 'H', 'I', 'J', 'K', 'L', 'M', 'N', 'O', //
    'P', 'Q', 'R', 'S', 'T', 'U', 'V', 'W', 'X', 'Y', 'Z', 'Ä', 'Ö', 'Ñ', 'Ü', '§', //
    '¿', 'a', 'b', 'c', 'd', 'e', 'f', 'g', 'h', 'i', 'j', 'k', 'l', 'm', 'n', 'o', //
    'p', 'q', 'r', 's', 't', 'u', 'v', 'w', 'x', 'y', 'z', 'ä', 'ö', 'ñ', 'ü', 'à', //
];

/// The septet that escapes into the extension table.
pub const ESCAPE: u8 = 0x1B;

/// The extension table: (septet after ESC, character).
pub const EXTENSION: [(u8, char); 10] = [
    (0x0A, '\u{0C}'),
    (0x14, '^'),
    (0x28, '{'),
    (0x29, '}'),
    (0x2F, '\\'),
    (0x3C, '['),
    (0x3D, '~'),
    (0x3E, ']'),
    (0x40, '|'),
    (0x65, '€'),
];

/// How one character is written in GSM 03.38.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Septet {
    /// One septet from the basic table.
    Basic(u8),
    /// ESC followed by this septet from the extension table (costs two).
    Extended(u8),
}

impl Septet {
    /// How many septets this character costs on the air.
    pub fn cost(self) -> usize {
        match self {
            Septet::Basic(_) => 1,
            Septet::Extended(_) => 2,
        }
    }
}

/// The GSM 03.38 encoding of `c`, or `None` if the default alphabet lacks it
/// (any Arabic or Kurdish letter, for instance). ASCII (most reply text)
/// by a table; the rest by a search of both tables.
pub fn septet(c: char) -> Option<Septet> {
    match ASCII.get(c as usize) {
        Some(&code) => from_table(code),
        None => septet_by_search(c),
    }
}

/// `ASCII[c]`: `c`'s basic septet, or `EXTENDED | septet` after ESC, or
/// `ABSENT`.
const ASCII: [u16; 128] = ascii_table();
const EXTENDED: u16 = 0x100;
const ABSENT: u16 = 0xFFFF;

const fn ascii_table() -> [u16; 128] {
    let mut table = [ABSENT; 128];
    let mut c = 0;
    while c < 128 {
        // The first septet holding `c`, as the search finds it.
        let mut i = 0;
        while i < 128 {
            if BASIC[i] as u32 == c as u32 && i as u8 != ESCAPE {
                table[c] = i as u16;
                break;
            }
            i += 1;
        }
        if table[c] == ABSENT {
            let mut e = 0;
            while e < EXTENSION.len() {
                if EXTENSION[e].1 as u32 == c as u32 {
                    table[c] = EXTENDED | EXTENSION[e].0 as u16;
                    break;
                }
                e += 1;
            }
        }
        c += 1;
    }
    table
}

fn from_table(code: u16) -> Option<Septet> {
    match code {
        ABSENT => None,
        c if c & EXTENDED != 0 => Some(Septet::Extended(c as u8)),
        c => Some(Septet::Basic(c as u8)),
    }
}

fn septet_by_search(c: char) -> Option<Septet> {
    if c == '\u{1B}' {
        return None;
    }
    if let Some(i) = BASIC.iter().position(|&b| b == c) {
        return Some(Septet::Basic(i as u8));
    }
    EXTENSION
        .iter()
        .find(|&&(_, e)| e == c)
        .map(|&(code, _)| Septet::Extended(code))
}

/// The character for a basic-table septet (`None` for ESC or values > 0x7F).
pub fn basic_char(code: u8) -> Option<char> {
    match code {
        ESCAPE => None,
        c if c < 0x80 => Some(BASIC[c as usize]),
        _ => None,
    }
}

/// The character for an extension-table septet (after ESC).
pub fn extension_char(code: u8) -> Option<char> {
    EXTENSION
        .iter()
        .find(|&&(c, _)| c == code)
        .map(|&(_, ch)| ch)
}

/// Septets needed for `s` in GSM 03.38, or `None` if any character is
/// outside the default alphabet and its extension table.
pub fn gsm7_len(s: &str) -> Option<usize> {
    s.chars().map(|c| septet(c).map(Septet::cost)).sum()
}

/// UTF-16 code units needed for `s` in UCS-2/UTF-16 (a character outside the
/// BMP is a surrogate pair and costs two).
pub fn ucs2_len(s: &str) -> usize {
    s.chars().map(char::len_utf16).sum()
}

/// The alphabet a screen is sent in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Alphabet {
    Gsm7,
    Ucs2,
}

/// A screen budget: the most characters one USSD screen (or SMS) may carry
/// in each alphabet. The defaults are the USSD string limits: 160 octets,
/// that is 182 GSM-7 characters or 80 UCS-2 characters.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Budget {
    pub gsm7: usize,
    pub ucs2: usize,
}

impl Default for Budget {
    fn default() -> Self {
        Budget {
            gsm7: 182,
            ucs2: 80,
        }
    }
}

/// The cheapest alphabet that holds `s`, and its length in that alphabet.
pub fn measure(s: &str) -> (Alphabet, usize) {
    match gsm7_len(s) {
        Some(n) => (Alphabet::Gsm7, n),
        None => (Alphabet::Ucs2, ucs2_len(s)),
    }
}

impl Budget {
    /// Whether `s` fits one screen under this budget.
    pub fn fits(&self, s: &str) -> bool {
        match measure(s) {
            (Alphabet::Gsm7, n) => n <= self.gsm7,
            (Alphabet::Ucs2, n) => n <= self.ucs2,
        }
    }

    /// The limit for the given alphabet.
    pub fn limit(&self, alphabet: Alphabet) -> usize {
        match alphabet {
            Alphabet::Gsm7 => self.gsm7,
            Alphabet::Ucs2 => self.ucs2,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_ascii_table_agrees_with_the_search_everywhere() {
        // Every ASCII character (the table), and the BMP beyond it (the
        // search either way): one answer for each.
        for c in (0..=0xFFFF_u32).filter_map(char::from_u32) {
            assert_eq!(septet(c), septet_by_search(c), "{c:?}");
        }
        assert_eq!(septet('A'), Some(Septet::Basic(0x41)));
        assert_eq!(septet('@'), Some(Septet::Basic(0x00)));
        assert_eq!(septet('{'), Some(Septet::Extended(0x28)));
        assert_eq!(septet('\u{1B}'), None);
        assert_eq!(septet('`'), None);
        assert_eq!(septet('ب'), None);
    }

    #[test]
    fn basic_and_extension_round_trip() {
        for code in 0u8..0x80 {
            if code == ESCAPE {
                continue;
            }
            let c = basic_char(code).unwrap();
            assert_eq!(septet(c), Some(Septet::Basic(code)), "{c:?}");
        }
        for (code, c) in EXTENSION {
            assert_eq!(septet(c), Some(Septet::Extended(code)));
            assert_eq!(extension_char(code), Some(c));
        }
    }

    #[test]
    fn lengths() {
        assert_eq!(gsm7_len("Hello"), Some(5));
        assert_eq!(gsm7_len("5€ [x]"), Some(9));
        assert_eq!(gsm7_len("مرحبا"), None);
        assert_eq!(ucs2_len("مرحبا"), 5);
        assert_eq!(ucs2_len("😀"), 2);
        assert_eq!(measure("1. Ration card"), (Alphabet::Gsm7, 14));
        assert_eq!(measure("١. البطاقة"), (Alphabet::Ucs2, 10));
    }

    #[test]
    fn budget_edges() {
        let b = Budget::default();
        assert!(b.fits(&"a".repeat(182)));
        assert!(!b.fits(&"a".repeat(183)));
        assert!(b.fits(&"ب".repeat(80)));
        assert!(!b.fits(&"ب".repeat(81)));
        // One Arabic letter forces UCS-2 for the whole screen.
        assert!(!b.fits(&format!("{}ب", "a".repeat(80))));
    }
}
