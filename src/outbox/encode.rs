//! Text -> the submit_sm(s) of one MT, by the operator's settings: the
//! cheapest encoding it allows, its data_coding values, its split mode and
//! `max_parts`. Pure (no I/O): the sender turns each [`PartSpec`] into a
//! `submit_sm` body.
//!
//! The concatenation reference is derived from the outbound id, so a retry
//! of the same message sends the same reference and a handset that got some
//! parts on the first try still reassembles the whole text.

use crate::config;
use crate::smpp::pdu::{Address, Sm};
use crate::smpp::text::{self, Body, DataCodings, Encoding, Sar, SplitConfig, SplitMode};
use crate::store::OutboundId;

/// esm_class UDHI: the short_message starts with a user data header.
pub const ESM_UDHI: u8 = 0x40;

/// What one submit_sm of an MT carries, besides the addresses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PartSpec {
    pub data_coding: u8,
    pub esm_class: u8,
    /// Empty when the text travels in `message_payload`.
    pub short_message: Vec<u8>,
    pub message_payload: Option<Vec<u8>>,
    pub sar: Option<Sar>,
}

impl PartSpec {
    /// The submit_sm for this part: from `from` (a short code), to `to`
    /// (international digits), asking for the final delivery receipt if
    /// `receipt`.
    pub fn submit_sm(&self, from: &str, to: &str, receipt: bool) -> Sm {
        let mut sm = Sm {
            source: source_address(from),
            dest: Address::new(1, 1, to),
            esm_class: self.esm_class,
            registered_delivery: u8::from(receipt),
            data_coding: self.data_coding,
            short_message: self.short_message.clone().into(),
            ..Sm::default()
        };
        sm.tlvs.message_payload = self.message_payload.clone().map(Into::into);
        if let Some(sar) = self.sar {
            sm.tlvs.sar_msg_ref_num = Some(sar.ref_num);
            sm.tlvs.sar_total_segments = Some(sar.total);
            sm.tlvs.sar_segment_seqnum = Some(sar.seq);
        }
        sm
    }
}

/// TON/NPI of a sender: alphanumeric names are TON 5 (NPI 0); short codes
/// (up to 8 digits) TON 3 "network specific"; longer digit strings
/// international E.164.
pub fn source_address(from: &str) -> Address {
    if !from.bytes().all(|b| b.is_ascii_digit()) {
        Address::new(5, 0, from)
    } else if from.len() <= 8 {
        Address::new(3, 0, from)
    } else {
        Address::new(1, 1, from)
    }
}

/// The encoding/splitting policy of one operator, from its configuration.
#[derive(Debug, Clone)]
pub struct TextPolicy {
    pub allowed: Vec<Encoding>,
    pub codings: DataCodings,
    pub split: SplitConfig,
}

impl TextPolicy {
    pub fn of(op: &config::Operator) -> TextPolicy {
        let allowed = op
            .encodings
            .iter()
            .map(|e| match e {
                config::Encoding::Gsm7 => Encoding::Gsm7,
                config::Encoding::Ucs2 => Encoding::Ucs2,
            })
            .collect();
        let codings = DataCodings {
            gsm7: op.data_coding.gsm7,
            ucs2: op.data_coding.ucs2,
            ..DataCodings::default()
        };
        let mode = match op.sms.split {
            config::SplitMode::Udh8 => SplitMode::Udh8,
            config::SplitMode::Udh16 => SplitMode::Udh16,
            config::SplitMode::Sar => SplitMode::Sar,
            config::SplitMode::Payload => SplitMode::Payload,
        };
        let split = SplitConfig {
            mode,
            max_parts: usize::from(op.sms.max_parts),
            ..SplitConfig::default()
        };
        TextPolicy {
            allowed,
            codings,
            split,
        }
    }

    /// Every submit_sm `text` needs, in part order. Fails (with a reason a
    /// person can read) when no allowed encoding holds the text or it needs
    /// more than `max_parts` parts.
    pub fn parts(&self, text: &str, id: OutboundId) -> Result<Vec<PartSpec>, text::Error> {
        let encoded = text::encode(text, &self.allowed, &self.codings)?;
        let out = text::split(&encoded, &self.split, reference(id))?;
        let dc = out.data_coding;
        Ok(match out.body {
            Body::Payload(bytes) => vec![PartSpec {
                data_coding: dc,
                esm_class: 0,
                short_message: Vec::new(),
                message_payload: Some(bytes),
                sar: None,
            }],
            Body::Parts(parts) => parts
                .into_iter()
                .map(|p| PartSpec {
                    data_coding: dc,
                    esm_class: if p.udhi { ESM_UDHI } else { 0 },
                    short_message: p.short_message,
                    message_payload: None,
                    sar: p.sar,
                })
                .collect(),
        })
    }
}

/// The concatenation reference of an MT: its id's low 16 bits (the low 8
/// with 8-bit UDH), so consecutive MTs to one handset differ.
pub fn reference(id: OutboundId) -> u16 {
    (id.0 & 0xFFFF) as u16
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::smpp::text::parse_udh;

    fn policy(mode: SplitMode, max_parts: usize) -> TextPolicy {
        TextPolicy {
            allowed: vec![Encoding::Gsm7, Encoding::Ucs2],
            codings: DataCodings::default(),
            split: SplitConfig {
                mode,
                max_parts,
                ..SplitConfig::default()
            },
        }
    }

    #[test]
    fn short_latin_text_is_one_gsm7_part() {
        let parts = policy(SplitMode::Udh8, 4).parts("Your card is ready", OutboundId(7));
        let parts = parts.unwrap();
        assert_eq!(parts.len(), 1);
        assert_eq!((parts[0].data_coding, parts[0].esm_class), (0, 0));
        assert_eq!(parts[0].short_message, b"Your card is ready");
    }

    #[test]
    fn long_arabic_text_splits_into_udh_parts_with_the_id_as_reference() {
        let text = "تم تجديد جواز سفرك. ".repeat(9); // 180 chars, 360 octets: 3 parts of 133
        let parts = policy(SplitMode::Udh16, 4)
            .parts(&text, OutboundId(0x1_0203))
            .unwrap();
        assert_eq!(parts.len(), 3);
        for (i, p) in parts.iter().enumerate() {
            assert_eq!((p.data_coding, p.esm_class), (0x08, ESM_UDHI));
            let (udh, _) = parse_udh(&p.short_message).unwrap();
            let c = udh.concat.unwrap();
            assert_eq!((c.reference, c.total, c.seq), (0x0203, 3, i as u8 + 1));
        }
    }

    #[test]
    fn sar_and_payload_modes() {
        let text = "a".repeat(400);
        let sar = policy(SplitMode::Sar, 4)
            .parts(&text, OutboundId(9))
            .unwrap();
        assert_eq!(sar.len(), 3);
        assert!(sar.iter().all(|p| p.esm_class == 0 && p.sar.is_some()));
        let payload = policy(SplitMode::Payload, 4)
            .parts(&text, OutboundId(9))
            .unwrap();
        assert_eq!(payload.len(), 1);
        assert_eq!(payload[0].message_payload.as_deref(), Some(text.as_bytes()));
        assert!(payload[0].short_message.is_empty());
    }

    #[test]
    fn sar_parts_carry_the_tlvs_and_senders_get_their_ton() {
        let parts = policy(SplitMode::Sar, 4)
            .parts(&"x".repeat(200), OutboundId(3))
            .unwrap();
        let sm = parts[1].submit_sm("2150", "9647801234567", true);
        let t = &sm.tlvs;
        assert_eq!(
            (
                t.sar_msg_ref_num,
                t.sar_total_segments,
                t.sar_segment_seqnum
            ),
            (Some(3), Some(2), Some(2))
        );
        assert_eq!(
            (sm.dest.ton, sm.dest.npi, sm.registered_delivery),
            (1, 1, 1)
        );
        assert_eq!((sm.source.ton, sm.source.npi), (3, 0));
        assert_eq!(source_address("Bawaba").ton, 5);
        assert_eq!(source_address("9647801234567").ton, 1);
    }

    #[test]
    fn too_many_parts_is_a_clear_error() {
        let err = policy(SplitMode::Udh8, 2)
            .parts(&"ب".repeat(300), OutboundId(1))
            .unwrap_err();
        assert_eq!(err, text::Error::TooManyParts { needed: 5, max: 2 });
        assert!(err.to_string().contains("at most 2"));
    }
}
