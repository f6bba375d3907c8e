//! When the runtime loop ends with an error: poll `/next` again, or give up (pure, no IO).
//!
//! `lambda_runtime::run` returns on the first transport error it meets talking to the Runtime
//! API (a status other than 2xx it logs and survives; a connection reset or refused it does
//! not). Such an error costs the invocation it happened in, at most: the Runtime API hands
//! every invocation out once, so polling `/next` again is always safe. `cargo lambda watch`
//! produces them routinely (it answers a response with a 500, without reading its body, when
//! the invocation's caller has gone), and on Lambda a runtime that exits loses its warm
//! sandbox. So the bridge starts the loop again after a short pause, and only gives up when the
//! loop keeps failing without an invocation in between: a Runtime API that is gone for good
//! (Lambda then starts a fresh sandbox, which is the right answer to that).

use std::time::Duration;

/// Consecutive failures, with no invocation handled in between, after which the runtime exits.
pub const MAX_FAILURES_WITHOUT_PROGRESS: u32 = 5;

/// The pause before the first retry; doubled for each further failure without progress.
pub const FIRST_PAUSE: Duration = Duration::from_millis(50);

/// The longest pause between two attempts.
pub const MAX_PAUSE: Duration = Duration::from_secs(1);

/// What to do after the loop ended with an error.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Next {
    /// Poll `/next` again after this pause; `failures` counts the failures without progress.
    Retry { pause: Duration, failures: u32 },
    /// Exit: `failures` attempts in a row failed without a single invocation.
    GiveUp { failures: u32 },
}

/// Counts failures of the runtime loop; progress (an invocation handled since the last
/// failure) resets the count.
#[derive(Debug, Default, Clone)]
pub struct RestartPolicy {
    failures: u32,
    invocations_at_last_failure: u64,
}

impl RestartPolicy {
    /// The loop ended with an error; `invocations` is the number of invocations the handler
    /// has started so far (a counter that only grows).
    pub fn after_error(&mut self, invocations: u64) -> Next {
        if invocations > self.invocations_at_last_failure {
            self.failures = 0;
        }
        self.invocations_at_last_failure = invocations;
        self.failures += 1;
        if self.failures >= MAX_FAILURES_WITHOUT_PROGRESS {
            return Next::GiveUp {
                failures: self.failures,
            };
        }
        Next::Retry {
            pause: pause_after(self.failures),
            failures: self.failures,
        }
    }
}

/// The pause after `failures` (1, 2, …) failures without progress.
pub fn pause_after(failures: u32) -> Duration {
    FIRST_PAUSE
        .saturating_mul(1 << failures.saturating_sub(1).min(16))
        .min(MAX_PAUSE)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pause(n: Next) -> Duration {
        match n {
            Next::Retry { pause, .. } => pause,
            other => panic!("expected a retry, got {other:?}"),
        }
    }

    #[test]
    fn an_error_after_invocations_is_retried_at_once() {
        let mut p = RestartPolicy::default();
        assert_eq!(
            p.after_error(7),
            Next::Retry {
                pause: FIRST_PAUSE,
                failures: 1
            }
        );
    }

    #[test]
    fn errors_with_progress_in_between_never_give_up() {
        let mut p = RestartPolicy::default();
        for served in 1..=100 {
            assert_eq!(pause(p.after_error(served)), FIRST_PAUSE);
        }
    }

    #[test]
    fn errors_without_progress_back_off_then_give_up() {
        let mut p = RestartPolicy::default();
        let pauses: Vec<Duration> = (1..MAX_FAILURES_WITHOUT_PROGRESS)
            .map(|_| pause(p.after_error(3)))
            .collect();
        assert_eq!(
            pauses,
            [50, 100, 200, 400].map(Duration::from_millis).to_vec()
        );
        assert_eq!(
            p.after_error(3),
            Next::GiveUp {
                failures: MAX_FAILURES_WITHOUT_PROGRESS
            }
        );
    }

    #[test]
    fn an_api_that_never_answered_gives_up_too() {
        let mut p = RestartPolicy::default();
        let outcomes: Vec<Next> = (0..MAX_FAILURES_WITHOUT_PROGRESS)
            .map(|_| p.after_error(0))
            .collect();
        assert!(matches!(
            outcomes.last(),
            Some(Next::GiveUp { failures: 5 })
        ));
        assert!(
            outcomes[..4]
                .iter()
                .all(|n| matches!(n, Next::Retry { .. }))
        );
    }

    #[test]
    fn progress_resets_the_count() {
        let mut p = RestartPolicy::default();
        for _ in 0..MAX_FAILURES_WITHOUT_PROGRESS - 1 {
            p.after_error(1);
        }
        assert_eq!(pause(p.after_error(2)), FIRST_PAUSE);
        assert_eq!(pause(p.after_error(2)), FIRST_PAUSE * 2);
    }

    #[test]
    fn pauses_double_up_to_the_maximum() {
        assert_eq!(pause_after(1), FIRST_PAUSE);
        assert_eq!(pause_after(2), FIRST_PAUSE * 2);
        assert_eq!(pause_after(5), FIRST_PAUSE * 16);
        assert_eq!(pause_after(6), MAX_PAUSE);
        assert_eq!(pause_after(u32::MAX), MAX_PAUSE);
        assert_eq!(pause_after(0), FIRST_PAUSE);
    }
}
