//! CloudWatch metrics with no agent and no API call: Embedded Metric Format (EMF) log lines
//! (pure, no IO: the lines are built here, `metrics_log` writes them). CloudWatch Logs turns each
//! line's `_aws.CloudWatchMetrics` directive into metrics when Lambda ships the log.
//!
//! One line per request (~430-480 bytes, about the size of the request log line: at CloudWatch
//! Logs' $0.50/GB ingestion, ~$0.25 per million requests; aggregating N requests per line would
//! save most of that, but a sandbox can be frozen or reclaimed after any invocation, losing what
//! was not yet written, so every line stands alone), plus one per event: a cold start, a php-fpm
//! restart, an `install` or `cron` command.
//!
//! Dimensions are kept few, so the metric count (and cost) stays fixed whatever the traffic:
//! `function` (the Lambda function name), `route` (php / static / redirect / denied, `none`
//! when the request was refused before routing), `status` (2xx … 5xx). Every request line also carries the same metrics
//! with `function` alone, so a dashboard can show the whole function without metric math.

use serde_json::Value;

/// Units CloudWatch accepts (the ones used here).
pub const UNITS: &[&str] = &["Milliseconds", "Bytes", "Count"];

/// What one request contributes.
#[derive(Debug, Clone, PartialEq)]
pub struct RequestMetrics {
    pub route: &'static str,
    pub status: u16,
    pub latency_ms: f64,
    /// php-fpm's time, when PHP ran.
    pub php_ms: Option<f64>,
    /// Static-file cache use, when a static file was served: hit / revalidated / miss / bypass.
    pub static_cache: Option<&'static str>,
    pub bytes_out: usize,
    /// The bridge answered 504 because PHP reached the invocation's deadline.
    pub deadline: bool,
}

/// The status class dimension.
pub fn status_class(status: u16) -> &'static str {
    match status {
        100..=199 => "1xx",
        200..=299 => "2xx",
        300..=399 => "3xx",
        400..=499 => "4xx",
        _ => "5xx",
    }
}

/// A member's value (`Num`: milliseconds, written with one decimal).
#[derive(Clone, Copy)]
enum Member<'a> {
    Str(&'a str),
    Num(f64),
    Int(u64),
}
use Member::{Int, Num, Str};

/// Writes `s` as a JSON string (the common case, nothing to escape, copied whole).
fn push_json_str(out: &mut String, s: &str) {
    out.push('"');
    if s.bytes().all(|b| b >= 0x20 && b != b'"' && b != b'\\') {
        out.push_str(s);
    } else {
        use std::fmt::Write;
        for c in s.chars() {
            match c {
                '"' => out.push_str("\\\""),
                '\\' => out.push_str("\\\\"),
                c if (c as u32) < 0x20 => {
                    let _ = write!(out, "\\u{:04x}", c as u32);
                }
                c => out.push(c),
            }
        }
    }
    out.push('"');
}

/// Writes one of this module's own names (ASCII identifiers, never escaped) as a JSON string.
fn push_name(out: &mut String, name: &str) {
    debug_assert!(name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_'));
    out.push('"');
    out.push_str(name);
    out.push('"');
}

/// One EMF document, written straight into a string (no JSON tree: this runs once per request,
/// and building a `serde_json::Value` cost more than the rest of the request's bookkeeping).
fn document(
    namespace: &str,
    timestamp_ms: u64,
    dimensions: &[&[&str]],
    members: &[(&str, Member<'_>)],
    metrics: &[(&str, &str)],
) -> String {
    use std::fmt::Write;
    let mut out = String::with_capacity(512);
    let _ = write!(
        out,
        "{{\"_aws\":{{\"Timestamp\":{timestamp_ms},\"CloudWatchMetrics\":[{{\"Namespace\":"
    );
    push_json_str(&mut out, namespace);
    out.push_str(",\"Dimensions\":[");
    for (i, set) in dimensions.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        out.push('[');
        for (j, name) in set.iter().enumerate() {
            if j > 0 {
                out.push(',');
            }
            push_name(&mut out, name);
        }
        out.push(']');
    }
    out.push_str("],\"Metrics\":[");
    for (i, (name, unit)) in metrics.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        out.push_str("{\"Name\":");
        push_name(&mut out, name);
        out.push_str(",\"Unit\":");
        push_name(&mut out, unit);
        out.push('}');
    }
    out.push_str("]}]}");
    for (name, value) in members {
        out.push(',');
        push_name(&mut out, name);
        out.push(':');
        match value {
            Str(s) => push_json_str(&mut out, s),
            Num(v) => crate::server_timing::push_tenths(&mut out, *v),
            Int(v) => {
                let _ = write!(out, "{v}");
            }
        }
    }
    out.push('}');
    out
}

/// The line for one answered request.
pub fn request_line(
    namespace: &str,
    function: &str,
    timestamp_ms: u64,
    m: &RequestMetrics,
) -> String {
    let class = status_class(m.status);
    let mut members: Vec<(&str, Member<'_>)> = Vec::with_capacity(10);
    let mut metrics: Vec<(&str, &str)> = Vec::with_capacity(7);
    members.extend([
        ("function", Str(function)),
        ("route", Str(m.route)),
        ("status", Str(class)),
        ("requests", Int(1)),
        ("latency", Num(round1(m.latency_ms))),
        ("bytes_out", Int(m.bytes_out as u64)),
    ]);
    metrics.extend([
        ("requests", "Count"),
        ("latency", "Milliseconds"),
        ("bytes_out", "Bytes"),
    ]);
    // Counters appear only when they count something: a sum over any period is the same, and
    // the line stays short (most requests count no error).
    let mut count = |name: &'static str, yes: bool| {
        if yes {
            members.push((name, Int(1)));
            metrics.push((name, "Count"));
        }
    };
    count("errors_4xx", class == "4xx");
    count("errors_5xx", class == "5xx");
    count("deadline_504", m.deadline);
    if let Some(cache) = m.static_cache {
        let hit = matches!(cache, "hit" | "revalidated");
        count("static_cache_hits", hit);
        count("static_cache_misses", !hit);
    }
    if let Some(php) = m.php_ms {
        members.push(("php_time", Num(round1(php))));
        metrics.push(("php_time", "Milliseconds"));
    }
    document(
        namespace,
        timestamp_ms,
        &[&["function", "route", "status"], &["function"]],
        &members,
        &metrics,
    )
}

/// A sandbox's first request: its init time and what the opcache seed did.
pub fn cold_start_line(
    namespace: &str,
    function: &str,
    timestamp_ms: u64,
    init_ms: f64,
    seed: &str,
) -> String {
    document(
        namespace,
        timestamp_ms,
        &[&["function"], &["function", "seed"]],
        &[
            ("function", Str(function)),
            ("seed", Str(seed)),
            ("cold_starts", Int(1)),
            ("init_time", Num(round1(init_ms))),
        ],
        &[("cold_starts", "Count"), ("init_time", "Milliseconds")],
    )
}

/// php-fpm was restarted (after a deadline, a dead worker, a code change).
pub fn restart_line(namespace: &str, function: &str, timestamp_ms: u64, why: &str) -> String {
    document(
        namespace,
        timestamp_ms,
        &[&["function"]],
        &[
            ("function", Str(function)),
            ("why", Str(why)),
            ("php_fpm_restarts", Int(1)),
        ],
        &[("php_fpm_restarts", "Count")],
    )
}

/// An `install` or `cron` command finished.
pub fn command_line(
    namespace: &str,
    function: &str,
    timestamp_ms: u64,
    command: &str,
    ok: bool,
    ms: f64,
) -> String {
    document(
        namespace,
        timestamp_ms,
        &[&["function", "command"]],
        &[
            ("function", Str(function)),
            ("command", Str(command)),
            ("command_ok", Int(u64::from(ok))),
            ("command_failed", Int(u64::from(!ok))),
            ("command_time", Num(round1(ms))),
        ],
        &[
            ("command_ok", "Count"),
            ("command_failed", "Count"),
            ("command_time", "Milliseconds"),
        ],
    )
}

fn round1(v: f64) -> f64 {
    (v.max(0.0) * 10.0).round() / 10.0
}

/// Checks a line against the EMF specification (what CloudWatch would reject or ignore): a
/// root object with `_aws.Timestamp` (integer ms) and `_aws.CloudWatchMetrics` (1+ directives),
/// each directive with a non-empty `Namespace`, `Dimensions` (sets of 1 to 30 names, each a root
/// string member) and 1 to 100 `Metrics` (names of root numeric members, units CloudWatch knows),
/// and nothing else that looks like a metric name twice. Used by the tests; returns why not.
pub fn check_emf(line: &Value) -> Result<(), String> {
    let root = line.as_object().ok_or("not an object")?;
    let aws = root
        .get("_aws")
        .and_then(Value::as_object)
        .ok_or("no _aws object")?;
    aws.get("Timestamp")
        .and_then(Value::as_u64)
        .ok_or("_aws.Timestamp is not an integer")?;
    let directives = aws
        .get("CloudWatchMetrics")
        .and_then(Value::as_array)
        .filter(|d| !d.is_empty())
        .ok_or("_aws.CloudWatchMetrics is not a non-empty array")?;
    for d in directives {
        let ns = d.get("Namespace").and_then(Value::as_str).unwrap_or("");
        if ns.is_empty() || ns.len() > 255 || ns.starts_with("AWS/") {
            return Err(format!("bad namespace {ns:?}"));
        }
        let dims = d
            .get("Dimensions")
            .and_then(Value::as_array)
            .ok_or("no Dimensions array")?;
        for set in dims {
            let set = set.as_array().ok_or("a dimension set is not an array")?;
            if set.is_empty() || set.len() > 30 {
                return Err(format!("a dimension set has {} names", set.len()));
            }
            for name in set {
                let name = name.as_str().ok_or("a dimension name is not a string")?;
                match root.get(name) {
                    Some(Value::String(v)) if !v.is_empty() && v.len() <= 1024 => {}
                    other => {
                        return Err(format!(
                            "dimension {name} is {other:?}, not a string member"
                        ));
                    }
                }
            }
        }
        let metrics = d
            .get("Metrics")
            .and_then(Value::as_array)
            .ok_or("no Metrics array")?;
        if metrics.is_empty() || metrics.len() > 100 {
            return Err(format!("{} metrics in a directive", metrics.len()));
        }
        let mut seen = std::collections::HashSet::new();
        for m in metrics {
            let name = m
                .get("Name")
                .and_then(Value::as_str)
                .ok_or("a metric without a Name")?;
            if !seen.insert(name) {
                return Err(format!("metric {name} twice"));
            }
            if let Some(unit) = m.get("Unit") {
                let unit = unit.as_str().ok_or("Unit is not a string")?;
                if !UNITS.contains(&unit) {
                    return Err(format!("unit {unit} of {name}"));
                }
            }
            match root.get(name) {
                Some(Value::Number(_)) => {}
                other => return Err(format!("metric {name} is {other:?}, not a number member")),
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn parsed(line: String) -> Value {
        serde_json::from_str(&line).unwrap_or_else(|e| panic!("not JSON ({e}): {line}"))
    }

    fn req(route: &'static str, status: u16) -> RequestMetrics {
        RequestMetrics {
            route,
            status,
            latency_ms: 12.345,
            php_ms: None,
            static_cache: None,
            bytes_out: 1234,
            deadline: false,
        }
    }

    #[test]
    fn every_line_is_valid_emf() {
        let mut php = req("php", 200);
        php.php_ms = Some(10.04);
        let mut stat = req("static", 304);
        stat.static_cache = Some("hit");
        let mut late = req("php", 504);
        late.deadline = true;
        late.php_ms = Some(28_000.0);
        for line in [
            request_line("lambda-fpm", "wordpress", 1_700_000_000_000, &php),
            request_line("lambda-fpm", "wordpress", 1, &stat),
            request_line("lambda-fpm", "wordpress", 1, &late),
            request_line("lambda-fpm", "wordpress", 1, &req("denied", 403)),
            cold_start_line("lambda-fpm", "wordpress", 1, 812.3, "restored"),
            restart_line("lambda-fpm", "wordpress", 1, "deadline"),
            command_line("lambda-fpm", "wordpress", 1, "cron", false, 1500.0),
        ] {
            let line = parsed(line);
            check_emf(&line).unwrap_or_else(|e| panic!("{e}: {line}"));
        }
    }

    #[test]
    fn request_values() {
        let mut m = req("php", 504);
        m.deadline = true;
        m.php_ms = Some(1.26);
        let l = parsed(request_line("ns", "fn", 5, &m));
        assert_eq!(l["_aws"]["Timestamp"], 5);
        assert_eq!(l["_aws"]["CloudWatchMetrics"][0]["Namespace"], "ns");
        assert_eq!(
            l["_aws"]["CloudWatchMetrics"][0]["Dimensions"],
            json!([["function", "route", "status"], ["function"]])
        );
        assert_eq!(
            (
                l["function"].clone(),
                l["route"].clone(),
                l["status"].clone()
            ),
            (json!("fn"), json!("php"), json!("5xx"))
        );
        assert_eq!(l["latency"], 12.3);
        assert_eq!(l["php_time"], 1.3);
        assert_eq!(
            (&l["errors_5xx"], &l["deadline_504"]),
            (&json!(1), &json!(1))
        );
        assert!(l.get("errors_4xx").is_none(), "a counter at 0 is left out");
        assert!(l.get("static_cache_hits").is_none());
        let mut s = req("static", 200);
        s.static_cache = Some("miss");
        let l = parsed(request_line("ns", "fn", 5, &s));
        assert_eq!(l["static_cache_misses"], json!(1));
        assert!(l.get("static_cache_hits").is_none());
        assert!(l.get("php_time").is_none());
    }

    #[test]
    fn strings_are_escaped() {
        let l = parsed(restart_line("ns", "fn\"x\\y\n", 5, "a \"why\""));
        assert_eq!(l["function"], "fn\"x\\y\n");
        assert_eq!(l["why"], "a \"why\"");
    }

    #[test]
    fn status_classes() {
        assert_eq!(status_class(101), "1xx");
        assert_eq!(status_class(200), "2xx");
        assert_eq!(status_class(301), "3xx");
        assert_eq!(status_class(421), "4xx");
        assert_eq!(status_class(502), "5xx");
    }

    #[test]
    fn the_checker_catches_what_cloudwatch_rejects() {
        let good = parsed(request_line("ns", "fn", 5, &req("php", 200)));
        type Spoil = Box<dyn Fn(&mut Value)>;
        let broken: Vec<(&str, Spoil)> = vec![
            (
                "no _aws",
                Box::new(|v| {
                    v.as_object_mut().unwrap().remove("_aws");
                }),
            ),
            (
                "string timestamp",
                Box::new(|v| v["_aws"]["Timestamp"] = json!("now")),
            ),
            (
                "metric not a number",
                Box::new(|v| v["latency"] = json!("12")),
            ),
            (
                "dimension missing",
                Box::new(|v| {
                    v.as_object_mut().unwrap().remove("route");
                }),
            ),
            ("dimension a number", Box::new(|v| v["status"] = json!(200))),
            (
                "unknown unit",
                Box::new(|v| {
                    v["_aws"]["CloudWatchMetrics"][0]["Metrics"][0]["Unit"] = json!("Requests")
                }),
            ),
            (
                "AWS namespace",
                Box::new(|v| v["_aws"]["CloudWatchMetrics"][0]["Namespace"] = json!("AWS/Lambda")),
            ),
            (
                "no metrics",
                Box::new(|v| v["_aws"]["CloudWatchMetrics"][0]["Metrics"] = json!([])),
            ),
        ];
        for (what, spoil) in broken {
            let mut bad = good.clone();
            spoil(&mut bad);
            assert!(check_emf(&bad).is_err(), "{what} passed");
        }
    }

    #[test]
    fn a_request_line_is_small() {
        let mut m = req("static", 200);
        m.static_cache = Some("hit");
        let len = request_line("lambda-fpm", "wordpress-production", 1_764_806_400_000, &m)
            .to_string()
            .len();
        assert!(len < 520, "{len} bytes");
    }
}
