//! Human-readable units in the configuration: durations ("30s", "2m",
//! "500ms") and byte sizes (65536, "64KiB", "1MiB").
//!
//! Durations are parsed by `humantime` (the de-facto standard crate for this
//! in Rust: small, well kept, and it accepts exactly what people write —
//! "1h 30m", "500ms", "2m"). A bare number is rejected on purpose: `timeout
//! = 30` could mean seconds or milliseconds, and an operator should not have
//! to guess.

use std::fmt;
use std::time::Duration;

use serde::de::{self, Deserializer, Visitor};
use serde::Deserialize;

/// A duration written as text, e.g. "30s".
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Dur(pub Duration);

/// Formats a duration the way it is written in the file ("1m 30s").
pub fn show(d: Duration) -> String {
    if d.is_zero() {
        return "0s".to_string();
    }
    humantime::format_duration(d).to_string()
}

impl<'de> Deserialize<'de> for Dur {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = Dur;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a duration such as \"30s\", \"2m\" or \"500ms\"")
            }
            fn visit_str<E: de::Error>(self, s: &str) -> Result<Dur, E> {
                humantime::parse_duration(s.trim()).map(Dur).map_err(|e| {
                    E::custom(format!(
                        "invalid duration \"{s}\" ({e}); write e.g. \"30s\", \"2m\" or \"500ms\""
                    ))
                })
            }
            fn visit_i64<E: de::Error>(self, n: i64) -> Result<Dur, E> {
                Err(E::custom(format!(
                    "a duration needs a unit: write \"{n}s\" or \"{n}ms\", not {n}"
                )))
            }
            fn visit_u64<E: de::Error>(self, n: u64) -> Result<Dur, E> {
                self.visit_i64(n.min(i64::MAX as u64) as i64)
            }
        }
        d.deserialize_any(V)
    }
}

/// A size in bytes: an integer, or text with a unit (B, KB, KiB, MB, MiB,
/// GB, GiB).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Size(pub u64);

/// Formats a byte count with the largest binary unit that divides it.
pub fn show_size(n: u64) -> String {
    for (unit, factor) in [("GiB", 1u64 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10)] {
        if n >= factor && n % factor == 0 {
            return format!("{}{unit}", n / factor);
        }
    }
    format!("{n}B")
}

/// Parses "64KiB", "1 MiB", "512" (bytes).
pub fn parse_size(s: &str) -> Option<u64> {
    let s = s.trim();
    let split = s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len());
    let (num, unit) = s.split_at(split);
    let n: u64 = num.parse().ok()?;
    let factor: u64 = match unit.trim() {
        "" | "B" => 1,
        "KB" | "kB" => 1_000,
        "KiB" => 1 << 10,
        "MB" => 1_000_000,
        "MiB" => 1 << 20,
        "GB" => 1_000_000_000,
        "GiB" => 1 << 30,
        _ => return None,
    };
    n.checked_mul(factor)
}

impl<'de> Deserialize<'de> for Size {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = Size;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a size in bytes such as 65536, \"64KiB\" or \"1MiB\"")
            }
            fn visit_str<E: de::Error>(self, s: &str) -> Result<Size, E> {
                parse_size(s).map(Size).ok_or_else(|| {
                    E::custom(format!(
                        "invalid size \"{s}\"; write e.g. 65536, \"64KiB\" or \"1MiB\""
                    ))
                })
            }
            fn visit_i64<E: de::Error>(self, n: i64) -> Result<Size, E> {
                u64::try_from(n)
                    .map(Size)
                    .map_err(|_| E::custom(format!("a size cannot be negative, got {n}")))
            }
            fn visit_u64<E: de::Error>(self, n: u64) -> Result<Size, E> {
                Ok(Size(n))
            }
        }
        d.deserialize_any(V)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_parse_with_and_without_units() {
        assert_eq!(parse_size("65536"), Some(65536));
        assert_eq!(parse_size("64KiB"), Some(65536));
        assert_eq!(parse_size("1 MiB"), Some(1 << 20));
        assert_eq!(parse_size("2KB"), Some(2000));
        assert_eq!(parse_size("1 parsec"), None);
        assert_eq!(parse_size("KiB"), None);
        assert_eq!(parse_size("99999999999999GiB"), None);
    }

    #[test]
    fn sizes_and_durations_show_as_written() {
        assert_eq!(show_size(7424), "7424B");
        assert_eq!(show_size(256 << 10), "256KiB");
        assert_eq!(show(Duration::from_millis(2)), "2ms");
        assert_eq!(show(Duration::from_secs(90)), "1m 30s");
        assert_eq!(show(Duration::ZERO), "0s");
    }
}
