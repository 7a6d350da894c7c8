//! Property tests of the SMPP codec on its own: every PDU body round-trips,
//! `encoded_len` is the encoded size, and no input (random bytes, or a valid
//! frame flipped, cut, padded or lying about its length) makes `decode` or
//! the `SmppCodec` framing panic, over-allocate or reserve on a peer's claim.
//! The cross-checks against rusmpp are in `smpp_rusmpp.rs`.

mod smpp_gen;

use bawaba::smpp::codec::{
    decode, encode, encoded_len, DecodeError, FramingError, SmppCodec, DEFAULT_MAX_PDU, HEADER_LEN,
};
use bawaba::smpp::pdu::Pdu;
use bytes::BytesMut;
use proptest::collection::vec;
use proptest::prelude::*;
use proptest::sample::Index;
use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use tokio_util::codec::{Decoder, Encoder};

/// Counts the bytes this thread asks the allocator for, so a test can bound
/// what one `decode` call allocates (tests run on several threads; the
/// counter is per thread so they do not see each other's allocations).
struct Counting;

thread_local! {
    static ALLOCATED: Cell<usize> = const { Cell::new(0) };
}

fn note(bytes: usize) {
    let _ = ALLOCATED.try_with(|a| a.set(a.get() + bytes));
}

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        note(layout.size());
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        note(layout.size());
        unsafe { System.alloc_zeroed(layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        note(new_size);
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

/// The bytes allocated (not freed: asked for) while `f` runs on this thread.
fn allocated_by<T>(f: impl FnOnce() -> T) -> (T, usize) {
    let before = ALLOCATED.with(Cell::get);
    let out = f();
    (out, ALLOCATED.with(Cell::get) - before)
}

/// What decoding a frame may cost: its fields are copied out once, and the
/// per-field overhead (a `String` per C-octet string, a `RawTlv` per
/// 4-byte empty TLV, `Vec` doubling) stays within a constant factor of the
/// frame. A decoder that trusted a claimed length would blow through this.
fn allocation_budget(frame_len: usize) -> usize {
    4096 + 32 * frame_len
}

fn encoded(pdu: &Pdu) -> Vec<u8> {
    let mut out = BytesMut::new();
    encode(pdu, &mut out);
    out.to_vec()
}

/// Decode and check the allocation budget; the result for further checks.
fn decode_within_budget(frame: &[u8]) -> Result<Pdu, DecodeError> {
    let (result, bytes) = allocated_by(|| decode(frame));
    let budget = allocation_budget(frame.len());
    assert!(
        bytes <= budget,
        "decode of {} bytes allocated {bytes} (budget {budget})",
        frame.len()
    );
    result
}

/// Whatever `decode` accepts must encode to a frame that decodes to the
/// same PDU (the decoder's output is always something we can send).
fn assert_stable(frame: &[u8]) {
    if let Ok(pdu) = decode_within_budget(frame) {
        let again = encoded(&pdu);
        assert_eq!(again.len(), encoded_len(&pdu));
        assert_eq!(decode(&again).as_ref(), Ok(&pdu), "re-encoded {again:02x?}");
    }
}

/// Feed `stream` to a fresh `SmppCodec` in `chunks`-sized pieces, the way a
/// socket would, until it ends or the codec refuses the stream. Checks on
/// every call that the codec did not grow the buffer (it reserves nothing
/// on a claimed length) and that a frame it returns is within the cap.
fn frame_stream(stream: &[u8], chunks: &[usize], max: u32) -> Vec<Result<Pdu, DecodeError>> {
    let mut codec = SmppCodec::with_max_len(max);
    let mut buf = BytesMut::new();
    let mut out = Vec::new();
    let mut rest = stream;
    let mut sizes = chunks.iter().cycle();
    loop {
        let n = sizes.next().copied().unwrap_or(rest.len()).clamp(1, 64);
        let (chunk, tail) = rest.split_at(n.min(rest.len()));
        buf.extend_from_slice(chunk);
        rest = tail;
        loop {
            let (len, cap) = (buf.len(), buf.capacity());
            match codec.decode(&mut buf) {
                Ok(Some(item)) => {
                    let taken = len - buf.len();
                    assert!(taken >= HEADER_LEN && taken <= max as usize, "{taken}");
                    assert!(buf.capacity() <= cap, "decode grew the buffer");
                    out.push(item);
                }
                Ok(None) => {
                    assert_eq!(buf.len(), len, "Ok(None) consumed bytes");
                    assert!(buf.capacity() <= cap, "decode reserved on a claim");
                    break;
                }
                Err(FramingError::Length { length, max: m, .. }) => {
                    assert!(length < HEADER_LEN as u32 || length > m);
                    return out;
                }
                Err(other) => panic!("decoder error other than Length: {other}"),
            }
        }
        if rest.is_empty() {
            return out;
        }
    }
}

/// A change to a valid frame: the kinds of damage a broken peer or a
/// broken link produce.
#[derive(Clone, Debug)]
enum Mutation {
    Flip(Index, u8),
    Truncate(Index),
    Insert(Index, u8),
    Remove(Index),
    /// command_length says something else.
    Lie(u32),
}

fn mutation() -> impl Strategy<Value = Mutation> {
    prop_oneof![
        3 => (any::<Index>(), 1..=255u8).prop_map(|(i, m)| Mutation::Flip(i, m)),
        1 => any::<Index>().prop_map(Mutation::Truncate),
        1 => (any::<Index>(), any::<u8>()).prop_map(|(i, b)| Mutation::Insert(i, b)),
        1 => any::<Index>().prop_map(Mutation::Remove),
        1 => prop_oneof![any::<u32>(), 0..40u32, 7400..7450u32].prop_map(Mutation::Lie),
    ]
}

fn apply(frame: &mut Vec<u8>, m: &Mutation) {
    match m {
        _ if frame.is_empty() => {}
        Mutation::Flip(i, mask) => {
            let at = i.index(frame.len());
            frame[at] ^= mask
        }
        Mutation::Truncate(i) => frame.truncate(i.index(frame.len())),
        Mutation::Insert(i, b) => frame.insert(i.index(frame.len() + 1), *b),
        Mutation::Remove(i) => {
            frame.remove(i.index(frame.len()));
        }
        Mutation::Lie(n) if frame.len() >= 4 => frame[..4].copy_from_slice(&n.to_be_bytes()),
        Mutation::Lie(_) => {}
    }
}

/// A valid frame with damage; `fix_length` then makes command_length
/// match again, so the damage reaches the body parser instead of stopping
/// at the framing check.
fn damaged_frame() -> impl Strategy<Value = Vec<u8>> {
    (smpp_gen::pdu(), vec(mutation(), 1..4), any::<bool>()).prop_map(|(pdu, ms, fix_length)| {
        let mut frame = encoded(&pdu);
        for m in &ms {
            apply(&mut frame, m);
        }
        if fix_length && frame.len() >= 4 {
            let n = frame.len() as u32;
            frame[..4].copy_from_slice(&n.to_be_bytes());
        }
        frame
    })
}

/// A frame header with any command_id from the SMPP 3.4 table (or not),
/// then random bytes: reaches every body parser with garbage.
fn random_body_frame() -> impl Strategy<Value = Vec<u8>> {
    const IDS: &[u32] = &[
        0x01,
        0x02,
        0x03,
        0x04,
        0x05,
        0x06,
        0x09,
        0x0B,
        0x15,
        0x102,
        0x103,
        0x8000_0000,
        0x8000_0001,
        0x8000_0002,
        0x8000_0003,
        0x8000_0004,
        0x8000_0005,
        0x8000_0006,
        0x8000_0009,
        0x8000_0015,
        0x8000_0103,
    ];
    let id = prop_oneof![4 => proptest::sample::select(IDS), 1 => any::<u32>()];
    let status = prop_oneof![Just(0u32), any::<u32>()];
    (id, status, any::<u32>(), vec(any::<u8>(), 0..300)).prop_map(|(id, status, seq, body)| {
        let mut frame = Vec::with_capacity(HEADER_LEN + body.len());
        frame.extend_from_slice(&((HEADER_LEN + body.len()) as u32).to_be_bytes());
        frame.extend_from_slice(&id.to_be_bytes());
        frame.extend_from_slice(&status.to_be_bytes());
        frame.extend_from_slice(&seq.to_be_bytes());
        frame.extend_from_slice(&body);
        frame
    })
}

proptest! {
    #[test]
    fn every_pdu_round_trips(pdu in smpp_gen::pdu()) {
        let frame = encoded(&pdu);
        prop_assert_eq!(frame.len(), encoded_len(&pdu));
        prop_assert_eq!(&frame[..4], &(frame.len() as u32).to_be_bytes()[..]);
        prop_assert_eq!(decode_within_budget(&frame), Ok(pdu.clone()));

        // The same through the tokio codec, with leftovers of a next frame.
        let mut codec = SmppCodec::new();
        let mut buf = BytesMut::new();
        codec.encode(&pdu, &mut buf).unwrap();
        prop_assert_eq!(&buf[..], &frame[..]);
        buf.extend_from_slice(&frame[..5]);
        prop_assert_eq!(codec.decode(&mut buf).unwrap(), Some(Ok(pdu)));
        prop_assert_eq!(buf.len(), 5);
    }

    #[test]
    fn a_stream_of_pdus_frames_back_whatever_the_chunking(
        pdus in vec(smpp_gen::pdu(), 1..8),
        chunks in vec(1..64usize, 1..8),
    ) {
        let stream: Vec<u8> = pdus.iter().flat_map(encoded).collect();
        let got = frame_stream(&stream, &chunks, DEFAULT_MAX_PDU);
        let want: Vec<_> = pdus.into_iter().map(Ok).collect();
        prop_assert_eq!(got, want);
    }

    #[test]
    fn decode_survives_random_bytes(bytes in vec(any::<u8>(), 0..400)) {
        assert_stable(&bytes);
    }

    #[test]
    fn decode_survives_random_bodies(frame in random_body_frame()) {
        assert_stable(&frame);
    }

    #[test]
    fn decode_survives_damaged_frames(frame in damaged_frame()) {
        assert_stable(&frame);
    }

    #[test]
    fn framing_survives_random_and_damaged_streams(
        frames in vec(prop_oneof![damaged_frame(), random_body_frame()], 1..6),
        chunks in vec(1..64usize, 1..8),
        max in prop_oneof![Just(DEFAULT_MAX_PDU), 16..400u32],
    ) {
        let stream: Vec<u8> = frames.concat();
        // A frame the codec hands out decodes the same on its own.
        for pdu in frame_stream(&stream, &chunks, max).into_iter().flatten() {
            let again = encoded(&pdu);
            prop_assert_eq!(decode(&again), Ok(pdu));
        }
    }
}

#[test]
fn a_claimed_length_reserves_nothing() {
    // A header claiming the full cap, then a trickle of body bytes: the
    // buffer grows only by what arrives.
    let mut codec = SmppCodec::new();
    let mut buf = BytesMut::with_capacity(64);
    buf.extend_from_slice(&DEFAULT_MAX_PDU.to_be_bytes());
    buf.extend_from_slice(&[0, 0, 0, 4, 0, 0, 0, 0, 0, 0, 0, 1]);
    for _ in 0..40 {
        let cap = buf.capacity();
        assert!(codec.decode(&mut buf).unwrap().is_none());
        assert_eq!(buf.capacity(), cap);
        buf.extend_from_slice(b"x");
    }
    assert!(buf.capacity() < 1024, "{}", buf.capacity());
}

#[test]
fn decoding_the_largest_frame_stays_within_budget() {
    // 64 empty unknown TLVs (the most kept raw) in a data_sm: the worst
    // ratio of allocation to input that a TLV list can cause.
    let mut frame = vec![0u8; HEADER_LEN];
    frame[4..8].copy_from_slice(&0x103u32.to_be_bytes());
    frame.extend_from_slice(b"\0\x01\x01a\0\x01\x01b\0\x00\x00\x00");
    for i in 0..64u16 {
        frame.extend_from_slice(&(0x4000 + i).to_be_bytes());
        frame.extend_from_slice(&[0, 0]);
    }
    let n = frame.len() as u32;
    frame[..4].copy_from_slice(&n.to_be_bytes());
    let pdu = decode_within_budget(&frame).unwrap();
    assert_eq!(encoded(&pdu), frame);
    // One more is refused rather than kept.
    frame.extend_from_slice(&[0x40, 0x40, 0, 0]);
    let n = frame.len() as u32;
    frame[..4].copy_from_slice(&n.to_be_bytes());
    assert!(matches!(
        decode_within_budget(&frame),
        Err(DecodeError::Body { .. })
    ));
}
