//! Stored conversations as the admin API shows them (masked MSISDN, flow,
//! version, node, age), a page at a time, and ending one (the citizen's
//! next reply finds no dialogue and is told to try again).

use serde::Serialize;

use super::conversation::Record;
use super::Core;
use crate::engine::Status;
use crate::msisdn::mask;
use crate::store::{self, SessionKey, Store};

/// Sessions per page at most.
pub const MAX_PAGE: usize = 500;
/// Stored records looked at per request at most (finished ones are
/// skipped unless asked for, so a page may need several store reads).
const MAX_SCAN: usize = 20 * MAX_PAGE;

/// One conversation.
#[derive(Debug, Serialize)]
pub struct SessionView {
    /// The store key, hex: what `DELETE /v1/sessions/{key}` takes (it
    /// holds the MSISDN: the listener is for operators only).
    pub key: String,
    pub bearer: &'static str,
    /// The operator (USSD) or the short code (SMS).
    pub via: String,
    pub msisdn: String,
    pub flow: Option<String>,
    pub version: Option<u32>,
    /// The flow node the session is at.
    pub node: Option<String>,
    pub status: &'static str,
    pub age_s: u64,
    pub idle_s: u64,
}

/// Up to `max` sessions after `after` (open ones only unless `all`), and
/// the key to continue from when there may be more.
pub async fn page<S: Store>(
    core: &Core<S>,
    after: Option<SessionKey>,
    max: usize,
    all: bool,
) -> store::Result<(Vec<SessionView>, Option<String>)> {
    let max = max.clamp(1, MAX_PAGE);
    let now = core.now_ms();
    let flows = core.flows();
    let mut out = Vec::new();
    let mut cursor = after;
    let mut scanned = 0;
    while out.len() < max && scanned < MAX_SCAN {
        let batch = core.store.list_sessions(cursor.as_ref(), max).await?;
        let Some((last, _)) = batch.last() else {
            return Ok((out, None));
        };
        cursor = Some(last.clone());
        scanned += batch.len();
        for (key, s) in batch {
            let Ok(r) = Record::decode(&s.data) else {
                continue;
            };
            let status = status(&r.session.status);
            if !all && matches!(status, "finished" | "new") {
                continue;
            }
            let (bearer, via, who) = parts(&key);
            let at = r.session.flow.as_ref();
            let node = at.and_then(|f| {
                let flow = flows.pinned(&f.id, f.version)?;
                flow.node_names()
                    .nth(r.session.at.node as usize)
                    .map(str::to_string)
            });
            out.push(SessionView {
                key: hex(&key.0),
                bearer,
                via,
                msisdn: mask(&who).to_string(),
                flow: at.map(|f| f.id.clone()),
                version: at.map(|f| f.version),
                node,
                status,
                age_s: now.saturating_sub(r.started_ms) / 1000,
                idle_s: now.saturating_sub(r.session.last_activity_ms) / 1000,
            });
            if out.len() == max {
                break;
            }
        }
    }
    Ok((out, cursor.map(|k| hex(&k.0))))
}

fn status(s: &Status) -> &'static str {
    match s {
        Status::New => "new",
        Status::Active => "active",
        Status::Calling { .. } => "calling",
        Status::ResumeOffer => "resume_offer",
        _ => "finished",
    }
}

/// (bearer, operator or short code, MSISDN) from a key of `conversation`.
fn parts(key: &SessionKey) -> (&'static str, String, String) {
    let text = String::from_utf8_lossy(&key.0);
    let mut it = text.split('\0');
    match (it.next(), it.next(), it.next()) {
        (Some("u"), Some(op), Some(who)) => ("ussd", op.to_string(), who.to_string()),
        (Some("s"), Some(who), Some(code)) => ("sms", code.to_string(), who.to_string()),
        _ => ("?", String::new(), String::new()),
    }
}

pub fn hex(b: &[u8]) -> String {
    b.iter().map(|b| format!("{b:02x}")).collect()
}

pub fn unhex(s: &str) -> Option<Vec<u8>> {
    if s.len() % 2 != 0 || s.len() > 1024 {
        return None;
    }
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(s.get(i..i + 2)?, 16).ok())
        .collect()
}

/// Ends a session: removes its state. True if there was one.
pub async fn end<S: Store>(core: &Core<S>, key: &SessionKey) -> store::Result<bool> {
    let removed = core.store.delete_session(key).await?;
    core.active.note(key, ("-", "-"), false, 0);
    Ok(removed)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_round_trip_through_hex_and_name_their_parts() {
        let k = SessionKey(b"u\0zain\x009647701234567".to_vec());
        assert_eq!(unhex(&hex(&k.0)).unwrap(), k.0);
        assert_eq!(parts(&k), ("ussd", "zain".into(), "9647701234567".into()));
        assert!(unhex("abc").is_none() && unhex("zz").is_none());
    }
}
