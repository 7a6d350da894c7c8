//! User Data Header (3GPP 23.040 §9.2.3.24) as it sits at the front of a
//! short_message when esm_class has UDHI (0x40) set, and the SAR values
//! SMPP carries in TLVs instead. Parsing is total: a malformed header is
//! reported as "no header" and the octets stay text, never a panic.

/// IEI of the concatenation element with an 8-bit reference.
pub const IEI_CONCAT_8: u8 = 0x00;
/// IEI of the concatenation element with a 16-bit reference.
pub const IEI_CONCAT_16: u8 = 0x08;

/// Where one part sits in a concatenated message (from a UDH).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Concat {
    pub reference: u16,
    pub total: u8,
    pub seq: u8,
}

/// The SMPP sar_msg_ref_num / sar_total_segments / sar_segment_seqnum TLVs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Sar {
    pub ref_num: u16,
    pub total: u8,
    pub seq: u8,
}

/// What we understand of a UDH; other elements (port addressing, SMSC
/// control, ...) are skipped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Udh {
    /// The concatenation element, if any (the last one wins, as 23.040 says
    /// for repeated elements).
    pub concat: Option<Concat>,
    /// Octets of header including the UDHL octet itself.
    pub len: usize,
}

/// Splits a short_message that has UDHI set into its header and the user
/// data after it. `None` means the header is malformed (length past the
/// end, an element running over, a concatenation element of the wrong
/// size): treat the whole short_message as text without a header.
pub fn parse_udh(short_message: &[u8]) -> Option<(Udh, &[u8])> {
    let (&udhl, rest) = short_message.split_first()?;
    let udhl = usize::from(udhl);
    if udhl > rest.len() {
        return None;
    }
    let (mut elements, payload) = rest.split_at(udhl);
    let mut concat = None;
    while let [iei, iel, tail @ ..] = elements {
        let iel = usize::from(*iel);
        if iel > tail.len() {
            return None;
        }
        let (data, next) = tail.split_at(iel);
        match (*iei, data) {
            (IEI_CONCAT_8, &[r, total, seq]) => concat = Some(concat_of(r.into(), total, seq)),
            (IEI_CONCAT_16, &[hi, lo, total, seq]) => {
                concat = Some(concat_of(u16::from_be_bytes([hi, lo]), total, seq))
            }
            (IEI_CONCAT_8 | IEI_CONCAT_16, _) => return None,
            _ => {}
        }
        elements = next;
    }
    if !elements.is_empty() {
        return None;
    }
    let udh = Udh {
        concat,
        len: udhl + 1,
    };
    Some((udh, payload))
}

fn concat_of(reference: u16, total: u8, seq: u8) -> Concat {
    Concat {
        reference,
        total,
        seq,
    }
}

impl Concat {
    /// The 6-octet UDH with an 8-bit reference (the low byte is sent).
    pub fn udh8(&self) -> [u8; 6] {
        let r = self.reference.to_be_bytes()[1];
        [0x05, IEI_CONCAT_8, 0x03, r, self.total, self.seq]
    }

    /// The 7-octet UDH with a 16-bit reference.
    pub fn udh16(&self) -> [u8; 7] {
        let [hi, lo] = self.reference.to_be_bytes();
        [0x06, IEI_CONCAT_16, 0x04, hi, lo, self.total, self.seq]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fixtures() {
        let c8 = [0x05, 0x00, 0x03, 0x2A, 0x02, 0x01, b'h', b'i'];
        let (udh, rest) = parse_udh(&c8).unwrap();
        assert_eq!(udh.concat, Some(concat_of(0x2A, 2, 1)));
        assert_eq!((udh.len, rest), (6, &b"hi"[..]));

        let c16 = [0x06, 0x08, 0x04, 0x12, 0x34, 0x03, 0x03, b'x'];
        let (udh, rest) = parse_udh(&c16).unwrap();
        assert_eq!(udh.concat, Some(concat_of(0x1234, 3, 3)));
        assert_eq!(rest, b"x");

        // 16-bit port addressing then concatenation: the port IE is skipped.
        let ports = [
            0x0B, 0x05, 0x04, 0x0B, 0x84, 0x23, 0xF0, 0x00, 0x03, 0x07, 0x02, 0x02, b'z',
        ];
        let (udh, rest) = parse_udh(&ports).unwrap();
        assert_eq!(udh.concat, Some(concat_of(7, 2, 2)));
        assert_eq!(rest, b"z");

        // A header with only a port element has no concatenation.
        let (udh, _) = parse_udh(&[0x04, 0x04, 0x02, 0x10, 0x20]).unwrap();
        assert_eq!(udh.concat, None);
    }

    #[test]
    fn malformed_headers_are_no_header() {
        let bad: &[&[u8]] = &[
            &[],
            &[0x05, 0x00, 0x03],             // UDHL past the end
            &[0x03, 0x00, 0x05, 0x01],       // IE runs over the header
            &[0x04, 0x00, 0x02, 0x01, 0x02], // 8-bit concat of length 2
            &[0x01, 0x00, b'a'],             // dangling IEI
        ];
        for b in bad {
            assert_eq!(parse_udh(b), None, "{b:02X?}");
        }
    }

    #[test]
    fn builders_round_trip() {
        let c = concat_of(0x1234, 5, 4);
        assert_eq!(c.udh8(), [0x05, 0x00, 0x03, 0x34, 0x05, 0x04]);
        assert_eq!(c.udh16(), [0x06, 0x08, 0x04, 0x12, 0x34, 0x05, 0x04]);
        assert_eq!(parse_udh(&c.udh16()).unwrap().0.concat, Some(c));
    }
}
