//! The SMS bearer. Intake (on the router): reserve a worker slot, journal
//! the MO, hand it to the worker while the write is synced, and
//! acknowledge it once durable; a full worker, a busy store or a failed
//! write answers ESME_RX_T_APPN so the SMSC keeps the message and retries
//! (a resend of one answered meanwhile is a duplicate). Turn (on the
//! subscriber's worker): drop duplicates (same operator, addresses,
//! content and part references within `[sms] dedupe_window`), reassemble
//! concatenated parts, route a keyword (or continue the conversation keyed
//! by MSISDN + short code), and queue every reply through the outbox.

use std::collections::hash_map::DefaultHasher;
use std::collections::HashMap;
use std::hash::{Hash, Hasher};
use std::sync::Arc;
use std::time::Duration;

use tracing::Instrument;

use super::conversation;
use super::journal::MoSms;
use super::limits::Verdict;
use super::turn::Driven;
use super::{Core, Error};
use crate::engine::{Bearer, Input, Status};
use crate::msisdn::Msisdn;
use crate::smpp::pdu::Sm;
use crate::smpp::text::{self, Reassembler, Sar, Segment};
use crate::store::{Dedupe, DedupeKey, InboundId, Store, Timestamp};

/// An MO SMS (or one part) journalled and acknowledged.
pub struct Turn {
    pub id: InboundId,
    pub mo: MoSms,
    /// Replayed from the journal at start: accepted once already, so not
    /// checked against the dedupe window (its own first attempt may have
    /// recorded it there before the restart).
    pub replayed: bool,
}

/// Whose parts, to which short code.
type PartKey = (String, String);

/// Concatenated parts waiting for the rest, with their journal ids so they
/// are marked processed only when the whole message was handled. Bounded:
/// `MAX_PENDING` messages, each at most `MAX_AGE` old.
pub struct Reassembly {
    parts: Reassembler<PartKey>,
    ids: HashMap<(PartKey, u16), Vec<InboundId>>,
}

const MAX_PENDING: usize = 10_000;
const MAX_AGE: Duration = Duration::from_secs(30 * 60);

impl Reassembly {
    pub fn new() -> Reassembly {
        Reassembly {
            parts: Reassembler::new(MAX_PENDING, MAX_AGE),
            ids: HashMap::new(),
        }
    }
}

impl MoSms {
    pub fn from_pdu(operator: &str, sm: &Sm) -> MoSms {
        let body = match &sm.tlvs.message_payload {
            Some(p) if sm.short_message.is_empty() => p.to_vec(),
            _ => sm.short_message.to_vec(),
        };
        let sar = match (
            sm.tlvs.sar_msg_ref_num,
            sm.tlvs.sar_total_segments,
            sm.tlvs.sar_segment_seqnum,
        ) {
            (Some(r), Some(t), Some(s)) => Some((r, t, s)),
            _ => None,
        };
        MoSms {
            operator: operator.to_string(),
            source: sm.source.addr.clone(),
            dest: sm.dest.addr.clone(),
            esm_class: sm.esm_class,
            data_coding: sm.data_coding,
            bytes: body,
            sar,
        }
    }

    /// Same message from the SMSC again: operator, addresses, content and
    /// part references. Hashed, so no message text lands in the dedupe tree.
    fn dedupe_key(&self) -> DedupeKey {
        let mut out = Vec::with_capacity(20);
        out.extend_from_slice(b"mo:");
        for seed in [0x5eed_u64, 0xb0a7] {
            let mut h = DefaultHasher::new();
            seed.hash(&mut h);
            self.hash(&mut h);
            out.extend_from_slice(&h.finish().to_be_bytes());
        }
        DedupeKey(out)
    }
}

impl Hash for MoSms {
    fn hash<H: Hasher>(&self, h: &mut H) {
        (&self.operator, &self.source, &self.dest).hash(h);
        (self.esm_class, self.data_coding, &self.bytes, self.sar).hash(h);
    }
}

pub async fn run<S: Store>(core: &Arc<Core<S>>, t: Turn) {
    let span = tracing::info_span!(
        "sms",
        operator = %t.mo.operator,
        msisdn = %crate::msisdn::mask(&t.mo.source),
        flow = tracing::field::Empty,
    );
    async {
        if let Err(e) = handle(core, t).await {
            // Unless its replies were queued (which takes it out of the
            // journal), processed again at the next start.
            tracing::warn!(error = %e, "SMS turn failed; it stays in the journal unless answered");
        }
    }
    .instrument(span)
    .await
}

async fn handle<S: Store>(core: &Arc<Core<S>>, t: Turn) -> Result<(), Error> {
    let now = Timestamp(core.now_ms());
    let window = core.config.sms.dedupe_window;
    // Recorded for a replayed MO too: the SMSC resends an MO whose ack a
    // crash swallowed, and that resend must be found a duplicate. A
    // replayed MO itself is handled whatever the window says (its own
    // first attempt may have recorded it before the crash).
    let key = t.mo.dedupe_key();
    let dup = core.store.check_and_insert(&key, now, window).await?;
    if let (Dedupe::Duplicate { .. }, false) = (dup, t.replayed) {
        tracing::info!("duplicate deliver_sm; already handled");
        core.store.mark_inbound_processed(t.id).await?;
        return Ok(());
    }
    let handled = async {
        let Some((text, ids)) = whole(core, t) else {
            return Ok(()); // a part; the rest is still to come
        };
        if !converse(core, &ids.0, &ids.1, &text).await? {
            for id in ids.1 {
                core.store.mark_inbound_processed(id).await?;
            }
        }
        Ok(())
    }
    .await;
    if handled.is_err() && matches!(dup, Dedupe::First) {
        // Not handled: a resend must not be dropped as a duplicate. (The
        // MO is worked on while its journal write is synced; if that
        // write failed too, the SMSC was refused and sends it again.)
        core.store.withdraw_dedupe(&key, now).await?;
    }
    handled
}

/// Who wrote what, and the journal entries it came in.
type Whole = (MoSms, Vec<InboundId>);

/// The whole message this MO completes, if any.
fn whole<S: Store>(core: &Core<S>, t: Turn) -> Option<(String, Whole)> {
    let udhi = t.mo.esm_class & 0x40 != 0;
    let sar = t.mo.sar.map(|(ref_num, total, seq)| Sar {
        ref_num,
        total,
        seq,
    });
    match text::inbound(t.mo.data_coding, udhi, sar, &t.mo.bytes) {
        text::Inbound::Whole {
            data_coding,
            payload,
        } => {
            let s = text::decode(data_coding, &payload);
            Some((s, (t.mo, vec![t.id])))
        }
        text::Inbound::Part(seg) => push_part(core, t, seg),
    }
}

fn push_part<S: Store>(core: &Core<S>, t: Turn, seg: Segment) -> Option<(String, Whole)> {
    let key: PartKey = (t.mo.source.clone(), t.mo.dest.clone());
    let reference = seg.reference;
    let mut r = core.reassembly.lock().unwrap_or_else(|e| e.into_inner());
    r.ids
        .entry((key.clone(), reference))
        .or_default()
        .push(t.id);
    match r.parts.push(key.clone(), seg, std::time::Instant::now()) {
        Ok(text::Pushed::Complete(c)) => {
            let ids = r.ids.remove(&(key, reference)).unwrap_or_default();
            Some((c.text(), (t.mo, ids)))
        }
        Ok(text::Pushed::Pending { evicted }) => {
            if let Some(p) = evicted {
                tracing::warn!(
                    parts = p.segments.len(),
                    total = p.total,
                    "incomplete SMS evicted; its parts stay in the journal"
                );
                r.ids.remove(&(p.key, p.reference));
            }
            None
        }
        Ok(text::Pushed::Duplicate) => None,
        Err(e) => {
            tracing::warn!(error = %e, "malformed SMS part; handled as a whole message");
            r.ids.remove(&(key, reference));
            let s = text::decode(t.mo.data_coding, &t.mo.bytes);
            Some((s, (t.mo, vec![t.id])))
        }
    }
}

/// Parts that waited too long: what arrived is handled as the message.
pub async fn expire_parts<S: Store>(core: &Arc<Core<S>>) {
    let expired: Vec<(String, Whole)> = {
        let mut r = core.reassembly.lock().unwrap_or_else(|e| e.into_inner());
        let partials = r.parts.expire(std::time::Instant::now());
        partials
            .into_iter()
            .map(|p| {
                let ids = r
                    .ids
                    .remove(&(p.key.clone(), p.reference))
                    .unwrap_or_default();
                let mo = MoSms {
                    operator: String::new(),
                    source: p.key.0.clone(),
                    dest: p.key.1.clone(),
                    esm_class: 0,
                    data_coding: 0,
                    bytes: Vec::new(),
                    sar: None,
                };
                (p.text(), (mo, ids))
            })
            .collect()
    };
    for (text, (mo, ids)) in expired {
        if let Ok(false) = converse(core, &mo, &ids, &text).await {
            for id in ids {
                let _ = core.store.mark_inbound_processed(id).await;
            }
        }
    }
}

/// One SMS turn of the conversation between `mo.source` and `mo.dest`,
/// whose MO came in the journal entries `done`. True if they were taken out
/// of the journal with the replies (one durable write: a crash before it
/// leaves the MO to be processed again, after it nothing); false if the
/// caller still has to mark them processed.
async fn converse<S: Store>(
    core: &Arc<Core<S>>,
    mo: &MoSms,
    done: &[InboundId],
    text: &str,
) -> Result<bool, Error> {
    let Ok(who) = Msisdn::parse(&mo.source) else {
        tracing::warn!("SMS from a source that is not a subscriber number; dropped");
        return Ok(false);
    };
    let operator = (!mo.operator.is_empty()).then_some(mo.operator.as_str());
    let now = core.now_ms();
    let key = conversation::sms_key(&who, &mo.dest);
    let mut l = conversation::load(&*core.store, key, &who, Bearer::Sms, now).await?;
    let s = &l.record.session;
    if let Verdict::Refused { tell } = core.limits.sms(&who, &mo.dest, now) {
        tracing::info!(tell, "SMS over [security.limits]; not run");
        if tell {
            let lang = s.language.unwrap_or_else(|| core.default_lang());
            let text = super::Notice::TooMany.text(lang);
            core.send_sms(operator, &who, &mo.dest, text).await?;
        }
        return Ok(false);
    }
    let idle = now.saturating_sub(s.last_activity_ms) > core.ctx.sms_idle_ms;
    let fresh = matches!(s.status, Status::New | Status::Finished) || idle;
    if fresh && core.flows_for(&who).by_keyword(text).is_none() {
        let lang = s.language.unwrap_or_else(|| core.default_lang());
        let reply = core.config.sms.fallback.get(lang_of(lang));
        tracing::info!("no keyword matched; fallback reply");
        let to = (operator, &who, mo.dest.as_str());
        return Ok(core.send_replies(to, [reply], done).await?);
    }
    if matches!(s.status, Status::Finished) {
        l.record = conversation::restart(&l.record, Bearer::Sms, None, now);
    }
    let lock = core.pin_lock(&who, now);
    let mut engine = core.engine_for(&who);
    engine.lockout = Some(&lock);
    let fx = match engine
        .drive(
            &mut l,
            Input::Reply {
                text: text.to_string(),
            },
            core.clock.as_ref(),
            None,
        )
        .await
    {
        Driven::Done(fx) => fx,
        Driven::Late { effects, .. } => effects,
    };
    if let Some(f) = &l.record.session.flow {
        tracing::Span::current().record("flow", f.id.as_str());
    }
    if let Some(lang) = fx.language {
        conversation::remember_language(&*core.store, &who, lang).await?;
    }
    let texts = fx.screens.iter().map(|(s, _)| s.as_str());
    let texts = texts.chain(fx.sms.iter().map(String::as_str));
    let to = (operator, &who, mo.dest.as_str());
    let answered = core.send_replies(to, texts, done).await?;
    let open = !(fx.ended || l.record.session.is_finished());
    // A keyword answered in one turn with nothing stored before (the
    // usual SMS) leaves nothing to keep: a finished conversation and no
    // conversation start the next SMS the same way. The language chosen,
    // if any, is in the profile (above).
    if open || l.version.is_some() {
        let keep = core
            .config
            .sms
            .session_idle
            .max(core.config.store.retention.sessions);
        conversation::save(&*core.store, &mut l, Timestamp(now).after(keep)).await?;
    }
    let idle_at = now + core.ctx.sms_idle_ms;
    core.active
        .note(&l.key, (operator.unwrap_or("-"), "sms"), open, idle_at);
    Ok(answered)
}

fn lang_of(l: crate::engine::Lang) -> crate::config::Language {
    match l {
        crate::engine::Lang::Ar => crate::config::Language::Ar,
        crate::engine::Lang::Ckb => crate::config::Language::Ckb,
        crate::engine::Lang::En => crate::config::Language::En,
    }
}
