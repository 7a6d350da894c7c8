//! `SmscHandle`: what tests hold to observe the SMSC (binds, MTs, counters, protocol errors),
//! wait on readiness, change the scripted behaviour, and trigger one-off faults. It owns no
//! socket; actions go to sessions through their bounded control channels.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use bytes::BytesMut;
use rusmpp::pdus::DeliverSm;
use rusmpp::CommandStatus;
use tokio::sync::oneshot;
use tokio::time::Instant;

use crate::config::{Behaviour, SmscConfig};
use crate::observe::{BindInfo, NackReceived, ProtocolError, Stats, Submitted};
use crate::session::{self, Control};
use crate::smsc::{lock, Shared, SimError, Target};

/// What tests hold. Cloning it is cheap; dropping the last clone does not stop the SMSC,
/// [`SmscHandle::shutdown`] does.
#[derive(Clone)]
pub struct SmscHandle {
    pub(crate) shared: Arc<Shared>,
    pub(crate) local_addr: SocketAddr,
    pub(crate) phones_addr: Option<SocketAddr>,
}

impl std::fmt::Debug for SmscHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SmscHandle")
            .field("local_addr", &self.local_addr)
            .finish()
    }
}

impl SmscHandle {
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }
    /// The phone control port, if [`SmscConfig::phones`] asked for one.
    pub fn phones_addr(&self) -> Option<SocketAddr> {
        self.phones_addr
    }
    /// A phone in this process (USSD and SMS) for a terminal or a test; see [`crate::link`].
    pub fn local_phone(&self, msisdn: &str) -> crate::link::LocalLink {
        crate::link::LocalLink::new(self, msisdn)
    }
    pub fn config(&self) -> &SmscConfig {
        &self.shared.config
    }
    /// The binds that are up now.
    pub fn binds(&self) -> Vec<BindInfo> {
        lock(&self.shared.binds)
            .values()
            .map(|e| e.info.clone())
            .collect()
    }
    pub fn stats(&self) -> Stats {
        self.shared.counters.snapshot()
    }
    /// Malformed or out-of-place PDUs our ESME sent (first 1000).
    pub fn protocol_errors(&self) -> Vec<ProtocolError> {
        lock(&self.shared.protocol_errors).clone()
    }
    /// generic_nacks our ESME sent to the SMSC (first 1000).
    pub fn nacks_received(&self) -> Vec<NackReceived> {
        lock(&self.shared.nacks).clone()
    }

    /// Waits (up to `observe_timeout`) until `ready` holds for the binds and counters.
    pub async fn wait_until(
        &self,
        what: &'static str,
        mut ready: impl FnMut(&[BindInfo], &Stats) -> bool,
    ) -> Result<(), SimError> {
        let mut rx = self.shared.changed.subscribe();
        let t = self.shared.config.observe_timeout;
        let wait = async {
            loop {
                if ready(&self.binds(), &self.stats()) {
                    return;
                }
                if rx.changed().await.is_err() {
                    return;
                }
            }
        };
        tokio::time::timeout(t, wait)
            .await
            .map_err(|_| SimError::Timeout(t, what))
    }
    /// Waits until at least `n` binds are up and returns them.
    pub async fn wait_bound(&self, n: usize) -> Result<Vec<BindInfo>, SimError> {
        self.wait_until("binds", |b, _| b.len() >= n).await?;
        Ok(self.binds())
    }
    /// Waits until at most `n` binds are up (e.g. after `drop_link`).
    pub async fn wait_bound_at_most(&self, n: usize) -> Result<(), SimError> {
        self.wait_until("binds to go down", |b, _| b.len() <= n)
            .await
    }
    /// Waits until `stats` satisfies `ready`, returning the snapshot that did.
    pub async fn wait_stats(&self, ready: impl Fn(&Stats) -> bool) -> Result<Stats, SimError> {
        self.wait_until("counters", |_, s| ready(s)).await?;
        Ok(self.stats())
    }

    /// The next MT no phone claimed, in arrival order, waiting up to `observe_timeout`.
    pub async fn next_submit(&self) -> Result<Submitted, SimError> {
        let t = self.shared.config.observe_timeout;
        let mut rx = self.shared.submits_rx.lock().await;
        match tokio::time::timeout(t, rx.recv()).await {
            Ok(Some(s)) => Ok(s),
            Ok(None) => Err(SimError::BindClosed),
            Err(_) => Err(SimError::Timeout(t, "a submit_sm")),
        }
    }
    /// The next queued MT, if one is already there.
    pub fn try_next_submit(&self) -> Option<Submitted> {
        self.shared.submits_rx.try_lock().ok()?.try_recv().ok()
    }

    pub fn behaviour(&self) -> Behaviour {
        self.shared.behaviour()
    }
    pub fn set_behaviour(&self, b: Behaviour) {
        *lock(&self.shared.behaviour) = b;
    }
    pub fn update_behaviour(&self, f: impl FnOnce(&mut Behaviour)) {
        f(&mut lock(&self.shared.behaviour));
    }
    /// Refuses every bind attempt (ESME_RBINDFAIL) for `d`, measured on tokio's clock.
    pub fn refuse_binds_for(&self, d: Duration) {
        self.shared.refuse_binds_until(Instant::now() + d);
    }

    async fn each(&self, target: &Target, make: impl Fn(oneshot::Sender<()>) -> Control) -> usize {
        let mut done = 0;
        for (_, control) in self.shared.controls(target) {
            let (tx, rx) = oneshot::channel();
            if control.send(make(tx)).await.is_ok() && rx.await.is_ok() {
                done += 1;
            }
        }
        done
    }
    /// Closes the TCP link of the selected binds now, without unbind. Returns how many closed.
    pub async fn drop_link(&self, target: Target) -> usize {
        self.each(&target, |done| Control::Drop { done }).await
    }
    /// Sends unbind to the selected binds; resolves once written. The session closes when the
    /// ESME answers unbind_resp (or closes the link).
    pub async fn send_unbind(&self, target: Target) -> usize {
        self.each(&target, |done| Control::Unbind { done }).await
    }
    /// Writes `bytes` as they are onto the selected links; resolves once written.
    pub async fn send_raw(&self, target: Target, bytes: &[u8]) -> usize {
        let n = self
            .each(&target, |done| Control::Raw {
                bytes: BytesMut::from(bytes),
                done: Some(done),
            })
            .await;
        (0..n).for_each(|_| crate::observe::bump(&self.shared.counters.garbage_sent));
        n
    }
    /// Writes bytes that are not SMPP (no valid header).
    pub async fn send_garbage(&self, target: Target) -> usize {
        self.send_raw(target, b"\x00\x00\x00\x01GARBAGE\xff\xfe\x00not smpp")
            .await
    }
    /// Writes a 16-byte header claiming `command_length` (e.g. 0xFFFF_FFF0) for a deliver_sm.
    pub async fn send_oversized(&self, target: Target, command_length: u32) -> usize {
        let mut bytes = crate::frame::header_only(0x0000_0005, 0, 0x7FFF_FFF0);
        bytes[..4].copy_from_slice(&command_length.to_be_bytes());
        self.send_raw(target, &bytes).await
    }
    /// Sends a deliver_sm of your own making on a bind `target` selects (receiver or
    /// transceiver) and returns the ESME's deliver_sm_resp status.
    pub async fn deliver(&self, target: Target, pdu: DeliverSm) -> Result<CommandStatus, SimError> {
        let control = self.shared.receiver(&target).ok_or(SimError::NoBind)?;
        session::deliver(&control, pdu, self.shared.config.observe_timeout).await
    }
    /// Stops accepting and closes every connection.
    pub async fn shutdown(&self) {
        self.shared.shutdown.cancel();
        let _ = self.wait_bound_at_most(0).await;
    }
}
