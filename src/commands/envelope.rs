//! The command envelope `{"lambda_fpm": {"command": "<name>", ...}}`, parsed into a typed
//! [`Command`] (pure, no IO).
//!
//! Parsing is strict: an unknown command, an unknown field (a typo such as `"sha"` for
//! `"sha256"`), a field of the wrong type or a missing required field is an error that names
//! the field and says what was expected, so a mistyped `aws lambda invoke` fails loudly
//! instead of doing something else.

use std::time::Duration;

use serde_json::{Map, Value};

/// Upper bound for `max_output_bytes` of the `php` command (per stream). Lambda's buffered
/// response limit is 6 MB and JSON escaping can grow text, so two streams stay well below it.
pub const MAX_OUTPUT_LIMIT: usize = 1024 * 1024;
/// Default per-stream output limit of the `php` command.
pub const DEFAULT_OUTPUT_LIMIT: usize = 256 * 1024;
/// Most paths one `warm` invocation may request.
pub const MAX_WARM_PATHS: usize = 50;

/// A parsed command.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    Install(InstallSpec),
    Php(PhpSpec),
    Cron(CronSpec),
    Warm(WarmSpec),
}

impl Command {
    pub fn name(&self) -> &'static str {
        match self {
            Command::Install(_) => "install",
            Command::Php(_) => "php",
            Command::Cron(_) => "cron",
            Command::Warm(_) => "warm",
        }
    }
}

/// Where the WordPress archive comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    /// `https://…` (or `http://` to a loopback address, for local tests).
    Http(String),
    /// `s3://bucket/key`
    S3 { bucket: String, key: String },
}

impl Source {
    /// The source as the user wrote it (for results and logs).
    /// For logs, results and the install marker: an https URL without its query string, which
    /// may hold credentials (a pre-signed S3 URL's `X-Amz-Signature`, `X-Amz-Credential`, ...).
    pub fn display(&self) -> String {
        match self {
            Source::Http(url) => shown_url(url),
            Source::S3 { bucket, key } => format!("s3://{bucket}/{key}"),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InstallSpec {
    pub source: Source,
    /// Expected SHA-256 of the archive.
    pub sha256: Option<[u8; 32]>,
    /// Replace an existing site (moved aside, not deleted).
    pub force: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PhpSpec {
    /// Arguments after `php -c <php.ini>`.
    pub args: Vec<String>,
    /// Cap on the run time, below what the invocation has left.
    pub timeout: Option<Duration>,
    /// Per-stream limit for stdout and stderr in the result.
    pub max_output_bytes: usize,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CronSpec {
    /// `HTTP_HOST` for the wp-cron.php request (default `localhost`); WordPress builds URLs
    /// with it when WORDPRESS_HOME is not set.
    pub host: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WarmSpec {
    /// URL paths (optionally with `?query`) requested through php-fpm to fill opcache.
    pub paths: Vec<String>,
}

/// Why an envelope was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("malformed lambda_fpm envelope: {0}")]
pub struct EnvelopeError(pub String);

fn bad(message: impl Into<String>) -> EnvelopeError {
    EnvelopeError(message.into())
}

/// Known commands with their fields, for error messages.
pub const COMMANDS: &[(&str, &[&str])] = &[
    ("install", &["url", "sha256", "force"]),
    ("php", &["args", "timeout_ms", "max_output_bytes"]),
    ("cron", &["host"]),
    ("warm", &["paths"]),
];

fn type_name(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

struct Fields<'a> {
    command: &'static str,
    obj: &'a Map<String, Value>,
}

impl<'a> Fields<'a> {
    fn get(&self, name: &str) -> Option<&'a Value> {
        self.obj.get(name).filter(|v| !v.is_null())
    }

    fn wrong(&self, name: &str, expected: &str, got: &Value) -> EnvelopeError {
        bad(format!(
            "{}.{name} must be {expected}, got {}",
            self.command,
            type_name(got)
        ))
    }

    fn string(&self, name: &str) -> Result<Option<&'a str>, EnvelopeError> {
        match self.get(name) {
            None => Ok(None),
            Some(Value::String(s)) => Ok(Some(s)),
            Some(other) => Err(self.wrong(name, "a string", other)),
        }
    }

    fn required_string(&self, name: &str) -> Result<&'a str, EnvelopeError> {
        self.string(name)?
            .ok_or_else(|| bad(format!("{}.{name} is required", self.command)))
    }

    fn bool(&self, name: &str) -> Result<Option<bool>, EnvelopeError> {
        match self.get(name) {
            None => Ok(None),
            Some(Value::Bool(b)) => Ok(Some(*b)),
            Some(other) => Err(self.wrong(name, "true or false", other)),
        }
    }

    fn whole(&self, name: &str, min: u64, max: u64) -> Result<Option<u64>, EnvelopeError> {
        match self.get(name) {
            None => Ok(None),
            Some(v) => match v.as_u64() {
                Some(n) if (min..=max).contains(&n) => Ok(Some(n)),
                Some(n) => Err(bad(format!(
                    "{}.{name} must be between {min} and {max}, got {n}",
                    self.command
                ))),
                None => Err(self.wrong(name, "a whole number", v)),
            },
        }
    }

    fn strings(&self, name: &str) -> Result<Option<Vec<String>>, EnvelopeError> {
        match self.get(name) {
            None => Ok(None),
            Some(Value::Array(items)) => items
                .iter()
                .enumerate()
                .map(|(i, item)| match item {
                    Value::String(s) => Ok(s.clone()),
                    other => Err(bad(format!(
                        "{}.{name}[{i}] must be a string, got {}",
                        self.command,
                        type_name(other)
                    ))),
                })
                .collect::<Result<Vec<_>, _>>()
                .map(Some),
            Some(other) => Err(self.wrong(name, "an array of strings", other)),
        }
    }
}

/// Parses the value under the top-level `lambda_fpm` key.
pub fn parse(envelope: &Value) -> Result<Command, EnvelopeError> {
    let known: Vec<&str> = COMMANDS.iter().map(|(n, _)| *n).collect();
    let obj = envelope.as_object().ok_or_else(|| {
        bad(format!(
            "expected {{\"lambda_fpm\": {{\"command\": \"<{}>\", ...}}}}, but lambda_fpm is {}",
            known.join("|"),
            type_name(envelope)
        ))
    })?;
    let name = match obj.get("command") {
        Some(Value::String(s)) => s.as_str(),
        Some(other) => {
            return Err(bad(format!(
                "\"command\" must be a string (one of {}), got {}",
                known.join(", "),
                type_name(other)
            )));
        }
        None => {
            return Err(bad(format!(
                "missing \"command\" (one of {})",
                known.join(", ")
            )));
        }
    };
    let (command, allowed) = COMMANDS
        .iter()
        .find(|(n, _)| *n == name)
        .copied()
        .ok_or_else(|| {
            bad(format!(
                "unknown command {name:?} (known: {})",
                known.join(", ")
            ))
        })?;
    if let Some(unknown) = obj
        .keys()
        .find(|k| k.as_str() != "command" && !allowed.contains(&k.as_str()))
    {
        return Err(bad(format!(
            "unknown field {unknown:?} for command {command} (known: {})",
            if allowed.is_empty() {
                "none".to_string()
            } else {
                allowed.join(", ")
            }
        )));
    }
    let f = Fields { command, obj };
    match command {
        "install" => parse_install(&f).map(Command::Install),
        "php" => parse_php(&f).map(Command::Php),
        "cron" => parse_cron(&f).map(Command::Cron),
        _ => parse_warm(&f).map(Command::Warm),
    }
}

fn parse_install(f: &Fields<'_>) -> Result<InstallSpec, EnvelopeError> {
    let url = f.required_string("url")?;
    let source = parse_source(url).map_err(|e| bad(format!("install.url: {}", e.0)))?;
    let sha256 = match f.string("sha256")? {
        None => None,
        Some(hex) => Some(
            parse_sha256(hex)
                .ok_or_else(|| bad("install.sha256 must be 64 hexadecimal characters"))?,
        ),
    };
    Ok(InstallSpec {
        source,
        sha256,
        force: f.bool("force")?.unwrap_or(false),
    })
}

/// Parses a hex SHA-256 (upper or lower case; `sha256:` prefix allowed).
pub fn parse_sha256(text: &str) -> Option<[u8; 32]> {
    let hex = text.trim();
    let hex = hex.strip_prefix("sha256:").unwrap_or(hex);
    if hex.len() != 64 || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    let mut out = [0u8; 32];
    for (i, byte) in out.iter_mut().enumerate() {
        *byte = u8::from_str_radix(&hex[2 * i..2 * i + 2], 16).ok()?;
    }
    Some(out)
}

/// `https://…`, `http://` to a loopback host, or `s3://bucket/key`.
pub fn parse_source(text: &str) -> Result<Source, EnvelopeError> {
    if let Some(rest) = text.strip_prefix("s3://") {
        let (bucket, key) = rest.split_once('/').ok_or_else(|| {
            bad("an s3:// URL needs a bucket and a key: s3://bucket/path/wordpress.tar.gz")
        })?;
        let bucket_ok = (3..=63).contains(&bucket.len())
            && bucket
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'.' || b == b'-');
        if !bucket_ok {
            return Err(bad(format!("{bucket:?} is not a valid S3 bucket name")));
        }
        if key.is_empty() || key.len() > 1024 {
            return Err(bad("the S3 object key is empty or longer than 1024 bytes"));
        }
        return Ok(Source::S3 {
            bucket: bucket.to_string(),
            key: key.to_string(),
        });
    }
    let url = reqwest::Url::parse(text).map_err(|e| bad(format!("{text:?} is not a URL: {e}")))?;
    match url.scheme() {
        "https" => {}
        "http" if is_loopback(&url) => {}
        "http" => {
            return Err(bad(
                "plain http is only allowed to a loopback address (tests); use https:// or s3://",
            ));
        }
        other => return Err(bad(format!("unsupported scheme {other:?} (https or s3)"))),
    }
    if url.host_str().is_none_or(str::is_empty) {
        return Err(bad("the URL has no host"));
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(bad(
            "credentials in the URL are not accepted (use s3:// with the function's role, or a pre-signed https URL)",
        ));
    }
    Ok(Source::Http(url.to_string()))
}

/// `url` with its query string (and any user info) replaced by `?…`, for messages.
pub fn shown_url(url: &str) -> String {
    match reqwest::Url::parse(url) {
        Ok(mut u) => {
            let had_query = u.query().is_some();
            u.set_query(None);
            let _ = u.set_username("");
            let _ = u.set_password(None);
            let mut shown = u.to_string();
            if had_query {
                shown.push_str("?…");
            }
            shown
        }
        Err(_) => "(unparsable URL)".into(),
    }
}

#[cfg(test)]
#[test]
fn shown_urls_keep_no_credentials() {
    assert_eq!(
        shown_url("https://b.s3.amazonaws.com/wp.zip?X-Amz-Signature=abc&X-Amz-Credential=AKIA"),
        "https://b.s3.amazonaws.com/wp.zip?…"
    );
    assert_eq!(
        shown_url("https://user:pass@example.com/a.tar.gz"),
        "https://example.com/a.tar.gz"
    );
    assert_eq!(
        shown_url("https://example.com/a.tar.gz"),
        "https://example.com/a.tar.gz"
    );
    assert_eq!(shown_url("not a url"), "(unparsable URL)");
    let source = Source::Http("https://x.example/w.zip?sig=s3cret".into());
    assert!(!source.display().contains("s3cret"));
}

pub(crate) fn is_loopback(url: &reqwest::Url) -> bool {
    let host = url.host_str().unwrap_or("");
    let bare = host.trim_start_matches('[').trim_end_matches(']');
    match bare.parse::<std::net::IpAddr>() {
        Ok(ip) => ip.is_loopback(),
        Err(_) => host.eq_ignore_ascii_case("localhost"),
    }
}

fn parse_php(f: &Fields<'_>) -> Result<PhpSpec, EnvelopeError> {
    let args = f
        .strings("args")?
        .ok_or_else(|| bad("php.args is required, e.g. [\"wp-cli.phar\", \"plugin\", \"list\"]"))?;
    if args.is_empty() {
        return Err(bad("php.args must not be empty"));
    }
    if args.iter().any(|a| a.contains('\0')) {
        return Err(bad("php.args must not contain NUL characters"));
    }
    Ok(PhpSpec {
        args,
        timeout: f
            .whole("timeout_ms", 1, 15 * 60 * 1000)?
            .map(Duration::from_millis),
        max_output_bytes: f
            .whole("max_output_bytes", 64, MAX_OUTPUT_LIMIT as u64)?
            .map(|n| n as usize)
            .unwrap_or(DEFAULT_OUTPUT_LIMIT),
    })
}

fn parse_cron(f: &Fields<'_>) -> Result<CronSpec, EnvelopeError> {
    let host = f.string("host")?;
    if let Some(h) = host
        && !crate::origin::valid_host(h)
    {
        return Err(bad(format!(
            "cron.host {h:?} is not a valid host name (host or host:port)"
        )));
    }
    Ok(CronSpec {
        host: host.map(str::to_string),
    })
}

fn parse_warm(f: &Fields<'_>) -> Result<WarmSpec, EnvelopeError> {
    let paths = f.strings("paths")?.unwrap_or_default();
    if paths.len() > MAX_WARM_PATHS {
        return Err(bad(format!(
            "warm.paths has {} entries; at most {MAX_WARM_PATHS}",
            paths.len()
        )));
    }
    for (i, p) in paths.iter().enumerate() {
        if !p.starts_with('/') || p.chars().any(|c| c.is_control() || c == ' ') {
            return Err(bad(format!(
                "warm.paths[{i}] must be a URL path starting with '/', without spaces or control characters, got {p:?}"
            )));
        }
    }
    Ok(WarmSpec { paths })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn err(v: Value) -> String {
        parse(&v).unwrap_err().to_string()
    }

    #[test]
    fn install_full() {
        let c = parse(
            &json!({"command": "install", "url": "https://wordpress.org/latest.tar.gz",
            "sha256": "AB".repeat(32), "force": true}),
        )
        .unwrap();
        assert_eq!(
            c,
            Command::Install(InstallSpec {
                source: Source::Http("https://wordpress.org/latest.tar.gz".into()),
                sha256: Some([0xab; 32]),
                force: true,
            })
        );
        assert_eq!(c.name(), "install");
    }

    #[test]
    fn install_defaults_and_s3() {
        let c = parse(&json!({"command": "install", "url": "s3://my-bucket/wp/wordpress-6.5.zip"}))
            .unwrap();
        assert_eq!(
            c,
            Command::Install(InstallSpec {
                source: Source::S3 {
                    bucket: "my-bucket".into(),
                    key: "wp/wordpress-6.5.zip".into()
                },
                sha256: None,
                force: false,
            })
        );
        // explicit nulls mean "not given"
        let c = parse(&json!({"command": "install", "url": "https://x.example/a.zip", "sha256": null, "force": null})).unwrap();
        assert!(matches!(
            c,
            Command::Install(InstallSpec {
                sha256: None,
                force: false,
                ..
            })
        ));
    }

    #[test]
    fn install_errors_name_the_field() {
        let cases = [
            (json!({"command": "install"}), "install.url is required"),
            (
                json!({"command": "install", "url": 5}),
                "install.url must be a string, got a number",
            ),
            (
                json!({"command": "install", "url": "ftp://x/y.zip"}),
                "unsupported scheme \"ftp\"",
            ),
            (
                json!({"command": "install", "url": "http://example.com/a.zip"}),
                "only allowed to a loopback",
            ),
            (
                json!({"command": "install", "url": "not a url"}),
                "is not a URL",
            ),
            (
                json!({"command": "install", "url": "https://u:p@example.com/a.zip"}),
                "credentials in the URL",
            ),
            (
                json!({"command": "install", "url": "s3://bucket-only"}),
                "needs a bucket and a key",
            ),
            (
                json!({"command": "install", "url": "s3://Bad_Bucket/k"}),
                "not a valid S3 bucket",
            ),
            (
                json!({"command": "install", "url": "s3://bucket/"}),
                "key is empty",
            ),
            (
                json!({"command": "install", "url": "https://x/a.zip", "sha256": "abc"}),
                "64 hexadecimal",
            ),
            (
                json!({"command": "install", "url": "https://x/a.zip", "sha256": "zz".repeat(32)}),
                "64 hexadecimal",
            ),
            (
                json!({"command": "install", "url": "https://x/a.zip", "sha256": 12}),
                "install.sha256 must be a string",
            ),
            (
                json!({"command": "install", "url": "https://x/a.zip", "force": "yes"}),
                "install.force must be true or false, got a string",
            ),
            (
                json!({"command": "install", "url": "https://x/a.zip", "sha": "ab"}),
                "unknown field \"sha\" for command install (known: url, sha256, force)",
            ),
        ];
        for (v, want) in cases {
            let e = err(v.clone());
            assert!(e.contains(want), "{v}: {e:?} lacks {want:?}");
            assert!(e.starts_with("malformed lambda_fpm envelope: "), "{e}");
        }
    }

    #[test]
    fn loopback_http_is_allowed() {
        for url in [
            "http://127.0.0.1:8080/wp.tar.gz",
            "http://[::1]:80/wp.zip",
            "http://localhost/wp.zip",
            "http://127.1.2.3/x",
        ] {
            let c = parse(&json!({"command": "install", "url": url})).unwrap();
            assert!(
                matches!(
                    c,
                    Command::Install(InstallSpec {
                        source: Source::Http(_),
                        ..
                    })
                ),
                "{url}"
            );
        }
        for url in [
            "http://10.0.0.1/x",
            "http://169.254.169.254/latest",
            "http://localhost.evil.com/x",
        ] {
            assert!(
                err(json!({"command": "install", "url": url})).contains("loopback"),
                "{url}"
            );
        }
    }

    #[test]
    fn sha256_forms() {
        let hex = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
        let want = parse_sha256(hex).unwrap();
        assert_eq!(want[0], 0xe3);
        assert_eq!(want[31], 0x55);
        assert_eq!(
            parse_sha256(&format!("sha256:{}", hex.to_uppercase())),
            Some(want)
        );
        assert_eq!(parse_sha256(&format!(" {hex}\n")), Some(want));
        assert_eq!(parse_sha256(&hex[1..]), None);
        assert_eq!(parse_sha256(&format!("{}é", &hex[..62])), None);
        assert_eq!(parse_sha256(&format!("{}+1", &hex[..62])), None);
    }

    #[test]
    fn php_command() {
        let c =
            parse(&json!({"command": "php", "args": ["wp-cli.phar", "plugin", "list"]})).unwrap();
        assert_eq!(
            c,
            Command::Php(PhpSpec {
                args: vec!["wp-cli.phar".into(), "plugin".into(), "list".into()],
                timeout: None,
                max_output_bytes: DEFAULT_OUTPUT_LIMIT,
            })
        );
        let c = parse(&json!({"command": "php", "args": ["-r", "echo 1;"], "timeout_ms": 1500, "max_output_bytes": 1000})).unwrap();
        let Command::Php(spec) = c else { panic!() };
        assert_eq!(spec.timeout, Some(Duration::from_millis(1500)));
        assert_eq!(spec.max_output_bytes, 1000);
    }

    #[test]
    fn php_errors() {
        let cases = [
            (json!({"command": "php"}), "php.args is required"),
            (json!({"command": "php", "args": []}), "must not be empty"),
            (
                json!({"command": "php", "args": "-v"}),
                "php.args must be an array of strings, got a string",
            ),
            (
                json!({"command": "php", "args": ["-r", 1]}),
                "php.args[1] must be a string, got a number",
            ),
            (json!({"command": "php", "args": ["a\u{0}b"]}), "NUL"),
            (
                json!({"command": "php", "args": ["-v"], "timeout_ms": -5}),
                "php.timeout_ms must be a whole number",
            ),
            (
                json!({"command": "php", "args": ["-v"], "timeout_ms": 1.5}),
                "php.timeout_ms must be a whole number",
            ),
            (
                json!({"command": "php", "args": ["-v"], "timeout_ms": 0}),
                "between 1 and 900000",
            ),
            (
                json!({"command": "php", "args": ["-v"], "max_output_bytes": 99999999}),
                "between 64 and 1048576",
            ),
            (
                json!({"command": "php", "args": ["-v"], "cwd": "/"}),
                "unknown field \"cwd\"",
            ),
        ];
        for (v, want) in cases {
            let e = err(v.clone());
            assert!(e.contains(want), "{v}: {e:?} lacks {want:?}");
        }
    }

    #[test]
    fn cron_and_warm() {
        assert_eq!(
            parse(&json!({"command": "cron"})).unwrap(),
            Command::Cron(CronSpec { host: None })
        );
        assert_eq!(
            parse(&json!({"command": "cron", "host": "www.example.com"})).unwrap(),
            Command::Cron(CronSpec {
                host: Some("www.example.com".into())
            })
        );
        assert!(err(json!({"command": "cron", "host": "a b"})).contains("not a valid host"));
        assert!(
            err(json!({"command": "cron", "url": "/x"}))
                .contains("unknown field \"url\" for command cron (known: host)")
        );
        assert_eq!(
            parse(&json!({"command": "warm"})).unwrap(),
            Command::Warm(WarmSpec { paths: vec![] })
        );
        assert_eq!(
            parse(&json!({"command": "warm", "paths": ["/", "/wp-login.php?x=1"]})).unwrap(),
            Command::Warm(WarmSpec {
                paths: vec!["/".into(), "/wp-login.php?x=1".into()]
            })
        );
        assert!(
            err(json!({"command": "warm", "paths": ["index.php"]}))
                .contains("warm.paths[0] must be a URL path")
        );
        assert!(err(json!({"command": "warm", "paths": ["/a\nb"]})).contains("warm.paths[0]"));
        let many: Vec<String> = (0..51).map(|i| format!("/{i}")).collect();
        assert!(err(json!({"command": "warm", "paths": many})).contains("at most 50"));
    }

    #[test]
    fn envelope_shape_errors() {
        let cases = [
            (json!("install"), "lambda_fpm is a string"),
            (json!(null), "lambda_fpm is null"),
            (json!([]), "lambda_fpm is an array"),
            (
                json!({}),
                "missing \"command\" (one of install, php, cron, warm)",
            ),
            (json!({"command": 1}), "\"command\" must be a string"),
            (
                json!({"command": "deploy"}),
                "unknown command \"deploy\" (known: install, php, cron, warm)",
            ),
            (json!({"command": "Install"}), "unknown command \"Install\""),
        ];
        for (v, want) in cases {
            let e = err(v.clone());
            assert!(e.contains(want), "{v}: {e:?} lacks {want:?}");
        }
    }

    #[test]
    fn terraform_schedule_event_is_a_valid_cron_command() {
        // terraform/main.tf: cron_event = jsonencode({ lambda_fpm = { command = "cron" } })
        let event: Value = serde_json::from_str(r#"{"lambda_fpm":{"command":"cron"}}"#).unwrap();
        assert_eq!(
            parse(&event["lambda_fpm"]).unwrap(),
            Command::Cron(CronSpec { host: None })
        );
    }
}
