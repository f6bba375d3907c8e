//! Opcache priming at init (`LAMBDA_FPM_OPCACHE_PRIME=on`): one FastCGI request, sent by the
//! bridge before the sandbox takes its first event, to a script that loads every pre-compiled
//! script of the site's opcache file cache into php-fpm's shared memory (`php/prime.php`).
//!
//! Without it the first page of a new sandbox loads those scripts itself (bench/README.md:
//! ~1.7× a warm render on local disk). With it that work moves into init: the first page is
//! served at about warm speed, init grows by the loading time, and the total for a visitor who
//! triggered the cold start does not shrink (priming loads every cached script, the page only
//! the ones it needs). It pays off where init runs before anyone waits: provisioned
//! concurrency, and sandboxes Lambda initialises ahead of traffic. Hence off by default.
//!
//! Priming is best effort: any failure is logged and the sandbox starts as without it.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;

use crate::cgi_env::{InternalGet, Script, internal_get};
use crate::config::Scheme;
use crate::php_fpm::PhpFpm;
use crate::php_request::{self, Answer, PhpCall, PhpError, Read};

/// The priming script, written into the runtime directory at init (outside the document root,
/// so no visitor's path can reach it).
pub const SCRIPT: &str = include_str!("../../php/prime.php");
/// File name of the script in the runtime directory.
pub const SCRIPT_NAME: &str = "prime.php";

/// What the script reported.
#[derive(Debug, Clone, PartialEq, serde::Deserialize)]
pub struct Primed {
    /// Scripts now in shared memory.
    pub scripts: u64,
    /// Scripts opcache would not compile.
    pub failed: u64,
    /// Cache entries whose source file no longer exists.
    pub stale: u64,
    /// The budget ran out before every entry was loaded.
    pub out_of_time: bool,
    /// Time spent in PHP, ms.
    pub ms: f64,
    /// Why nothing was primed (opcache off, no file cache).
    pub error: Option<String>,
}

/// The priming request's CGI environment: an internal GET of the script in the runtime
/// directory, with the site's document root, the file cache to load and the budget.
pub fn params(
    script: &Path,
    document_root: &str,
    opcache_dir: &Path,
    budget: Duration,
) -> Vec<(String, String)> {
    let file = script.to_string_lossy();
    let url = format!("/{SCRIPT_NAME}");
    internal_get(InternalGet {
        script: Script::Outside { file: &file },
        path: &url,
        query: "",
        host: "localhost",
        scheme: Scheme::Http,
        user_agent: concat!("lambda-fpm/", env!("CARGO_PKG_VERSION"), " (prime)"),
        document_root,
        extra: vec![
            (
                "LAMBDA_FPM_OPCACHE_DIR".into(),
                opcache_dir.to_string_lossy().into_owned(),
            ),
            (
                "LAMBDA_FPM_PRIME_BUDGET_MS".into(),
                budget.as_millis().to_string(),
            ),
        ],
    })
    .expect("localhost is a valid host")
}

/// Reads the script's answer (status and the JSON body).
pub fn parse_reply(status: u16, body: &[u8]) -> Result<Primed, PrimeError> {
    let excerpt = || String::from_utf8_lossy(&body[..body.len().min(200)]).into_owned();
    if status != 200 {
        return Err(PrimeError::Status(status, excerpt()));
    }
    serde_json::from_slice(body).map_err(|e| PrimeError::Unexpected(e.to_string(), excerpt()))
}

/// Why priming gave no report.
#[derive(Debug, thiserror::Error)]
pub enum PrimeError {
    #[error("cannot write {0}: {1}")]
    Write(String, std::io::Error),
    #[error(transparent)]
    Php(#[from] PhpError),
    #[error("status {0}: {1}")]
    Status(u16, String),
    #[error("unexpected answer ({0}): {1}")]
    Unexpected(String, String),
}

/// Writes the script into `runtime_dir` and runs it through php-fpm (`php_request`). PHP
/// stops itself when `budget` is spent; the bridge gives up one second later.
pub async fn prime(
    fpm: &Arc<PhpFpm>,
    runtime_dir: &Path,
    document_root: &str,
    opcache_dir: &Path,
    budget: Duration,
) -> Result<Primed, PrimeError> {
    let script = runtime_dir.join(SCRIPT_NAME);
    tokio::fs::write(&script, SCRIPT)
        .await
        .map_err(|e| PrimeError::Write(script.display().to_string(), e))?;
    let call = PhpCall {
        env: params(&script, document_root, opcache_dir, budget),
        body: Bytes::new(),
        deadline: tokio::time::Instant::now() + budget + Duration::from_secs(1),
        request_id: "",
        max_output: usize::MAX,
    };
    match php_request::run(fpm, call, Read::Whole).await.answer? {
        Answer::Whole { head, body } => parse_reply(head.status, &body),
        Answer::Streaming { .. } => unreachable!("Read::Whole reads the whole answer"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn params_point_php_at_the_script_and_the_site() {
        let p = params(
            Path::new("/tmp/lambda-fpm/prime.php"),
            "/mnt/wordpress",
            Path::new("/tmp/lambda-fpm/opcache"),
            Duration::from_millis(2500),
        );
        let get = |k: &str| p.iter().find(|(n, _)| n == k).map(|(_, v)| v.as_str());
        assert_eq!(get("SCRIPT_FILENAME"), Some("/tmp/lambda-fpm/prime.php"));
        assert_eq!(get("DOCUMENT_ROOT"), Some("/mnt/wordpress"));
        assert_eq!(
            get("LAMBDA_FPM_OPCACHE_DIR"),
            Some("/tmp/lambda-fpm/opcache")
        );
        assert_eq!(get("LAMBDA_FPM_PRIME_BUDGET_MS"), Some("2500"));
        assert_eq!(get("REQUEST_METHOD"), Some("GET"));
    }

    #[test]
    fn reply_is_parsed() {
        let out = b"{\"scripts\":12,\"failed\":1,\"stale\":2,\"out_of_time\":false,\"error\":null,\"ms\":8.5}";
        let p = parse_reply(200, out).unwrap();
        assert_eq!(
            p,
            Primed {
                scripts: 12,
                failed: 1,
                stale: 2,
                out_of_time: false,
                ms: 8.5,
                error: None
            }
        );
    }

    #[test]
    fn php_error_page_is_an_error_not_a_zero() {
        let e = parse_reply(500, b"Fatal error").unwrap_err().to_string();
        assert!(e.contains("500") && e.contains("Fatal error"), "{e}");
        let e = parse_reply(200, b"<b>Parse error</b>")
            .unwrap_err()
            .to_string();
        assert!(e.contains("unexpected answer"), "{e}");
    }
}
