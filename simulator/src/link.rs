//! How a phone user interface reaches the SMSC: the [`PhoneLink`] trait and its two ends.
//! [`LocalLink`] drives a [`UssdPhone`] and an [`SmsPhone`] in this process (what the phone
//! port serves and what `bawaba demo` embeds); [`RemoteLink`] speaks the JSON-lines control
//! protocol to a separately running SMSC's phone port. Neither prints anything.

use std::future::Future;

use rusmpp::CommandStatus;
use thiserror::Error;
use tokio::io::{AsyncWriteExt, BufReader};
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::net::{TcpStream, ToSocketAddrs};
use tokio::sync::mpsc;
use tokio::task::JoinSet;

use crate::control::{Event, Line, LineReader, Request, MAX_LINE};
use crate::{Screen, SimError, SmsPhone, SmscHandle, UssdPhone};

/// Why a link failed. A failed request is not a link error: it arrives as [`Event::Error`].
#[derive(Debug, Error)]
pub enum LinkError {
    #[error("the link closed")]
    Closed,
    #[error("a {0} request is still in flight; wait for its answer")]
    Busy(&'static str),
    #[error("the SMSC refused the phone: {0}")]
    Refused(String),
    #[error("the SMSC sent a line we do not understand: {0}")]
    Protocol(String),
    #[error("I/O: {0}")]
    Io(#[from] std::io::Error),
}

/// A phone's connection to an SMSC: requests go out, events come back in order.
pub trait PhoneLink: Send {
    /// Hands a request over; its answer (screen, sms-sent, aborted or error) is an event.
    fn send(&mut self, req: Request) -> impl Future<Output = Result<(), LinkError>> + Send;
    /// The next event. Cancel-safe, so a UI can `select!` it against user input.
    fn next_event(&mut self) -> impl Future<Output = Result<Event, LinkError>> + Send;
}

/// Requests queued per worker beyond the one in flight.
const QUEUED: usize = 1;
/// Events buffered for a slow reader; workers wait (and the SMSC queues MTs) beyond it.
const EVENTS: usize = 64;

enum UssdCmd {
    Dial(String),
    Reply(String),
    Abort,
}

impl UssdCmd {
    fn name(&self) -> &'static str {
        match self {
            UssdCmd::Dial(_) => "dial",
            UssdCmd::Reply(_) => "reply",
            UssdCmd::Abort => "abort",
        }
    }
}

/// A phone in this process, on an [`SmscHandle`]. From creation on, SMS to its MSISDN come to
/// it (see [`SmscHandle::sms`]). Dropping it stops its tasks.
pub struct LocalLink {
    ussd: mpsc::Sender<UssdCmd>,
    sms: mpsc::Sender<(String, String)>,
    events: mpsc::Receiver<Event>,
    _tasks: JoinSet<()>,
}

impl std::fmt::Debug for LocalLink {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LocalLink").finish_non_exhaustive()
    }
}

impl LocalLink {
    /// Must be called inside a tokio runtime: it spawns the phone's two tasks.
    pub fn new(smsc: &SmscHandle, msisdn: &str) -> Self {
        let (events_tx, events) = mpsc::channel(EVENTS);
        let (ussd, ussd_rx) = mpsc::channel(QUEUED);
        let (sms, sms_rx) = mpsc::channel(QUEUED);
        let mut tasks = JoinSet::new();
        tasks.spawn(ussd_worker(smsc.ussd(msisdn), ussd_rx, events_tx.clone()));
        tasks.spawn(sms_worker(smsc.sms(msisdn), sms_rx, events_tx));
        Self {
            ussd,
            sms,
            events,
            _tasks: tasks,
        }
    }
}

impl PhoneLink for LocalLink {
    async fn send(&mut self, req: Request) -> Result<(), LinkError> {
        let name = req.name();
        let queued = match req {
            Request::Hello { .. } => {
                return Err(LinkError::Protocol("hello on an open link".into()))
            }
            Request::Dial { code } => self.ussd.try_send(UssdCmd::Dial(code)).is_ok(),
            Request::Reply { text } => self.ussd.try_send(UssdCmd::Reply(text)).is_ok(),
            Request::Abort => self.ussd.try_send(UssdCmd::Abort).is_ok(),
            Request::SmsSend { to, text } => self.sms.try_send((to, text)).is_ok(),
        };
        if queued {
            Ok(())
        } else {
            Err(LinkError::Busy(name))
        }
    }
    async fn next_event(&mut self) -> Result<Event, LinkError> {
        self.events.recv().await.ok_or(LinkError::Closed)
    }
}

fn screen(r: Result<Screen, SimError>, request: &str) -> Event {
    match r {
        Ok(s) => Event::Screen {
            text: s.text,
            end: s.end,
        },
        Err(e) => Event::error(e.to_string(), Some(request)),
    }
}

async fn ussd_worker(
    mut phone: UssdPhone,
    mut rx: mpsc::Receiver<UssdCmd>,
    tx: mpsc::Sender<Event>,
) {
    while let Some(cmd) = rx.recv().await {
        let event = match cmd {
            UssdCmd::Abort => Some(abort(&mut phone).await),
            UssdCmd::Dial(code) => turn(&mut phone, &mut rx, &tx, true, &code).await,
            UssdCmd::Reply(text) => turn(&mut phone, &mut rx, &tx, false, &text).await,
        };
        let Some(event) = event else { return };
        if tx.send(event).await.is_err() {
            return;
        }
    }
}

/// A dial or reply, waiting for the gateway's screen. An abort typed meanwhile cancels the
/// wait and aborts (as hanging up does; the turn gets no answer of its own); other requests are
/// answered "busy". `None` when the link is gone.
async fn turn(
    phone: &mut UssdPhone,
    rx: &mut mpsc::Receiver<UssdCmd>,
    tx: &mpsc::Sender<Event>,
    dial: bool,
    text: &str,
) -> Option<Event> {
    let name = if dial { "dial" } else { "reply" };
    {
        let wait = async {
            if dial {
                phone.dial(text).await
            } else {
                phone.reply(text).await
            }
        };
        tokio::pin!(wait);
        loop {
            tokio::select! {
                r = &mut wait => return Some(screen(r, name)),
                cmd = rx.recv() => match cmd? {
                    UssdCmd::Abort => break,
                    other => {
                        let busy = format!("still waiting for the {name} screen; abort to cancel");
                        tx.send(Event::error(busy, Some(other.name()))).await.ok()?;
                    }
                },
            }
        }
    }
    Some(abort(phone).await)
}

async fn abort(phone: &mut UssdPhone) -> Event {
    match phone.abort().await {
        Ok(CommandStatus::EsmeRok) => Event::Aborted,
        Ok(s) => Event::error(format!("the gateway answered {s:?}"), Some("abort")),
        Err(e) => Event::error(e.to_string(), Some("abort")),
    }
}

async fn sms_worker(
    mut phone: SmsPhone,
    mut rx: mpsc::Receiver<(String, String)>,
    tx: mpsc::Sender<Event>,
) {
    let mut receiving = true;
    loop {
        let event = tokio::select! {
            cmd = rx.recv() => {
                let Some((to, text)) = cmd else { return };
                match phone.send(&to, &text).await {
                    Ok(st) if st.iter().all(|s| *s == CommandStatus::EsmeRok) => {
                        Event::SmsSent { parts: st.len() }
                    }
                    Ok(st) => Event::error(format!("the gateway answered {st:?}"), Some("sms-send")),
                    Err(e) => Event::error(e.to_string(), Some("sms-send")),
                }
            }
            m = phone.next_message(), if receiving => match m {
                Ok(m) => Event::SmsReceived { from: m.source, text: m.text },
                Err(SimError::Timeout(..)) => continue,
                Err(_) => {
                    receiving = false;
                    Event::error("another phone took over this MSISDN's SMS", None)
                }
            },
        };
        if tx.send(event).await.is_err() {
            return;
        }
    }
}

/// A phone on a separately running simulator: the control protocol over TCP.
#[derive(Debug)]
pub struct RemoteLink {
    lines: LineReader<BufReader<OwnedReadHalf>>,
    writer: OwnedWriteHalf,
}

impl RemoteLink {
    /// Connects to a phone port, says hello as `msisdn` and waits for `ready`.
    pub async fn connect(addr: impl ToSocketAddrs, msisdn: &str) -> Result<Self, LinkError> {
        let (r, writer) = TcpStream::connect(addr).await?.into_split();
        let mut link = Self {
            lines: LineReader::new(BufReader::new(r), MAX_LINE),
            writer,
        };
        link.write(&Request::Hello {
            msisdn: msisdn.to_owned(),
        })
        .await?;
        match link.next_event().await? {
            Event::Ready { .. } => Ok(link),
            Event::Error { message, .. } => Err(LinkError::Refused(message)),
            other => Err(LinkError::Protocol(format!("{other:?} before ready"))),
        }
    }
    async fn write(&mut self, req: &Request) -> Result<(), LinkError> {
        self.writer.write_all(req.to_line().as_bytes()).await?;
        Ok(())
    }
}

impl PhoneLink for RemoteLink {
    async fn send(&mut self, req: Request) -> Result<(), LinkError> {
        self.write(&req).await
    }
    async fn next_event(&mut self) -> Result<Event, LinkError> {
        match self.lines.next().await? {
            None => Err(LinkError::Closed),
            Some(Line::Text(t)) => {
                serde_json::from_str(&t).map_err(|e| LinkError::Protocol(e.to_string()))
            }
            Some(other) => Err(LinkError::Protocol(format!("{other:?}"))),
        }
    }
}
