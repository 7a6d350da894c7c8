//! Encoding and decoding of PDUs, and the tokio-util framing codec.
