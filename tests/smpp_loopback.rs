//! Our codec and rusmpp's tokio codec on the two ends of a real TCP socket
//! on 127.0.0.1, both ways round: hundreds of PDUs in one stream, written
//! in pieces of 1 to 97 bytes so frames, and headers, are split across
//! writes and reads.

mod rusmpp_model;
mod smpp_gen;

use bawaba::smpp::codec::{encode, SmppCodec};
use bawaba::smpp::pdu::Pdu;
use bytes::BytesMut;
use futures::{SinkExt, StreamExt};
use proptest::strategy::{Strategy, ValueTree};
use proptest::test_runner::TestRunner;
use rusmpp::tokio_codec::CommandCodec;
use rusmpp_model::{from_rusmpp, to_rusmpp};
use std::time::Duration;
use tokio::io::AsyncWriteExt;
use tokio::net::{TcpListener, TcpStream};
use tokio_util::codec::{Encoder, FramedRead, FramedWrite};

const PDUS: usize = 300;
const DEADLINE: Duration = Duration::from_secs(30);

/// The same PDUs on every run (a fixed seed), from the common subset.
fn sample_pdus() -> Vec<Pdu> {
    let mut runner = TestRunner::deterministic();
    let strategy = rusmpp_model::pdu();
    (0..PDUS)
        .map(|_| strategy.new_tree(&mut runner).unwrap().current())
        .collect()
}

async fn connected_pair() -> (TcpStream, TcpStream) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (client, accepted) = tokio::join!(TcpStream::connect(addr), listener.accept());
    let client = client.unwrap();
    client.set_nodelay(true).unwrap();
    (client, accepted.unwrap().0)
}

/// Write `bytes` in pieces of 1, 2, ... 97 bytes, round and round, each
/// flushed on its own (Nagle is off), so frame boundaries fall anywhere.
async fn write_in_pieces(stream: &mut TcpStream, bytes: &[u8]) {
    let mut sizes = (1..=97usize).cycle();
    let mut rest = bytes;
    while !rest.is_empty() {
        let n = sizes.next().unwrap().min(rest.len());
        stream.write_all(&rest[..n]).await.unwrap();
        stream.flush().await.unwrap();
        rest = &rest[n..];
        if n % 5 == 0 {
            tokio::task::yield_now().await;
        }
    }
}

/// The writer side of both tests: `framed` through `codec` as a Sink, then
/// `pieces` (the rest, already encoded by the same codec) written in
/// pieces, then the socket closed.
fn spawn_writer<C, T>(
    stream: TcpStream,
    codec: C,
    framed: Vec<T>,
    pieces: BytesMut,
) -> tokio::task::JoinHandle<()>
where
    C: Encoder<T> + Send + Unpin + 'static,
    C::Error: std::fmt::Debug,
    T: Send + 'static,
{
    tokio::spawn(async move {
        let mut sink = FramedWrite::new(stream, codec);
        for item in framed {
            sink.send(item).await.unwrap();
        }
        let mut stream = sink.into_inner();
        write_in_pieces(&mut stream, &pieces).await;
        stream.shutdown().await.unwrap();
    })
}

#[tokio::test]
async fn ours_writes_rusmpp_reads() {
    let pdus = sample_pdus();
    let (writer, reader) = connected_pair().await;
    let (first, second) = pdus.split_at(PDUS / 2);
    let first = first.to_vec();
    let mut pieces = BytesMut::new();
    for pdu in second {
        encode(pdu, &mut pieces);
    }
    let write = spawn_writer(writer, SmppCodec::new(), first, pieces);

    let read = async {
        let mut frames = FramedRead::new(reader, CommandCodec::new());
        for (i, want) in pdus.iter().enumerate() {
            let cmd = frames
                .next()
                .await
                .unwrap_or_else(|| panic!("stream ended before PDU {i}"))
                .unwrap_or_else(|e| panic!("rusmpp refused PDU {i} {want:?}: {e}"));
            assert_eq!(&from_rusmpp(&cmd), want, "PDU {i}");
        }
        assert!(frames.next().await.is_none(), "bytes after the last PDU");
    };
    tokio::time::timeout(DEADLINE, read)
        .await
        .expect("reader stalled");
    write.await.unwrap();
}

#[tokio::test]
async fn rusmpp_writes_ours_reads() {
    let pdus = sample_pdus();
    let (writer, reader) = connected_pair().await;
    let (first, second) = pdus.split_at(PDUS / 2);
    let commands: Vec<_> = first.iter().map(to_rusmpp).collect();
    let mut pieces = BytesMut::new();
    for pdu in second {
        CommandCodec::new()
            .encode(to_rusmpp(pdu), &mut pieces)
            .unwrap();
    }
    let write = spawn_writer(writer, CommandCodec::new(), commands, pieces);

    let read = async {
        let mut frames = FramedRead::new(reader, SmppCodec::new());
        for (i, want) in pdus.iter().enumerate() {
            let got = frames
                .next()
                .await
                .unwrap_or_else(|| panic!("stream ended before PDU {i}"))
                .unwrap_or_else(|e| panic!("framing failed at PDU {i}: {e}"));
            assert_eq!(got.as_ref(), Ok(want), "PDU {i}");
        }
        assert!(frames.next().await.is_none(), "bytes after the last PDU");
    };
    tokio::time::timeout(DEADLINE, read)
        .await
        .expect("reader stalled");
    write.await.unwrap();
}
