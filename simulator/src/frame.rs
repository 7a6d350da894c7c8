//! Length-prefixed SMPP framing done here, and PDU bodies decoded/encoded by rusmpp. Framing is
//! ours so that a frame rusmpp cannot decode is reported (and answered) on its own, without
//! ending the stream the way rusmpp's `CommandCodec` would. No I/O.

use bytes::{Buf, BytesMut};
use rusmpp::decode::DecodeWithLength;
use rusmpp::tokio_codec::CommandCodec;
use rusmpp::Command;
use tokio_util::codec::Encoder;

pub(crate) const HEADER_LEN: usize = 16;

/// The four header fields, read by hand so they are known even when the body is not.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Header {
    pub length: u32,
    pub command_id: u32,
    pub status: u32,
    pub sequence: u32,
}

impl Header {
    pub fn is_response(&self) -> bool {
        self.command_id & 0x8000_0000 != 0
    }
}

/// What the framer found at the front of the buffer.
#[derive(Debug)]
pub(crate) enum Frame {
    /// A whole frame (header included) of a plausible length.
    Whole(Header, BytesMut),
    /// command_length below 16 or above the cap: the stream can no longer be trusted.
    BadLength(Header),
}

/// Takes one frame off the front of `buf`, or `None` if more bytes are needed.
/// A bad command_length is reported as soon as the 4 length bytes are in, before any allocation.
pub(crate) fn next_frame(buf: &mut BytesMut, max: u32) -> Option<Frame> {
    if buf.len() < 4 {
        return None;
    }
    let word = |i: usize| -> u32 {
        buf.get(i..i + 4)
            .map_or(0, |b| u32::from_be_bytes([b[0], b[1], b[2], b[3]]))
    };
    let header = Header {
        length: word(0),
        command_id: word(4),
        status: word(8),
        sequence: word(12),
    };
    if (header.length as usize) < HEADER_LEN || header.length > max {
        return Some(Frame::BadLength(header));
    }
    if buf.len() < header.length as usize {
        buf.reserve(header.length as usize - buf.len());
        return None;
    }
    Some(Frame::Whole(header, buf.split_to(header.length as usize)))
}

/// Decodes one whole frame with rusmpp. The error is a human-readable reason.
pub(crate) fn decode(frame: &BytesMut) -> Result<Command, String> {
    let mut body = frame.clone();
    body.advance(4);
    let len = body.len();
    match Command::decode(&mut body, len) {
        Ok((command, used)) if used == len => Ok(command),
        Ok((_, used)) => Err(format!("{} trailing bytes after the PDU", len - used)),
        Err(e) => Err(format!("rusmpp could not decode the PDU: {e}")),
    }
}

/// Encodes one command with rusmpp's codec.
pub(crate) fn encode(command: &Command) -> BytesMut {
    let mut out = BytesMut::new();
    // CommandCodec's only encode error is io::Error, which encoding into memory cannot raise.
    let _ = CommandCodec::new().encode(command, &mut out);
    out
}

/// A header-only PDU (generic_nack, or a failed `*_resp`, whose body SMPP 3.4 lets us omit).
pub(crate) fn header_only(command_id: u32, status: u32, sequence: u32) -> BytesMut {
    let mut out = BytesMut::with_capacity(HEADER_LEN);
    for word in [HEADER_LEN as u32, command_id, status, sequence] {
        out.extend_from_slice(&word.to_be_bytes());
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use rusmpp::Pdu;

    #[test]
    fn frames_and_decodes_enquire_link() {
        let bytes = encode(&Command::new(
            rusmpp::CommandStatus::EsmeRok,
            7,
            Pdu::EnquireLink,
        ));
        let mut buf = BytesMut::from(&bytes[..10]);
        assert!(next_frame(&mut buf, 8192).is_none());
        buf.extend_from_slice(&bytes[10..]);
        buf.extend_from_slice(&[0, 0]);
        let Some(Frame::Whole(h, frame)) = next_frame(&mut buf, 8192) else {
            panic!()
        };
        assert_eq!((h.command_id, h.sequence), (0x15, 7));
        assert_eq!(decode(&frame).unwrap().sequence_number(), 7);
        assert_eq!(&buf[..], &[0, 0]);
    }

    #[test]
    fn bad_length_is_reported_before_allocating() {
        let mut buf = BytesMut::from(&[0xFF, 0xFF, 0xFF, 0xF0, 0, 0, 0, 4][..]);
        assert!(
            matches!(next_frame(&mut buf, 8192), Some(Frame::BadLength(h)) if h.length == 0xFFFF_FFF0)
        );
        let mut short = BytesMut::from(&[0, 0, 0, 8][..]);
        assert!(matches!(
            next_frame(&mut short, 8192),
            Some(Frame::BadLength(_))
        ));
    }

    #[test]
    fn undecodable_body_is_an_error_not_a_panic() {
        // submit_sm whose body stops in the middle of service_type.
        let mut frame = header_only(0x04, 0, 3);
        frame[3] = 18;
        frame.extend_from_slice(b"US");
        assert!(decode(&frame).is_err());
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(256))]

        #[test]
        fn framing_and_decoding_never_panic(body in proptest::collection::vec(proptest::prelude::any::<u8>(), 12..400)) {
            let mut bytes = ((body.len() + 4) as u32).to_be_bytes().to_vec();
            bytes.extend_from_slice(&body);
            let mut buf = BytesMut::from(&bytes[..]);
            match next_frame(&mut buf, 8192) {
                Some(Frame::Whole(h, frame)) => {
                    proptest::prop_assert_eq!(h.length as usize, frame.len());
                    let _ = decode(&frame);
                }
                other => proptest::prop_assert!(false, "{other:?}"),
            }
        }
    }
}
