//! Conditional and range requests for static files (pure, no IO): ETag / Last-Modified
//! validators, `If-None-Match` / `If-Modified-Since` → 304, `Range` (+ `If-Range`) → 206 / 416.
//! Range syntax is parsed by the `http-range-header` crate, dates by `httpdate`.

use std::ops::RangeInclusive;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// What identifies one version of a file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Validators {
    /// Strong ETag, quoted.
    pub etag: String,
    /// Modification time, truncated to whole seconds (HTTP-date precision).
    pub last_modified: SystemTime,
}

impl Validators {
    /// A strong validator from size and modification time (nanoseconds): a changed file gets
    /// a different tag even within the same second, and the tag is the same on every sandbox
    /// that reads the same EFS file.
    pub fn new(size: u64, modified: SystemTime) -> Validators {
        let since = modified.duration_since(UNIX_EPOCH).unwrap_or_default();
        Validators {
            etag: format!("\"{:x}-{:x}\"", size, since.as_nanos()),
            last_modified: UNIX_EPOCH + Duration::from_secs(since.as_secs()),
        }
    }

    pub fn last_modified_http(&self) -> String {
        httpdate::fmt_http_date(self.last_modified)
    }
}

/// The request headers that matter here.
#[derive(Debug, Default, Clone, Copy)]
pub struct Conditions<'a> {
    pub if_none_match: Option<&'a str>,
    pub if_modified_since: Option<&'a str>,
    pub range: Option<&'a str>,
    pub if_range: Option<&'a str>,
}

/// What to send.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    /// 304, no body.
    NotModified,
    /// 200, the whole file.
    Full,
    /// 206, one byte range (inclusive).
    Partial(RangeInclusive<u64>),
    /// 416, with `Content-Range: bytes */size`.
    Unsatisfiable,
}

fn strip_weak(tag: &str) -> &str {
    tag.strip_prefix("W/").unwrap_or(tag)
}

/// `If-None-Match` uses the weak comparison (RFC 9110 §13.1.2).
fn none_match_hits(header: &str, etag: &str) -> bool {
    header
        .split(',')
        .map(str::trim)
        .any(|t| t == "*" || strip_weak(t) == strip_weak(etag))
}

/// Decides the response for a GET/HEAD of a file with these validators and size.
pub fn decide(validators: &Validators, size: u64, conditions: &Conditions<'_>) -> Decision {
    // RFC 9110 §13.2.2: If-None-Match wins over If-Modified-Since.
    if let Some(inm) = conditions.if_none_match {
        if none_match_hits(inm, &validators.etag) {
            return Decision::NotModified;
        }
    } else if let Some(ims) = conditions.if_modified_since
        && let Ok(since) = httpdate::parse_http_date(ims)
        && validators.last_modified <= since
    {
        return Decision::NotModified;
    }

    let Some(range) = conditions.range else {
        return Decision::Full;
    };
    if let Some(if_range) = conditions.if_range {
        // Strong comparison for an entity tag; an exact date match otherwise.
        let matches = if if_range.trim_start().starts_with('"') {
            if_range.trim() == validators.etag
        } else {
            httpdate::parse_http_date(if_range).is_ok_and(|d| d == validators.last_modified)
        };
        if !matches {
            return Decision::Full;
        }
    }
    match http_range_header::parse_range_header(range) {
        Ok(parsed) => match parsed.validate(size) {
            // One range: 206. Several: we may ignore the header (RFC 9110 §14.2) and do.
            Ok(ranges) if ranges.len() == 1 => Decision::Partial(ranges[0].clone()),
            Ok(_) => Decision::Full,
            Err(http_range_header::RangeUnsatisfiableError::Unsatisfiable) => {
                Decision::Unsatisfiable
            }
            Err(_) => Decision::Full,
        },
        Err(http_range_header::RangeUnsatisfiableError::Unsatisfiable) => Decision::Unsatisfiable,
        // Syntactically invalid ranges are ignored (RFC 9110 §14.2).
        Err(_) => Decision::Full,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v() -> Validators {
        Validators::new(1000, UNIX_EPOCH + Duration::new(1_700_000_000, 123_456_789))
    }

    fn d(c: Conditions<'_>) -> Decision {
        decide(&v(), 1000, &c)
    }

    #[test]
    fn etag_is_strong_and_changes_with_size_and_mtime() {
        let a = v();
        assert!(a.etag.starts_with('"') && a.etag.ends_with('"'));
        assert!(!a.etag.starts_with("W/"));
        assert_ne!(
            a.etag,
            Validators::new(1001, UNIX_EPOCH + Duration::new(1_700_000_000, 123_456_789)).etag
        );
        assert_ne!(
            a.etag,
            Validators::new(1000, UNIX_EPOCH + Duration::new(1_700_000_000, 123_456_790)).etag
        );
        assert_eq!(a.last_modified_http(), "Tue, 14 Nov 2023 22:13:20 GMT");
    }

    #[test]
    fn no_conditions_full() {
        assert_eq!(d(Conditions::default()), Decision::Full);
    }

    #[test]
    fn if_none_match() {
        let tag = v().etag;
        assert_eq!(
            d(Conditions {
                if_none_match: Some(&tag),
                ..Default::default()
            }),
            Decision::NotModified
        );
        let list = format!("\"x\", {tag}");
        assert_eq!(
            d(Conditions {
                if_none_match: Some(&list),
                ..Default::default()
            }),
            Decision::NotModified
        );
        let weak = format!("W/{tag}");
        assert_eq!(
            d(Conditions {
                if_none_match: Some(&weak),
                ..Default::default()
            }),
            Decision::NotModified
        );
        assert_eq!(
            d(Conditions {
                if_none_match: Some("*"),
                ..Default::default()
            }),
            Decision::NotModified
        );
        assert_eq!(
            d(Conditions {
                if_none_match: Some("\"other\""),
                ..Default::default()
            }),
            Decision::Full
        );
    }

    #[test]
    fn if_modified_since() {
        let same = v().last_modified_http();
        assert_eq!(
            d(Conditions {
                if_modified_since: Some(&same),
                ..Default::default()
            }),
            Decision::NotModified
        );
        let later = "Wed, 15 Nov 2023 00:00:00 GMT";
        assert_eq!(
            d(Conditions {
                if_modified_since: Some(later),
                ..Default::default()
            }),
            Decision::NotModified
        );
        let earlier = "Mon, 13 Nov 2023 00:00:00 GMT";
        assert_eq!(
            d(Conditions {
                if_modified_since: Some(earlier),
                ..Default::default()
            }),
            Decision::Full
        );
        assert_eq!(
            d(Conditions {
                if_modified_since: Some("garbage"),
                ..Default::default()
            }),
            Decision::Full
        );
    }

    #[test]
    fn if_none_match_wins_over_if_modified_since() {
        let same = v().last_modified_http();
        let c = Conditions {
            if_none_match: Some("\"other\""),
            if_modified_since: Some(&same),
            ..Default::default()
        };
        assert_eq!(d(c), Decision::Full);
    }

    #[test]
    fn ranges() {
        let r = |s: &'static str| {
            d(Conditions {
                range: Some(s),
                ..Default::default()
            })
        };
        assert_eq!(r("bytes=0-99"), Decision::Partial(0..=99));
        assert_eq!(r("bytes=900-"), Decision::Partial(900..=999));
        assert_eq!(r("bytes=-100"), Decision::Partial(900..=999));
        assert_eq!(r("bytes=0-5000"), Decision::Partial(0..=999));
        assert_eq!(r("bytes=999-999"), Decision::Partial(999..=999));
        assert_eq!(r("bytes=1000-"), Decision::Unsatisfiable);
        assert_eq!(r("bytes=5000-6000"), Decision::Unsatisfiable);
        // multiple ranges: whole file
        assert_eq!(r("bytes=0-1, 5-6"), Decision::Full);
        // invalid syntax: ignored
        assert_eq!(r("items=0-1"), Decision::Full);
        assert_eq!(r("bytes=5-1"), Decision::Full);
        assert_eq!(r("bytes=abc"), Decision::Full);
    }

    #[test]
    fn range_on_empty_file() {
        let empty = Validators::new(0, UNIX_EPOCH);
        let c = Conditions {
            range: Some("bytes=0-10"),
            ..Default::default()
        };
        assert_eq!(decide(&empty, 0, &c), Decision::Unsatisfiable);
    }

    #[test]
    fn if_range() {
        let tag = v().etag;
        let date = v().last_modified_http();
        let c = |ir: &str| -> Decision {
            d(Conditions {
                range: Some("bytes=0-9"),
                if_range: Some(ir),
                ..Default::default()
            })
        };
        assert_eq!(c(&tag), Decision::Partial(0..=9));
        assert_eq!(c(&date), Decision::Partial(0..=9));
        assert_eq!(c("\"stale\""), Decision::Full);
        assert_eq!(c(&format!("W/{tag}")), Decision::Full);
        assert_eq!(c("Mon, 13 Nov 2023 00:00:00 GMT"), Decision::Full);
    }

    #[test]
    fn not_modified_wins_over_range() {
        let tag = v().etag;
        let c = Conditions {
            if_none_match: Some(&tag),
            range: Some("bytes=0-1"),
            ..Default::default()
        };
        assert_eq!(d(c), Decision::NotModified);
    }
}
