//! The gateway configuration: TOML into a validated, typed `Config`.
