//! Log set-up: JSON lines on Lambda (CloudWatch Logs Insights reads the fields), plain text
//! locally. `RUST_LOG` (or Lambda's `AWS_LAMBDA_LOG_LEVEL`) filters by level and target, e.g.
//! `info` or `warn,lambda_fpm=debug`. A filter tracing-subscriber's `Targets` cannot read is
//! reported on stderr and `info` is used (the regex-based span/field filters of `EnvFilter` are
//! not supported: they would add the regex engine, ~0.4 MB, to the layer's bridge).

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

pub fn init(format: LogFormat) {
    let (filter, bad) = filter_from(|k| std::env::var(k).ok());
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
}
