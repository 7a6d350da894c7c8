//! SMPP 3.4 wire format: [`encode`] a [`Pdu`] into bytes, [`decode`] one
//! whole frame into a [`Pdu`], and [`SmppCodec`], the `tokio_util` framing
//! over a byte stream.
//!
//! Owns: bytes <-> [`crate::smpp::pdu`] types, the SMPP field size limits on
//! input, and the frame-length bound. Must not: do I/O, keep per-bind state,
//! or decide what to do with a PDU (that is `session`).
//!
//! Errors come in two kinds, because they call for different actions:
//! * a **framing** error (`command_length` outside `[16, max]`): the stream
//!   can no longer be trusted. Answer generic_nack ESME_RINVCMDLEN and close.
//!   The length is checked on its 4 bytes before anything is reserved.
//! * a **body** error in a well-framed PDU (truncated field, unterminated or
//!   over-long C-octet string, a TLV that runs past the end, unknown
//!   command_id): [`DecodeError::reply`] gives the `*_resp` (or generic_nack)
//!   to send back, and the bind carries on.
//!
//! Leniency is deliberate (an operator's odd field must not cost a message
//! or a bind): unknown TLVs and known TLVs with an odd length are kept raw;
//! addresses are accepted up to 64 characters in every PDU (data_sm's limit);
//! a response with an empty body decodes with empty fields, and so does an
//! error response whose body does not parse (its status is the answer).

mod cstring;
mod decode;
mod encode;
mod framing;
mod tlv;

pub use framing::{FramingError, SmppCodec};

use crate::smpp::pdu::{CommandId, CommandStatus, Pdu};
use bytes::BytesMut;

/// Default cap on `command_length`: the header, the mandatory fields and a
/// message_payload of several concatenated SMS fit well inside it.
pub const DEFAULT_MAX_PDU: u32 = 7424;

/// The SMPP header: command_length, command_id, command_status, sequence_number.
pub const HEADER_LEN: usize = 16;

/// Append the exact bytes of `pdu` (header included) to `out`.
///
/// A response with a non-OK status and every body field empty is written
/// without a body (SMPP 3.4 §4: "the body is not returned if the
/// command_status is non-zero"). Strings are written as Latin-1 (ASCII in
/// practice); a character above U+00FF becomes `?`. Field sizes are the
/// caller's business: see the module docs.
pub fn encode(pdu: &Pdu, out: &mut BytesMut) {
    encode::pdu(pdu, out)
}

/// The number of bytes [`encode`] writes for `pdu`.
pub fn encoded_len(pdu: &Pdu) -> usize {
    HEADER_LEN + encode::body_len(pdu)
}

/// Decode one whole frame, header included (`frame.len()` must equal its
/// command_length).
pub fn decode(frame: &[u8]) -> Result<Pdu, DecodeError> {
    decode::frame(frame, DEFAULT_MAX_PDU)
}

/// Why a frame did not decode.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum DecodeError {
    /// The frame is not a PDU at all: shorter than the header, a
    /// command_length outside `[16, max]` or different from the frame size.
    /// Answer generic_nack ESME_RINVCMDLEN and close the connection.
    #[error("bad frame: command_length {length} (frame {frame} bytes, allowed 16..={max})")]
    Framing {
        length: u32,
        frame: usize,
        max: u32,
        /// The sequence number, when the header was there to read.
        sequence: Option<u32>,
    },
    /// A well-framed PDU whose body is wrong; the bind carries on.
    #[error("{command_id} seq {sequence}: {detail} ({status})")]
    Body {
        command_id: CommandId,
        sequence: u32,
        /// ESME_RINVMSGLEN (mandatory part), ESME_RINVPARLEN (TLVs) or
        /// ESME_RINVCMDID (unknown command_id).
        status: CommandStatus,
        detail: String,
    },
}

impl DecodeError {
    /// The PDU to send back: the bodiless `*_resp` with the error status,
    /// generic_nack for an unknown command_id or a framing error, nothing
    /// for a broken response (the session resolves its request instead).
    pub fn reply(&self) -> Option<Pdu> {
        match self {
            DecodeError::Framing { sequence, .. } => Some(Pdu::generic_nack(
                sequence.unwrap_or(0),
                CommandStatus::ESME_RINVCMDLEN,
            )),
            DecodeError::Body {
                command_id,
                sequence,
                status,
                ..
            } if *status == CommandStatus::ESME_RINVCMDID => {
                Some(Pdu::generic_nack(*sequence, *status))
            }
            DecodeError::Body {
                command_id,
                sequence,
                status,
                ..
            } => Pdu::error_response(*command_id, *sequence, *status),
        }
    }
}
