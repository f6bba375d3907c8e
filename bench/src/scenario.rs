//! The request scenarios: named paths on a WordPress site, and the parsing of scenario lists and
//! durations given on the command line.

use std::time::Duration;

use anyhow::{Context, Result, bail};

/// What serves a scenario inside the bridge: PHP (php-fpm) or the bridge's static file path.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    Php,
    Static,
}

/// One scenario: a GET of `path` (with query string) expecting `expect`.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Scenario {
    pub name: String,
    pub path: String,
    pub kind: Kind,
    pub expect: u16,
}

impl Scenario {
    fn new(name: &str, path: &str, kind: Kind, expect: u16) -> Scenario {
        Scenario {
            name: name.into(),
            path: path.into(),
            kind,
            expect,
        }
    }

    /// The path without its query string.
    pub fn path_only(&self) -> &str {
        self.path.split('?').next().unwrap_or("/")
    }

    /// The query string ("" when there is none).
    pub fn query(&self) -> &str {
        self.path.split_once('?').map(|(_, q)| q).unwrap_or("")
    }
}

/// Path of the large static file `bench/run.sh` writes into the site (3 MiB: fits a buffered
/// Lambda response after base64).
pub const LARGE_FILE: &str = "/wp-content/uploads/lambda-fpm-bench/large.bin";

/// The built-in scenarios, in reporting order.
pub fn builtin() -> Vec<Scenario> {
    vec![
        Scenario::new("home", "/", Kind::Php, 200),
        Scenario::new("post", "/hello-world/", Kind::Php, 200),
        Scenario::new("api", "/wp-json/wp/v2/posts", Kind::Php, 200),
        Scenario::new("404", "/lambda-fpm-bench-no-such-page/", Kind::Php, 404),
        Scenario::new("login", "/wp-login.php", Kind::Php, 200),
        Scenario::new(
            "css",
            "/wp-includes/css/dist/block-library/style.min.css?ver=6.1.9",
            Kind::Static,
            200,
        ),
        Scenario::new(
            "image",
            "/wp-includes/images/w-logo-blue.png",
            Kind::Static,
            200,
        ),
        Scenario::new("large", LARGE_FILE, Kind::Static, 200),
    ]
}

/// Parses a comma-separated scenario list. Items: a built-in name, `all`, `php`, `static`, or a
/// custom `name=/path[?query]` (PHP kind, expects 200; `name=/path=404` sets the expected status).
pub fn parse_list(spec: &str) -> Result<Vec<Scenario>> {
    let all = builtin();
    let mut out: Vec<Scenario> = Vec::new();
    for item in spec.split(',').map(str::trim).filter(|s| !s.is_empty()) {
        match item {
            "all" => out.extend(all.iter().cloned()),
            "php" => out.extend(all.iter().filter(|s| s.kind == Kind::Php).cloned()),
            "static" => out.extend(all.iter().filter(|s| s.kind == Kind::Static).cloned()),
            _ => {
                if let Some((name, rest)) = item.split_once('=') {
                    if name.is_empty() || !rest.starts_with('/') {
                        bail!("custom scenario {item:?}: expected name=/path");
                    }
                    let (path, expect) = match rest.rsplit_once('=') {
                        Some((p, code)) if code.len() == 3 && code.parse::<u16>().is_ok() => {
                            (p, code.parse::<u16>()?)
                        }
                        _ => (rest, 200),
                    };
                    out.push(Scenario::new(name, path, Kind::Php, expect));
                } else if let Some(s) = all.iter().find(|s| s.name == item) {
                    out.push(s.clone());
                } else {
                    let names: Vec<_> = all.iter().map(|s| s.name.as_str()).collect();
                    bail!(
                        "unknown scenario {item:?} (built-in: {}, or all/php/static, or name=/path)",
                        names.join(", ")
                    );
                }
            }
        }
    }
    if out.is_empty() {
        bail!("no scenario given");
    }
    let mut seen = std::collections::HashSet::new();
    out.retain(|s| seen.insert(s.name.clone()));
    Ok(out)
}

/// Parses `500ms`, `10s`, `2m`, or a bare number of seconds.
pub fn parse_duration(s: &str) -> Result<Duration> {
    let s = s.trim();
    let (num, mult_ms) = if let Some(n) = s.strip_suffix("ms") {
        (n, 1.0)
    } else if let Some(n) = s.strip_suffix('s') {
        (n, 1000.0)
    } else if let Some(n) = s.strip_suffix('m') {
        (n, 60_000.0)
    } else {
        (s, 1000.0)
    };
    let v: f64 = num
        .trim()
        .parse()
        .with_context(|| format!("bad duration {s:?} (use 500ms, 10s, 2m)"))?;
    if !(v.is_finite() && v >= 0.0) {
        bail!("bad duration {s:?}");
    }
    Ok(Duration::from_secs_f64(v * mult_ms / 1000.0))
}

/// How long or how much to run a scenario.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Amount {
    Requests(u64),
    Duration(Duration),
}

/// `--requests N` wins over `--duration`; neither gives 200 requests.
pub fn amount(requests: Option<u64>, duration: Option<&str>) -> Result<Amount> {
    match (requests, duration) {
        (Some(n), _) => Ok(Amount::Requests(n.max(1))),
        (None, Some(d)) => Ok(Amount::Duration(parse_duration(d)?)),
        (None, None) => Ok(Amount::Requests(200)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_groups_and_custom() {
        let v = parse_list("home, css").unwrap();
        assert_eq!(v.len(), 2);
        assert_eq!(v[1].kind, Kind::Static);
        assert_eq!(parse_list("all").unwrap().len(), 8);
        assert_eq!(parse_list("php").unwrap().len(), 5);
        assert_eq!(
            parse_list("static,css").unwrap().len(),
            3,
            "duplicates dropped"
        );
        let c = parse_list("feed=/feed/?x=1").unwrap();
        assert_eq!(
            (c[0].path_only(), c[0].query(), c[0].expect),
            ("/feed/", "x=1", 200)
        );
        let c = parse_list("gone=/nope/=404").unwrap();
        assert_eq!((c[0].path.as_str(), c[0].expect), ("/nope/", 404));
        assert!(parse_list("nope").is_err());
        assert!(parse_list("x=nopath").is_err());
        assert!(parse_list(" , ").is_err());
    }

    #[test]
    fn durations() {
        assert_eq!(parse_duration("500ms").unwrap(), Duration::from_millis(500));
        assert_eq!(parse_duration("10s").unwrap(), Duration::from_secs(10));
        assert_eq!(parse_duration("2m").unwrap(), Duration::from_secs(120));
        assert_eq!(parse_duration("1.5").unwrap(), Duration::from_millis(1500));
        assert!(parse_duration("fast").is_err());
        assert!(parse_duration("-1s").is_err());
        assert_eq!(amount(Some(0), Some("1s")).unwrap(), Amount::Requests(1));
        assert_eq!(
            amount(None, Some("1s")).unwrap(),
            Amount::Duration(Duration::from_secs(1))
        );
    }
}
