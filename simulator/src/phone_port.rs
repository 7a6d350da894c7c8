//! The SMSC's phone control listener: each TCP connection is one phone, served by a
//! [`LocalLink`] and spoken to in the JSON-lines protocol of [`crate::control`]. Bad lines get
//! an error event and the connection stays up. Owns no SMPP state; it only drives phones.

use std::net::SocketAddr;
use std::sync::Arc;

use tokio::io::{AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Semaphore;
use tokio_util::sync::CancellationToken;

use crate::control::{parse_request, Event, Line, LineReader, Request, MAX_LINE};
use crate::link::{LocalLink, PhoneLink};
use crate::SmscHandle;

/// At most this many phones connected at once; further connections wait in the backlog.
const MAX_PHONES: usize = 256;

/// Binds the phone port and serves it until `shutdown`.
pub(crate) async fn start(
    addr: SocketAddr,
    smsc: SmscHandle,
    shutdown: CancellationToken,
) -> std::io::Result<SocketAddr> {
    let listener = TcpListener::bind(addr).await?;
    let local = listener.local_addr()?;
    tracing::info!(%local, "phone control port listening");
    tokio::spawn(accept_loop(listener, smsc, shutdown));
    Ok(local)
}

async fn accept_loop(listener: TcpListener, smsc: SmscHandle, shutdown: CancellationToken) {
    let slots = Arc::new(Semaphore::new(MAX_PHONES));
    loop {
        let permit = tokio::select! {
            _ = shutdown.cancelled() => return,
            p = slots.clone().acquire_owned() => match p { Ok(p) => p, Err(_) => return },
        };
        let stream = tokio::select! {
            _ = shutdown.cancelled() => return,
            a = listener.accept() => match a {
                Ok((s, _)) => s,
                Err(e) => { tracing::warn!(error = %e, "phone accept failed"); continue }
            },
        };
        let (smsc, shutdown) = (smsc.clone(), shutdown.clone());
        tokio::spawn(async move {
            tokio::select! {
                _ = shutdown.cancelled() => {}
                r = serve(stream, &smsc) => if let Err(e) = r {
                    tracing::debug!(error = %e, "phone connection ended");
                },
            }
            drop(permit);
        });
    }
}

/// A valid subscriber number: 5 to 15 ASCII digits (E.164 without the `+`).
fn valid_msisdn(m: &str) -> bool {
    (5..=15).contains(&m.len()) && m.bytes().all(|b| b.is_ascii_digit())
}

/// Turns a raw line into a request or the error event that answers it.
fn request_of(line: Line) -> Result<Request, Event> {
    match line {
        Line::Text(t) => parse_request(&t),
        Line::TooLong => Err(Event::error(
            format!("line longer than {MAX_LINE} bytes"),
            None,
        )),
        Line::NotUtf8 => Err(Event::error("line is not UTF-8", None)),
    }
}

async fn send(w: &mut tokio::net::tcp::OwnedWriteHalf, e: Event) -> std::io::Result<()> {
    w.write_all(e.to_line().as_bytes()).await
}

async fn serve(stream: TcpStream, smsc: &SmscHandle) -> std::io::Result<()> {
    let (r, mut w) = stream.into_split();
    let mut lines = LineReader::new(BufReader::new(r), MAX_LINE);
    let mut link = loop {
        let Some(line) = lines.next().await? else {
            return Ok(());
        };
        match request_of(line) {
            Ok(Request::Hello { msisdn }) if valid_msisdn(&msisdn) => {
                send(
                    &mut w,
                    Event::Ready {
                        msisdn: msisdn.clone(),
                    },
                )
                .await?;
                tracing::info!(msisdn = %crate::mask(&msisdn), "phone connected");
                break LocalLink::new(smsc, &msisdn);
            }
            Ok(Request::Hello { .. }) => {
                let e = Event::error("msisdn must be 5 to 15 digits", Some("hello"));
                send(&mut w, e).await?;
            }
            Ok(other) => {
                let e = Event::error("say hello with your msisdn first", Some(other.name()));
                send(&mut w, e).await?;
            }
            Err(e) => send(&mut w, e).await?,
        }
    };
    loop {
        tokio::select! {
            line = lines.next() => {
                let Some(line) = line? else { return Ok(()) };
                let answer = match request_of(line) {
                    Ok(Request::Hello { .. }) => {
                        Some(Event::error("this connection already has a phone", Some("hello")))
                    }
                    Ok(req) => {
                        let name = req.name();
                        link.send(req).await.err().map(|e| Event::error(e.to_string(), Some(name)))
                    }
                    Err(e) => Some(e),
                };
                if let Some(e) = answer {
                    send(&mut w, e).await?;
                }
            }
            event = link.next_event() => match event {
                Ok(e) => send(&mut w, e).await?,
                Err(_) => return Ok(()),
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn msisdns_and_bad_lines() {
        assert!(valid_msisdn("9647701234567"));
        assert!(!valid_msisdn("+9647701234567"));
        assert!(!valid_msisdn("123"));
        assert!(!valid_msisdn("٩٦٤٧٧٠١٢٣٤٥٦٧"));
        assert!(matches!(
            request_of(Line::TooLong),
            Err(Event::Error { .. })
        ));
        assert!(matches!(
            request_of(Line::NotUtf8),
            Err(Event::Error { .. })
        ));
    }
}
