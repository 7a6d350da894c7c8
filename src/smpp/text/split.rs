//! Splitting encoded outbound text into what one or more submit_sm carry:
//! UDH parts (8- or 16-bit reference), SAR parts, or one message_payload.
//!
//! Parts never cut a GSM escape pair or a UTF-16 surrogate pair, so each
//! part decodes on its own. The number of parts is bounded by config.

use super::{gsm7, udh::Concat, Encoded, Encoding, Error, Sar};
use crate::charset::ESCAPE;

/// How an operator wants long text sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SplitMode {
    /// UDH concatenation element with an 8-bit reference (IEI 0x00).
    Udh8,
    /// UDH concatenation element with a 16-bit reference (IEI 0x08).
    Udh16,
    /// sar_* TLVs on each submit_sm, no header in the short_message.
    Sar,
    /// The whole text in one message_payload TLV.
    Payload,
}

/// Per-operator splitting policy.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SplitConfig {
    pub mode: SplitMode,
    /// Most parts one text may become (1..=255).
    pub max_parts: usize,
    /// Most octets sent in one message_payload.
    pub payload_max: usize,
}

impl Default for SplitConfig {
    fn default() -> Self {
        SplitConfig {
            mode: SplitMode::Udh8,
            max_parts: 8,
            // Ten SMS worth of octets: far more than a citizen reply needs,
            // far less than the 64 KiB the TLV could carry.
            payload_max: 1400,
        }
    }
}

/// One submit_sm worth of text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Part {
    /// The short_message octets (UDH first when `udhi`).
    pub short_message: Vec<u8>,
    /// Whether esm_class must carry UDHI (0x40).
    pub udhi: bool,
    /// The sar_* TLV values to send, in `SplitMode::Sar`.
    pub sar: Option<Sar>,
}

/// What the submit_sm(s) carry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Body {
    /// One submit_sm per part, in order.
    Parts(Vec<Part>),
    /// One submit_sm with an empty short_message and these octets in
    /// message_payload.
    Payload(Vec<u8>),
}

/// Encoded text laid out for sending.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outbound {
    pub data_coding: u8,
    pub encoding: Encoding,
    pub body: Body,
}

/// Lays out `encoded` for sending. Text that fits one SMS (160 septets or
/// 140 octets) is one plain part in every mode. `reference` identifies the
/// parts of this text at the handset; the caller keeps it distinct per
/// destination (only its low byte is sent with `Udh8`).
pub fn split(encoded: &Encoded, config: &SplitConfig, reference: u16) -> Result<Outbound, Error> {
    if !(1..=255).contains(&config.max_parts) {
        return Err(Error::InvalidConfig("max_parts must be within 1..=255"));
    }
    let packed = encoded.encoding == Encoding::Gsm7Packed;
    // Work on septets for packed GSM-7, on the wire octets otherwise.
    let units = if packed {
        gsm7::unpack_ussd(&encoded.bytes)
    } else {
        encoded.bytes.clone()
    };
    let outbound = |body| Outbound {
        data_coding: encoded.data_coding,
        encoding: encoded.encoding,
        body,
    };
    let single = single_capacity(encoded.encoding);
    if units.len() <= single {
        let part = plain(encoded.bytes.clone());
        return Ok(outbound(Body::Parts(vec![part])));
    }
    if config.mode == SplitMode::Payload {
        if encoded.bytes.len() > config.payload_max {
            return Err(Error::PayloadTooLong {
                len: encoded.bytes.len(),
                max: config.payload_max,
            });
        }
        return Ok(outbound(Body::Payload(encoded.bytes.clone())));
    }
    let cap = part_capacity(encoded.encoding, config.mode);
    let chunks = chunk(&units, encoded.encoding, cap);
    if chunks.len() > config.max_parts {
        return Err(Error::TooManyParts {
            needed: chunks.len(),
            max: config.max_parts,
        });
    }
    let total = chunks.len() as u8;
    let parts = chunks
        .iter()
        .enumerate()
        .map(|(i, chunk)| {
            let concat = Concat {
                reference,
                total,
                seq: i as u8 + 1,
            };
            part(config.mode, concat, chunk, packed)
        })
        .collect();
    Ok(outbound(Body::Parts(parts)))
}

fn plain(short_message: Vec<u8>) -> Part {
    Part {
        short_message,
        udhi: false,
        sar: None,
    }
}

fn part(mode: SplitMode, concat: Concat, chunk: &[u8], packed: bool) -> Part {
    let header: Vec<u8> = match mode {
        SplitMode::Udh8 => concat.udh8().to_vec(),
        SplitMode::Udh16 => concat.udh16().to_vec(),
        SplitMode::Sar | SplitMode::Payload => Vec::new(),
    };
    let text = if packed {
        // Septets after a UDH start on the next septet boundary.
        let fill = (7 - (header.len() * 8) % 7) % 7;
        gsm7::pack_padded(chunk, fill)
    } else {
        chunk.to_vec()
    };
    let udhi = !header.is_empty();
    let sar = (mode == SplitMode::Sar).then_some(Sar {
        ref_num: concat.reference,
        total: concat.total,
        seq: concat.seq,
    });
    let mut short_message = header;
    short_message.extend_from_slice(&text);
    Part {
        short_message,
        udhi,
        sar,
    }
}

fn is_septets(encoding: Encoding) -> bool {
    matches!(encoding, Encoding::Gsm7 | Encoding::Gsm7Packed)
}

/// Units one unsplit SMS holds: 160 septets or 140 octets.
fn single_capacity(encoding: Encoding) -> usize {
    if is_septets(encoding) {
        160
    } else {
        140
    }
}

/// Units one part holds after its header. SAR parts are sized as if the
/// SMSC will turn the TLVs into a 16-bit-reference UDH (7 octets), which
/// is what a 16-bit sar_msg_ref_num may become on the air.
fn part_capacity(encoding: Encoding, mode: SplitMode) -> usize {
    let header_octets = match mode {
        SplitMode::Udh8 => 6,
        SplitMode::Udh16 | SplitMode::Sar | SplitMode::Payload => 7,
    };
    if is_septets(encoding) {
        (140 * 8 - header_octets * 8) / 7
    } else {
        140 - header_octets
    }
}

/// Cuts units into chunks of at most `cap`, never inside an escape pair
/// (GSM-7) or a surrogate pair (UCS-2).
fn chunk(units: &[u8], encoding: Encoding, cap: usize) -> Vec<&[u8]> {
    let mut chunks = Vec::new();
    let mut start = 0;
    let mut at = 0;
    while at < units.len() {
        let width = atom_width(units, at, encoding);
        if at + width - start > cap {
            chunks.push(&units[start..at]);
            start = at;
        }
        at += width;
    }
    chunks.push(&units[start..]);
    chunks
}

/// Width in units of the character starting at `at`.
fn atom_width(units: &[u8], at: usize, encoding: Encoding) -> usize {
    let width = match encoding {
        Encoding::Gsm7 | Encoding::Gsm7Packed if units[at] == ESCAPE => 2,
        Encoding::Ucs2 => {
            let unit = u16::from_be_bytes([units[at], *units.get(at + 1).unwrap_or(&0)]);
            if super::ucs2::is_high_surrogate(unit) {
                4
            } else {
                2
            }
        }
        _ => 1,
    };
    width.min(units.len() - at)
}
