//! The phone control protocol: JSON lines over TCP, one connection = one phone (one MSISDN).
//! Owns the message types and a length-capped line reader. No sockets are opened here and no
//! phone state is kept; `phone_port` (server) and `link` (client) do that.
//!
//! ```text
//! -> {"op":"hello","msisdn":"9647701234567"}      <- {"event":"ready","msisdn":"9647701234567"}
//! -> {"op":"dial","code":"*123#"}                  <- {"event":"screen","text":"...","end":false}
//! -> {"op":"reply","text":"1"}                     <- {"event":"screen","text":"...","end":true}
//! -> {"op":"abort"}                                <- {"event":"aborted"}
//! -> {"op":"sms-send","to":"4455","text":"PDS 1"}  <- {"event":"sms-sent","parts":1}
//!                                                  <- {"event":"sms-received","from":"4455","text":"..."}
//! -> not json                                      <- {"event":"error","message":"..."}
//! ```

use serde::{Deserialize, Serialize};
use tokio::io::{AsyncBufRead, AsyncBufReadExt};

/// Longest control line either side accepts, in bytes (newline excluded). A USSD screen is at
/// most 182 characters, so this leaves room for JSON escaping of any real message.
pub const MAX_LINE: usize = 8 * 1024;

/// What a phone asks the SMSC to do.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "kebab-case", deny_unknown_fields)]
pub enum Request {
    /// First line of every connection: which subscriber this phone is.
    Hello { msisdn: String },
    /// Start a USSD dialogue with a dial string such as `*123#`.
    Dial { code: String },
    /// Answer the open USSD screen; the text is sent as typed (Arabic-Indic digits too).
    Reply { text: String },
    /// Abandon the open USSD dialogue.
    Abort,
    /// Send an SMS to a short code.
    SmsSend { to: String, text: String },
}

impl Request {
    pub fn name(&self) -> &'static str {
        match self {
            Request::Hello { .. } => "hello",
            Request::Dial { .. } => "dial",
            Request::Reply { .. } => "reply",
            Request::Abort => "abort",
            Request::SmsSend { .. } => "sms-send",
        }
    }
}

/// What the SMSC tells a phone.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "event", rename_all = "kebab-case")]
pub enum Event {
    /// The hello was accepted.
    Ready { msisdn: String },
    /// A USSD screen from the gateway; `end` means the dialogue is over.
    Screen { text: String, end: bool },
    /// The abort was delivered.
    Aborted,
    /// An SMS was delivered to the gateway in this many parts.
    SmsSent { parts: usize },
    /// An SMS from the gateway to this phone (long ones reassembled).
    SmsReceived { from: String, text: String },
    /// A request failed or a line was not understood. `request` names the request, if known.
    Error {
        message: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        request: Option<String>,
    },
}

impl Event {
    pub fn error(message: impl Into<String>, request: Option<&str>) -> Self {
        Event::Error {
            message: message.into(),
            request: request.map(str::to_owned),
        }
    }
    /// One JSON line, newline included.
    pub fn to_line(&self) -> String {
        line_of(self)
    }
}

impl Request {
    /// One JSON line, newline included.
    pub fn to_line(&self) -> String {
        line_of(self)
    }
}

fn line_of(v: &impl Serialize) -> String {
    // Serializing these plain enums of strings cannot fail; fall back to an error line anyway.
    let mut s = serde_json::to_string(v)
        .unwrap_or_else(|_| r#"{"event":"error","message":"unserializable"}"#.into());
    s.push('\n');
    s
}

/// One line as read, before JSON parsing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Line {
    Text(String),
    /// Longer than the cap; the rest of it up to the newline was read and dropped.
    TooLong,
    NotUtf8,
}

/// Reads `\n`-terminated lines holding at most `cap` bytes each. A line over the cap is
/// consumed to its newline and reported as [`Line::TooLong`], so a peer cannot make us buffer
/// without bound. The partial line lives in `self`, so [`LineReader::next`] is cancel-safe
/// (usable in `select!`).
#[derive(Debug)]
pub struct LineReader<R> {
    inner: R,
    cap: usize,
    buf: Vec<u8>,
    too_long: bool,
}

impl<R: AsyncBufRead + Unpin> LineReader<R> {
    pub fn new(inner: R, cap: usize) -> Self {
        Self {
            inner,
            cap,
            buf: Vec::new(),
            too_long: false,
        }
    }

    /// The next line; `None` at end of stream.
    pub async fn next(&mut self) -> std::io::Result<Option<Line>> {
        loop {
            let chunk = self.inner.fill_buf().await?;
            if chunk.is_empty() {
                if self.buf.is_empty() && !self.too_long {
                    return Ok(None);
                }
                return Ok(Some(self.finish()));
            }
            let (take, done) = match chunk.iter().position(|&b| b == b'\n') {
                Some(i) => (i, true),
                None => (chunk.len(), false),
            };
            if !self.too_long && self.buf.len() + take <= self.cap {
                self.buf.extend_from_slice(&chunk[..take]);
            } else {
                self.too_long = true;
                self.buf.clear();
            }
            self.inner.consume(if done { take + 1 } else { take });
            if done {
                return Ok(Some(self.finish()));
            }
        }
    }

    fn finish(&mut self) -> Line {
        let mut buf = std::mem::take(&mut self.buf);
        if std::mem::take(&mut self.too_long) {
            return Line::TooLong;
        }
        if buf.last() == Some(&b'\r') {
            buf.pop();
        }
        String::from_utf8(buf).map_or(Line::NotUtf8, Line::Text)
    }
}

/// Parses a control line into a request, or the error event to answer it with.
pub fn parse_request(line: &str) -> Result<Request, Event> {
    serde_json::from_str(line).map_err(|e| Event::error(format!("bad request: {e}"), None))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_round_trip_and_junk_is_an_error_event() {
        let r = parse_request(r#"{"op":"sms-send","to":"4455","text":"PDS ١٢٣"}"#).unwrap();
        assert_eq!(
            r,
            Request::SmsSend {
                to: "4455".into(),
                text: "PDS ١٢٣".into()
            }
        );
        assert_eq!(parse_request(r.to_line().trim_end()).unwrap(), r);
        for bad in [
            "",
            "nope",
            r#"{"op":"fly"}"#,
            r#"{"op":"dial"}"#,
            r#"{"op":"dial","code":"*1#","x":1}"#,
            r#"{"op":"dial","code":5}"#,
        ] {
            assert!(
                matches!(parse_request(bad), Err(Event::Error { .. })),
                "{bad}"
            );
        }
        let e = Event::Screen {
            text: "مرحبا".into(),
            end: true,
        };
        assert_eq!(
            e.to_line(),
            "{\"event\":\"screen\",\"text\":\"مرحبا\",\"end\":true}\n"
        );
    }

    #[tokio::test]
    async fn lines_are_capped_and_reading_resumes_after_a_long_one() {
        let mut bytes = format!("ok\r\n{}\nسلام\nlast\n", "x".repeat(50)).into_bytes();
        bytes.extend_from_slice(b"\xff\xfe\n");
        let r = tokio::io::BufReader::with_capacity(7, &bytes[..]);
        let mut lines = LineReader::new(r, 16);
        let mut got = Vec::new();
        while let Some(l) = lines.next().await.unwrap() {
            got.push(l);
        }
        assert_eq!(got[0], Line::Text("ok".into()));
        assert_eq!(got[1], Line::TooLong);
        assert_eq!(got[2], Line::Text("سلام".into()));
        assert_eq!(got[3], Line::Text("last".into()));
        assert_eq!(got[4], Line::NotUtf8);
        assert_eq!(got.len(), 5);
    }
}
