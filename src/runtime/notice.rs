//! The few screens the runtime itself shows, when the flow cannot: the
//! gateway is busy, the turn missed its deadline, or a slow back-end's
//! answer will follow by SMS. Each fits the smallest USSD budget (UCS-2,
//! 80 characters) so it can always be sent as one end screen.

use crate::engine::Lang;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Notice {
    /// The worker queue is full: end at once, the citizen redials later.
    Busy,
    /// The turn could not be answered within the operator's reply deadline.
    TryAgain,
    /// A back-end is slow: the answer follows by SMS.
    WillSms,
    /// Over a `[security.limits]` rate: try again in a minute.
    TooMany,
    /// Too many wrong PINs (`[security.pin_lockout]`): locked for a while.
    Locked,
}

impl Notice {
    pub const ALL: [Notice; 5] = [
        Notice::Busy,
        Notice::TryAgain,
        Notice::WillSms,
        Notice::TooMany,
        Notice::Locked,
    ];

    pub fn text(self, lang: Lang) -> &'static str {
        let [ar, ckb, en] = match self {
            Notice::Busy => [
                "الخدمة مشغولة، يرجى المحاولة لاحقاً",
                "خزمەتگوزاری قەرەباڵغە، دواتر هەوڵ بدەوە",
                "Service busy, please try again later",
            ],
            Notice::TryAgain => [
                "تعذر الرد الآن، يرجى المحاولة مرة أخرى",
                "ئێستا وەڵام نەدرایەوە، تکایە دووبارە هەوڵ بدەوە",
                "Sorry, please try again",
            ],
            Notice::WillSms => [
                "سنرسل لك النتيجة برسالة SMS",
                "ئەنجامەکەت بە نامەی SMS بۆ دەنێرین",
                "We will send you the result by SMS",
            ],
            Notice::TooMany => [
                "طلبات كثيرة جداً، يرجى المحاولة بعد دقيقة",
                "داواکاری زۆرە، تکایە دوای خولەکێک هەوڵ بدەوە",
                "Too many requests, please try again in a minute",
            ],
            Notice::Locked => [
                "محاولات خاطئة كثيرة، الخدمة مقفلة مؤقتاً",
                "هەوڵی هەڵەی زۆر، خزمەتگوزارییەکە بۆ ماوەیەک داخرا",
                "Too many wrong attempts; locked, please try again later",
            ],
        };
        match lang {
            Lang::Ar => ar,
            Lang::Ckb => ckb,
            Lang::En => en,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_notice_fits_the_smallest_ussd_screen() {
        for n in Notice::ALL {
            for l in Lang::ALL {
                let t = n.text(l);
                assert!(!t.is_empty());
                assert!(crate::charset::ucs2_len(t) <= 80, "{n:?} {l}");
            }
        }
    }
}
