//! Inbound reassembly: order, duplicates, rejects, and the count and time
//! bounds, on an injected clock.

use std::time::{Duration, Instant};

use bawaba::smpp::text::{inbound, Inbound, Pushed, Reassembler, Sar, Segment, SegmentError};
use proptest::prelude::*;

fn seg(reference: u16, total: u8, seq: u8, payload: &[u8]) -> Segment {
    Segment {
        reference,
        total,
        seq,
        data_coding: 0x00,
        payload: payload.to_vec(),
    }
}

fn secs(t0: Instant, s: u64) -> Instant {
    t0 + Duration::from_secs(s)
}

#[test]
fn parts_in_any_order_complete_once() {
    let t0 = Instant::now();
    let mut r = Reassembler::new(10, Duration::from_secs(60));
    assert!(matches!(
        r.push("a", seg(5, 3, 3, b"!"), t0),
        Ok(Pushed::Pending { evicted: None })
    ));
    assert_eq!(
        r.push("a", seg(5, 3, 1, b"Sal"), t0),
        Ok(Pushed::Pending { evicted: None })
    );
    assert_eq!(r.push("a", seg(5, 3, 1, b"XXX"), t0), Ok(Pushed::Duplicate));
    let done = r
        .push("a", seg(5, 3, 2, b"aam"), t0)
        .unwrap()
        .complete()
        .unwrap();
    assert_eq!(
        (done.key, done.reference, done.text()),
        ("a", 5, "Salaam!".to_string())
    );
    assert!(r.is_empty());
}

#[test]
fn single_part_completes_at_once() {
    let mut r: Reassembler<u8> = Reassembler::new(1, Duration::from_secs(1));
    let done = r.push(1, seg(0, 1, 1, b"hi"), Instant::now()).unwrap();
    assert_eq!(done.complete().unwrap().text(), "hi");
    assert!(r.is_empty());
}

#[test]
fn impossible_segments_are_rejected() {
    let mut r = Reassembler::new(4, Duration::from_secs(60));
    let now = Instant::now();
    assert_eq!(
        r.push(1, seg(1, 0, 1, b""), now),
        Err(SegmentError::ZeroTotal)
    );
    assert_eq!(
        r.push(1, seg(1, 2, 0, b""), now),
        Err(SegmentError::SeqOutOfRange { seq: 0, total: 2 })
    );
    assert_eq!(
        r.push(1, seg(1, 2, 3, b""), now),
        Err(SegmentError::SeqOutOfRange { seq: 3, total: 2 })
    );
    assert!(r.is_empty());
}

#[test]
fn same_reference_from_different_senders_stays_apart() {
    let mut r = Reassembler::new(4, Duration::from_secs(60));
    let now = Instant::now();
    r.push("alice", seg(9, 2, 1, b"A1"), now).unwrap();
    r.push("bob", seg(9, 2, 1, b"B1"), now).unwrap();
    let bob = r
        .push("bob", seg(9, 2, 2, b"B2"), now)
        .unwrap()
        .complete()
        .unwrap();
    assert_eq!(bob.text(), "B1B2");
    assert_eq!(r.len(), 1);
}

#[test]
fn the_oldest_partial_is_evicted_and_handed_back() {
    let t0 = Instant::now();
    let mut r = Reassembler::new(2, Duration::from_secs(600));
    r.push(1, seg(1, 2, 1, b"one"), secs(t0, 0)).unwrap();
    r.push(2, seg(2, 2, 1, b"two"), secs(t0, 1)).unwrap();
    let Pushed::Pending { evicted: Some(old) } =
        r.push(3, seg(3, 2, 1, b"x"), secs(t0, 2)).unwrap()
    else {
        panic!("expected an eviction")
    };
    assert_eq!(
        (old.key, old.reference, old.total, old.text()),
        (1, 1, 2, "one".to_string())
    );
    assert_eq!(r.len(), 2);
    // The evicted message's late part starts afresh rather than completing.
    assert!(r
        .push(1, seg(1, 2, 2, b"!"), secs(t0, 3))
        .unwrap()
        .complete()
        .is_none());
}

#[test]
fn partials_expire_after_max_age() {
    let t0 = Instant::now();
    let mut r = Reassembler::new(10, Duration::from_secs(30));
    r.push("a", seg(1, 2, 1, b"a"), secs(t0, 0)).unwrap();
    r.push("b", seg(2, 2, 1, b"b"), secs(t0, 20)).unwrap();
    assert!(r.expire(secs(t0, 30)).is_empty());
    let gone = r.expire(secs(t0, 31));
    assert_eq!(gone.len(), 1);
    assert_eq!(gone[0].key, "a");
    assert_eq!(r.len(), 1);
    let gone = r.expire(secs(t0, 100));
    assert_eq!(gone[0].key, "b");
    assert!(r.is_empty());
}

#[test]
fn a_stale_partial_is_replaced_not_joined() {
    let t0 = Instant::now();
    let mut r = Reassembler::new(10, Duration::from_secs(30));
    r.push(7, seg(1, 2, 1, b"old"), secs(t0, 0)).unwrap();
    let Pushed::Pending {
        evicted: Some(stale),
    } = r.push(7, seg(1, 2, 2, b"new2"), secs(t0, 40)).unwrap()
    else {
        panic!("expected the stale partial back")
    };
    assert_eq!(stale.text(), "old");
    let done = r
        .push(7, seg(1, 2, 1, b"new1"), secs(t0, 41))
        .unwrap()
        .complete()
        .unwrap();
    assert_eq!(done.text(), "new1new2");
}

#[test]
fn a_surrogate_pair_split_across_parts_still_decodes() {
    let mut r = Reassembler::new(4, Duration::from_secs(60));
    let now = Instant::now();
    let ucs2 = |seq, payload: &[u8]| Segment {
        data_coding: 0x08,
        ..seg(3, 2, seq, payload)
    };
    r.push(0, ucs2(1, &[0x06, 0x45, 0xD8, 0x3D]), now).unwrap();
    let done = r
        .push(0, ucs2(2, &[0xDE, 0x00]), now)
        .unwrap()
        .complete()
        .unwrap();
    assert_eq!(done.text(), "م😀");
}

#[test]
fn inbound_sorts_whole_messages_from_parts() {
    let udh8 = [0x05, 0x00, 0x03, 0x2A, 0x02, 0x01, b'h', b'i'];
    assert_eq!(
        inbound(0, true, None, &udh8),
        Inbound::Part(seg(0x2A, 2, 1, b"hi"))
    );
    // UDHI clear: the same octets are text, header and all.
    assert!(
        matches!(inbound(0, false, None, &udh8), Inbound::Whole { payload, .. } if payload == udh8)
    );
    // Malformed UDH: nothing is lost, the octets stay whole.
    let bad = [0x09, 0x00, 0x03, b'x'];
    assert_eq!(
        inbound(0, true, None, &bad),
        Inbound::Whole {
            data_coding: 0,
            payload: bad.to_vec()
        }
    );
    // A port-only UDH is stripped.
    let ports = [0x04, 0x04, 0x02, 0x10, 0x20, b'o', b'k'];
    assert_eq!(
        inbound(0, true, None, &ports),
        Inbound::Whole {
            data_coding: 0,
            payload: b"ok".to_vec()
        }
    );
    // SAR TLVs.
    let sar = Sar {
        ref_num: 0x1234,
        total: 3,
        seq: 2,
    };
    let want = Segment {
        data_coding: 8,
        ..seg(0x1234, 3, 2, &[0x06, 0x27])
    };
    assert_eq!(
        inbound(8, false, Some(sar), &[0x06, 0x27]),
        Inbound::Part(want)
    );
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    /// Whatever arrives, the reassembler never holds more than its bound,
    /// never panics, and every completion has all its parts in order.
    #[test]
    fn bounded_under_arbitrary_segments(
        max in 1usize..6,
        pushes in proptest::collection::vec((0u8..4, 0u16..4, 0u8..5, 0u8..6, 0u64..200), 0..200),
    ) {
        let t0 = Instant::now();
        let mut r = Reassembler::new(max, Duration::from_secs(50));
        let mut clock = 0;
        for (key, reference, total, seq, dt) in pushes {
            clock += dt;
            let now = t0 + Duration::from_secs(clock);
            if let Ok(Pushed::Complete(c)) = r.push(key, seg(reference, total, seq, &[seq]), now) {
                let seqs: Vec<u8> = c.segments.iter().map(|s| s.seq).collect();
                let want: Vec<u8> = (1..=total).collect();
                prop_assert_eq!(seqs, want);
            }
            prop_assert!(r.len() <= max);
            if clock % 3 == 0 {
                for p in r.expire(now) {
                    prop_assert!(p.segments.len() < usize::from(p.total));
                }
            }
        }
    }
}
