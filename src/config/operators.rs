//! `[[operators]]`: one SMSC account per mobile operator. Checks each
//! operator's values against SMPP 3.4 limits and sane bounds, then the
//! rules across operators (unique names, codes and MSISDN prefixes).

use std::collections::BTreeMap;
use std::ops::Range;

use toml::Spanned;

use super::check::{millis, secs, Ctx};
use super::model::{
    BindMode, DataCoding, Encoding, EnquireLink, Operator, OperatorSms, OperatorUssd, Reconnect,
    SplitMode,
};
use super::raw::{RawOperator, RawUssdProfile};
use super::units::show;
use super::ussd;

/// One operator as read, with where its table starts.
pub(crate) struct Parsed {
    pub index: usize,
    pub span: Range<usize>,
    pub raw: RawOperator,
}

/// Checks every operator; returns those complete enough to build, with
/// their index in the file.
pub(crate) fn operators(
    cx: &mut Ctx,
    parsed: &[Parsed],
    profiles: &BTreeMap<String, (Range<usize>, RawUssdProfile)>,
) -> Vec<(usize, Operator)> {
    let ops = parsed
        .iter()
        .filter_map(|p| Some((p.index, operator(cx, p, profiles)?)))
        .collect();
    unique_across(cx, parsed);
    ops
}

fn operator(
    cx: &mut Ctx,
    p: &Parsed,
    profiles: &BTreeMap<String, (Range<usize>, RawUssdProfile)>,
) -> Option<Operator> {
    let k = |field: &str| format!("operators[{}].{field}", p.index);
    let r = &p.raw;
    let mut required = |present: bool, field: &str| {
        if !present {
            cx.missing(p.span.clone(), &k(field), "is required but missing");
        }
    };
    required(r.name.is_some(), "name");
    required(r.host.is_some(), "host");
    required(r.port.is_some(), "port");
    required(r.system_id.is_some(), "system_id");
    required(r.password.is_some(), "password");
    if let Some(name) = &r.name {
        cx.name(name, &k("name"));
    }
    if let Some(h) = &r.host {
        host(cx, h, &k("host"));
    }
    let port = cx.int(&r.port, &k("port"), 1, 65535, 2775) as u16;
    if let Some(id) = &r.system_id {
        smpp_string(cx, id, &k("system_id"), 1, 15, "system_id");
    }
    let password = r.password.as_ref().map(|pw_spec| {
        let password = cx.secret(pw_spec, &k("password"));
        if let Some(pw) = password.expose() {
            if pw.chars().count() > 8 || !pw.chars().all(|c| (' '..='~').contains(&c)) {
                // Never echo the value itself.
                let msg = format!("must be at most 8 printable ASCII characters (SMPP 3.4 password is 9 octets with its NUL), got {} characters", pw.chars().count());
                cx.err(pw_spec.span(), &k("password"), msg);
            }
        }
        password
    });
    let system_type = r.system_type.as_ref().map_or(String::new(), |s| {
        smpp_string(cx, s, &k("system_type"), 0, 12, "system_type");
        s.get_ref().clone()
    });
    let address_range = r.address_range.as_ref().map_or(String::new(), |s| {
        smpp_string(cx, s, &k("address_range"), 0, 40, "address_range");
        s.get_ref().clone()
    });
    let addr_npi = cx.int(&r.addr_npi, &k("addr_npi"), 0, 18, 0);
    if let Some(npi) = &r.addr_npi {
        if ![0, 1, 3, 4, 6, 8, 9, 10, 14, 18].contains(npi.get_ref()) {
            let msg = format!(
                "is not an SMPP 3.4 NPI (0, 1, 3, 4, 6, 8, 9, 10, 14 or 18), got {}",
                npi.get_ref()
            );
            cx.err(npi.span(), &k("addr_npi"), msg);
        }
    }
    let el = r.enquire_link.as_ref();
    let rc = r.reconnect.as_ref();
    let reconnect = Reconnect {
        min: cx.dur(
            &rc.and_then(|x| x.min.clone()),
            &k("reconnect.min"),
            (millis(100), secs(60)),
            secs(1),
        ),
        max: cx.dur(
            &rc.and_then(|x| x.max.clone()),
            &k("reconnect.max"),
            (secs(1), secs(3600)),
            secs(60),
        ),
        rejected_max: cx.dur(
            &rc.and_then(|x| x.rejected_max.clone()),
            &k("reconnect.rejected_max"),
            (secs(1), secs(3600)),
            secs(300),
        ),
    };
    reconnect_order(cx, p, &reconnect);
    let ussd_raw = r.ussd.as_ref();
    let own = ussd_raw.map(|u| u.overrides()).unwrap_or_default();
    let profile = ussd::for_operator(
        cx,
        &k("ussd"),
        p.span.clone(),
        ussd_raw.and_then(|u| u.profile.as_ref()),
        &own,
        profiles,
    );
    Some(Operator {
        name: r.name.as_ref()?.get_ref().clone(),
        host: r.host.as_ref()?.get_ref().clone(),
        port,
        system_id: r.system_id.as_ref()?.get_ref().clone(),
        password: password?,
        system_type,
        bind_mode: r.bind_mode.unwrap_or(BindMode::Transceiver),
        binds: cx.int(&r.binds, &k("binds"), 1, 16, 1) as u32,
        window: cx.int(&r.window, &k("window"), 1, 1000, 10) as u32,
        tps: cx.int(&r.tps, &k("tps"), 1, 10_000, 10) as u32,
        addr_ton: cx.int(&r.addr_ton, &k("addr_ton"), 0, 6, 0) as u8,
        addr_npi: addr_npi as u8,
        address_range,
        bind_timeout: cx.dur(
            &r.bind_timeout,
            &k("bind_timeout"),
            (secs(1), secs(60)),
            secs(10),
        ),
        response_timeout: cx.dur(
            &r.response_timeout,
            &k("response_timeout"),
            (secs(1), secs(300)),
            secs(30),
        ),
        enquire_link: EnquireLink {
            idle: cx.dur(
                &el.and_then(|e| e.idle.clone()),
                &k("enquire_link.idle"),
                (secs(1), secs(3600)),
                secs(30),
            ),
            timeout: cx.dur(
                &el.and_then(|e| e.timeout.clone()),
                &k("enquire_link.timeout"),
                (secs(1), secs(120)),
                secs(10),
            ),
        },
        reconnect,
        max_pdu_size: cx.size(&r.max_pdu_size, &k("max_pdu_size"), 1024, 65536, 7424) as u32,
        encodings: encodings(cx, r, &k("encodings")),
        data_coding: data_coding(cx, r, &k("data_coding")),
        msisdn_prefixes: r
            .msisdn_prefixes
            .iter()
            .flatten()
            .map(|s| s.get_ref().clone())
            .collect(),
        sms: OperatorSms {
            short_codes: codes(&r.sms.as_ref().and_then(|s| s.short_codes.as_ref())),
            split: r
                .sms
                .as_ref()
                .and_then(|s| s.split)
                .unwrap_or(SplitMode::Udh8),
            max_parts: cx.int(
                &r.sms.as_ref().and_then(|s| s.max_parts.clone()),
                &k("sms.max_parts"),
                1,
                255,
                4,
            ) as u8,
        },
        ussd: OperatorUssd {
            service_codes: codes(&ussd_raw.and_then(|u| u.service_codes.as_ref())),
            profile,
        },
    })
}

fn codes(v: &Option<&Vec<Spanned<String>>>) -> Vec<String> {
    v.iter()
        .flat_map(|c| c.iter())
        .map(|c| c.get_ref().clone())
        .collect()
}

fn host(cx: &mut Ctx, h: &Spanned<String>, key: &str) {
    let s = h.get_ref();
    let ip = s.parse::<std::net::IpAddr>().is_ok();
    let name = !s.is_empty()
        && s.len() <= 253
        && s.split('.').all(|l| {
            !l.is_empty()
                && l.len() <= 63
                && !l.starts_with('-')
                && l.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
        });
    if !ip && !name {
        cx.err(
            h.span(),
            key,
            format!("must be a host name or an IP address, got {s:?}"),
        );
    }
}

/// A C-octet string field of a bind PDU: printable ASCII, bounded length.
fn smpp_string(cx: &mut Ctx, v: &Spanned<String>, key: &str, min: usize, max: usize, field: &str) {
    let s = v.get_ref();
    let n = s.chars().count();
    if n < min || n > max {
        let msg = format!("must be {min} to {max} characters (SMPP 3.4 {field} is at most {} octets with its NUL), got {n}", max + 1);
        cx.err(v.span(), key, msg);
    } else if !s.chars().all(|c| (' '..='~').contains(&c)) {
        cx.err(v.span(), key, format!("must be printable ASCII, got {s:?}"));
    }
}

fn reconnect_order(cx: &mut Ctx, p: &Parsed, r: &Reconnect) {
    let Some(rc) = &p.raw.reconnect else { return };
    let key = |f: &str| format!("operators[{}].reconnect.{f}", p.index);
    if r.min > r.max {
        if let Some(s) = rc.min.as_ref().or(rc.max.as_ref()) {
            let msg = format!(
                "reconnect.min ({}) must not exceed reconnect.max ({})",
                show(r.min),
                show(r.max)
            );
            cx.err(
                s.span(),
                &key(if rc.min.is_some() { "min" } else { "max" }),
                msg,
            );
        }
    }
    if r.max > r.rejected_max {
        if let Some(s) = rc.rejected_max.as_ref().or(rc.max.as_ref()) {
            let msg = format!(
                "reconnect.rejected_max ({}) must not be shorter than reconnect.max ({})",
                show(r.rejected_max),
                show(r.max)
            );
            cx.err(
                s.span(),
                &key(if rc.rejected_max.is_some() {
                    "rejected_max"
                } else {
                    "max"
                }),
                msg,
            );
        }
    }
}

fn encodings(cx: &mut Ctx, r: &RawOperator, key: &str) -> Vec<Encoding> {
    let Some(e) = &r.encodings else {
        return vec![Encoding::Gsm7, Encoding::Ucs2];
    };
    let mut list = e.get_ref().clone();
    list.sort();
    let before = list.len();
    list.dedup();
    if before != list.len() {
        cx.err(e.span(), key, "lists an encoding twice");
    }
    if !list.contains(&Encoding::Ucs2) {
        cx.err(
            e.span(),
            key,
            "must include \"ucs2\": Arabic and Kurdish text can only be sent in UCS-2",
        );
    }
    list
}

fn data_coding(cx: &mut Ctx, r: &RawOperator, key: &str) -> DataCoding {
    let Some(dc) = &r.data_coding else {
        return DataCoding { gsm7: 0, ucs2: 8 };
    };
    let gsm7 = cx.int(&dc.gsm7, &format!("{key}.gsm7"), 0, 1, 0) as u8;
    let ucs2 = cx.int(&dc.ucs2, &format!("{key}.ucs2"), 0, 255, 8) as u8;
    if gsm7 == ucs2 {
        if let Some(s) = dc.ucs2.as_ref().or(dc.gsm7.as_ref()) {
            cx.err(
                s.span(),
                &format!("{key}.ucs2"),
                format!("data_coding.gsm7 and data_coding.ucs2 are both {ucs2}"),
            );
        }
    }
    DataCoding { gsm7, ucs2 }
}

/// Names, codes and prefixes must each point to one operator.
fn unique_across(cx: &mut Ctx, parsed: &[Parsed]) {
    let ussd_code = regex::Regex::new(r"^[*#][0-9]+(\*[0-9]+)*#$").expect("static regex");
    let mut names: BTreeMap<&str, usize> = BTreeMap::new();
    let mut codes: BTreeMap<&str, usize> = BTreeMap::new();
    let mut prefixes: BTreeMap<&str, usize> = BTreeMap::new();
    for p in parsed {
        let i = p.index;
        let r = &p.raw;
        if let Some(name) = &r.name {
            if let Some(&first) = names.get(name.get_ref().as_str()) {
                let msg = format!(
                    "{:?} is already the name of operators[{first}]",
                    name.get_ref()
                );
                cx.err(name.span(), &format!("operators[{i}].name"), msg);
            } else {
                names.insert(name.get_ref(), i);
            }
        }
        let ussd = r.ussd.as_ref().and_then(|u| u.service_codes.as_ref());
        let sms = r.sms.as_ref().and_then(|s| s.short_codes.as_ref());
        let lists = [
            ("ussd.service_codes", ussd, true),
            ("sms.short_codes", sms, false),
        ];
        for (field, list, is_ussd) in lists {
            for (j, c) in list.into_iter().flatten().enumerate() {
                let key = format!("operators[{i}].{field}[{j}]");
                let s = c.get_ref().as_str();
                let well_formed = if is_ussd {
                    ussd_code.is_match(s) && s.len() <= 32
                } else {
                    (2..=15).contains(&s.len()) && s.bytes().all(|b| b.is_ascii_digit())
                };
                if !well_formed {
                    let want = if is_ussd {
                        "a USSD code such as \"*123#\""
                    } else {
                        "2 to 15 digits"
                    };
                    cx.err(c.span(), &key, format!("must be {want}, got {s:?}"));
                }
                claim(cx, &mut codes, parsed, s, i, c.span(), &key, "served");
            }
        }
        for (j, pfx) in r.msisdn_prefixes.iter().flatten().enumerate() {
            let key = format!("operators[{i}].msisdn_prefixes[{j}]");
            let s = pfx.get_ref().as_str();
            if !(1..=15).contains(&s.len()) || !s.bytes().all(|b| b.is_ascii_digit()) {
                let msg = format!("must be 1 to 15 digits in international format without '+' (e.g. \"96478\"), got {s:?}");
                cx.err(pfx.span(), &key, msg);
            }
            claim(cx, &mut prefixes, parsed, s, i, pfx.span(), &key, "routed");
        }
    }
}

#[allow(clippy::too_many_arguments)]
fn claim<'a>(
    cx: &mut Ctx,
    seen: &mut BTreeMap<&'a str, usize>,
    parsed: &[Parsed],
    value: &'a str,
    i: usize,
    span: Range<usize>,
    key: &str,
    verb: &str,
) {
    match seen.get(value).copied() {
        Some(first) if first == i => cx.err(span, key, format!("{value:?} is listed twice")),
        Some(first) => {
            let owner = parsed
                .iter()
                .find(|p| p.index == first)
                .and_then(|p| p.raw.name.as_ref())
                .map_or("", |n| n.get_ref().as_str());
            cx.err(
                span,
                key,
                format!("{value:?} is already {verb} by operators[{first}] ({owner})"),
            );
        }
        None => {
            seen.insert(value, i);
        }
    }
}
