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
use super::secret::{Secret, SecretSpec};
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
    super::routing::unique_across(cx, parsed);
    ops
}

fn operator(
    cx: &mut Ctx,
    p: &Parsed,
    profiles: &BTreeMap<String, (Range<usize>, RawUssdProfile)>,
) -> Option<Operator> {
    let k = |field: &str| format!("operators[{}].{field}", p.index);
    let r = &p.raw;
    // Every check runs before anything can bail out on a missing key, so
    // one missing key never hides another problem.
    let account = account(cx, p);
    let reconnect = reconnect(cx, p);
    let el = r.enquire_link.as_ref();
    // A half-open link is found within idle + timeout (35 s by default),
    // inside the 40 s objective; tests/fault_proxy.rs measures it.
    let enquire_link = EnquireLink {
        idle: cx.dur(
            &el.and_then(|e| e.idle.clone()),
            &k("enquire_link.idle"),
            (secs(1), secs(3600)),
            secs(25),
        ),
        timeout: cx.dur(
            &el.and_then(|e| e.timeout.clone()),
            &k("enquire_link.timeout"),
            (secs(1), secs(120)),
            secs(10),
        ),
    };
    let bind_timeout = cx.dur(
        &r.bind_timeout,
        &k("bind_timeout"),
        (secs(1), secs(60)),
        secs(10),
    );
    let response_timeout = cx.dur(
        &r.response_timeout,
        &k("response_timeout"),
        (secs(1), secs(300)),
        secs(30),
    );
    let binds = cx.int(&r.binds, &k("binds"), 1, 16, 1) as u32;
    let window = cx.int(&r.window, &k("window"), 1, 1000, 10) as u32;
    let tps = cx.int(&r.tps, &k("tps"), 1, 100_000, 10) as u32;
    let max_pdu_size = cx.size(&r.max_pdu_size, &k("max_pdu_size"), 1024, 65536, 7424) as u32;
    let encodings = encodings(cx, r, &k("encodings"));
    let data_coding = data_coding(cx, r, &k("data_coding"));
    let rs = r.sms.as_ref();
    let sms = OperatorSms {
        short_codes: codes(&rs.and_then(|s| s.short_codes.as_ref())),
        split: rs.and_then(|s| s.split).unwrap_or(SplitMode::Udh8),
        max_parts: cx.int(
            &rs.and_then(|s| s.max_parts.clone()),
            &k("sms.max_parts"),
            1,
            255,
            4,
        ) as u8,
        receipts: rs.and_then(|s| s.receipts).unwrap_or_default(),
    };
    let ru = r.ussd.as_ref();
    let own = ru.map(|u| u.overrides()).unwrap_or_default();
    let chosen = ru.and_then(|u| u.profile.as_ref());
    let profile = ussd::for_operator(cx, &k("ussd"), p.span.clone(), chosen, &own, profiles);
    let ussd = OperatorUssd {
        service_codes: codes(&ru.and_then(|u| u.service_codes.as_ref())),
        profile,
    };
    let host = r.host.as_ref().map(|h| h.get_ref().as_str());
    let tls = super::tls::tls(cx, r.tls.as_ref(), host, &k("tls"));
    let a = account?;
    Some(Operator {
        name: a.name,
        host: a.host,
        port: a.port,
        system_id: a.system_id,
        password: a.password,
        system_type: a.system_type,
        bind_mode: r.bind_mode.unwrap_or(BindMode::Transceiver),
        binds,
        window,
        tps,
        addr_ton: a.addr_ton,
        addr_npi: a.addr_npi,
        address_range: a.address_range,
        bind_timeout,
        response_timeout,
        enquire_link,
        reconnect,
        max_pdu_size,
        encodings,
        data_coding,
        msisdn_prefixes: r
            .msisdn_prefixes
            .iter()
            .flatten()
            .map(|s| s.get_ref().clone())
            .collect(),
        sms,
        ussd,
        tls,
    })
}

/// Where and as whom to bind: the required keys and the bind PDU fields.
struct Account {
    name: String,
    host: String,
    port: u16,
    system_id: String,
    password: Secret,
    system_type: String,
    addr_ton: u8,
    addr_npi: u8,
    address_range: String,
}

/// Checks the account keys; `None` if a required one is missing (after
/// reporting every problem among them).
fn account(cx: &mut Ctx, p: &Parsed) -> Option<Account> {
    let k = |field: &str| format!("operators[{}].{field}", p.index);
    let r = &p.raw;
    let present = [
        (r.name.is_some(), "name"),
        (r.host.is_some(), "host"),
        (r.port.is_some(), "port"),
        (r.system_id.is_some(), "system_id"),
        (r.password.is_some(), "password"),
    ];
    for (is_there, field) in present {
        if !is_there {
            cx.missing(p.span.clone(), &k(field), "is required but missing");
        }
    }
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
    let password = r
        .password
        .as_ref()
        .map(|spec| password(cx, spec, &k("password")));
    let mut optional = |v: &Option<Spanned<String>>, field: &str, max: usize| {
        v.as_ref().map_or(String::new(), |s| {
            smpp_string(cx, s, &k(field), 0, max, field);
            s.get_ref().clone()
        })
    };
    let system_type = optional(&r.system_type, "system_type", 12);
    let address_range = optional(&r.address_range, "address_range", 40);
    let addr_npi = cx.int(&r.addr_npi, &k("addr_npi"), 0, 18, 0) as u8;
    if let Some(npi) = &r.addr_npi {
        if ![0, 1, 3, 4, 6, 8, 9, 10, 14, 18].contains(npi.get_ref()) {
            let msg = format!(
                "is not an SMPP 3.4 NPI (0, 1, 3, 4, 6, 8, 9, 10, 14 or 18), got {}",
                npi.get_ref()
            );
            cx.err(npi.span(), &k("addr_npi"), msg);
        }
    }
    let addr_ton = cx.int(&r.addr_ton, &k("addr_ton"), 0, 6, 0) as u8;
    Some(Account {
        name: r.name.as_ref()?.get_ref().clone(),
        host: r.host.as_ref()?.get_ref().clone(),
        port,
        system_id: r.system_id.as_ref()?.get_ref().clone(),
        password: password?,
        system_type,
        addr_ton,
        addr_npi,
        address_range,
    })
}

/// The bind password: SMPP 3.4 allows 8 characters. Never echoed.
fn password(cx: &mut Ctx, spec: &Spanned<SecretSpec>, key: &str) -> Secret {
    let password = cx.secret(spec, key);
    if let Some(pw) = password.expose() {
        let n = pw.chars().count();
        if n > 8 || !pw.chars().all(|c| (' '..='~').contains(&c)) {
            let msg = format!("must be at most 8 printable ASCII characters (SMPP 3.4 password is 9 octets with its NUL), got {n} characters");
            cx.err(spec.span(), key, msg);
        }
    }
    password
}

fn reconnect(cx: &mut Ctx, p: &Parsed) -> Reconnect {
    let k = |field: &str| format!("operators[{}].reconnect.{field}", p.index);
    let rc = p.raw.reconnect.as_ref();
    let reconnect = Reconnect {
        min: cx.dur(
            &rc.and_then(|x| x.min.clone()),
            &k("min"),
            (millis(100), secs(60)),
            secs(1),
        ),
        // 20 s, not 60: once the SMSC is back the next attempt comes
        // within 20 s (objective: rebound within 30 s of a fault healing).
        // A *refused* bind still backs off to `rejected_max`.
        max: cx.dur(
            &rc.and_then(|x| x.max.clone()),
            &k("max"),
            (secs(1), secs(3600)),
            secs(20),
        ),
        rejected_max: cx.dur(
            &rc.and_then(|x| x.rejected_max.clone()),
            &k("rejected_max"),
            (secs(1), secs(3600)),
            secs(300),
        ),
    };
    reconnect_order(cx, p, &reconnect);
    reconnect
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
