//! The one log line every HTTP request ends with (target `request`): filled in as the request
//! is decided and answered, written once by [`RequestLog::finish`], which takes the log by value
//! so no request can be logged twice. `reply` is the only caller: it knows the status and the
//! bytes that really went out (for a stream, when it ends). 5xx lines are WARN, so an alarm
//! on WARN/ERROR sees every failure.

use std::time::Instant;

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
    pub php_ms: Option<u64>,
    /// The first request of this sandbox.
    pub cold: bool,
    pub started: Instant,
}

impl RequestLog {
    /// A request's log before anything is decided.
    pub fn new(
        request_id: &str,
        request: &crate::event::HttpRequest,
        cold: bool,
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
            php_ms: None,
            cold,
            started,
        }
    }

    /// Writes the line.
    pub fn finish(self, status: u16, bytes_out: usize) {
        let total_ms = self.started.elapsed().as_secs_f64() * 1000.0;
        let total_ms = (total_ms * 10.0).round() / 10.0;
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
                    php_ms = self.php_ms,
                    cold = self.cold,
                    total_ms,
                    bytes_out,
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
    }
}
