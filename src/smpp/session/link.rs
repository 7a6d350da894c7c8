//! One bound connection: a single `select!` over the socket, the operator's
//! shared submit queue, the answers the application gives to inbound PDUs,
//! one timer (enquire_link idle, response deadlines, TPS, drain) and the
//! cancel token. Returns why the link ended; the requests still in flight
//! are answered `Unknown`, never dropped silently.

use std::collections::VecDeque;
use std::pin::pin;
use std::time::Duration;

use bytes::BytesMut;
use futures::{FutureExt, StreamExt};
use tokio::io::{AsyncRead, AsyncWrite, AsyncWriteExt};
use tokio::sync::mpsc;
use tokio::time::Instant;
use tokio_util::codec::FramedRead;

mod answers;
#[cfg(test)]
mod tests;

use super::bind::BindCtx;
use super::inbound::Answer;
use super::throttle::Throttle;
use super::window::Window;
use super::{Request, SubmitResult};
use crate::metrics::{Direction, PduCounters};
use crate::smpp::codec::{self, DecodeError, SmppCodec};
use crate::smpp::pdu::{Body, CommandStatus, Pdu};

/// A write that takes longer than this means the peer stopped reading.
pub const WRITE_TIMEOUT: Duration = Duration::from_secs(10);

/// PDUs handled per wake-up before the answers are written.
const READ_BATCH: usize = 64;

/// The timer's idle setting: nothing due.
const FAR: Duration = Duration::from_secs(86_400);

/// What a sequence number in flight stands for. Nearly every entry is a
/// `Submit`, so boxing it would only add an allocation per submit.
#[allow(clippy::large_enum_variant)]
pub(crate) enum Pending {
    Bind,
    Submit(Request),
    EnquireLink,
    Unbind,
}

/// Why a link ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum End {
    /// EOF, a socket error or a write that timed out.
    Dropped(String),
    /// enquire_link went unanswered.
    Dead,
    /// command_length outside the accepted range: the stream cannot be trusted.
    Framing,
    /// The SMSC unbound us (answered, drained).
    UnbindBySmsc,
    /// Our own graceful unbind finished (or its grace ran out).
    Shutdown,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    Open,
    /// Shutting down: no new submits, the window drains (bounded), then unbind.
    Stopping(Instant),
    /// The SMSC sent unbind: no new submits, wait for outstanding answers.
    Draining(Instant),
    /// We sent unbind and wait for unbind_resp.
    Unbinding,
}

pub(crate) struct Link<'a> {
    ctx: &'a BindCtx,
    window: &'a mut Window<Pending>,
    throttle: &'a mut Throttle,
    retry: VecDeque<Request>,
    wbuf: BytesMut,
    answers_tx: mpsc::Sender<Answer>,
    answers_rx: mpsc::Receiver<Answer>,
    last_rx: Instant,
    state: State,
    end: Option<End>,
    queue_closed: bool,
    /// An enquire_link of ours is in flight.
    enquiring: bool,
    counters: PduCounters,
}

impl<'a> Link<'a> {
    pub fn new(
        ctx: &'a BindCtx,
        window: &'a mut Window<Pending>,
        throttle: &'a mut Throttle,
    ) -> Self {
        let (answers_tx, answers_rx) = mpsc::channel(ctx.options.unanswered_inbound.max(1));
        Link {
            ctx,
            window,
            throttle,
            retry: VecDeque::new(),
            wbuf: BytesMut::with_capacity(16 * 1024),
            answers_tx,
            answers_rx,
            last_rx: Instant::now(),
            state: State::Open,
            end: None,
            queue_closed: ctx.queue.is_none(),
            enquiring: false,
            counters: PduCounters::new(ctx.operator.clone()),
        }
    }

    /// Runs the link until it ends, then settles everything in flight.
    pub async fn run<R, W>(mut self, mut reader: FramedRead<R, SmppCodec>, mut writer: W) -> End
    where
        R: AsyncRead + Unpin,
        W: AsyncWrite + Unpin,
    {
        let mut armed = Instant::now() + FAR;
        let mut fired = false;
        let mut sleep = pin!(tokio::time::sleep_until(armed));
        let cancel = self.ctx.cancel.clone();
        loop {
            let now = Instant::now();
            self.fill(now);
            self.take_answers();
            if !self.wbuf.is_empty() {
                // Flushed too: over TLS, records may wait in the session
                // until flushed (a no-op on plain TCP).
                let wbuf = &mut self.wbuf;
                let w = &mut writer;
                let write = async move {
                    w.write_all_buf(wbuf).await?;
                    w.flush().await
                };
                match tokio::time::timeout(WRITE_TIMEOUT, write).await {
                    Ok(Ok(())) => {}
                    Ok(Err(e)) => self.finish(End::Dropped(format!("write: {e}"))),
                    Err(_) => self.finish(End::Dropped("write timed out".into())),
                }
            }
            if self.end.is_some() {
                break;
            }
            let wake = self.next_wake(now).unwrap_or(now + FAR);
            // Only an earlier wake re-arms: a later one lets the timer fire
            // early and re-arm then (cheaper than a reset per PDU).
            if wake < armed || fired {
                sleep.as_mut().reset(wake);
                armed = wake;
                fired = false;
            }
            let can_pull = self.can_pull(now);
            let queue = self.ctx.queue.clone();
            let urgent = self.ctx.urgent.clone();
            let has_urgent = urgent.is_some();
            tokio::select! {
                biased;
                _ = cancel.cancelled(), if self.state == State::Open => self.stop(),
                item = reader.next() => {
                    self.last_rx = Instant::now();
                    self.on_item(item);
                    // Whatever else is already readable, before writing once.
                    for _ in 0..READ_BATCH {
                        if self.end.is_some() {
                            break;
                        }
                        match reader.next().now_or_never() {
                            Some(item) => self.on_item(item),
                            None => break,
                        }
                    }
                }
                Some(answer) = self.answers_rx.recv() => self.write_answer(answer),
                req = async { urgent?.lock().await.recv().await }, if can_pull && has_urgent => match req {
                    Some(req) => self.send_new(req, Instant::now()),
                    None => self.queue_closed = true,
                },
                req = async { queue?.lock().await.recv().await }, if can_pull => match req {
                    Some(req) => self.send_new(req, Instant::now()),
                    None => self.queue_closed = true,
                },
                _ = &mut sleep => {
                    fired = true;
                    self.on_timer(Instant::now());
                }
            }
        }
        let _ = writer.shutdown().await;
        self.settle()
    }

    fn on_item(&mut self, item: Option<Result<Result<Pdu, DecodeError>, codec::FramingError>>) {
        match item {
            None => self.finish(End::Dropped("closed by the SMSC".into())),
            Some(Err(e)) => self.on_framing_error(e),
            Some(Ok(Ok(pdu))) => {
                self.counters
                    .count(Direction::In, pdu.body.command_id(), pdu.status);
                self.on_pdu(pdu)
            }
            Some(Ok(Err(bad))) => self.on_bad_body(bad),
        }
    }

    fn finish(&mut self, end: End) {
        if self.end.is_none() {
            self.end = Some(end);
        }
    }

    /// Answers every request this link still holds.
    fn settle(mut self) -> End {
        let end = self.end.take().unwrap_or(End::Shutdown);
        let mut unknown = 0u64;
        for (_, pending) in self.window.drain() {
            if let Pending::Submit(req) = pending {
                unknown += 1;
                req.finish(SubmitResult::Unknown);
            }
        }
        for req in self.retry.drain(..) {
            req.finish(SubmitResult::Rejected {
                status: CommandStatus::ESME_RTHROTTLED,
                temporary: true,
            });
        }
        if unknown > 0 {
            tracing::warn!(unknown, reason = ?end, "link ended with submits in flight: reported Unknown");
        }
        self.ctx.stats.add_unknown(unknown);
        self.ctx.stats.set_in_flight(0);
        end
    }

    fn submits(&self) -> bool {
        self.ctx.kind.submits() && self.state == State::Open
    }

    fn can_pull(&mut self, now: Instant) -> bool {
        self.submits()
            && !self.queue_closed
            && self.retry.is_empty()
            && self.window.has_room()
            && self.throttle.ready_at(now).is_none()
    }

    /// Sends what can go without waiting: throttled retries first, then
    /// whatever the shared queue already holds, while there is window room
    /// and a TPS token.
    fn fill(&mut self, now: Instant) {
        while self.submits() && self.window.has_room() && self.throttle.ready_at(now).is_none() {
            if let Some(req) = self.retry.pop_front() {
                self.send(req, now);
                continue;
            }
            if self.queue_closed {
                return;
            }
            // The interactive lane first (USSD screens), then the shared queue.
            let next = match try_pull(&self.ctx.urgent) {
                Err(mpsc::error::TryRecvError::Empty) => try_pull(&self.ctx.queue),
                other => other,
            };
            match next {
                Ok(req) => self.send_new(req, now),
                Err(mpsc::error::TryRecvError::Empty) => return,
                Err(mpsc::error::TryRecvError::Disconnected) => self.queue_closed = true,
            }
        }
    }

    fn send_new(&mut self, req: Request, now: Instant) {
        if req.take() {
            self.send(req, now);
        }
    }

    fn send(&mut self, req: Request, now: Instant) {
        if !self.throttle.try_take(now) {
            // Pulled while a token was there; keep it first in line.
            self.retry.push_front(req);
            return;
        }
        let deadline = now + self.ctx.cfg.response_timeout;
        let Some(seq) = self.window.insert(Pending::Submit(req), deadline) else {
            unreachable!("send is only called with window room");
        };
        if let Some(Pending::Submit(req)) = self.window.get_mut(seq) {
            let body = std::mem::replace(&mut req.body, Body::GenericNack);
            let pdu = Pdu::new(seq, body);
            codec::encode(&pdu, &mut self.wbuf);
            self.counters
                .count(Direction::Out, pdu.body.command_id(), pdu.status);
            req.body = pdu.body;
        }
        self.ctx.stats.set_in_flight(self.window.used());
        self.ctx.stats.set_rate(self.throttle.rate());
    }

    /// Answers the application already gave, into the same write as the
    /// submits (one write per answer was a syscall per deliver_sm).
    fn take_answers(&mut self) {
        for _ in 0..READ_BATCH {
            match self.answers_rx.try_recv() {
                Ok(answer) => self.write_answer(answer),
                Err(_) => return,
            }
        }
    }

    fn write(&mut self, status: CommandStatus, sequence: u32, body: Body) {
        let pdu = Pdu {
            status,
            sequence,
            body,
        };
        codec::encode(&pdu, &mut self.wbuf);
        self.counters
            .count(Direction::Out, pdu.body.command_id(), pdu.status);
    }

    fn next_wake(&mut self, now: Instant) -> Option<Instant> {
        let idle = (self.state == State::Open && !self.enquiring)
            .then(|| self.last_rx + self.ctx.cfg.enquire_link.idle);
        let tps = (self.submits() && self.window.has_room())
            .then(|| self.throttle.ready_at(now))
            .flatten();
        let drain = match self.state {
            State::Draining(until) | State::Stopping(until) => Some(until),
            _ => None,
        };
        [idle, tps, drain, self.window.next_deadline()]
            .into_iter()
            .flatten()
            .min()
    }

    fn on_timer(&mut self, now: Instant) {
        while let Some((seq, pending)) = self.window.pop_expired(now) {
            match pending {
                Pending::Submit(req) => {
                    tracing::warn!(seq, "no submit response in time: Unknown");
                    self.ctx.stats.add_unknown(1);
                    req.finish(SubmitResult::Unknown);
                }
                Pending::EnquireLink => {
                    tracing::warn!(seq, "enquire_link unanswered: link dead");
                    self.enquiring = false;
                    self.finish(End::Dead);
                }
                Pending::Unbind => {
                    tracing::info!("no unbind_resp within the grace; closing");
                    self.finish(End::Shutdown);
                }
                Pending::Bind => {}
            }
        }
        self.ctx.stats.set_in_flight(self.window.used());
        match self.state {
            State::Draining(until) if now >= until => self.finish(End::UnbindBySmsc),
            State::Stopping(until) if now >= until => self.unbind(),
            _ => {}
        }
        if self.state == State::Open
            && self.end.is_none()
            && !self.enquiring
            && now >= self.last_rx + self.ctx.cfg.enquire_link.idle
        {
            let deadline = now + self.ctx.cfg.enquire_link.timeout;
            let seq = self.window.insert_uncounted(Pending::EnquireLink, deadline);
            self.enquiring = true;
            tracing::debug!(seq, "link idle: enquire_link");
            self.write(CommandStatus::ESME_ROK, seq, Body::EnquireLink);
        }
    }

    /// Graceful shutdown: stop submitting, let the window drain (bounded),
    /// then unbind.
    fn stop(&mut self) {
        if self.window.used() == 0 {
            return self.unbind();
        }
        tracing::info!(
            in_flight = self.window.used(),
            "shutting down: draining the window"
        );
        self.state = State::Stopping(Instant::now() + self.ctx.options.unbind_grace);
    }

    /// Sends unbind and waits (bounded) for unbind_resp.
    fn unbind(&mut self) {
        self.state = State::Unbinding;
        let deadline = Instant::now() + self.ctx.options.unbind_grace;
        let seq = self.window.insert_uncounted(Pending::Unbind, deadline);
        tracing::info!(seq, "shutting down: unbind");
        self.write(CommandStatus::ESME_ROK, seq, Body::Unbind);
    }
}

/// The next request of `lane` if one is waiting (a lane another bind is
/// pulling from right now counts as empty).
fn try_pull(
    lane: &Option<std::sync::Arc<tokio::sync::Mutex<mpsc::Receiver<Request>>>>,
) -> Result<Request, mpsc::error::TryRecvError> {
    let Some(lane) = lane else {
        return Err(mpsc::error::TryRecvError::Empty);
    };
    let Ok(mut rx) = lane.try_lock() else {
        return Err(mpsc::error::TryRecvError::Empty);
    };
    rx.try_recv()
}
