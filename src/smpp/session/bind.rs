//! The task of one bind: connect, bind (transceiver, transmitter or
//! receiver), run the link, and reconnect with jittered exponential
//! backoff until the cancel token fires. Its throttle survives reconnects
//! (an SMSC that throttled us before the drop still wants us slower).

use std::sync::Arc;

use futures::StreamExt;
use tokio::io::{AsyncRead, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::{mpsc, watch, Mutex};
use tokio::time::Instant;
use tokio_util::codec::FramedRead;
use tokio_util::sync::CancellationToken;
use tracing::Instrument;

use super::backoff::{Backoff, Failure};
use super::inbound::Inbound;
use super::link::{End, Link, Pending, WRITE_TIMEOUT};
use super::operator::{Bound, Counters};
use super::throttle::Throttle;
use super::tls;
use super::window::Window;
use super::{Options, Request};
use crate::config;
use crate::smpp::codec::{self, SmppCodec};
use crate::smpp::pdu::{Bind, Body, CommandStatus, Password, Pdu};

/// What one bind task is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    Transceiver,
    Transmitter,
    Receiver,
}

impl Kind {
    pub fn submits(self) -> bool {
        self != Kind::Receiver
    }
    pub fn name(self) -> &'static str {
        match self {
            Kind::Transceiver => "transceiver",
            Kind::Transmitter => "transmitter",
            Kind::Receiver => "receiver",
        }
    }
}

/// Everything a bind task reads; owned by the task.
pub(crate) struct BindCtx {
    pub operator: Arc<str>,
    pub index: u32,
    pub kind: Kind,
    /// This bind's share of the operator's TPS.
    pub tps: u32,
    pub cfg: Arc<config::Operator>,
    pub options: Options,
    /// The operator's submit queue; `None` for receivers.
    pub queue: Option<Arc<Mutex<mpsc::Receiver<Request>>>>,
    /// The operator's interactive lane (USSD screens): pulled before
    /// `queue`, so a screen never waits behind bulk MTs. `None` for receivers.
    pub urgent: Option<Arc<Mutex<mpsc::Receiver<Request>>>>,
    pub inbound: mpsc::Sender<Inbound>,
    pub stats: Arc<Counters>,
    pub bound: watch::Sender<Bound>,
    pub cancel: CancellationToken,
}

/// Why a bind attempt failed.
enum BindError {
    Io(String),
    /// The TLS handshake failed (most often: the certificate).
    Tls(String),
    Rejected(CommandStatus),
    Cancelled,
}

pub(crate) async fn run(ctx: BindCtx) {
    let span = tracing::info_span!("bind", operator = %ctx.operator, bind = ctx.index, kind = ctx.kind.name());
    run_inner(ctx).instrument(span).await
}

async fn run_inner(ctx: BindCtx) {
    let rc = &ctx.cfg.reconnect;
    let mut backoff = Backoff::new(rc.min, rc.max, rc.rejected_max);
    let mut throttle = Throttle::new(ctx.tps, Instant::now());
    let tls = match ctx.cfg.tls.as_ref().map(tls::Client::new).transpose() {
        Ok(tls) => tls,
        Err(e) => {
            // Files that were readable at start but are not PEM: nothing
            // to retry until the operator fixes them.
            tracing::error!(error = %e, "TLS set-up failed; this bind stays down");
            ctx.cancel.cancelled().await;
            return;
        }
    };
    while !ctx.cancel.is_cancelled() {
        let mut window = Window::new(ctx.cfg.window as usize, ctx.options.first_sequence);
        let failure = match connect(&ctx, tls.as_ref(), &mut window).await {
            Ok((reader, writer)) => {
                tracing::info!("bound");
                backoff.bound(Instant::now());
                set_bound(&ctx, true);
                let end = Link::new(&ctx, &mut window, &mut throttle)
                    .run(reader, writer)
                    .await;
                set_bound(&ctx, false);
                match end {
                    End::Shutdown => {
                        tracing::info!("unbound");
                        return;
                    }
                    End::UnbindBySmsc => tracing::info!("unbound by the SMSC; binding again"),
                    other => tracing::warn!(reason = ?other, "link lost; reconnecting"),
                }
                Failure::Link
            }
            Err(BindError::Cancelled) => return,
            Err(BindError::Io(e)) => {
                tracing::warn!(error = %e, "bind failed");
                Failure::Link
            }
            Err(BindError::Tls(e)) => {
                // Never bound to, never retried faster than a rejected bind:
                // a wrong certificate is for the operator to act on.
                let server_name = tls.as_ref().map(|t| t.server_name()).unwrap_or_default();
                tracing::error!(error = %e, server_name, "TLS handshake with the SMSC failed; not binding");
                Failure::Rejected
            }
            Err(BindError::Rejected(status)) => {
                ctx.stats.add_rejected_bind();
                if backoff.attempts() >= 2 {
                    tracing::error!(status = %status, attempts = backoff.attempts() + 1, "the SMSC keeps refusing the bind: check system_id/password");
                } else {
                    tracing::warn!(status = %status, "the SMSC refused the bind");
                }
                Failure::Rejected
            }
        };
        let delay = backoff.next_delay(failure, Instant::now(), rand::random::<f64>());
        tracing::debug!(?delay, "waiting before the next bind attempt");
        tokio::select! {
            _ = ctx.cancel.cancelled() => return,
            _ = tokio::time::sleep(delay) => {}
        }
    }
}

fn set_bound(ctx: &BindCtx, up: bool) {
    ctx.stats.set_bound(up);
    let submits = ctx.kind.submits();
    ctx.bound.send_modify(|b| {
        let d = |n: &mut u32| *n = if up { *n + 1 } else { n.saturating_sub(1) };
        d(&mut b.all);
        if submits {
            d(&mut b.submitters);
        }
    });
}

/// The two sides of a connection, TCP or TLS.
type Reader = Box<dyn AsyncRead + Send + Unpin>;
type Writer = Box<dyn AsyncWrite + Send + Unpin>;
type Halves = (FramedRead<Reader, SmppCodec>, Writer);

/// TCP connect, then the TLS handshake when the operator has `tls`.
async fn open(ctx: &BindCtx, tls: Option<&tls::Client>) -> Result<(Reader, Writer), BindError> {
    let addr = (ctx.cfg.host.as_str(), ctx.cfg.port);
    let stream = TcpStream::connect(addr)
        .await
        .map_err(|e| BindError::Io(format!("connect: {e}")))?;
    let _ = stream.set_nodelay(true);
    match tls {
        None => {
            let (r, w) = stream.into_split();
            Ok((Box::new(r), Box::new(w)))
        }
        Some(tls) => {
            let stream = tls.handshake(stream).await.map_err(BindError::Tls)?;
            let (r, w) = tokio::io::split(stream);
            Ok((Box::new(r), Box::new(w)))
        }
    }
}

/// Connect and the bind exchange, bounded by `bind_timeout`.
async fn connect(
    ctx: &BindCtx,
    tls: Option<&tls::Client>,
    window: &mut Window<Pending>,
) -> Result<Halves, BindError> {
    let attempt = async {
        let (r, mut w) = open(ctx, tls).await?;
        let mut reader = FramedRead::new(r, SmppCodec::with_max_len(ctx.cfg.max_pdu_size));
        let seq = window.insert_uncounted(Pending::Bind, Instant::now() + ctx.cfg.bind_timeout);
        let mut buf = bytes::BytesMut::new();
        codec::encode(&Pdu::new(seq, bind_body(ctx)), &mut buf);
        let write = async {
            w.write_all(&buf).await?;
            w.flush().await
        };
        tokio::time::timeout(WRITE_TIMEOUT, write)
            .await
            .map_err(|_| BindError::Io("write timed out".into()))?
            .map_err(|e| BindError::Io(format!("write: {e}")))?;
        loop {
            let pdu = match reader.next().await {
                None => return Err(BindError::Io("closed before bind_resp".into())),
                Some(Err(e)) => return Err(BindError::Io(format!("framing: {e}"))),
                Some(Ok(Err(bad))) => {
                    tracing::warn!(error = %bad, "malformed PDU while binding");
                    continue;
                }
                Some(Ok(Ok(pdu))) => pdu,
            };
            if pdu.sequence != seq {
                tracing::debug!(command_id = %pdu.command_id(), "PDU before bind_resp ignored");
                continue;
            }
            window.remove(seq);
            let resp = matches!(
                pdu.body,
                Body::BindTransceiverResp(_)
                    | Body::BindTransmitterResp(_)
                    | Body::BindReceiverResp(_)
                    | Body::GenericNack
            );
            if !resp {
                return Err(BindError::Io(format!(
                    "{} answered the bind",
                    pdu.command_id()
                )));
            }
            if pdu.status != CommandStatus::ESME_ROK {
                return Err(BindError::Rejected(pdu.status));
            }
            return Ok((reader, w));
        }
    };
    tokio::select! {
        _ = ctx.cancel.cancelled() => Err(BindError::Cancelled),
        r = tokio::time::timeout(ctx.cfg.bind_timeout, attempt) => {
            r.unwrap_or_else(|_| Err(BindError::Io("no bind_resp in time".into())))
        }
    }
}

fn bind_body(ctx: &BindCtx) -> Body {
    let cfg = &ctx.cfg;
    let bind = Bind {
        system_id: cfg.system_id.clone(),
        password: Password::new(cfg.password.expose().unwrap_or_default()),
        system_type: cfg.system_type.clone(),
        interface_version: 0x34,
        addr_ton: cfg.addr_ton,
        addr_npi: cfg.addr_npi,
        address_range: cfg.address_range.clone(),
    };
    match ctx.kind {
        Kind::Transceiver => Body::BindTransceiver(bind),
        Kind::Transmitter => Body::BindTransmitter(bind),
        Kind::Receiver => Body::BindReceiver(bind),
    }
}
