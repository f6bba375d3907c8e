//! The `Server-Timing` header (W3C Server Timing; pure, no IO): where a request's time went, as
//! browsers' dev tools show it (Network panel, Timing tab).
//!
//! The bridge's entries (all durations in milliseconds):
//! - `total`: the whole request inside the bridge, from the event to the answer;
//! - `bridge`: the bridge's own part of it (`total` minus PHP and the static read);
//! - `php`: php-fpm's whole answer, `php-connect` (connected and the request sent), `php-ttfb`
//!   (its first output byte);
//! - `static`: reading a static file, with its cache use as the description (`hit`, `miss`, …);
//! - `cold`: on a sandbox's first request: `init` (the bridge's start-up before it), `seed` and
//!   `prime` (the opcache warm start's outcomes) as descriptions.
//!
//! PHP may send its own `Server-Timing` (an APM plugin, the shipped mu-plugin): its entries are
//! kept after the bridge's, except any that reuse one of the bridge's names (never two `php`)
//! and any that is malformed. Nothing is sent to viewers unless `LAMBDA_FPM_SERVER_TIMING=on`;
//! the request log always has it.

/// Names the bridge uses; PHP's entries with these names are dropped.
pub const OURS: &[&str] = &[
    "total",
    "bridge",
    "php",
    "php-connect",
    "php-ttfb",
    "static",
    "cold",
    "init",
];

/// php-fpm's part of a request.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct PhpTimes {
    /// Connected and the request sent.
    pub connect_ms: f64,
    /// The first byte of output (None: there was none).
    pub first_byte_ms: Option<f64>,
    /// The whole answer (None: still streaming when the header went out).
    pub total_ms: Option<f64>,
}

/// A sandbox's first request: what its start-up did.
#[derive(Debug, Clone, PartialEq)]
pub struct ColdStart {
    pub init_ms: f64,
    /// `restored` / `ignored` / `absent` / `off`.
    pub seed: String,
    /// `primed` / `skipped` / `off` …
    pub prime: String,
}

/// What one request measured.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Timings {
    pub total_ms: f64,
    pub php: Option<PhpTimes>,
    /// Reading a static file, with the cache use (`hit`, `miss`, `revalidated`, `bypass`).
    pub static_file: Option<(f64, &'static str)>,
    pub cold: Option<ColdStart>,
}

/// Writes one duration: one decimal, as dev tools show it; never negative.
fn dur(out: &mut String, name: &str, ms: f64) {
    if !out.is_empty() {
        out.push_str(", ");
    }
    out.push_str(name);
    out.push_str(";dur=");
    push_tenths(out, ms);
}

/// Writes `ms` with one decimal, never negative, from integer tenths (precision formatting of
/// an `f64` costs far more instructions, and this runs for every request).
pub fn push_tenths(out: &mut String, ms: f64) {
    use std::fmt::Write;
    let tenths = (ms.max(0.0) * 10.0).round() as u64;
    let _ = write!(out, "{}.{}", tenths / 10, tenths % 10);
}

/// The bridge's entries, then PHP's own (`php_header`: the values of PHP's `Server-Timing`
/// headers, joined), without duplicates or malformed entries.
pub fn header_value(t: &Timings, php_header: Option<&str>) -> String {
    let mut out = String::with_capacity(160);
    dur(&mut out, "total", t.total_ms);
    let php_ms = t
        .php
        .and_then(|p| p.total_ms.or(p.first_byte_ms))
        .unwrap_or(0.0);
    let static_ms = t.static_file.map(|(d, _)| d).unwrap_or(0.0);
    dur(&mut out, "bridge", t.total_ms - php_ms - static_ms);
    if let Some(p) = t.php {
        if let Some(total) = p.total_ms {
            dur(&mut out, "php", total);
        }
        dur(&mut out, "php-connect", p.connect_ms);
        if let Some(first) = p.first_byte_ms {
            dur(&mut out, "php-ttfb", first);
        }
    }
    if let Some((d, cache)) = t.static_file {
        dur(&mut out, "static", d);
        out.push_str(";desc=\"");
        out.push_str(token_or_dash(cache));
        out.push('"');
    }
    if let Some(c) = &t.cold {
        out.push_str(", cold;desc=\"seed ");
        out.push_str(token_or_dash(&c.seed));
        out.push_str(" prime ");
        out.push_str(token_or_dash(&c.prime));
        out.push('"');
        dur(&mut out, "init", c.init_ms);
    }
    if let Some(value) = php_header {
        let mut kept: Vec<&str> = Vec::new();
        for entry in split_entries(value) {
            if let Some(name) = entry_name(entry)
                && !OURS.contains(&name.to_ascii_lowercase().as_str())
                && !kept.contains(&name)
            {
                kept.push(name);
                out.push_str(", ");
                out.push_str(entry);
            }
        }
    }
    out
}

fn token_or_dash(s: &str) -> &str {
    if !s.is_empty() && s.bytes().all(is_tchar) {
        s
    } else {
        "-"
    }
}

/// RFC 9110 token characters.
fn is_tchar(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b)
}

/// Splits a header value at the commas between entries (not inside quoted strings).
fn split_entries(value: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let (mut start, mut quoted, mut escaped) = (0, false, false);
    for (i, c) in value.char_indices() {
        match c {
            _ if escaped => escaped = false,
            '\\' if quoted => escaped = true,
            '"' => quoted = !quoted,
            ',' if !quoted => {
                out.push(value[start..i].trim());
                start = i + 1;
            }
            _ => {}
        }
    }
    out.push(value[start..].trim());
    out.retain(|e| !e.is_empty());
    out
}

/// The metric name of a well-formed entry (a token, then `;param=value` pairs whose values are
/// tokens or quoted strings without control bytes), else None.
fn entry_name(entry: &str) -> Option<&str> {
    if entry.bytes().any(|b| b.is_ascii_control()) {
        return None;
    }
    let mut parts = entry.split(';');
    let name = parts.next()?.trim();
    if name.is_empty() || !name.bytes().all(is_tchar) {
        return None;
    }
    for param in parts {
        let (key, value) = param.split_once('=').unwrap_or((param, ""));
        let (key, value) = (key.trim(), value.trim());
        if key.is_empty() || !key.bytes().all(is_tchar) {
            return None;
        }
        let quoted = value.len() >= 2 && value.starts_with('"') && value.ends_with('"');
        if !quoted && !value.bytes().all(is_tchar) {
            return None;
        }
    }
    Some(name)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn php(connect: f64, first: Option<f64>, total: Option<f64>) -> Option<PhpTimes> {
        Some(PhpTimes {
            connect_ms: connect,
            first_byte_ms: first,
            total_ms: total,
        })
    }

    #[test]
    fn a_php_request() {
        let t = Timings {
            total_ms: 50.04,
            php: php(0.3, Some(40.0), Some(45.26)),
            ..Timings::default()
        };
        assert_eq!(
            header_value(&t, None),
            "total;dur=50.0, bridge;dur=4.8, php;dur=45.3, php-connect;dur=0.3, php-ttfb;dur=40.0"
        );
    }

    #[test]
    fn a_static_file_and_a_cold_start() {
        let t = Timings {
            total_ms: 3.0,
            static_file: Some((1.0, "miss")),
            cold: Some(ColdStart {
                init_ms: 812.0,
                seed: "restored".into(),
                prime: "skipped".into(),
            }),
            ..Timings::default()
        };
        assert_eq!(
            header_value(&t, None),
            "total;dur=3.0, bridge;dur=2.0, static;dur=1.0;desc=\"miss\", cold;desc=\"seed restored prime skipped\", init;dur=812.0"
        );
    }

    #[test]
    fn a_stream_counts_php_up_to_its_first_byte() {
        let t = Timings {
            total_ms: 12.0,
            php: php(0.2, Some(10.0), None),
            ..Timings::default()
        };
        assert_eq!(
            header_value(&t, None),
            "total;dur=12.0, bridge;dur=2.0, php-connect;dur=0.2, php-ttfb;dur=10.0"
        );
    }

    #[test]
    fn php_entries_are_merged_never_duplicated() {
        let t = Timings {
            total_ms: 10.0,
            php: php(0.1, Some(8.0), Some(9.0)),
            ..Timings::default()
        };
        let v = header_value(
            &t,
            Some(
                "db;dur=3.2;desc=\"12 queries, cached\", php;dur=1, cache;desc=hit, Total;dur=9, db;dur=4",
            ),
        );
        assert_eq!(
            v,
            "total;dur=10.0, bridge;dur=1.0, php;dur=9.0, php-connect;dur=0.1, php-ttfb;dur=8.0, db;dur=3.2;desc=\"12 queries, cached\", cache;desc=hit"
        );
        assert_eq!(v.matches("php;").count(), 1);
    }

    #[test]
    fn malformed_php_entries_are_dropped() {
        let t = Timings {
            total_ms: 1.0,
            ..Timings::default()
        };
        for bad in [
            "has space;dur=1",
            "x;dur=1 2",
            "x;dur=\"unterminated",
            "x;=1",
            "é;dur=1",
            "x;dur=1\u{7}",
            ";dur=1",
        ] {
            assert_eq!(
                header_value(&t, Some(bad)),
                "total;dur=1.0, bridge;dur=1.0",
                "{bad:?}"
            );
        }
    }

    #[test]
    fn the_value_is_always_a_valid_header() {
        let t = Timings {
            total_ms: -1.0,
            php: php(-0.5, None, None),
            cold: Some(ColdStart {
                init_ms: 1.0,
                seed: "a b\r\n".into(),
                prime: String::new(),
            }),
            ..Timings::default()
        };
        let v = header_value(&t, Some("ok;desc=\"a,b\", \"\r\nx"));
        assert!(http::HeaderValue::from_str(&v).is_ok(), "{v:?}");
        assert!(v.contains("cold;desc=\"seed - prime -\""), "{v}");
        assert!(v.contains("ok;desc=\"a,b\""), "{v}");
        assert!(!v.contains("dur=-"), "{v}");
    }
}
