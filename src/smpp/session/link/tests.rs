//! The link on a paused clock over an in-memory pipe: timer behaviour is
//! exact here (enquire_link at the idle time, dead at idle + timeout, the
//! response timer), and "nothing more was sent" can be asserted, because
//! the clock only moves when every task is idle.

use std::sync::Arc;
use std::time::Duration;

use futures::StreamExt;
use tokio::io::{AsyncWriteExt, DuplexStream, ReadHalf};
use tokio::sync::{mpsc, watch, Mutex};
use tokio::time::Instant;
use tokio_util::codec::FramedRead;
use tokio_util::sync::CancellationToken;

use super::{End, Link};
use crate::config::Config;
use crate::smpp::codec::{self, SmppCodec};
use crate::smpp::pdu::{Body, CommandId, CommandStatus, Pdu, Sm};
use crate::smpp::session::bind::{BindCtx, Kind};
use crate::smpp::session::operator::Counters;
use crate::smpp::session::throttle::Throttle;
use crate::smpp::session::window::Window;
use crate::smpp::session::{Options, Request, SubmitResult, Ticket};

struct Smsc {
    rx: FramedRead<ReadHalf<DuplexStream>, SmppCodec>,
    tx: tokio::io::WriteHalf<DuplexStream>,
}

impl Smsc {
    async fn next(&mut self) -> Pdu {
        self.next_or_closed().await.expect("the link is open")
    }
    async fn next_or_closed(&mut self) -> Option<Pdu> {
        let frame = self.rx.next().await?;
        Some(frame.expect("framed").expect("decodes"))
    }
    /// The next PDU if one comes within `d` (of paused time) before the
    /// link closes.
    async fn within(&mut self, d: Duration) -> Option<Pdu> {
        tokio::time::timeout(d, self.next_or_closed())
            .await
            .ok()
            .flatten()
    }
    async fn send(&mut self, pdu: Pdu) {
        let mut buf = bytes::BytesMut::new();
        codec::encode(&pdu, &mut buf);
        self.tx.write_all(&buf).await.unwrap();
    }
}

/// Starts a link with window 2; returns the SMSC end, the submit queue and
/// the link task.
fn link(
    edit: impl FnOnce(&mut crate::config::Operator),
) -> (Smsc, mpsc::Sender<Request>, tokio::task::JoinHandle<End>) {
    link_with_pipe(64 * 1024, edit)
}

fn link_with_pipe(
    pipe: usize,
    edit: impl FnOnce(&mut crate::config::Operator),
) -> (Smsc, mpsc::Sender<Request>, tokio::task::JoinHandle<End>) {
    let toml = "[[operators]]\nname = \"t\"\nhost = \"127.0.0.1\"\nport = 1\nsystem_id = \"a\"\npassword = \"b\"\nwindow = 2\n";
    let mut cfg = Config::from_str(toml, "t.toml")
        .unwrap()
        .operators
        .remove(0);
    edit(&mut cfg);
    let (queue_tx, queue_rx) = mpsc::channel(64);
    let (inbound, _) = mpsc::channel(1);
    let ctx = BindCtx {
        operator: Arc::from("t"),
        index: 0,
        kind: Kind::Transceiver,
        tps: 1000,
        cfg: Arc::new(cfg),
        options: Options::default(),
        queue: Some(Arc::new(Mutex::new(queue_rx))),
        urgent: None,
        inbound,
        stats: Arc::new(Counters::default()),
        bound: watch::channel(Default::default()).0,
        cancel: CancellationToken::new(),
    };
    let (esme, smsc) = tokio::io::duplex(pipe);
    let task = tokio::spawn(async move {
        let (r, w) = tokio::io::split(esme);
        let mut window = Window::new(ctx.cfg.window as usize, 1);
        let mut throttle = Throttle::new(ctx.tps, Instant::now());
        Link::new(&ctx, &mut window, &mut throttle)
            .run(FramedRead::new(r, SmppCodec::new()), w)
            .await
    });
    let (r, tx) = tokio::io::split(smsc);
    let smsc = Smsc {
        rx: FramedRead::new(r, SmppCodec::new()),
        tx,
    };
    (smsc, queue_tx, task)
}

async fn submit(queue: &mpsc::Sender<Request>) -> Ticket {
    let (req, ticket) = Request::new(Body::SubmitSm(Sm::default()));
    queue.send(req).await.unwrap();
    ticket
}

fn far() -> Instant {
    Instant::now() + Duration::from_secs(3600)
}

#[tokio::test(start_paused = true)]
async fn enquire_link_after_exactly_the_idle_time_and_dead_after_the_timeout() {
    let (mut smsc, _queue, task) = link(|c| {
        c.enquire_link.idle = Duration::from_secs(30);
        c.enquire_link.timeout = Duration::from_secs(10);
    });
    let t0 = Instant::now();
    let el = smsc.next().await;
    assert_eq!(el.command_id(), CommandId::ENQUIRE_LINK);
    assert_eq!(t0.elapsed(), Duration::from_secs(30));
    smsc.send(Pdu::new(el.sequence, Body::EnquireLinkResp))
        .await;
    // Answered: the next one comes 30 s after that answer, not before.
    let el = smsc.next().await;
    assert_eq!(el.command_id(), CommandId::ENQUIRE_LINK);
    assert_eq!(t0.elapsed(), Duration::from_secs(60));
    // Not answered: dead 10 s later, and nothing else was sent meanwhile.
    assert_eq!(task.await.unwrap(), End::Dead);
    assert_eq!(t0.elapsed(), Duration::from_secs(70));
    assert!(smsc.within(Duration::from_secs(1)).await.is_none());
}

#[tokio::test(start_paused = true)]
async fn the_window_holds_the_third_submit_until_an_answer_frees_a_slot() {
    let (mut smsc, queue, task) = link(|c| {
        c.response_timeout = Duration::from_secs(30);
        c.enquire_link.idle = Duration::from_secs(300);
    });
    let mut tickets = Vec::new();
    for _ in 0..3 {
        tickets.push(submit(&queue).await);
    }
    let a = smsc.next().await;
    let b = smsc.next().await;
    assert_eq!(
        (a.command_id(), b.command_id()),
        (CommandId::SUBMIT_SM, CommandId::SUBMIT_SM)
    );
    assert_ne!(a.sequence, b.sequence);
    assert!(
        smsc.within(Duration::from_secs(5)).await.is_none(),
        "window 2 exceeded"
    );
    let resp = Body::SubmitSmResp {
        message_id: "m1".into(),
    };
    smsc.send(Pdu::new(a.sequence, resp)).await;
    let c = smsc.next().await;
    assert_eq!(c.command_id(), CommandId::SUBMIT_SM);
    assert!(![a.sequence, b.sequence].contains(&c.sequence));
    let mut tickets = tickets.into_iter();
    let first = tickets.next().unwrap().wait(far()).await;
    assert_eq!(
        first,
        SubmitResult::Accepted {
            message_id: "m1".into()
        }
    );
    // b and c are never answered: Unknown when their response timers fire
    // (30 s after they were sent), and the link stays up.
    let t0 = Instant::now();
    for t in tickets {
        assert_eq!(t.wait(far()).await, SubmitResult::Unknown);
    }
    assert!(t0.elapsed() <= Duration::from_secs(30));
    assert!(!task.is_finished());
    smsc.send(Pdu {
        status: CommandStatus::ESME_ROK,
        sequence: 77,
        body: Body::EnquireLink,
    })
    .await;
    let resp = smsc.next().await;
    assert_eq!(
        (resp.command_id(), resp.sequence),
        (CommandId::ENQUIRE_LINK_RESP, 77)
    );
    task.abort();
}

/// A peer that stops reading (half-open link): the write times out, the
/// link ends, and what was sent is Unknown, never lost.
#[tokio::test(start_paused = true)]
async fn a_peer_that_stops_reading_ends_the_link_after_the_write_timeout() {
    let (_smsc, queue, task) = link_with_pipe(256, |c| c.window = 40);
    let mut tickets = Vec::new();
    for _ in 0..40 {
        tickets.push(submit(&queue).await);
    }
    let t0 = Instant::now();
    let end = task.await.unwrap();
    assert_eq!(end, End::Dropped("write timed out".into()));
    let waited = t0.elapsed();
    assert!(
        waited >= super::WRITE_TIMEOUT - Duration::from_millis(50),
        "{waited:?}"
    );
    assert!(
        waited < super::WRITE_TIMEOUT + Duration::from_secs(1),
        "{waited:?}"
    );
    // Taken and (partly) written: Unknown. Never taken from the queue (the
    // write blocked first): not sent, NotBound here, since this test's
    // queue dies with the link (an Operator's queue outlives its links).
    let mut unknown = 0;
    for t in tickets {
        match t.wait(far()).await {
            SubmitResult::Unknown => unknown += 1,
            SubmitResult::NotBound => {}
            other => panic!("{other:?}"),
        }
    }
    assert!(unknown >= 6, "only {unknown} were in flight");
}
