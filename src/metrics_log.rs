//! Writes `metrics`' EMF lines: one JSON object per line on stdout, which Lambda ships to
//! CloudWatch Logs, where the `_aws` directive becomes metrics. One `write_all` per line, so
//! lines never interleave. Set once at start-up ([`init`], from the configuration), like the
//! tracing subscriber; before that, or with `LAMBDA_FPM_METRICS=off`, nothing is written.

use std::io::Write;
use std::sync::OnceLock;

use crate::config::Config;
use crate::metrics::RequestMetrics;

struct Sink {
    namespace: String,
    function: String,
}

static SINK: OnceLock<Option<Sink>> = OnceLock::new();

/// Reads the metrics settings (the first call wins).
pub fn init(cfg: &Config) {
    let _ = SINK.set(cfg.metrics.then(|| Sink {
        namespace: cfg.metrics_namespace.clone(),
        function: cfg.function_name.clone(),
    }));
}

fn with_sink(line: impl FnOnce(&str, &str, u64) -> String) {
    let Some(Some(sink)) = SINK.get() else {
        return;
    };
    let now_ms = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0);
    let mut text = line(&sink.namespace, &sink.function, now_ms);
    text.push('\n');
    let _ = std::io::stdout().lock().write_all(text.as_bytes());
}

pub fn request(m: &RequestMetrics) {
    with_sink(|ns, f, t| crate::metrics::request_line(ns, f, t, m));
}

pub fn cold_start(init_ms: f64, seed: &str) {
    with_sink(|ns, f, t| crate::metrics::cold_start_line(ns, f, t, init_ms, seed));
}

pub fn restart(why: &str) {
    with_sink(|ns, f, t| crate::metrics::restart_line(ns, f, t, why));
}

pub fn command(command: &str, ok: bool, ms: f64) {
    with_sink(|ns, f, t| crate::metrics::command_line(ns, f, t, command, ok, ms));
}
