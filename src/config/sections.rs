//! The single-instance sections: `[gateway]`, `[store]`, `[log]`,
//! `[sms]` (`[admin]` is in `admin.rs`). Each turns its raw form into the model, reporting
//! every out-of-range or malformed value.

use super::check::{millis, secs, Ctx};
use super::model::{
    Gateway, GroupCommit, Language, Log, LogFormat, Queues, Retention, Sms, Store, Texts,
};
use super::raw::{RawGateway, RawLog, RawSms, RawStore};
use crate::charset::{measure, Alphabet};

const DAY: u64 = 24 * 3600;

pub(crate) fn gateway(cx: &mut Ctx, raw: RawGateway) -> Gateway {
    let node = match &raw.node {
        None => "bawaba".to_string(),
        Some(n) => {
            let s = n.get_ref();
            let ok = (1..=63).contains(&s.len())
                && s.chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
                && !s.starts_with('-')
                && !s.ends_with('-');
            if !ok {
                let msg =
                    format!("must be a host-name-like label (a-z, 0-9, '-'; 1 to 63), got {s:?}");
                cx.err(n.span(), "gateway.node", msg);
            }
            s.clone()
        }
    };
    let flows_dir = match &raw.flows_dir {
        Some(d) if d.get_ref().trim().is_empty() => {
            cx.err(d.span(), "gateway.flows_dir", "must not be empty");
            cx.path("flows")
        }
        Some(d) => cx.path(d.get_ref()),
        None => cx.path("flows"),
    };
    let q = raw.queues.unwrap_or_default();
    Gateway {
        node,
        flows_dir,
        watch_flows: raw.watch_flows.unwrap_or(false),
        shutdown_grace: cx.dur(
            &raw.shutdown_grace,
            "gateway.shutdown_grace",
            (secs(0), secs(300)),
            secs(10),
        ),
        workers: cx.int(&raw.workers, "gateway.workers", 1, 1024, 4) as usize,
        queues: Queues {
            worker: cx.int(&q.worker, "gateway.queues.worker", 1, 1_000_000, 1024) as usize,
            outbound: cx.int(&q.outbound, "gateway.queues.outbound", 1, 1_000_000, 4096) as usize,
            backend_calls: cx.int(
                &q.backend_calls,
                "gateway.queues.backend_calls",
                1,
                100_000,
                256,
            ) as usize,
            intake: cx.int(&q.intake, "gateway.queues.intake", 1, 100_000, 4096) as usize,
        },
    }
}

pub(crate) fn store(cx: &mut Ctx, raw: RawStore) -> Store {
    let path = match &raw.path {
        Some(p) if p.get_ref().trim().is_empty() => {
            cx.err(p.span(), "store.path", "must not be empty");
            cx.path("data/store")
        }
        Some(p) => cx.path(p.get_ref()),
        None => cx.path("data/store"),
    };
    let gc = raw.group_commit.unwrap_or_default();
    let ret = raw.retention.unwrap_or_default();
    Store {
        path,
        cache_capacity: cx.size(
            &raw.cache_capacity,
            "store.cache_capacity",
            1 << 20,
            64 << 30,
            256 << 20,
        ),
        group_commit: GroupCommit {
            max_batch: cx.int(&gc.max_batch, "store.group_commit.max_batch", 1, 4096, 1024)
                as usize,
            max_delay: cx.dur(
                &gc.max_delay,
                "store.group_commit.max_delay",
                (secs(0), millis(100)),
                secs(0),
            ),
        },
        retention: Retention {
            sessions: cx.dur(
                &ret.sessions,
                "store.retention.sessions",
                (secs(60), secs(90 * DAY)),
                secs(DAY),
            ),
            receipts: cx.dur(
                &ret.receipts,
                "store.retention.receipts",
                (secs(3600), secs(30 * DAY)),
                secs(3 * DAY),
            ),
            inbound: cx.dur(
                &ret.inbound,
                "store.retention.inbound",
                (secs(60), secs(90 * DAY)),
                secs(7 * DAY),
            ),
            failed_messages: cx.dur(
                &ret.failed_messages,
                "store.retention.failed_messages",
                (secs(60), secs(90 * DAY)),
                secs(7 * DAY),
            ),
            sweep_interval: cx.dur(
                &ret.sweep_interval,
                "store.retention.sweep_interval",
                (secs(1), secs(3600)),
                secs(60),
            ),
        },
    }
}

pub(crate) fn log(cx: &mut Ctx, raw: RawLog) -> Log {
    let level = match &raw.level {
        None => "info".to_string(),
        Some(l) => {
            if let Err(e) = tracing_subscriber::EnvFilter::builder().parse(l.get_ref()) {
                cx.err(
                    l.span(),
                    "log.level",
                    format!(
                        "not a tracing filter ({e}); e.g. \"info\" or \"info,bawaba::smpp=debug\""
                    ),
                );
            }
            l.get_ref().clone()
        }
    };
    Log {
        format: raw.format.unwrap_or(LogFormat::Text),
        level,
    }
}

/// `max_parts`: the fewest SMS parts any operator allows, and whose.
pub(crate) fn sms(cx: &mut Ctx, raw: RawSms, max_parts: Option<(usize, String)>) -> Sms {
    let fallback = match &raw.fallback {
        None => default_fallback(),
        Some(t) => {
            let d = default_fallback();
            let span = t.span();
            let t = t.get_ref();
            let mut one = |v: &Option<toml::Spanned<String>>, lang: &str| -> String {
                let key = format!("sms.fallback.{lang}");
                match v {
                    None => {
                        cx.err(
                            span.clone(),
                            &key,
                            "missing: give the fallback reply in ar, ckb and en",
                        );
                        String::new()
                    }
                    Some(v) if v.get_ref().trim().is_empty() => {
                        cx.err(v.span(), &key, "must not be empty");
                        String::new()
                    }
                    Some(v) => v.get_ref().clone(),
                }
            };
            let texts = Texts {
                ar: one(&t.ar, "ar"),
                ckb: one(&t.ckb, "ckb"),
                en: one(&t.en, "en"),
            };
            if let Some((max, whose)) = &max_parts {
                for (lang, v) in [("ar", &t.ar), ("ckb", &t.ckb), ("en", &t.en)] {
                    let Some(v) = v else { continue };
                    let parts = sms_parts(v.get_ref());
                    if parts > *max {
                        let msg =
                            format!("needs {parts} SMS parts but {whose} allows at most {max}");
                        cx.err(v.span(), &format!("sms.fallback.{lang}"), msg);
                    }
                }
            }
            if texts.ar.is_empty() || texts.ckb.is_empty() || texts.en.is_empty() {
                d
            } else {
                texts
            }
        }
    };
    let default_language = match &raw.default_language {
        None => Language::Ar,
        Some(l) => match l.get_ref().as_str() {
            "ar" => Language::Ar,
            "ckb" => Language::Ckb,
            "en" => Language::En,
            other => {
                cx.err(
                    l.span(),
                    "sms.default_language",
                    format!("must be \"ar\", \"ckb\" or \"en\", got {other:?}"),
                );
                Language::Ar
            }
        },
    };
    Sms {
        fallback,
        default_language,
        session_idle: cx.dur(
            &raw.session_idle,
            "sms.session_idle",
            (secs(60), secs(DAY)),
            secs(600),
        ),
        // Short by default: the SMSC resends within seconds to a minute of
        // a lost resp, while a citizen may well send the same short reply
        // ("1") twice in a conversation a few minutes apart.
        dedupe_window: cx.dur(
            &raw.dedupe_window,
            "sms.dedupe_window",
            (secs(10), secs(3600)),
            secs(120),
        ),
    }
}

/// How many SMS parts `text` needs (160/153 GSM-7, 70/67 UCS-2).
pub(crate) fn sms_parts(text: &str) -> usize {
    let (alphabet, len) = measure(text);
    let (single, multi) = match alphabet {
        Alphabet::Gsm7 => (160, 153),
        Alphabet::Ucs2 => (70, 67),
    };
    if len <= single {
        1
    } else {
        len.div_ceil(multi)
    }
}

fn default_fallback() -> Texts {
    Texts {
        // Each fits one UCS-2 SMS part (70 characters).
        ar: "عذراً، لم نتعرف على طلبك. تحقق من الكلمة وأعد المحاولة.".into(),
        ckb: "ببورە، داواکارییەکەت نەناسرایەوە. تکایە دووبارە هەوڵ بدەرەوە.".into(),
        en: "Sorry, we did not recognise that request. Please check the keyword and try again."
            .into(),
    }
}
