//! Delivery receipt text and TLVs.
