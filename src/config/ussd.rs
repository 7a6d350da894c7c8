//! USSD profiles: how one vendor's USSD gateway speaks SMPP, as data.
//! Built in layers — defaults, then a named `[ussd_profiles.NAME]`, then
//! the keys written on the operator's own `[operators.ussd]` — and checked
//! after every layer is applied, so a timer set in a profile and another
//! set on the operator are still checked against each other. Each value
//! remembers where it was written, and a problem is reported there.

use std::collections::BTreeMap;
use std::ops::Range;
use std::time::Duration;

use super::check::{secs, Ctx};
use super::model::{DialString, SessionKey, UssdOps, UssdProfile, UssdTimers};
use super::raw::{RawOps, RawUssdProfile};
use super::units::show;
use crate::charset::Budget;

/// A value and where it was written (`span: None` for a default).
#[derive(Clone)]
struct At<T> {
    v: T,
    key: String,
    span: Option<Range<usize>>,
}

fn default<T>(v: T) -> At<T> {
    At {
        v,
        key: String::new(),
        span: None,
    }
}

#[derive(Clone)]
struct Layered {
    service_type: At<String>,
    ops: [At<u8>; 4],
    abort: At<Vec<u8>>,
    session_key: SessionKey,
    dial_string: DialString,
    budget: [At<usize>; 2],
    timers: [At<Duration>; 3],
}

const OP_NAMES: [&str; 4] = ["begin", "user_reply", "our_continue", "our_end"];
const TIMER_NAMES: [&str; 3] = ["reply_deadline", "user_idle", "session_max"];

impl Layered {
    fn defaults() -> Self {
        Layered {
            service_type: default("USSD".into()),
            ops: [default(1), default(18), default(2), default(17)],
            abort: default(vec![129]),
            session_key: SessionKey::ItsSessionInfo,
            dial_string: DialString::ShortMessage,
            budget: [default(182), default(80)],
            timers: [default(secs(8)), default(secs(60)), default(secs(180))],
        }
    }

    /// Applies the keys written in `raw` (at `prefix`), range-checking each.
    fn apply(&mut self, cx: &mut Ctx, raw: &RawUssdProfile, prefix: &str) {
        if let Some(st) = &raw.service_type {
            let key = format!("{prefix}.service_type");
            let s = st.get_ref();
            if s.len() > 5 || !s.chars().all(|c| c.is_ascii_alphanumeric()) {
                let msg = format!("must be at most 5 ASCII letters or digits (SMPP 3.4 service_type is 6 octets with its NUL), got {s:?}");
                cx.err(st.span(), &key, msg);
            }
            self.service_type = At {
                v: s.clone(),
                key,
                span: Some(st.span()),
            };
        }
        if let Some(ops) = &raw.ops {
            self.apply_ops(cx, ops, prefix);
        }
        if let Some(k) = &raw.session_key {
            self.session_key = *k.get_ref();
        }
        if let Some(d) = &raw.dial_string {
            self.dial_string = *d.get_ref();
        }
        self.apply_limits(cx, raw, prefix);
    }

    fn apply_ops(&mut self, cx: &mut Ctx, ops: &RawOps, prefix: &str) {
        for (i, v) in [&ops.begin, &ops.user_reply, &ops.our_continue, &ops.our_end]
            .into_iter()
            .enumerate()
        {
            if let Some(s) = v {
                let key = format!("{prefix}.ops.{}", OP_NAMES[i]);
                let n = cx.int(v, &key, 0, 255, i64::from(self.ops[i].v)) as u8;
                self.ops[i] = At {
                    v: n,
                    key,
                    span: Some(s.span()),
                };
            }
        }
        if let Some(abort) = &ops.abort {
            let key = format!("{prefix}.ops.abort");
            if abort.get_ref().len() > 16 {
                cx.err(abort.span(), &key, "at most 16 abort codes");
            }
            let codes = abort.get_ref().iter().enumerate().filter_map(|(i, c)| {
                let n = cx.int(&Some(c.clone()), &format!("{key}[{i}]"), 0, 255, -1);
                u8::try_from(n).ok()
            });
            self.abort = At {
                v: codes.collect(),
                key,
                span: Some(abort.span()),
            };
        }
    }

    /// Screen budget and timers.
    fn apply_limits(&mut self, cx: &mut Ctx, raw: &RawUssdProfile, prefix: &str) {
        if let Some(b) = &raw.budget {
            for (i, (v, lo, hi)) in [(&b.gsm7, 40, 182), (&b.ucs2, 20, 80)]
                .into_iter()
                .enumerate()
            {
                if let Some(s) = v {
                    let name = ["gsm7", "ucs2"][i];
                    let key = format!("{prefix}.budget.{name}");
                    let n = cx.int(v, &key, lo, hi, self.budget[i].v as i64) as usize;
                    self.budget[i] = At {
                        v: n,
                        key,
                        span: Some(s.span()),
                    };
                }
            }
        }
        if let Some(t) = &raw.timers {
            let bounds = [
                (secs(1), secs(60)),
                (secs(5), secs(600)),
                (secs(10), secs(3600)),
            ];
            for (i, v) in [&t.reply_deadline, &t.user_idle, &t.session_max]
                .into_iter()
                .enumerate()
            {
                if let Some(s) = v {
                    let key = format!("{prefix}.timers.{}", TIMER_NAMES[i]);
                    let d = cx.dur(v, &key, bounds[i], self.timers[i].v);
                    self.timers[i] = At {
                        v: d,
                        key,
                        span: Some(s.span()),
                    };
                }
            }
        }
    }

    /// Cross-field rules on the layered result. `whole` is where to report
    /// when the offending values are all defaults (cannot happen for the
    /// shipped defaults, but a profile is data).
    fn check(&self, cx: &mut Ctx, whole: (&str, Range<usize>)) {
        let blame = |a: &At<Duration>, b: &At<Duration>| -> (String, Range<usize>) {
            let pick = if b.span.is_some() { b } else { a };
            match &pick.span {
                Some(s) => (pick.key.clone(), s.clone()),
                None => (whole.0.to_string(), whole.1.clone()),
            }
        };
        let [reply, idle, max] = &self.timers;
        for (a, b, an, bn) in [
            (reply, idle, "reply_deadline", "user_idle"),
            (idle, max, "user_idle", "session_max"),
        ] {
            if a.v >= b.v {
                let (key, span) = blame(a, b);
                let msg = format!(
                    "timers must be ordered {an} < {bn}, got {an} = {} and {bn} = {}",
                    show(a.v),
                    show(b.v)
                );
                cx.err(span, &key, msg);
            }
        }
        // Incoming operations must be told apart: begin, user_reply, aborts.
        let mut seen: BTreeMap<u8, &str> = BTreeMap::new();
        let incoming = [(&self.ops[0], "begin"), (&self.ops[1], "user_reply")];
        for (op, name) in incoming {
            if let Some(other) = seen.insert(op.v, name) {
                self.report_op(
                    cx,
                    op,
                    &whole,
                    format!("ops.{name} = {} is also ops.{other}", op.v),
                );
            }
        }
        for &code in &self.abort.v {
            if let Some(other) = seen.insert(code, "abort") {
                let msg = format!(
                    "abort code {code} is also ops.{other}; incoming operations must differ"
                );
                self.report_op(cx, &self.abort_as_op(), &whole, msg);
            }
        }
        if self.ops[2].v == self.ops[3].v {
            let msg = format!("ops.our_continue and ops.our_end are both {}; the phone could not tell a menu from a final screen", self.ops[3].v);
            let op = if self.ops[3].span.is_some() {
                &self.ops[3]
            } else {
                &self.ops[2]
            };
            self.report_op(cx, op, &whole, msg);
        }
    }

    fn abort_as_op(&self) -> At<u8> {
        At {
            v: 0,
            key: self.abort.key.clone(),
            span: self.abort.span.clone(),
        }
    }

    fn report_op(&self, cx: &mut Ctx, op: &At<u8>, whole: &(&str, Range<usize>), msg: String) {
        match &op.span {
            Some(s) => cx.err(s.clone(), &op.key, msg),
            None => cx.err(whole.1.clone(), whole.0, msg),
        }
    }

    fn build(self, name: &str) -> UssdProfile {
        let [begin, user_reply, our_continue, our_end] = self.ops.map(|o| o.v);
        let [reply_deadline, user_idle, session_max] = self.timers.map(|t| t.v);
        UssdProfile {
            name: name.to_string(),
            service_type: self.service_type.v,
            ops: UssdOps {
                begin,
                user_reply,
                our_continue,
                our_end,
                abort: self.abort.v,
            },
            session_key: self.session_key,
            dial_string: self.dial_string,
            budget: Budget {
                gsm7: self.budget[0].v,
                ucs2: self.budget[1].v,
            },
            timers: UssdTimers {
                reply_deadline,
                user_idle,
                session_max,
            },
        }
    }
}

/// Checks each named profile on its own (over the defaults).
pub(crate) fn profiles(cx: &mut Ctx, named: &BTreeMap<String, (Range<usize>, RawUssdProfile)>) {
    for (name, (span, raw)) in named {
        let prefix = format!("ussd_profiles.{}", super::document::segment(name));
        if !super::check::is_name(name) {
            let msg = format!("profile names are 1 to 32 of a-z, 0-9, '_' or '-', starting with a letter, got {name:?}");
            cx.err(span.clone(), &prefix, msg);
        }
        let mut layered = Layered::defaults();
        layered.apply(cx, raw, &prefix);
        layered.check(cx, (&prefix, span.clone()));
    }
}

/// The effective profile of one operator: defaults, then its named profile
/// (if any), then its own keys.
pub(crate) fn for_operator(
    cx: &mut Ctx,
    prefix: &str,
    span: Range<usize>,
    profile: Option<&toml::Spanned<String>>,
    own: &RawUssdProfile,
    named: &BTreeMap<String, (Range<usize>, RawUssdProfile)>,
) -> UssdProfile {
    let mut layered = Layered::defaults();
    let mut name = "default".to_string();
    if let Some(p) = profile {
        match named.get(p.get_ref()) {
            Some((_, raw)) => {
                layered.apply(
                    cx,
                    raw,
                    &format!("ussd_profiles.{}", super::document::segment(p.get_ref())),
                );
                name = p.get_ref().clone();
            }
            None => {
                let known: Vec<&str> = named.keys().map(String::as_str).collect();
                let msg = format!(
                    "no [ussd_profiles.{}] is defined (known: {})",
                    p.get_ref(),
                    list(&known)
                );
                cx.err(p.span(), &format!("{prefix}.profile"), msg);
            }
        }
    }
    layered.apply(cx, own, prefix);
    layered.check(cx, (prefix, span));
    layered.build(&name)
}

pub(crate) fn list(items: &[&str]) -> String {
    if items.is_empty() {
        "none".to_string()
    } else {
        items.join(", ")
    }
}
