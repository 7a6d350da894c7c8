//! Languages a citizen can be served in, and the built-in interface strings
//! (navigation labels, resume menu, errors) in each of them.
//!
//! Flow authors translate their own texts; these are the few strings the
//! engine itself puts on a screen. Pure data: no I/O.

use serde::{Deserialize, Serialize};

/// A language a screen can be rendered in.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Lang {
    /// Arabic.
    Ar,
    /// Kurdish (Sorani), Arabic script.
    Ckb,
    /// English.
    En,
}

impl Lang {
    /// Every language, in the order the language menu lists them.
    pub const ALL: [Lang; 3] = [Lang::Ar, Lang::Ckb, Lang::En];

    /// The code used in flow files and settings: "ar", "ckb", "en".
    pub fn code(self) -> &'static str {
        match self {
            Lang::Ar => "ar",
            Lang::Ckb => "ckb",
            Lang::En => "en",
        }
    }

    /// Parses "ar", "ckb" or "en".
    pub fn from_code(code: &str) -> Option<Lang> {
        Lang::ALL.into_iter().find(|l| l.code() == code)
    }

    /// Index into per-language arrays (`[T; 3]`).
    pub fn index(self) -> usize {
        self as usize
    }

    /// The language's own name, as the language menu shows it.
    pub fn native_name(self) -> &'static str {
        match self {
            Lang::Ar => "العربية",
            Lang::Ckb => "کوردی",
            Lang::En => "English",
        }
    }

    /// Whether numbers are written with Arabic-Indic digits in this language.
    pub fn localises_digits(self) -> bool {
        !matches!(self, Lang::En)
    }
}

impl std::fmt::Display for Lang {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.code())
    }
}

impl std::str::FromStr for Lang {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Lang::from_code(s).ok_or_else(|| format!("unknown language `{s}` (expected ar, ckb or en)"))
    }
}

/// A string the engine itself shows.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Ui {
    /// Navigation: the next page of a menu.
    More,
    /// Navigation: the previous screen.
    Back,
    /// Navigation: the flow's first screen.
    Home,
    /// Resume menu heading.
    ResumeHeading,
    /// Resume menu option 1.
    Continue,
    /// Resume menu option 2.
    StartOver,
    /// Shown above a menu when the choice was not one of its options.
    InvalidChoice,
    /// The code or keyword matches no service, or the flow cannot go on.
    Unavailable,
    /// Heading of the language menu.
    ChooseLanguage,
    /// The SMS conversation expired; shown before starting over.
    Expired,
    /// Heading of the SMS service listing (`FlowSet::sms_help`).
    SmsHelp,
}

impl Ui {
    /// Every built-in string (for the budget proof and tests).
    pub const ALL: [Ui; 11] = [
        Ui::More,
        Ui::Back,
        Ui::Home,
        Ui::ResumeHeading,
        Ui::Continue,
        Ui::StartOver,
        Ui::InvalidChoice,
        Ui::Unavailable,
        Ui::ChooseLanguage,
        Ui::Expired,
        Ui::SmsHelp,
    ];

    /// The string in `lang`.
    pub fn text(self, lang: Lang) -> &'static str {
        let [ar, ckb, en] = self.all();
        match lang {
            Lang::Ar => ar,
            Lang::Ckb => ckb,
            Lang::En => en,
        }
    }

    fn all(self) -> [&'static str; 3] {
        match self {
            Ui::More => ["المزيد", "زیاتر", "More"],
            Ui::Back => ["رجوع", "گەڕانەوە", "Back"],
            Ui::Home => ["الرئيسية", "سەرەتا", "Home"],
            Ui::ResumeHeading => [
                "لديك جلسة سابقة",
                "دانیشتنێکی پێشووت هەیە",
                "You have an unfinished session",
            ],
            Ui::Continue => ["متابعة", "بەردەوامبوون", "Continue"],
            Ui::StartOver => ["البدء من جديد", "دەستپێکردنەوە", "Start over"],
            Ui::InvalidChoice => ["اختيار غير صحيح", "هەڵبژاردنی هەڵە", "Invalid choice"],
            Ui::Unavailable => [
                "الخدمة غير متاحة",
                "خزمەتگوزاری بەردەست نییە",
                "Service unavailable",
            ],
            Ui::ChooseLanguage => [
                "اللغة / زمان / Language",
                "اللغة / زمان / Language",
                "اللغة / زمان / Language",
            ],
            Ui::SmsHelp => [
                "أرسل إحدى هذه الكلمات:",
                "یەکێک لەم وشانە بنێرە:",
                "Send one of these words:",
            ],
            Ui::Expired => [
                "انتهت الجلسة، ابدأ من جديد",
                "دانیشتن کۆتایی هات، دووبارە دەست پێبکەوە",
                "Session expired, please start again",
            ],
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_round_trip() {
        for l in Lang::ALL {
            assert_eq!(Lang::from_code(l.code()), Some(l));
            assert_eq!(
                serde_json::to_string(&l).unwrap(),
                format!("\"{}\"", l.code())
            );
        }
        assert_eq!(Lang::from_code("fr"), None);
    }

    #[test]
    fn every_ui_string_is_translated_and_short() {
        for u in Ui::ALL {
            for l in Lang::ALL {
                let t = u.text(l);
                assert!(!t.is_empty());
                assert!(crate::charset::ucs2_len(t) <= 40, "{u:?} {l}");
            }
        }
    }
}
