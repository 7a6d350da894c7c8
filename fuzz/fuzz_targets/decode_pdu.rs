//! The SMPP decoder on arbitrary bytes: `decode` on the input as one frame,
//! then the same bytes as a stream through `SmppCodec`, split where the
//! first byte says (so frames also arrive in pieces). Neither may panic;
//! whatever decodes must re-encode to a frame that decodes the same; the
//! stream codec must never grow the buffer on a claimed length.
#![no_main]

use bawaba::smpp::codec::{decode, encode, encoded_len, SmppCodec};
use bytes::BytesMut;
use libfuzzer_sys::fuzz_target;
use tokio_util::codec::Decoder;

fn check_stable(pdu: &bawaba::smpp::pdu::Pdu) {
    let mut again = BytesMut::new();
    encode(pdu, &mut again);
    assert_eq!(again.len(), encoded_len(pdu));
    assert_eq!(decode(&again).as_ref(), Ok(pdu));
}

fuzz_target!(|data: &[u8]| {
    if let Ok(pdu) = decode(data) {
        check_stable(&pdu);
    }

    let Some((&split, stream)) = data.split_first() else {
        return;
    };
    let chunk = usize::from(split).max(1);
    let mut codec = SmppCodec::new();
    let mut buf = BytesMut::new();
    for piece in stream.chunks(chunk) {
        buf.extend_from_slice(piece);
        loop {
            let cap = buf.capacity();
            match codec.decode(&mut buf) {
                Ok(Some(item)) => {
                    assert!(buf.capacity() <= cap);
                    if let Ok(pdu) = item {
                        check_stable(&pdu);
                    }
                }
                Ok(None) => {
                    assert!(buf.capacity() <= cap);
                    break;
                }
                Err(_) => return,
            }
        }
    }
});
