//! The `tokio_util` codec: splits a byte stream into frames by
//! command_length, bounded by a cap checked on the 4 length bytes. The
//! decoder never reserves buffer space on a peer's say-so.

use super::{decode, encode, DecodeError, DEFAULT_MAX_PDU, HEADER_LEN};
use crate::smpp::pdu::{CommandStatus, Pdu};
use bytes::BytesMut;
use std::io;
use tokio_util::codec::{Decoder, Encoder};

/// What ends an SMPP stream. A bad body is not one of these: it is a
/// decoded item (`Err(DecodeError)`) and the stream goes on.
#[derive(Debug, thiserror::Error)]
pub enum FramingError {
    /// command_length outside `[16, max]`: the byte stream cannot be
    /// trusted any more. Send [`FramingError::reply`], then close.
    #[error("command_length {length} outside 16..={max}")]
    Length {
        length: u32,
        max: u32,
        /// The sequence number when the header was already buffered.
        sequence: Option<u32>,
    },
    /// We were asked to send a PDU larger than the cap.
    #[error("refusing to send a {len}-byte PDU: the cap is {max}")]
    TooLong { len: usize, max: u32 },
    #[error(transparent)]
    Io(#[from] io::Error),
}

impl FramingError {
    /// generic_nack ESME_RINVCMDLEN for a bad command_length.
    pub fn reply(&self) -> Option<Pdu> {
        match self {
            FramingError::Length { sequence, .. } => Some(Pdu::generic_nack(
                sequence.unwrap_or(0),
                CommandStatus::ESME_RINVCMDLEN,
            )),
            _ => None,
        }
    }
}

/// SMPP framing for `tokio_util::codec::Framed`.
#[derive(Clone, Copy, Debug)]
pub struct SmppCodec {
    max_len: u32,
}

impl SmppCodec {
    /// Cap command_length at [`DEFAULT_MAX_PDU`].
    pub fn new() -> SmppCodec {
        SmppCodec::with_max_len(DEFAULT_MAX_PDU)
    }

    /// Cap command_length at `max_len` (at least the 16-byte header).
    pub fn with_max_len(max_len: u32) -> SmppCodec {
        SmppCodec {
            max_len: max_len.max(HEADER_LEN as u32),
        }
    }

    pub fn max_len(&self) -> u32 {
        self.max_len
    }
}

impl Default for SmppCodec {
    fn default() -> SmppCodec {
        SmppCodec::new()
    }
}

impl Decoder for SmppCodec {
    type Item = Result<Pdu, DecodeError>;
    type Error = FramingError;

    fn decode(&mut self, src: &mut BytesMut) -> Result<Option<Self::Item>, FramingError> {
        let Some(&[a, b, c, d]) = src.get(..4) else {
            return Ok(None);
        };
        let length = u32::from_be_bytes([a, b, c, d]);
        if length < HEADER_LEN as u32 || length > self.max_len {
            let sequence = match src.get(12..16) {
                Some(&[a, b, c, d]) if length >= HEADER_LEN as u32 => {
                    Some(u32::from_be_bytes([a, b, c, d]))
                }
                _ => None,
            };
            return Err(FramingError::Length {
                length,
                max: self.max_len,
                sequence,
            });
        }
        let length = length as usize;
        if src.len() < length {
            // No reserve here: the transport grows the buffer as bytes
            // arrive, so a peer's claim of a length costs us nothing.
            return Ok(None);
        }
        let frame = src.split_to(length);
        Ok(Some(decode::frame(&frame, self.max_len)))
    }
}

impl Encoder<&Pdu> for SmppCodec {
    type Error = FramingError;

    fn encode(&mut self, pdu: &Pdu, dst: &mut BytesMut) -> Result<(), FramingError> {
        let len = HEADER_LEN + encode::body_len(pdu);
        if len > self.max_len as usize {
            return Err(FramingError::TooLong {
                len,
                max: self.max_len,
            });
        }
        encode::pdu(pdu, dst);
        Ok(())
    }
}

impl Encoder<Pdu> for SmppCodec {
    type Error = FramingError;

    fn encode(&mut self, pdu: Pdu, dst: &mut BytesMut) -> Result<(), FramingError> {
        Encoder::<&Pdu>::encode(self, &pdu, dst)
    }
}
