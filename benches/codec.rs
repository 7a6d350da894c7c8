//! SMPP codec throughput, in PDUs per second (`cargo bench --bench codec`):
//! encode and decode of submit_sm and deliver_sm with a short GSM text, an
//! Arabic UCS-2 USSD screen with its TLVs, and a 1 KB message_payload; and
//! a mixed stream of frames through the `SmppCodec` framing.
//!
//! Pure CPU, one thread, no I/O. On a shared machine compare runs taken
//! back to back, not across days.

use bawaba::smpp::codec::{decode, encode, SmppCodec};
use bawaba::smpp::pdu::{Address, Body, Pdu, Sm, Tlvs};
use bytes::{Bytes, BytesMut};
use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use std::hint::black_box;
use std::time::Duration;
use tokio_util::codec::Decoder;

fn gsm_text() -> Sm {
    Sm {
        source: Address::new(5, 0, "GOV-IQ"),
        dest: Address::new(1, 1, "9647701234567"),
        registered_delivery: 1,
        short_message: Bytes::from_static(b"Your request 48213 is approved. Reply 1 for details."),
        ..Sm::default()
    }
}

fn arabic_ussd() -> Sm {
    let screen = "مرحبا بكم في البوابة\n1) الرصيد\n2) الفواتير\n3) الخدمات";
    let ucs2: Vec<u8> = screen.encode_utf16().flat_map(u16::to_be_bytes).collect();
    Sm {
        service_type: "USSD".into(),
        source: Address::new(0, 1, "2150"),
        dest: Address::new(1, 1, "9647701234567"),
        data_coding: 0x08,
        short_message: Bytes::from(ucs2),
        tlvs: Tlvs {
            ussd_service_op: Some(17),
            its_session_info: Some(0x0a01),
            user_message_reference: Some(0x1234),
            ..Tlvs::default()
        },
        ..Sm::default()
    }
}

fn payload_1k() -> Sm {
    Sm {
        source: Address::new(5, 0, "GOV-IQ"),
        dest: Address::new(1, 1, "9647701234567"),
        tlvs: Tlvs {
            message_payload: Some(Bytes::from(vec![b'x'; 1024])),
            ..Tlvs::default()
        },
        ..Sm::default()
    }
}

fn cases() -> Vec<(String, Pdu)> {
    let mut out = Vec::new();
    for (name, sm) in [
        ("gsm", gsm_text()),
        ("ucs2_tlvs", arabic_ussd()),
        ("payload_1k", payload_1k()),
    ] {
        out.push((
            format!("submit_sm/{name}"),
            Pdu::new(7, Body::SubmitSm(sm.clone())),
        ));
        out.push((
            format!("deliver_sm/{name}"),
            Pdu::new(8, Body::DeliverSm(sm)),
        ));
    }
    out
}

fn frame(pdu: &Pdu) -> Vec<u8> {
    let mut out = BytesMut::new();
    encode(pdu, &mut out);
    out.to_vec()
}

fn encoding(c: &mut Criterion) {
    let mut g = c.benchmark_group("encode");
    g.throughput(Throughput::Elements(1));
    for (name, pdu) in cases() {
        let mut buf = BytesMut::with_capacity(2048);
        g.bench_function(name, |b| {
            b.iter(|| {
                buf.clear();
                encode(black_box(&pdu), &mut buf);
                black_box(buf.len())
            })
        });
    }
    g.finish();
}

fn decoding(c: &mut Criterion) {
    let mut g = c.benchmark_group("decode");
    g.throughput(Throughput::Elements(1));
    for (name, pdu) in cases() {
        let bytes = frame(&pdu);
        g.bench_function(name, |b| b.iter(|| decode(black_box(&bytes)).unwrap()));
    }
    g.finish();
}

/// 64 frames (the six cases, enquire_link and its response, round and
/// round) framed and decoded by `SmppCodec` from one buffer.
fn stream(c: &mut Criterion) {
    const FRAMES: usize = 64;
    let mut pdus: Vec<Pdu> = cases().into_iter().map(|(_, p)| p).collect();
    pdus.push(Pdu::new(9, Body::EnquireLink));
    pdus.push(Pdu::new(9, Body::EnquireLinkResp));
    let bytes: Vec<u8> = pdus.iter().cycle().take(FRAMES).flat_map(frame).collect();
    let mut g = c.benchmark_group("stream");
    g.throughput(Throughput::Elements(FRAMES as u64));
    g.bench_function("smpp_codec_64_frames", |b| {
        b.iter(|| {
            let mut codec = SmppCodec::new();
            let mut buf = BytesMut::from(&bytes[..]);
            let mut n = 0;
            while let Some(item) = codec.decode(&mut buf).unwrap() {
                black_box(item.unwrap());
                n += 1;
            }
            assert_eq!(n, FRAMES);
        })
    });
    g.finish();
}

criterion_group! {
    name = codec;
    config = Criterion::default()
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3))
        .sample_size(30);
    targets = encoding, decoding, stream
}
criterion_main!(codec);
