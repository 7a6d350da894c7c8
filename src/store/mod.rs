//! Durable state behind a trait: sessions, queues, journals. sled 0.34.7 in
//! production, an in-memory model for tests.
