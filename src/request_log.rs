//! The one log line every HTTP request ends with (target `request`): filled in as the request
//! is decided and answered, written once by [`RequestLog::finish`], which takes the log by value
//! so no request can be logged twice. `reply` is the only caller: it knows the status and the
//! bytes that really went out (for a stream, when it ends). 5xx lines are WARN, so an alarm
//! on WARN/ERROR sees every failure.

use std::time::Instant;

use crate::config::ServerTiming;
use crate::metrics::RequestMetrics;
use crate::server_timing::{ColdStart, PhpTimes, Timings};

/// One request's log fields.
pub struct RequestLog {
    pub request_id: String,
    pub kind: &'static str,
    pub method: String,
    pub path: String,
    /// Routing's decision: static / php / redirect / denied, "-" before routing.
    pub route: &'static str,
    /// Static-file cache use: hit / revalidated / miss / bypass, "-" otherwise.
    pub cache: &'static str,
    /// Where PHP ran: mirror (the local code copy) / efs / efs-write (a code-changing request);
    /// "-" when no PHP ran or the mirror is off.
    pub code: &'static str,
    pub detail: String,
    /// php-fpm's part, when PHP ran (`server_timing`).
    pub php: Option<PhpTimes>,
    /// Reading a static file (ms), when one was served.
    pub static_ms: Option<f64>,
    /// A 504 because PHP reached the invocation's deadline.
    pub deadline: bool,
    /// What start-up did, on this sandbox's first request (the cold start).
    pub cold_start: Option<ColdStart>,
    /// PHP's own `Server-Timing` entries (merged into the bridge's).
    pub php_timing: Option<String>,
    /// Where Server-Timing goes (`LAMBDA_FPM_SERVER_TIMING`).
    pub timing: ServerTiming,
    pub started: Instant,
}

impl RequestLog {
    /// A request's log before anything is decided.
    pub fn new(
        request_id: &str,
        request: &crate::event::HttpRequest,
        cold_start: Option<ColdStart>,
        timing: ServerTiming,
        started: Instant,
    ) -> RequestLog {
        RequestLog {
            request_id: request_id.to_string(),
            kind: request.kind.as_str(),
            method: request.method.clone(),
            path: request.path.clone(),
            route: "-",
            cache: "-",
            code: "-",
            detail: String::new(),
            php: None,
            static_ms: None,
            deadline: false,
            cold_start,
            php_timing: None,
            timing,
            started,
        }
    }

    /// What was measured so far.
    pub fn timings(&self) -> Timings {
        Timings {
            total_ms: self.started.elapsed().as_secs_f64() * 1000.0,
            php: self.php,
            static_file: self.static_ms.map(|ms| (ms, self.cache)),
            cold: self.cold_start.clone(),
        }
    }

    /// Takes PHP's own `Server-Timing` headers out of `headers` (kept for the log) and, when
    /// viewers get it (`LAMBDA_FPM_SERVER_TIMING=on`), adds the merged header: the bridge's
    /// entries as measured now, then PHP's.
    pub fn set_server_timing(&mut self, headers: &mut Vec<(String, String)>) {
        let php: Vec<String> = headers
            .iter()
            .filter(|(n, _)| n == "server-timing")
            .map(|(_, v)| v.clone())
            .collect();
        if !php.is_empty() {
            headers.retain(|(n, _)| n != "server-timing");
            self.php_timing = Some(php.join(", "));
        }
        if self.timing == ServerTiming::On {
            let value =
                crate::server_timing::header_value(&self.timings(), self.php_timing.as_deref());
            headers.push(("server-timing".into(), value));
        }
    }

    /// Writes the line.
    pub fn finish(self, status: u16, bytes_out: usize) {
        let timings = self.timings();
        let total_ms = (timings.total_ms * 10.0).round() / 10.0;
        let server_timing = match self.timing {
            ServerTiming::Off => String::new(),
            _ => crate::server_timing::header_value(&timings, self.php_timing.as_deref()),
        };
        let cold = self.cold_start.is_some();
        // php-fpm's whole time in whole ms, as the line always had it
        let php_ms = self.php.and_then(|p| p.total_ms).map(|ms| ms as u64);
        macro_rules! line {
            ($level:ident) => {
                tracing::$level!(
                    target: "request",
                    request_id = %self.request_id,
                    event = self.kind,
                    method = %self.method,
                    path = %self.path,
                    route = self.route,
                    cache = self.cache,
                    code = self.code,
                    status,
                    php_ms,
                    cold,
                    total_ms,
                    bytes_out,
                    server_timing = server_timing.as_str(),
                    detail = %self.detail,
                    "request"
                )
            };
        }
        if status >= 500 {
            line!(warn);
        } else {
            line!(info);
        }
        if let Some(c) = &self.cold_start {
            crate::metrics_log::cold_start(c.init_ms, &c.seed);
        }
        crate::metrics_log::request(&RequestMetrics {
            route: if self.route == "-" {
                "none"
            } else {
                self.route
            },
            status,
            latency_ms: timings.total_ms,
            php_ms: self.php.and_then(|p| p.total_ms),
            static_cache: (self.route == "static" && self.cache != "-").then_some(self.cache),
            bytes_out,
            deadline: self.deadline,
        });
    }
}
