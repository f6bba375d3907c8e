//! Log set-up: JSON lines on Lambda (CloudWatch Logs Insights reads the fields), plain text
//! locally. `RUST_LOG` (or Lambda's `AWS_LAMBDA_LOG_LEVEL`) filters by level and target, e.g.
//! `info` or `warn,lambda_fpm=debug`. A filter tracing-subscriber's `Targets` cannot read is
//! reported on stderr and `info` is used (the regex-based span/field filters of `EnvFilter` are
//! not supported: they would add the regex engine, ~0.4 MB, to the layer's bridge).
//!
//! Whatever the filter, the dependencies that log secrets at their verbose levels are capped
//! ([`SECRET_CAPS`]): fastcgi-client logs every FastCGI parameter (cookies, Authorization,
//! password-reset keys) at DEBUG; lambda_runtime logs the raw event (the origin secret, cookies,
//! POST bodies) at TRACE; hyper and reqwest log headers at TRACE. Lambda's own log-level setting
//! turns those levels on with one click, so the caps hold unless `LAMBDA_FPM_LOG_SECRETS=on`.

use std::str::FromStr;

use tracing_subscriber::filter::Targets;
use tracing_subscriber::prelude::*;

use crate::config::LogFormat;

/// The filter from `RUST_LOG`, else `AWS_LAMBDA_LOG_LEVEL` (upper case on Lambda), else `info`;
/// with the variable and value that could not be read, if one could not (`info` is used then).
pub fn filter_from(
    lookup: impl Fn(&str) -> Option<String>,
) -> (Targets, Option<(&'static str, String)>) {
    let default = || Targets::new().with_default(tracing::Level::INFO);
    for var in ["RUST_LOG", "AWS_LAMBDA_LOG_LEVEL"] {
        if let Some(raw) = lookup(var).filter(|v| !v.trim().is_empty()) {
            return match Targets::from_str(&raw.trim().to_ascii_lowercase()) {
                Ok(t) => (t, None),
                Err(_) => (default(), Some((var, raw))),
            };
        }
    }
    (default(), None)
}

/// Targets that log secrets above the given level, and the most each may log.
pub const SECRET_CAPS: &[(&str, tracing::Level)] = &[
    ("fastcgi_client", tracing::Level::INFO),
    ("lambda_runtime", tracing::Level::DEBUG),
    ("lambda_runtime_api_client", tracing::Level::DEBUG),
    ("lambda_http", tracing::Level::DEBUG),
    ("hyper", tracing::Level::DEBUG),
    ("hyper_util", tracing::Level::DEBUG),
    ("reqwest", tracing::Level::DEBUG),
    ("h2", tracing::Level::DEBUG),
];

/// The caps as a filter: everything else passes.
pub fn secret_caps() -> Targets {
    SECRET_CAPS.iter().fold(
        Targets::new().with_default(tracing::Level::TRACE),
        |t, (target, level)| t.with_target(*target, *level),
    )
}

pub fn init(format: LogFormat, log_secrets: bool) {
    let (requested, bad) = filter_from(|k| std::env::var(k).ok());
    let caps = if log_secrets {
        Targets::new().with_default(tracing::Level::TRACE)
    } else {
        secret_caps()
    };
    use tracing_subscriber::filter::FilterExt;
    let filter = requested.and(caps);
    let layer = tracing_subscriber::fmt::layer()
        .with_writer(std::io::stderr)
        .with_ansi(false);
    let result = match format {
        LogFormat::Json => tracing_subscriber::registry()
            .with(
                layer
                    .json()
                    .flatten_event(true)
                    .with_current_span(false)
                    .with_span_list(false)
                    .without_time()
                    .with_filter(filter),
            )
            .try_init(),
        LogFormat::Text => tracing_subscriber::registry()
            .with(layer.with_filter(filter))
            .try_init(),
    };
    if result.is_ok()
        && let Some((var, raw)) = bad
    {
        tracing::warn!(
            "{var}={raw:?} is not a log filter (level, or target=level,...): using info"
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tracing::Level;
    use tracing_subscriber::filter::LevelFilter;

    fn filter(pairs: &[(&str, &str)]) -> (Targets, Option<(&'static str, String)>) {
        let pairs: Vec<(String, String)> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        filter_from(|k| pairs.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone()))
    }

    #[test]
    fn info_by_default() {
        let (t, bad) = filter(&[]);
        assert!(bad.is_none());
        assert!(t.would_enable("lambda_fpm", &Level::INFO));
        assert!(!t.would_enable("lambda_fpm", &Level::DEBUG));
    }

    #[test]
    fn rust_log_levels_and_targets() {
        let (t, _) = filter(&[("RUST_LOG", "warn,lambda_fpm::http=debug")]);
        assert!(t.would_enable("lambda_fpm::http", &Level::DEBUG));
        assert!(!t.would_enable("lambda_fpm::config", &Level::INFO));
        assert!(t.would_enable("hyper", &Level::WARN));
        assert_eq!(t.default_level(), Some(LevelFilter::WARN));
    }

    #[test]
    fn lambda_log_level_is_upper_case_and_loses_to_rust_log() {
        let (t, _) = filter(&[("AWS_LAMBDA_LOG_LEVEL", "DEBUG")]);
        assert!(t.would_enable("lambda_fpm", &Level::DEBUG));
        let (t, _) = filter(&[("AWS_LAMBDA_LOG_LEVEL", "DEBUG"), ("RUST_LOG", "error")]);
        assert!(!t.would_enable("lambda_fpm", &Level::WARN));
    }

    #[test]
    fn unreadable_filter_falls_back_to_info_and_says_which() {
        let (t, bad) = filter(&[("RUST_LOG", "lambda_fpm=loud")]);
        assert_eq!(bad, Some(("RUST_LOG", "lambda_fpm=loud".to_string())));
        assert!(t.would_enable("lambda_fpm", &Level::INFO));
        assert!(!t.would_enable("lambda_fpm", &Level::DEBUG));
    }

    #[test]
    fn secret_bearing_targets_are_capped_whatever_the_level() {
        let caps = secret_caps();
        assert!(!caps.would_enable("fastcgi_client", &Level::DEBUG));
        assert!(!caps.would_enable("fastcgi_client::conn", &Level::DEBUG));
        assert!(caps.would_enable("fastcgi_client", &Level::INFO));
        assert!(!caps.would_enable("lambda_runtime", &Level::TRACE));
        assert!(!caps.would_enable("lambda_runtime::layers::api_response", &Level::TRACE));
        assert!(caps.would_enable("lambda_runtime", &Level::DEBUG));
        assert!(!caps.would_enable("hyper::proto::h1::role", &Level::TRACE));
        // the bridge's own targets are never capped
        for target in [
            "request",
            "init",
            "php",
            "php-fpm",
            "command",
            "lambda_fpm::http",
        ] {
            assert!(caps.would_enable(target, &Level::TRACE), "{target}");
        }
    }
}
