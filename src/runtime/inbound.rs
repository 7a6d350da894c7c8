//! The router: every PDU the binds receive comes here, in one bounded
//! channel. It never waits on a worker: a USSD MO is acknowledged and
//! queued (or answered "busy" at once when the subscriber's worker is
//! full); an SMS is journalled (at most `queues.intake` at once), handed
//! to its worker as soon as the journal's write is under way, and
//! acknowledged once that write is durable (ESME_RX_T_APPN when full, the
//! store is busy or the write failed). No task waits on that: the store's
//! commit thread does both ([`SmsIntake`]). A delivery receipt goes to
//! the outbox.
//!
//! Also: replay of the journal at start (SMS not yet processed, follow-ups
//! not yet sent).

use std::sync::atomic::Ordering;
use std::sync::Arc;

use tokio::sync::{mpsc, OwnedSemaphorePermit, Semaphore};
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use super::dispatch::{Dispatch, Slot};
use super::journal::{Entry, MoSms};
use super::notice::Notice;
use super::{dialogue, followup, sms, ussd, Core, Work};
use crate::outbox::receipts::is_receipt;
use crate::smpp::pdu::{CommandStatus, Sm};
use crate::smpp::session::{Inbound, InboundPdu, Responder};
use crate::store::{InboundId, Intake, Store, Timestamp};

/// esm_class message type 0x20: an intermediate delivery notification
/// (nothing to record; acknowledged so the SMSC does not resend it).
fn is_intermediate(esm_class: u8) -> bool {
    esm_class & 0x3C == 0x20
}

/// The worker key of a subscriber: the canonical MSISDN when the address
/// is one, so `+964..` and `964..` land on the same worker.
fn subscriber(raw: &str) -> String {
    crate::msisdn::Msisdn::parse(raw).map_or_else(|_| raw.to_string(), |m| m.as_str().to_string())
}

pub async fn route<S: Store>(
    core: Arc<Core<S>>,
    dispatch: Dispatch<Work>,
    mut rx: mpsc::Receiver<Inbound>,
    stop: CancellationToken,
) {
    let intake = Arc::new(Semaphore::new(core.config.gateway.queues.intake));
    loop {
        let inbound = tokio::select! {
            _ = stop.cancelled() => break,
            i = rx.recv() => match i { Some(i) => i, None => break },
        };
        let Inbound {
            operator,
            pdu,
            responder,
            ..
        } = inbound;
        // data_sm carries the same fields (text in message_payload, which
        // the bearers read when short_message is empty): one path for both.
        let sm = match pdu {
            InboundPdu::Deliver(sm) => sm,
            InboundPdu::Data(d) => Sm {
                service_type: d.service_type,
                source: d.source,
                dest: d.dest,
                esm_class: d.esm_class,
                registered_delivery: d.registered_delivery,
                data_coding: d.data_coding,
                tlvs: d.tlvs,
                ..Sm::default()
            },
        };
        if is_receipt(sm.esm_class) {
            receipt(&core, &intake, operator, sm, responder);
        } else if is_intermediate(sm.esm_class) {
            responder.respond(CommandStatus::ESME_ROK);
        } else if let Some(op) = sm.tlvs.ussd_service_op {
            ussd_mo(&core, &dispatch, operator, op, &sm, responder).await;
        } else {
            sms_mo(&core, &dispatch, &intake, operator, sm, responder).await;
        }
    }
    // Dropping `dispatch` lets the workers finish what they hold and stop.
}

/// Records a receipt on one of the intake tasks (it waits for a group
/// commit). OK once recorded, or when it can never be (not parseable: the
/// SMSC resending it would not help); ESME_RX_T_APPN when the store cannot
/// take it now or every intake task is busy, so the SMSC tries again.
fn receipt<S: Store>(
    core: &Arc<Core<S>>,
    intake: &Arc<Semaphore>,
    operator: Arc<str>,
    sm: Sm,
    responder: Responder,
) {
    let Ok(permit) = intake.clone().try_acquire_owned() else {
        tracing::warn!(operator = %operator, "receipt intake full; ESME_RX_T_APPN");
        responder.respond(CommandStatus::ESME_RX_T_APPN);
        return;
    };
    let core = core.clone();
    tokio::spawn(async move {
        core.outbox.take_receipt(&operator, &sm, responder).await;
        drop(permit);
    });
}

async fn ussd_mo<S: Store>(
    core: &Arc<Core<S>>,
    dispatch: &Dispatch<Work>,
    operator: Arc<str>,
    op: u8,
    sm: &Sm,
    responder: Responder,
) {
    let received = Instant::now();
    let Some((cfg, _)) = core.operators.get(&*operator) else {
        responder.respond(CommandStatus::ESME_RX_P_APPN);
        return;
    };
    let cfg = cfg.clone();
    let mo = match ussd::parse(sm, op, &cfg.ussd.profile) {
        Ok(mo) => mo,
        Err(e) => {
            tracing::warn!(operator = %operator, error = %e, "USSD MO rejected");
            responder.respond(CommandStatus::ESME_RX_P_APPN);
            return;
        }
    };
    responder.respond(CommandStatus::ESME_ROK);
    let refuse = match dispatch.reserve(mo.who.as_str()) {
        Ok(slot)
            if !matches!(mo.action, ussd::Action::Begin { .. })
                || !core.draining.load(Ordering::SeqCst) =>
        {
            core.in_flight.fetch_add(1, Ordering::AcqRel);
            let who = mo.who.as_str().to_string();
            slot.send(
                who,
                Work::Ussd(dialogue::Turn {
                    operator: operator.clone(),
                    mo,
                    received,
                }),
            );
            return;
        }
        _ => mo,
    };
    if matches!(refuse.action, ussd::Action::Abort) {
        return;
    }
    tracing::warn!(operator = %operator, msisdn = %refuse.who.masked(), "worker queue full; busy screen");
    let core = core.clone();
    tokio::spawn(async move {
        let lang = dialogue::language_of(&core, &refuse.who).await;
        let text = Notice::Busy.text(lang.unwrap_or_else(|| core.default_lang()));
        dialogue::send(&core, &cfg, &operator, &refuse, text, true).await;
    });
}

async fn sms_mo<S: Store>(
    core: &Arc<Core<S>>,
    dispatch: &Dispatch<Work>,
    intake: &Arc<Semaphore>,
    operator: Arc<str>,
    sm: Sm,
    responder: Responder,
) {
    let mo = MoSms::from_pdu(&operator, &sm);
    if core.draining.load(Ordering::SeqCst) {
        responder.respond(CommandStatus::ESME_RX_T_APPN);
        return;
    }
    let (Ok(permit), Ok(slot)) = (
        intake.clone().try_acquire_owned(),
        dispatch.reserve(&mo.source),
    ) else {
        tracing::warn!(operator = %operator, "SMS intake full; ESME_RX_T_APPN");
        responder.respond(CommandStatus::ESME_RX_T_APPN);
        return;
    };
    core.in_flight.fetch_add(1, Ordering::AcqRel);
    let now = Timestamp(core.now_ms());
    let entry = mo.entry();
    let taken = SmsIntake {
        core: core.clone(),
        operator,
        work: Some((mo, slot)),
        responder: Some(responder),
        _permit: permit,
    };
    core.store
        .journal_inbound(entry, now, Box::new(taken))
        .await;
}

/// An SMS on its way into the journal (holding one of the intake
/// permits): handed to its worker as soon as its write is under way (the
/// reply does not wait for the disk), acknowledged once the write is
/// durable. Run by the store's commit thread, not a task of its own.
struct SmsIntake<S: Store> {
    core: Arc<Core<S>>,
    operator: Arc<str>,
    /// Until journalled.
    work: Option<(MoSms, Slot<Work>)>,
    /// Until durable.
    responder: Option<Responder>,
    _permit: OwnedSemaphorePermit,
}

impl<S: Store> Intake for SmsIntake<S> {
    fn journalled(&mut self, id: InboundId) {
        if let Some((mo, slot)) = self.work.take() {
            let who = mo.source.clone();
            let turn = sms::Turn {
                id,
                mo,
                replayed: false,
            };
            slot.send(who, Work::Sms(turn));
        }
    }

    fn durable(mut self: Box<Self>, outcome: crate::store::Result<()>) {
        let Some(responder) = self.responder.take() else {
            return;
        };
        match outcome {
            Ok(()) => responder.respond(CommandStatus::ESME_ROK),
            Err(e) => {
                // The SMSC sends it again; if it was answered meanwhile,
                // the dedupe window drops the resend.
                let operator = &self.operator;
                tracing::warn!(operator = %operator, error = %e, "SMS not journalled; ESME_RX_T_APPN");
                responder.respond(CommandStatus::ESME_RX_T_APPN);
            }
        }
    }
}

impl<S: Store> Drop for SmsIntake<S> {
    fn drop(&mut self) {
        // Never handed to its worker (not journalled, or the store dropped
        // it unanswered): its job is done here. An unanswered responder
        // answers ESME_RX_T_APPN by itself.
        if self.work.take().is_some() {
            self.core.job_done();
        }
    }
}

/// Work left in the journal by the last run: SMS acknowledged but not
/// processed go to their workers; follow-ups are resumed.
pub async fn replay<S: Store>(
    core: &Arc<Core<S>>,
    dispatch: &Dispatch<Work>,
) -> anyhow::Result<()> {
    let mut after = None;
    let (mut sms_n, mut followups) = (0usize, 0usize);
    loop {
        let page = core.store.unprocessed_inbound(after, 256).await?;
        let Some(last) = page.last() else { break };
        after = Some(last.id);
        for m in page {
            match Entry::decode(&m.payload) {
                Some(Entry::Sms(mo)) => {
                    core.in_flight.fetch_add(1, Ordering::AcqRel);
                    let who = subscriber(&mo.source);
                    let turn = sms::Turn {
                        id: m.id,
                        mo,
                        replayed: true,
                    };
                    if dispatch.send(who, Work::Sms(turn)).await.is_err() {
                        core.job_done();
                    }
                    sms_n += 1;
                }
                Some(Entry::FollowUp(f)) => {
                    followup::resume(core, m.id, *f);
                    followups += 1;
                }
                None => {
                    tracing::error!(id = m.id.0, "journal entry does not decode; left in place");
                }
            }
        }
    }
    if sms_n + followups > 0 {
        tracing::info!(sms = sms_n, followups, "replayed the journal");
    }
    Ok(())
}
