//! One conversation's state in the store: the key it lives under, the
//! record around the engine's `Session` (the network's dialogue id, when
//! the dialogue started), and load -> step -> save with compare-and-swap.
//!
//! Owns: the record layout and the subscriber profile (remembered
//! language). Must not: talk SMPP or decide what a screen says; it returns
//! the engine's effects as plain lists for the bearer to deliver.

use serde::{Deserialize, Serialize};

use crate::engine::{Bearer, Lang, Session};
use crate::msisdn::Msisdn;
use crate::store::{self, SessionKey, Store, SubscriberKey, Timestamp, Version};

/// The network's id of one USSD dialogue, as the operator's profile keys it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DialogueId {
    /// The session number (high octet) of its_session_info.
    Its(u8),
    /// user_message_reference.
    Umr(u16),
    /// MSISDN + service code: one dialogue per subscriber at a time.
    Subscriber,
}

/// What is stored under a session key.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Record {
    pub session: Session,
    /// USSD: the dialogue this state belongs to (replies must match it).
    pub dialogue: Option<DialogueId>,
    /// `now_ms` when the dialogue (USSD) or conversation (SMS) began.
    pub started_ms: u64,
}

impl Record {
    /// The stored form: MessagePack with structs as arrays (no field
    /// names), about a third of the JSON it replaced. A session is written
    /// on every step and sled rewrites whole leaves of 16 records, so its
    /// size is most of the store's write traffic.
    pub fn encode(&self) -> store::Result<Vec<u8>> {
        rmp_serde::to_vec(self).map_err(|e| store::Error::Malformed {
            tree: "sessions",
            detail: e.to_string(),
        })
    }

    /// Reads either form: JSON (records written before the compact form,
    /// always a `{`) or MessagePack (a 3-element array, never a `{`).
    pub fn decode(bytes: &[u8]) -> Result<Record, String> {
        if bytes.first() == Some(&b'{') {
            serde_json::from_slice(bytes).map_err(|e| e.to_string())
        } else {
            rmp_serde::from_slice(bytes).map_err(|e| e.to_string())
        }
    }
}

/// The store key of a subscriber's USSD state on one operator. One per
/// subscriber (not per dialogue) so a redial after a drop finds the old
/// state and the engine can offer "Continue / Start over".
pub fn ussd_key(operator: &str, who: &Msisdn) -> SessionKey {
    SessionKey(format!("u\0{operator}\0{}", who.as_str()).into_bytes())
}

/// The store key of an SMS conversation: MSISDN + short code.
pub fn sms_key(who: &Msisdn, short_code: &str) -> SessionKey {
    SessionKey(format!("s\0{}\0{short_code}", who.as_str()).into_bytes())
}

/// A record as loaded, with the version to write back against.
#[derive(Debug)]
pub struct Loaded {
    pub key: SessionKey,
    pub version: Option<Version>,
    pub record: Record,
}

/// What is kept per subscriber across sessions (the `profiles` tree).
#[derive(Serialize, Deserialize, Default)]
pub struct Profile {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lang: Option<Lang>,
    /// Wrong secrets in a row (`[security.pin_lockout]`).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub pin_failures: u32,
    /// Locked out of secret checks until this time (ms since the epoch).
    #[serde(default, skip_serializing_if = "is_zero_ms")]
    pub locked_until_ms: u64,
}

fn is_zero(n: &u32) -> bool {
    *n == 0
}

fn is_zero_ms(n: &u64) -> bool {
    *n == 0
}

/// The subscriber's profile (default when none, or unreadable).
pub async fn profile<S: Store>(store: &S, who: &Msisdn) -> store::Result<Profile> {
    let raw = store
        .get_profile(&SubscriberKey(who.as_str().into()))
        .await?;
    Ok(raw
        .and_then(|b| serde_json::from_slice::<Profile>(&b).ok())
        .unwrap_or_default())
}

pub async fn put_profile<S: Store>(store: &S, who: &Msisdn, p: &Profile) -> store::Result<()> {
    let data = serde_json::to_vec(p).unwrap_or_default();
    store
        .put_profile(&SubscriberKey(who.as_str().into()), data)
        .await
}

/// The language the subscriber chose last time, if any.
pub async fn remembered_language<S: Store>(store: &S, who: &Msisdn) -> store::Result<Option<Lang>> {
    Ok(profile(store, who).await?.lang)
}

/// Sets the language, keeping the rest of the profile (a lockout stays).
pub async fn remember_language<S: Store>(store: &S, who: &Msisdn, lang: Lang) -> store::Result<()> {
    let mut p = profile(store, who).await?;
    p.lang = Some(lang);
    put_profile(store, who, &p).await
}

/// Loads the record under `key`, or a fresh one (in the remembered
/// language) when there is none. A record that does not decode (written by
/// an incompatible version) is replaced, not fatal: the citizen starts over.
pub async fn load<S: Store>(
    store: &S,
    key: SessionKey,
    who: &Msisdn,
    bearer: Bearer,
    now_ms: u64,
) -> store::Result<Loaded> {
    let stored = store.get_session(&key).await?;
    let version = stored.as_ref().map(|s| s.version);
    if let Some(s) = stored {
        match Record::decode(&s.data) {
            Ok(record) => {
                return Ok(Loaded {
                    key,
                    version,
                    record,
                })
            }
            Err(e) => tracing::warn!(error = %e, "stored session does not decode; starting afresh"),
        }
    }
    let lang = remembered_language(store, who).await?;
    Ok(Loaded {
        key,
        version,
        record: Record {
            session: Session::new(bearer, lang),
            dialogue: None,
            started_ms: now_ms,
        },
    })
}

/// Writes the record back (CAS on the loaded version) and returns the new
/// version. Secrets are never written (`Session::secrets` is not serialised).
pub async fn save<S: Store>(
    store: &S,
    loaded: &mut Loaded,
    expires_at: Timestamp,
) -> store::Result<Version> {
    let data = loaded.record.encode()?;
    let v = store
        .put_session(&loaded.key, loaded.version, data, expires_at)
        .await?;
    loaded.version = Some(v);
    Ok(v)
}

/// A fresh record for a new dialogue, keeping the language.
pub fn restart(
    record: &Record,
    bearer: Bearer,
    dialogue: Option<DialogueId>,
    now_ms: u64,
) -> Record {
    Record {
        session: Session::new(bearer, record.session.language),
        dialogue,
        started_ms: now_ms,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::MemoryStore;

    #[tokio::test]
    async fn load_save_round_trip_keeps_language_and_never_secrets() {
        let store = MemoryStore::new();
        let who = Msisdn::parse("9647701234567").unwrap();
        remember_language(&store, &who, Lang::Ckb).await.unwrap();
        let key = ussd_key("zain", &who);
        let mut l = load(&store, key.clone(), &who, Bearer::Ussd, 5)
            .await
            .unwrap();
        assert_eq!(l.version, None);
        assert_eq!(l.record.session.language, Some(Lang::Ckb));
        l.record.session.secrets.insert("pin".into(), "4321".into());
        l.record.dialogue = Some(DialogueId::Its(7));
        save(&store, &mut l, Timestamp(1000)).await.unwrap();
        let raw = store.get_session(&key).await.unwrap().unwrap();
        assert!(!String::from_utf8_lossy(&raw.data).contains("4321"));
        let again = load(&store, key, &who, Bearer::Ussd, 6).await.unwrap();
        assert_eq!(again.version, l.version);
        assert_eq!(again.record.dialogue, Some(DialogueId::Its(7)));
        assert!(again.record.session.secrets.is_empty());
    }

    #[test]
    fn records_decode_in_both_forms_and_the_compact_one_is_smaller() {
        use crate::engine::session::{FlowRef, Frame, Status, Value};
        let mut session = Session::new(Bearer::Ussd, Some(Lang::Ar));
        session.flow = Some(FlowRef {
            id: "pension".into(),
            version: 3,
        });
        session.entry = Some("pension".into());
        session.at = Frame { node: 4, page: 1 };
        session.history = vec![Frame { node: 0, page: 0 }, Frame { node: 2, page: 0 }];
        session
            .vars
            .insert("number".into(), Value::Text("123456".into()));
        let row = [("month".to_string(), "2026-11".to_string())].into();
        session
            .vars
            .insert("payments".into(), Value::List(vec![row]));
        session.status = Status::Calling { call_id: 2 };
        session.last_activity_ms = 1_790_000_000_000;
        session.pending.push_back("1".into());
        session.secrets.insert("pin".into(), "9355".into());
        let record = Record {
            session,
            dialogue: Some(DialogueId::Its(9)),
            started_ms: 1_789_999_990_000,
        };
        let compact = record.encode().unwrap();
        let json = serde_json::to_vec(&record).unwrap();
        assert!(
            compact.len() * 2 < json.len(),
            "{} vs {}",
            compact.len(),
            json.len()
        );
        assert!(!String::from_utf8_lossy(&compact).contains("9355"));
        for bytes in [&compact, &json] {
            let back = Record::decode(bytes).unwrap();
            assert_eq!(
                format!("{back:?}"),
                format!(
                    "{:?}",
                    Record {
                        session: Session {
                            secrets: Default::default(),
                            ..record.session.clone()
                        },
                        ..record.clone()
                    }
                )
            );
        }
        assert!(Record::decode(b"\xff garbage").is_err());
    }

    #[tokio::test]
    async fn a_stale_version_is_a_conflict() {
        let store = MemoryStore::new();
        let who = Msisdn::parse("9647701234567").unwrap();
        let key = sms_key(&who, "2150");
        let mut a = load(&store, key.clone(), &who, Bearer::Sms, 0)
            .await
            .unwrap();
        let mut b = load(&store, key, &who, Bearer::Sms, 0).await.unwrap();
        save(&store, &mut a, Timestamp(10)).await.unwrap();
        let err = save(&store, &mut b, Timestamp(10)).await.unwrap_err();
        assert!(matches!(err, store::Error::Conflict { .. }), "{err}");
    }
}
