//! Fake citizens: every answer is a pure function of (service, id, language), derived from an
//! FNV-1a hash of the id, so the same id always gives the same person on every run and
//! machine. Pure: no I/O, no clock, no randomness. Text is kept short enough for USSD screens
//! (names <= 30 characters, status texts <= 40).

use serde_json::{json, Value};

/// Languages the ministries answer in (the `lang` query parameter).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lang {
    Ar,
    Ckb,
    En,
}

impl Lang {
    pub fn parse(s: &str) -> Option<Lang> {
        match s {
            "ar" => Some(Lang::Ar),
            "ckb" => Some(Lang::Ckb),
            "en" => Some(Lang::En),
            _ => None,
        }
    }
    fn pick(self, t: &[&'static str; 3]) -> &'static str {
        t[self as usize]
    }
}

/// Ids are 6 to 12 ASCII digits (checked on the raw, still percent-encoded path segment).
pub fn valid_id(id: &str) -> bool {
    (6..=12).contains(&id.len()) && id.bytes().all(|b| b.is_ascii_digit())
}

/// FNV-1a 64 over the service name and the id: stable across runs, Rust versions and machines.
fn hash(service: &str, id: &str) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in service.bytes().chain([b':']).chain(id.bytes()) {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    h
}

/// A citizen exists unless the hash of (service, id) is 0 mod 5: one id in five is unknown.
fn lookup(service: &str, id: &str) -> Option<u64> {
    let h = hash(service, id);
    (h % 5 != 0).then_some(h / 5)
}

/// Picks from `n` choices using successive bits of `h`.
fn nth(h: u64, salt: u32, n: usize) -> usize {
    (h.rotate_right(salt * 7) % n as u64) as usize
}

const FIRST: [[&str; 3]; 8] = [
    ["أحمد", "ئەحمەد", "Ahmed"],
    ["محمد", "محەمەد", "Mohammed"],
    ["علي", "عەلی", "Ali"],
    ["فاطمة", "فاتیمە", "Fatima"],
    ["زينب", "زەینەب", "Zainab"],
    ["حسين", "حوسێن", "Hussein"],
    ["مريم", "مەریەم", "Maryam"],
    ["كريم", "کەریم", "Karim"],
];
const FATHER: [[&str; 3]; 6] = [
    ["جاسم", "جاسم", "Jasim"],
    ["كاظم", "کازم", "Kadhim"],
    ["عباس", "عەباس", "Abbas"],
    ["سعيد", "سەعید", "Saeed"],
    ["رشيد", "ڕەشید", "Rasheed"],
    ["عمر", "عومەر", "Omar"],
];
const FAMILY: [[&str; 3]; 6] = [
    ["الجبوري", "جبووری", "Al-Jubouri"],
    ["العبيدي", "عوبەیدی", "Al-Obaidi"],
    ["الساعدي", "ساعیدی", "Al-Saadi"],
    ["التميمي", "تەمیمی", "Al-Tamimi"],
    ["البياتي", "بەیاتی", "Al-Bayati"],
    ["الربيعي", "ڕوبەیعی", "Al-Rubaie"],
];

fn holder(h: u64, lang: Lang) -> String {
    format!(
        "{} {} {}",
        lang.pick(&FIRST[nth(h, 1, FIRST.len())]),
        lang.pick(&FATHER[nth(h, 2, FATHER.len())]),
        lang.pick(&FAMILY[nth(h, 3, FAMILY.len())]),
    )
}

/// (name, quantity per household member, unit index into UNITS)
const RATION: [([&str; 3], u32, usize); 8] = [
    (["طحين", "ئارد", "Flour"], 9, 0),
    (["رز", "برنج", "Rice"], 3, 0),
    (["سكر", "شەکر", "Sugar"], 2, 0),
    (["زيت الطبخ", "ڕۆنی چێشت", "Cooking oil"], 1, 1),
    (["عدس", "نیسک", "Lentils"], 1, 0),
    (["شاي", "چا", "Tea"], 200, 2),
    (["حليب مجفف", "شیری وشک", "Milk powder"], 1, 0),
    (["صابون", "سابوون", "Soap"], 2, 3),
];
const UNITS: [[&str; 3]; 4] = [
    ["كغم", "کگم", "kg"],
    ["لتر", "لیتر", "l"],
    ["غم", "گم", "g"],
    ["قطعة", "دانە", "pcs"],
];

pub fn pds_balance(card: &str, lang: Lang) -> Option<Value> {
    let h = lookup("pds", card)?;
    Some(json!({
        "holder": holder(h, lang),
        "balance": ((h % 40 + 1) * 1000).to_string(),
        "members": (nth(h, 4, 9) + 1).to_string(),
    }))
}

/// This month's ration: every item named and measured in all three languages (a flow shows
/// the citizen's), with the quantity per household member.
pub fn pds_entitlements(card: &str) -> Option<Value> {
    let h = lookup("pds", card)?;
    let members = nth(h, 4, 9) + 1;
    let count = 4 + nth(h, 5, 5);
    let items: Vec<Value> = RATION[..count]
        .iter()
        .map(|(name, per, unit)| {
            let unit = &UNITS[*unit];
            json!({
                "name_ar": name[0], "name_ckb": name[1], "name_en": name[2],
                "qty": per.to_string(),
                "unit_ar": unit[0], "unit_ckb": unit[1], "unit_en": unit[2],
            })
        })
        .collect();
    Some(json!({"month": "2026-11", "members": members.to_string(), "items": items}))
}

pub fn electricity_bill(account: &str, lang: Lang) -> Option<Value> {
    let h = lookup("electricity", account)?;
    Some(json!({
        "holder": holder(h, lang),
        "amount": ((h % 90 + 10) * 1000).to_string(),
        "due_date": format!("2026-12-{:02}", nth(h, 6, 28) + 1),
        "period": "2026-10",
    }))
}

/// Application states, in the order an application moves through them (`rejected` aside).
const STATUS: [(&str, [&str; 3]); 5] = [
    (
        "received",
        ["تم استلام الطلب", "داواکاری وەرگیرا", "Application received"],
    ),
    (
        "processing",
        [
            "الطلب قيد الإنجاز",
            "داواکاری لە جێبەجێکردندایە",
            "Being processed",
        ],
    ),
    (
        "ready",
        [
            "الجواز جاهز للاستلام",
            "پاسپۆرت ئامادەیە بۆ وەرگرتن",
            "Ready for pickup",
        ],
    ),
    (
        "collected",
        ["تم تسليم الجواز", "پاسپۆرت دراوە", "Collected"],
    ),
    (
        "rejected",
        [
            "رفض الطلب، راجع المكتب",
            "داواکاری ڕەتکرایەوە",
            "Rejected, visit the office",
        ],
    ),
];
const OFFICE: [[&str; 3]; 5] = [
    ["بغداد - الكرادة", "بەغدا - کەڕادە", "Baghdad - Karrada"],
    ["البصرة", "بەسرە", "Basra"],
    ["أربيل", "هەولێر", "Erbil"],
    ["الموصل", "مووسڵ", "Mosul"],
    ["النجف", "نەجەف", "Najaf"],
];

/// Where an application stands. The office is named in all three languages (a flow shows the
/// citizen's); `ready_date` is there only while an application with a date is processing.
pub fn passport_status(application: &str, lang: Lang) -> Option<Value> {
    let h = lookup("passport", application)?;
    let (status, text) = &STATUS[nth(h, 1, STATUS.len())];
    let office = &OFFICE[nth(h, 2, OFFICE.len())];
    let mut v = json!({
        "status": status,
        "status_text": lang.pick(text),
        "office_ar": office[0], "office_ckb": office[1], "office_en": office[2],
        "updated": format!("2026-11-{:02}", nth(h, 3, 25) + 1),
    });
    if *status == "processing" && nth(h, 4, 3) != 0 {
        v["ready_date"] = json!(format!("2026-12-{:02}", nth(h, 5, 28) + 1));
    }
    Some(v)
}

/// The PIN that opens a pension number (4 digits, from the hash), if the number exists.
pub fn pension_pin(pension_number: &str) -> Option<String> {
    lookup("pension", pension_number).map(|h| format!("{:04}", (h >> 20) % 10_000))
}

pub fn pension(pension_number: &str, lang: Lang) -> Option<Value> {
    let h = lookup("pension", pension_number)?;
    Some(json!({
        "holder": holder(h, lang),
        "amount": ((h % 50 + 30) * 10_000).to_string(),
        "next_payment": "2026-12-01",
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deterministic_short_and_some_unknown() {
        let ids: Vec<String> = (100_000..100_200).map(|n| n.to_string()).collect();
        let mut unknown = 0;
        for id in &ids {
            for lang in [Lang::Ar, Lang::Ckb, Lang::En] {
                match pds_balance(id, lang) {
                    None => unknown += 1,
                    Some(v) => {
                        assert_eq!(Some(&v), pds_balance(id, lang).as_ref());
                        assert!(v["holder"].as_str().unwrap().chars().count() <= 30, "{v}");
                    }
                }
                if let Some(v) = passport_status(id, lang) {
                    let t = v["status_text"].as_str().unwrap();
                    assert!(t.chars().count() <= 40, "{t}");
                }
                if let Some(v) = pds_entitlements(id) {
                    let n = v["items"].as_array().unwrap().len();
                    assert!((4..=8).contains(&n), "{v}");
                }
            }
        }
        assert!((60..=240).contains(&unknown), "{unknown} of 600 unknown");
        assert_eq!(hash("pds", "123456"), hash("pds", "123456"));
        assert_ne!(hash("pds", "123456"), hash("pension", "123456"));
    }

    #[test]
    fn ids_are_digits_of_bounded_length() {
        assert!(valid_id("123456"));
        assert!(!valid_id("12345"));
        assert!(!valid_id("1234567890123"));
        assert!(!valid_id("١٢٣٤٥٦"));
        assert!(!valid_id("1%2F..%2Fadmin"));
    }
}

#[cfg(test)]
mod readme {
    use super::*;

    /// Pins the sample-id table in simulator/README.md.
    #[test]
    fn sample_ids_match_the_readme() {
        let status =
            |id| passport_status(id, Lang::En).map(|v| v["status"].as_str().unwrap().to_owned());
        let row = |id| {
            (
                pds_balance(id, Lang::En).is_some(),
                electricity_bill(id, Lang::En).is_some(),
                status(id),
                pension_pin(id),
            )
        };
        let s = |x: &str| Some(x.to_owned());
        assert_eq!(row("123456"), (true, true, None, s("9355")));
        assert_eq!(row("123457"), (true, false, s("ready"), s("9070")));
        assert_eq!(row("123458"), (true, true, s("rejected"), s("6507")));
        assert_eq!(row("123459"), (true, true, s("collected"), s("6222")));
        assert_eq!(row("123461"), (false, true, s("processing"), None));
        assert_eq!(
            pds_balance("123458", Lang::Ar).unwrap(),
            json!({"holder": "كريم عباس البياتي", "balance": "27000", "members": "9"})
        );
        assert_eq!(
            pension("123456", Lang::En).unwrap(),
            json!({"holder": "Ali Abbas Al-Obaidi", "amount": "530000", "next_payment": "2026-12-01"})
        );
    }
}
