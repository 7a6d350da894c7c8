//! `[security]`: per-MSISDN and per-code rate limits
//! (`[security.limits]`, each off unless set) and the PIN lockout
//! (`[security.pin_lockout]`, on by default).

use std::time::Duration;

use serde::Deserialize;
use toml::Spanned;

use super::check::{secs, Ctx};
use super::units::Dur;

type Int = Option<Spanned<i64>>;

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawSecurity {
    pub limits: Option<RawLimits>,
    pub pin_lockout: Option<RawPinLockout>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawLimits {
    pub ussd_sessions_per_minute: Int,
    pub sms_per_minute: Int,
    pub code_per_minute: Int,
    pub tracked: Int,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawPinLockout {
    pub attempts: Int,
    pub lock_for: Option<Spanned<Dur>>,
}

/// `[security]`: abuse limits and PIN lockout.
#[derive(Debug, Clone, Default)]
pub struct Security {
    pub limits: Limits,
    pub pin_lockout: PinLockout,
}

/// `[security.limits]`: per-minute limits (`None`: no limit).
#[derive(Debug, Clone)]
pub struct Limits {
    /// New USSD dialogues one MSISDN may start per minute.
    pub ussd_sessions_per_minute: Option<u32>,
    /// SMS one MSISDN may send to our short codes per minute.
    pub sms_per_minute: Option<u32>,
    /// Dialogues and SMS per minute to one short code or USSD service
    /// code, all senders together.
    pub code_per_minute: Option<u32>,
    /// MSISDNs and codes tracked at once; beyond it the oldest are forgotten.
    pub tracked: usize,
}

impl Default for Limits {
    fn default() -> Limits {
        Limits {
            ussd_sessions_per_minute: None,
            sms_per_minute: None,
            code_per_minute: None,
            tracked: 100_000,
        }
    }
}

/// `[security.pin_lockout]`: failed secret checks (a call with `verifies:`
/// whose outcome counts as wrong) before an MSISDN is locked out.
#[derive(Debug, Clone)]
pub struct PinLockout {
    pub attempts: u32,
    pub lock_for: Duration,
}

impl Default for PinLockout {
    fn default() -> PinLockout {
        PinLockout {
            attempts: 5,
            lock_for: Duration::from_secs(15 * 60),
        }
    }
}

pub(crate) fn security(cx: &mut Ctx, raw: RawSecurity) -> Security {
    let l = raw.limits.unwrap_or_default();
    let defaults = Limits::default();
    let mut per_minute = |v: &Int, key: &str, hi: i64| {
        v.as_ref()
            .map(|_| cx.int(v, &format!("security.limits.{key}"), 1, hi, 1) as u32)
    };
    let limits = Limits {
        ussd_sessions_per_minute: per_minute(
            &l.ussd_sessions_per_minute,
            "ussd_sessions_per_minute",
            1000,
        ),
        sms_per_minute: per_minute(&l.sms_per_minute, "sms_per_minute", 1000),
        code_per_minute: per_minute(&l.code_per_minute, "code_per_minute", 10_000_000),
        tracked: cx.int(
            &l.tracked,
            "security.limits.tracked",
            100,
            10_000_000,
            defaults.tracked as i64,
        ) as usize,
    };
    let p = raw.pin_lockout.unwrap_or_default();
    let d = PinLockout::default();
    let pin_lockout = PinLockout {
        attempts: cx.int(
            &p.attempts,
            "security.pin_lockout.attempts",
            1,
            100,
            i64::from(d.attempts),
        ) as u32,
        lock_for: cx.dur(
            &p.lock_for,
            "security.pin_lockout.lock_for",
            (secs(60), secs(30 * 24 * 3600)),
            d.lock_for,
        ),
    };
    Security {
        limits,
        pin_lockout,
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use crate::config::Config;

    const OPERATOR: &str = "[[operators]]\nname = \"zain\"\nhost = \"127.0.0.1\"\nport = 2775\n\
                            system_id = \"bawaba\"\npassword = \"secret\"\n";

    #[test]
    fn limits_are_off_and_the_lockout_on_by_default() {
        let c = Config::from_str(OPERATOR, "/t.toml").unwrap();
        assert_eq!(c.security.limits.ussd_sessions_per_minute, None);
        assert_eq!(c.security.limits.sms_per_minute, None);
        assert_eq!(c.security.pin_lockout.attempts, 5);
        assert_eq!(c.security.pin_lockout.lock_for, Duration::from_secs(900));
    }

    #[test]
    fn every_bad_value_is_reported_with_its_line() {
        let text = format!(
            "{OPERATOR}[security.limits]\nussd_sessions_per_minute = 0\nsms_per_minute = 5\n\
             tracked = 3\n[security.pin_lockout]\nattempts = 0\nlock_for = \"1s\"\n"
        );
        let e = Config::from_str(&text, "/t.toml").unwrap_err().to_string();
        for needle in [
            "/t.toml:8:28: security.limits.ussd_sessions_per_minute: must be between 1 and 1000, got 0",
            "security.limits.tracked: must be between 100 and 10000000, got 3",
            "security.pin_lockout.attempts: must be between 1 and 100, got 0",
            "security.pin_lockout.lock_for: must be between",
        ] {
            assert!(e.contains(needle), "{needle:?} missing from:\n{e}");
        }
    }
}
