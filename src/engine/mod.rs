//! Declarative menu flows: the YAML format, the compiler that checks them,
//! and the pure interpreter. No I/O, no clock, no async in here.

pub mod dial;
pub mod expr;
pub mod normalize;
pub mod template;
