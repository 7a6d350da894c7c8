//! Inbound text: decoding by data_coding (GSM 03.38 packed and unpacked,
//! IA5, Latin-1, UCS-2 with odd lengths and lone surrogates), UDH parsing,
//! and reassembly of parts into whole messages. All must be total.
#![no_main]

use bawaba::smpp::text::{self, inbound, parse_udh, Inbound, Pushed, Reassembler, Sar};
use libfuzzer_sys::fuzz_target;
use std::time::{Duration, Instant};

fuzz_target!(|data: &[u8]| {
    let Some((&head, bytes)) = data.split_first() else {
        return;
    };
    let _ = text::decode(head, bytes);
    if let Some((udh, rest)) = parse_udh(bytes) {
        assert!(udh.len >= 1 && udh.len <= bytes.len());
        assert_eq!(udh.len + rest.len(), bytes.len());
    }

    // The input as a run of parts, each `[dcs, flags, ref, total, seq, len, ..]`,
    // pushed into a small reassembler with a clock that moves on.
    let mut parts = Reassembler::new(4, Duration::from_secs(30));
    let start = Instant::now();
    let mut rest = data;
    let mut step = 0u64;
    while let [dcs, flags, r, total, seq, len, tail @ ..] = rest {
        let len = usize::from(*len).min(tail.len());
        let (bytes, next) = tail.split_at(len);
        rest = next;
        step += 1;
        let sar = (flags & 0x02 != 0).then_some(Sar {
            ref_num: u16::from(*r),
            total: *total,
            seq: *seq,
        });
        let now = start + Duration::from_secs(step * u64::from(flags >> 4));
        match inbound(*dcs, flags & 0x01 != 0, sar, bytes) {
            Inbound::Whole {
                data_coding,
                payload,
            } => {
                let _ = text::decode(data_coding, &payload);
            }
            Inbound::Part(seg) => {
                if let Ok(Pushed::Complete(whole)) = parts.push(0u8, seg, now) {
                    let _ = whole.text();
                }
                assert!(parts.len() <= 4);
            }
        }
        let _ = parts.expire(now);
    }
});
