//! One SMPP bind: one tokio task; window, enquire_link, throttling, reconnect.
