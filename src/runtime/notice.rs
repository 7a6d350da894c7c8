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
}

impl Notice {
    pub const ALL: [Notice; 3] = [Notice::Busy, Notice::TryAgain, Notice::WillSms];

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
