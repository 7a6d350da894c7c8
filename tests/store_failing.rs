//! Storage failing under the running gateway, for machines where
//! tests/store_faults.rs cannot mount a small tmpfs: a [`Store`] that wraps
//! the real sled store and fails every durable write with
//! `Error::DiskFull` while switched on, and can hold the write of an SMS's
//! replies (a slow disk). The gateway (in process, real SMPP on loopback,
//! the simulator SMSC) must answer MOs ESME_RX_T_APPN rather than
//! acknowledge what it could not keep, keep running, and take traffic
//! again once writes succeed. A one-part reply needs no write of its own
//! (its MO leaves the journal once it is sent); one the SMSC refuses is
//! queued with its MO out of the journal, or, if that write fails, leaves
//! the MO journalled; a longer one waits for its write.

mod runtime_common;

use std::future::Future;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::watch;

use bawaba::runtime::Gateway;
use bawaba::store::*;
use bawaba_sim::rusmpp::CommandStatus;
use bawaba_sim::{Behaviour, SmscConfig};
use runtime_common::{pds_balance, Rig};

/// The sled store, with durable writes failing while `full` is set,
/// replies' writes waiting while `hold` is true, an MO's journal write
/// failing after it was handed out (`sync_fails`: its sync failed, and it
/// is cut back) and session reads failing (`sessions_fail`).
struct Failing {
    inner: SledStore,
    full: AtomicBool,
    hold: watch::Sender<bool>,
    sync_fails: AtomicBool,
    sessions_fail: AtomicBool,
}

/// `write`, or `Error::DiskFull` without running it when `full`.
async fn gated<T>(full: bool, write: impl Future<Output = Result<T>>) -> Result<T> {
    if full {
        return Err(Error::DiskFull);
    }
    write.await
}

impl Failing {
    fn full(&self) -> bool {
        self.full.load(Ordering::SeqCst)
    }
}

impl Store for Failing {
    fn get_session(
        &self,
        key: &SessionKey,
    ) -> impl Future<Output = Result<Option<Session>>> + Send {
        let fail = self.sessions_fail.load(Ordering::SeqCst);
        let read = self.inner.get_session(key);
        async move {
            if fail {
                return Err(Error::Internal("session read failed (test)".into()));
            }
            read.await
        }
    }

    fn put_session(
        &self,
        key: &SessionKey,
        expected: Option<Version>,
        data: Vec<u8>,
        expires_at: Timestamp,
    ) -> impl Future<Output = Result<Version>> + Send {
        self.inner.put_session(key, expected, data, expires_at)
    }

    fn delete_session(&self, key: &SessionKey) -> impl Future<Output = Result<bool>> + Send {
        self.inner.delete_session(key)
    }

    fn sweep_expired(
        &self,
        now: Timestamp,
        max: usize,
    ) -> impl Future<Output = Result<Vec<SessionKey>>> + Send {
        self.inner.sweep_expired(now, max)
    }

    fn get_profile(
        &self,
        who: &SubscriberKey,
    ) -> impl Future<Output = Result<Option<Vec<u8>>>> + Send {
        self.inner.get_profile(who)
    }

    fn put_profile(
        &self,
        who: &SubscriberKey,
        data: Vec<u8>,
    ) -> impl Future<Output = Result<()>> + Send {
        self.inner.put_profile(who, data)
    }

    fn append_inbound(
        &self,
        payload: Vec<u8>,
        received_at: Timestamp,
    ) -> impl Future<Output = Result<InboundId>> + Send {
        gated(self.full(), self.inner.append_inbound(payload, received_at))
    }

    async fn journal_inbound(
        &self,
        payload: Vec<u8>,
        received_at: Timestamp,
        mut intake: Box<dyn Intake>,
    ) {
        if self.full() {
            return intake.durable(Err(Error::DiskFull));
        }
        if !self.sync_fails.load(Ordering::SeqCst) {
            return self
                .inner
                .journal_inbound(payload, received_at, intake)
                .await;
        }
        // Written, then, as the journal does with a write whose sync
        // failed, cut back; the MO is still worked on.
        let id = match self.inner.append_inbound(payload, received_at).await {
            Ok(id) => id,
            Err(e) => return intake.durable(Err(e)),
        };
        if let Err(e) = self.inner.mark_inbound_processed(id).await {
            return intake.durable(Err(e));
        }
        intake.journalled(id);
        intake.durable(Err(Error::DiskFull));
    }

    fn mark_inbound_processed(&self, id: InboundId) -> impl Future<Output = Result<bool>> + Send {
        self.inner.mark_inbound_processed(id)
    }

    fn sweep_inbound(
        &self,
        before: Timestamp,
        max: usize,
    ) -> impl Future<Output = Result<usize>> + Send {
        self.inner.sweep_inbound(before, max)
    }

    fn sweep_failed_outbound(
        &self,
        before: Timestamp,
        max: usize,
    ) -> impl Future<Output = Result<usize>> + Send {
        self.inner.sweep_failed_outbound(before, max)
    }

    fn unprocessed_inbound(
        &self,
        after: Option<InboundId>,
        max: usize,
    ) -> impl Future<Output = Result<Vec<InboundMessage>>> + Send {
        self.inner.unprocessed_inbound(after, max)
    }

    fn enqueue_outbound(
        &self,
        msg: NewOutbound,
    ) -> impl Future<Output = Result<OutboundId>> + Send {
        gated(self.full(), self.inner.enqueue_outbound(msg))
    }

    fn claim(
        &self,
        n: usize,
        now: Timestamp,
        lease: Duration,
    ) -> impl Future<Output = Result<Vec<Claimed>>> + Send {
        self.inner.claim(n, now, lease)
    }

    fn complete(&self, lease: Lease) -> impl Future<Output = Result<()>> + Send {
        self.inner.complete(lease)
    }

    fn fail(&self, lease: Lease, now: Timestamp) -> impl Future<Output = Result<()>> + Send {
        self.inner.fail(lease, now)
    }

    fn reschedule(
        &self,
        lease: Lease,
        due_at: Timestamp,
    ) -> impl Future<Output = Result<()>> + Send {
        self.inner.reschedule(lease, due_at)
    }

    fn get_outbound(
        &self,
        id: OutboundId,
    ) -> impl Future<Output = Result<Option<OutboundMessage>>> + Send {
        self.inner.get_outbound(id)
    }

    fn check_and_insert(
        &self,
        key: &DedupeKey,
        now: Timestamp,
        ttl: Duration,
    ) -> impl Future<Output = Result<Dedupe>> + Send {
        self.inner.check_and_insert(key, now, ttl)
    }

    fn withdraw_dedupe(
        &self,
        key: &DedupeKey,
        first: Timestamp,
    ) -> impl Future<Output = Result<()>> + Send {
        self.inner.withdraw_dedupe(key, first)
    }

    fn sweep_dedupe(
        &self,
        now: Timestamp,
        max: usize,
    ) -> impl Future<Output = Result<usize>> + Send {
        self.inner.sweep_dedupe(now, max)
    }

    fn link_receipt(
        &self,
        id: &MessageId,
        outbound: OutboundId,
        expires_at: Timestamp,
    ) -> impl Future<Output = Result<Receipt>> + Send {
        gated(
            self.full(),
            self.inner.link_receipt(id, outbound, expires_at),
        )
    }

    fn record_receipt(
        &self,
        id: &MessageId,
        status: Vec<u8>,
        expires_at: Timestamp,
    ) -> impl Future<Output = Result<Receipt>> + Send {
        gated(
            self.full(),
            self.inner.record_receipt(id, status, expires_at),
        )
    }

    fn receipt_status(
        &self,
        id: &MessageId,
    ) -> impl Future<Output = Result<Option<Receipt>>> + Send {
        self.inner.receipt_status(id)
    }

    fn sweep_receipts(
        &self,
        now: Timestamp,
        max: usize,
    ) -> impl Future<Output = Result<usize>> + Send {
        self.inner.sweep_receipts(now, max)
    }

    fn sync(&self) -> impl Future<Output = Result<()>> + Send {
        gated(self.full(), self.inner.sync())
    }

    fn enqueue_replies(
        &self,
        msgs: Vec<NewOutbound>,
        done: Vec<InboundId>,
    ) -> impl Future<Output = Result<Vec<OutboundId>>> + Send {
        let mut hold = self.hold.subscribe();
        async move {
            let _ = hold.wait_for(|held| !*held).await;
            gated(self.full(), self.inner.enqueue_replies(msgs, done)).await
        }
    }

    fn enqueue_outbound_once(
        &self,
        key: &MessageId,
        msg: NewOutbound,
        expires_at: Timestamp,
    ) -> impl Future<Output = Result<(OutboundId, bool)>> + Send {
        gated(
            self.full(),
            self.inner.enqueue_outbound_once(key, msg, expires_at),
        )
    }

    fn append_audit(&self, record: Vec<u8>) -> impl Future<Output = Result<AuditEntry>> + Send {
        gated(self.full(), self.inner.append_audit(record))
    }

    fn audit_entries(
        &self,
        after: u64,
        max: usize,
    ) -> impl Future<Output = Result<Vec<AuditEntry>>> + Send {
        self.inner.audit_entries(after, max)
    }

    fn put_flow_source(
        &self,
        id: &str,
        version: u32,
        record: Vec<u8>,
    ) -> impl Future<Output = Result<()>> + Send {
        self.inner.put_flow_source(id, version, record)
    }

    fn get_flow_source(
        &self,
        id: &str,
        version: u32,
    ) -> impl Future<Output = Result<Option<Vec<u8>>>> + Send {
        self.inner.get_flow_source(id, version)
    }

    fn append_flow_history(&self, record: Vec<u8>) -> impl Future<Output = Result<u64>> + Send {
        self.inner.append_flow_history(record)
    }

    fn flow_history(
        &self,
        before: u64,
        max: usize,
    ) -> impl Future<Output = Result<Vec<(u64, Vec<u8>)>>> + Send {
        self.inner.flow_history(before, max)
    }

    fn list_sessions(
        &self,
        after: Option<&SessionKey>,
        max: usize,
    ) -> impl Future<Output = Result<Vec<(SessionKey, Session)>>> + Send {
        self.inner.list_sessions(after, max)
    }
}

/// The rig (its own gateway stopped) and a gateway on a [`Failing`] store.
async fn failing_gateway() -> (Rig, Arc<Failing>, bawaba::runtime::GatewayHandle) {
    failing_gateway_with(Behaviour::default()).await
}

/// [`failing_gateway`] with an SMSC that behaves so.
async fn failing_gateway_with(
    behaviour: Behaviour,
) -> (Rig, Arc<Failing>, bawaba::runtime::GatewayHandle) {
    let mut sc = SmscConfig::local("bawaba", "secret");
    sc.behaviour = behaviour;
    let mut rig = Rig::with_smsc(Default::default(), pds_balance(Duration::ZERO), sc).await;
    rig.stop().await;
    let sled = SledStore::open(SledConfig::new(rig.dir.path().join("failing")))
        .await
        .expect("store opens");
    let store = Arc::new(Failing {
        inner: sled,
        full: AtomicBool::new(false),
        hold: watch::Sender::new(false),
        sync_fails: AtomicBool::new(false),
        sessions_fail: AtomicBool::new(false),
    });
    let gw = Gateway::new(
        rig.config.clone(),
        store.clone(),
        rig.flows.clone(),
        rig.calls.clone(),
    )
    .start()
    .await
    .expect("gateway starts");
    assert!(gw.wait_bound(Duration::from_secs(10)).await);
    rig.smsc.wait_bound(1).await.unwrap();
    (rig, store, gw)
}

/// Polls `ok` (bounded) until it holds.
async fn until(what: &str, mut ok: impl AsyncFnMut() -> bool) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while !ok().await {
        assert!(tokio::time::Instant::now() < deadline, "still not: {what}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// True if no SMS reaches `phone` within a second.
async fn nothing_more(phone: &mut bawaba_sim::SmsPhone) -> bool {
    let wait = Duration::from_secs(1);
    !matches!(
        tokio::time::timeout(wait, phone.next_message()).await,
        Ok(Ok(_))
    )
}

async fn journalled(store: &Failing) -> usize {
    store
        .inner
        .unprocessed_inbound(None, 100)
        .await
        .unwrap()
        .len()
}

/// Writes succeed again: `text` from `phone` is acknowledged and answered.
async fn traffic_resumes(store: &Failing, phone: &mut bawaba_sim::SmsPhone, text: &str) {
    store.full.store(false, Ordering::SeqCst);
    assert_eq!(
        phone.send("2150", text).await.unwrap(),
        [CommandStatus::EsmeRok]
    );
    phone.next_message().await.expect("traffic resumes");
}

/// With replies' writes held, a word that is no keyword (the fallback
/// reply, one SMS part) from `phone`: acknowledged, and answered anyway.
async fn answered_while_held(
    store: &Failing,
    phone: &mut bawaba_sim::SmsPhone,
) -> bawaba_sim::SmsMessage {
    store.hold.send_replace(true);
    assert_eq!(
        phone.send("2150", "hello?").await.unwrap(),
        [CommandStatus::EsmeRok]
    );
    phone.next_message().await.expect("the reply, write held")
}

/// MTs left to claim with every lease and hold run out.
async fn claimable(store: &Failing) -> usize {
    let later = Timestamp(u64::MAX / 2);
    let left = store.inner.claim(10, later, Duration::from_secs(1)).await;
    left.unwrap().len()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_one_part_reply_needs_no_write_and_a_longer_one_waits_for_its_own() {
    let (rig, store, gw) = failing_gateway().await;
    let mut phone = rig.smsc.sms("9647801112233");
    // Replies' writes held: the one-part answer has none, and once it is
    // sent its MO leaves the journal all the same.
    let reply = answered_while_held(&store, &mut phone).await;
    assert_eq!(reply.text, rig.config.sms.fallback.ar);
    until("the MO out of the journal", async || {
        journalled(&store).await == 0
    })
    .await;
    assert_eq!(claimable(&store).await, 0, "nothing stored for it");
    assert!(nothing_more(&mut phone).await, "the reply went out twice");

    // The menu takes several parts, which carry the MT's id: it waits.
    phone.send("2150", "HELP").await.unwrap();
    assert!(
        nothing_more(&mut phone).await,
        "parts sent without their id"
    );
    store.hold.send_replace(false);
    let menu = phone.next_message().await.expect("the menu, once written");
    assert!(menu.text.contains("1."), "{}", menu.text);
    until("its write landed", async || journalled(&store).await == 0).await;
    assert!(nothing_more(&mut phone).await, "the menu went out twice");
    assert_eq!(claimable(&store).await, 0, "settled after its write");
    gw.shutdown().await;
}

/// A gateway on a [`Failing`] store whose SMSC refuses every second
/// submit_sm with ESME_RMSGQFUL (retried in minutes), and a phone that has
/// had its first reply: the next one will be refused.
async fn next_reply_refused() -> (
    Rig,
    Arc<Failing>,
    bawaba::runtime::GatewayHandle,
    bawaba_sim::SmsPhone,
) {
    let every_other = Behaviour {
        queue_full_every: Some(2),
        ..Behaviour::default()
    };
    let (rig, store, gw) = failing_gateway_with(every_other).await;
    let mut phone = rig.smsc.sms("9647801112233");
    phone.send("2150", "hello?").await.unwrap();
    phone.next_message().await.expect("the first reply");
    (rig, store, gw, phone)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reply_refused_at_once_is_queued_with_its_mo_out_of_the_journal() {
    let (rig, store, gw, mut phone) = next_reply_refused().await;
    // The second is refused: queued the ordinary way (due in minutes),
    // the MO leaving the journal in the same write.
    phone.send("2150", "hello again?").await.unwrap();
    until("the MO out of the journal", async || {
        journalled(&store).await == 0
    })
    .await;
    assert_eq!(rig.smsc.stats().queue_full, 1);
    assert_eq!(claimable(&store).await, 1, "the refused reply, queued");
    gw.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_reply_whose_write_fails_leaves_its_mo_journalled() {
    let (rig, store, gw, mut phone) = next_reply_refused().await;
    store.hold.send_replace(true);
    phone.send("2150", "hello again?").await.unwrap();
    store.full.store(true, Ordering::SeqCst);
    store.hold.send_replace(false);
    // Refused, and its write fails: nothing is queued or sent again; the
    // MO stays to be processed at the next start.
    assert!(nothing_more(&mut phone).await, "sent again");
    assert_eq!(rig.smsc.stats().queue_full, 1);
    assert_eq!(journalled(&store).await, 1);
    assert_eq!(claimable(&store).await, 0);

    traffic_resumes(&store, &mut phone, "hello, third time?").await;
    gw.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn durable_writes_failing_are_refused_with_rx_t_appn_then_traffic_resumes() {
    let (rig, store, gw) = failing_gateway().await;

    let mut phone = rig.smsc.sms("9647801112233");
    assert_eq!(
        phone.send("2150", "HELP").await.unwrap(),
        [CommandStatus::EsmeRok]
    );
    phone.next_message().await.expect("reply");

    store.full.store(true, Ordering::SeqCst);
    for i in 0..5 {
        let s = phone.send("2150", &format!("HELP {i}")).await.unwrap();
        assert_eq!(
            s,
            [CommandStatus::EsmeRxTAppn],
            "MO {i} acknowledged on a full disk"
        );
    }
    // USSD still answers (its sessions need no forced write).
    let mut ussd = rig.smsc.ussd("9647801112244");
    let menu = ussd.dial("*123#").await.expect("a screen");
    assert!(!menu.end, "{menu:?}");

    traffic_resumes(&store, &mut phone, "HELP again").await;
    gw.shutdown().await;
}

/// An MO is worked on while its journal write is synced. When that sync
/// fails the SMSC is refused and sends the MO again: a reply already sent
/// is not sent again for the resend, and an MO whose turn failed as well
/// is answered when it comes again (not dropped as a duplicate).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_mo_whose_sync_fails_is_refused_and_its_resend_answered_once() {
    let (rig, store, gw) = failing_gateway().await;
    let mut phone = rig.smsc.sms("9647801112244");
    let refused = [CommandStatus::EsmeRxTAppn];
    let ok = [CommandStatus::EsmeRok];

    store.sync_fails.store(true, Ordering::SeqCst);
    assert_eq!(phone.send("2150", "hello?").await.unwrap(), refused);
    let reply = phone.next_message().await.expect("answered meanwhile");
    assert_eq!(reply.text, rig.config.sms.fallback.ar);
    store.sync_fails.store(false, Ordering::SeqCst);
    assert_eq!(phone.send("2150", "hello?").await.unwrap(), ok);
    assert!(
        nothing_more(&mut phone).await,
        "the resend was answered again"
    );

    store.sync_fails.store(true, Ordering::SeqCst);
    store.sessions_fail.store(true, Ordering::SeqCst);
    assert_eq!(phone.send("2150", "anyone?").await.unwrap(), refused);
    assert!(nothing_more(&mut phone).await, "a failed turn answered");
    store.sync_fails.store(false, Ordering::SeqCst);
    store.sessions_fail.store(false, Ordering::SeqCst);
    assert_eq!(phone.send("2150", "anyone?").await.unwrap(), ok);
    let reply = phone.next_message().await.expect("the resend answered");
    assert_eq!(reply.text, rig.config.sms.fallback.ar);
    until("the MOs out of the journal", async || {
        journalled(&store).await == 0
    })
    .await;
    gw.shutdown().await;
}
