//! One ESME connection: one task, one `select!` over the socket, the bounded control channel
//! (phones, receipts, delayed responses, scripted faults), the enquire_link timer and shutdown.
//! Framing is ours (`frame`), PDU bodies are rusmpp's. What each PDU means is in `pdu`.
//! PDUs are logged through `redact::Redacted`, never rusmpp's `Debug`: it prints passwords.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use bytes::BytesMut;
use rusmpp::pdus::DeliverSm;
use rusmpp::{Command, CommandStatus, Pdu};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::tcp::OwnedWriteHalf;
use tokio::net::TcpStream;
use tokio::sync::{mpsc, oneshot};

use crate::frame::{self, Frame, Header};
use crate::observe::{bump, BindId, BindInfo, ProtocolError};
use crate::redact::Redacted;
use crate::smsc::{lock, Shared, SimError};

/// Requests to a session from outside its task.
pub(crate) enum Control {
    Deliver {
        pdu: Box<DeliverSm>,
        receipt: bool,
        done: Option<oneshot::Sender<CommandStatus>>,
    },
    Raw {
        bytes: BytesMut,
        done: Option<oneshot::Sender<()>>,
    },
    Unbind {
        done: oneshot::Sender<()>,
    },
    Drop {
        done: oneshot::Sender<()>,
    },
}

/// What the SMSC waits to hear back about, by sequence number.
pub(crate) enum Pending {
    Deliver(Option<oneshot::Sender<CommandStatus>>),
    EnquireLink,
    Unbind,
}

pub(crate) enum Flow {
    Continue,
    Close,
}

const CONTROL_QUEUE: usize = 64;
const MAX_PENDING: usize = 1024;
const WRITE_TIMEOUT: Duration = Duration::from_secs(10);

pub(crate) struct Session {
    pub shared: Arc<Shared>,
    pub id: BindId,
    pub peer: SocketAddr,
    pub bound: Option<BindInfo>,
    pub control: mpsc::Sender<Control>,
    writer: OwnedWriteHalf,
    next_seq: u32,
    pub pending: HashMap<u32, Pending>,
}

/// Sends `pdu` on a session and waits for the deliver_sm_resp status.
pub(crate) async fn deliver(
    control: &mpsc::Sender<Control>,
    pdu: DeliverSm,
    wait: Duration,
) -> Result<CommandStatus, SimError> {
    let (tx, rx) = oneshot::channel();
    let msg = Control::Deliver {
        pdu: Box::new(pdu),
        receipt: false,
        done: Some(tx),
    };
    control.send(msg).await.map_err(|_| SimError::BindClosed)?;
    match tokio::time::timeout(wait, rx).await {
        Ok(Ok(status)) => Ok(status),
        Ok(Err(_)) => Err(SimError::BindClosed),
        Err(_) => Err(SimError::Timeout(wait, "deliver_sm_resp")),
    }
}

pub(crate) async fn run(stream: TcpStream, peer: SocketAddr, shared: Arc<Shared>) {
    bump(&shared.counters.connections);
    let _ = stream.set_nodelay(true);
    let (mut reader, writer) = stream.into_split();
    let (control, mut control_rx) = mpsc::channel(CONTROL_QUEUE);
    let id = shared.new_bind_id();
    let span = tracing::debug_span!("esme", bind = id.0, %peer);
    let _enter = span.enter();
    let mut s = Session {
        shared: shared.clone(),
        id,
        peer,
        bound: None,
        control,
        writer,
        next_seq: 0,
        pending: HashMap::new(),
    };
    let period = shared
        .config
        .enquire_link_interval
        .unwrap_or(Duration::from_secs(3600));
    let mut ticker = tokio::time::interval_at(tokio::time::Instant::now() + period, period);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut buf = BytesMut::with_capacity(4096);
    loop {
        let flow = tokio::select! {
            _ = shared.shutdown.cancelled() => Flow::Close,
            read = reader.read_buf(&mut buf) => match read {
                Ok(0) | Err(_) => Flow::Close,
                Ok(_) => s.on_bytes(&mut buf).await,
            },
            Some(c) = control_rx.recv() => s.on_control(c).await,
            _ = ticker.tick(), if shared.config.enquire_link_interval.is_some() && s.bound.is_some() => {
                s.send_enquire_link().await
            }
        };
        shared.notify();
        if matches!(flow, Flow::Close) {
            break;
        }
    }
    let _ = s.writer.shutdown().await;
    lock(&shared.binds).remove(&id);
    tracing::debug!("connection closed");
    shared.notify();
}

impl Session {
    pub fn system_id(&self) -> Option<String> {
        self.bound.as_ref().map(|b| b.system_id.clone())
    }

    pub fn next_sequence(&mut self) -> u32 {
        self.next_seq = if self.next_seq >= 0x7FFF_FFFF {
            1
        } else {
            self.next_seq + 1
        };
        self.next_seq
    }

    pub fn protocol_error(&self, h: &Header, frame: &[u8], reason: impl Into<String>) {
        self.shared.record_protocol_error(ProtocolError {
            bind: self.id,
            system_id: self.system_id(),
            command_id: h.command_id,
            sequence: h.sequence,
            reason: reason.into(),
            frame: frame[..frame.len().min(512)].to_vec(),
        });
    }

    async fn on_bytes(&mut self, buf: &mut BytesMut) -> Flow {
        while let Some(f) = frame::next_frame(buf, self.shared.config.max_command_length) {
            let flow = match f {
                Frame::BadLength(h) => self.on_bad_length(h).await,
                Frame::Whole(h, bytes) => match frame::decode(&bytes) {
                    Ok(cmd) => {
                        tracing::debug!(command = ?Redacted(&cmd), "received");
                        self.on_command(h, &bytes, cmd).await
                    }
                    Err(reason) => self.on_undecodable(h, &bytes, reason).await,
                },
            };
            if matches!(flow, Flow::Close) {
                return flow;
            }
        }
        Flow::Continue
    }

    async fn on_bad_length(&mut self, h: Header) -> Flow {
        let reason = format!(
            "command_length {} outside 16..={}",
            h.length, self.shared.config.max_command_length
        );
        self.protocol_error(&h, &[], reason);
        let nack = frame::header_only(
            0x8000_0000,
            CommandStatus::EsmeRinvcmdlen.into(),
            h.sequence,
        );
        bump(&self.shared.counters.generic_nacks_sent);
        let _ = self.write(&nack).await;
        Flow::Close
    }

    /// A well-framed PDU rusmpp cannot decode: answer it, record it, keep the link.
    async fn on_undecodable(&mut self, h: Header, bytes: &[u8], reason: String) -> Flow {
        self.protocol_error(&h, bytes, reason);
        if h.is_response() {
            self.complete(h.sequence, CommandStatus::from(h.status));
            return self.nack(h.sequence, CommandStatus::EsmeRinvmsglen).await;
        }
        if crate::pdu::is_known_request(h.command_id) {
            let resp = frame::header_only(
                h.command_id | 0x8000_0000,
                CommandStatus::EsmeRinvmsglen.into(),
                h.sequence,
            );
            return self.write(&resp).await;
        }
        self.nack(h.sequence, CommandStatus::EsmeRinvcmdid).await
    }

    pub async fn nack(&mut self, sequence: u32, status: CommandStatus) -> Flow {
        bump(&self.shared.counters.generic_nacks_sent);
        self.send(&Command::new(status, sequence, Pdu::GenericNack))
            .await
    }

    /// The response command_id the request with this sequence number calls for.
    pub fn expected_response(&self, sequence: u32) -> Option<u32> {
        self.pending.get(&sequence).map(|p| match p {
            Pending::Deliver(_) => 0x8000_0005,
            Pending::EnquireLink => 0x8000_0015,
            Pending::Unbind => 0x8000_0006,
        })
    }

    /// Resolves whatever waited for the response with this sequence number.
    pub fn complete(&mut self, sequence: u32, status: CommandStatus) -> bool {
        match self.pending.remove(&sequence) {
            Some(Pending::Deliver(done)) => {
                bump(&self.shared.counters.deliver_sm_resps_received);
                if let Some(done) = done {
                    let _ = done.send(status);
                }
                true
            }
            Some(Pending::EnquireLink) => {
                bump(&self.shared.counters.enquire_link_resps_received);
                true
            }
            Some(Pending::Unbind) => true,
            None => false,
        }
    }

    pub async fn send(&mut self, cmd: &Command) -> Flow {
        tracing::debug!(command = ?Redacted(cmd), "sending");
        self.write(&frame::encode(cmd)).await
    }

    pub async fn write(&mut self, bytes: &[u8]) -> Flow {
        match tokio::time::timeout(WRITE_TIMEOUT, self.writer.write_all(bytes)).await {
            Ok(Ok(())) => Flow::Continue,
            _ => Flow::Close,
        }
    }

    /// Sends a request and remembers what to do with its response.
    pub async fn request(&mut self, pdu: impl Into<Pdu>, pending: Pending) -> Flow {
        if self.pending.len() >= MAX_PENDING {
            tracing::warn!("pending map full; ESME is not answering");
            return Flow::Continue;
        }
        let seq = self.next_sequence();
        self.pending.insert(seq, pending);
        self.send(&Command::new(CommandStatus::EsmeRok, seq, pdu))
            .await
    }

    async fn send_enquire_link(&mut self) -> Flow {
        bump(&self.shared.counters.enquire_links_sent);
        self.request(Pdu::EnquireLink, Pending::EnquireLink).await
    }

    async fn on_control(&mut self, c: Control) -> Flow {
        match c {
            Control::Deliver { pdu, receipt, done } => self.send_deliver(*pdu, receipt, done).await,
            Control::Raw { bytes, done } => {
                let flow = self.write(&bytes).await;
                if let Some(done) = done {
                    let _ = done.send(());
                }
                flow
            }
            Control::Unbind { done } => {
                bump(&self.shared.counters.unbinds_sent);
                let flow = self.request(Pdu::Unbind, Pending::Unbind).await;
                let _ = done.send(());
                flow
            }
            Control::Drop { done } => {
                bump(&self.shared.counters.links_dropped);
                let _ = done.send(());
                Flow::Close
            }
        }
    }

    pub(crate) async fn send_deliver(
        &mut self,
        pdu: DeliverSm,
        receipt: bool,
        done: Option<oneshot::Sender<CommandStatus>>,
    ) -> Flow {
        if self.bound.as_ref().is_none_or(|b| !b.kind.can_receive()) {
            return Flow::Continue; // dropping `done` tells the caller the bind is gone
        }
        bump(&self.shared.counters.deliver_sms_sent);
        if receipt {
            bump(&self.shared.counters.receipts_sent);
        }
        let twice = self.shared.behaviour().duplicate_deliver;
        let copy = twice.then(|| pdu.clone());
        if let Flow::Close = self.request(pdu, Pending::Deliver(done)).await {
            return Flow::Close;
        }
        match copy {
            Some(copy) => {
                bump(&self.shared.counters.deliver_sms_sent);
                self.request(copy, Pending::Deliver(None)).await
            }
            None => Flow::Continue,
        }
    }
}
