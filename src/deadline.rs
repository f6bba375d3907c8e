//! How long PHP may run for one invocation (pure, no IO).
//!
//! Lambda gives each invocation a deadline (epoch milliseconds). PHP gets the time left minus
//! a safety margin, so the bridge can still answer 504 and restart php-fpm before Lambda
//! kills the whole sandbox. Local emulators send nonsense deadlines (cargo-lambda sent
//! 600000, i.e. 1970): anything in the past or beyond Lambda's 15-minute maximum is replaced
//! by the configured fallback.

use std::time::Duration;

/// Lambda's maximum function timeout, plus slack for clock skew.
const MAX_PLAUSIBLE_MS: u64 = 15 * 60 * 1000 + 60 * 1000;

/// Time left before the deadline, or `fallback` when the deadline is not plausible.
pub fn remaining(deadline_ms: u64, now_ms: u64, fallback: Duration) -> Duration {
    match deadline_ms.checked_sub(now_ms) {
        Some(left) if left > 0 && left <= MAX_PLAUSIBLE_MS => Duration::from_millis(left),
        _ => fallback,
    }
}

/// The time PHP may run: what is left minus the margin (zero when nothing is left).
pub fn php_budget(deadline_ms: u64, now_ms: u64, margin: Duration, fallback: Duration) -> Duration {
    remaining(deadline_ms, now_ms, fallback).saturating_sub(margin)
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: u64 = 1_800_000_000_000;
    const SEC: Duration = Duration::from_secs(1);

    #[test]
    fn normal_deadline() {
        assert_eq!(
            php_budget(NOW + 30_000, NOW, SEC, SEC * 99),
            Duration::from_millis(29_000)
        );
        assert_eq!(
            remaining(NOW + 900_000, NOW, SEC * 99),
            Duration::from_secs(900)
        );
    }

    #[test]
    fn nonsense_deadlines_use_fallback() {
        assert_eq!(remaining(600_000, NOW, SEC * 30), SEC * 30); // 1970
        assert_eq!(remaining(0, NOW, SEC * 30), SEC * 30);
        assert_eq!(remaining(NOW, NOW, SEC * 30), SEC * 30);
        assert_eq!(remaining(NOW + 3_600_000, NOW, SEC * 30), SEC * 30);
        assert_eq!(remaining(u64::MAX, NOW, SEC * 30), SEC * 30);
    }

    #[test]
    fn margin_larger_than_remaining_gives_zero() {
        assert_eq!(php_budget(NOW + 500, NOW, SEC, SEC * 30), Duration::ZERO);
    }
}
