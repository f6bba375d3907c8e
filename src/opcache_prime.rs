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
use std::time::{Duration, Instant};

use bytes::Bytes;

use crate::fastcgi_transport::execute;

/// The priming script, written into the runtime directory at init (outside the document root,
/// so no visitor's path can reach it).
pub const SCRIPT: &str = include_str!("../php/prime.php");
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

/// FastCGI params for the priming request.
pub fn params(
    script: &Path,
    document_root: &str,
    opcache_dir: &Path,
    budget: Duration,
) -> Vec<(String, String)> {
    let script = script.to_string_lossy().to_string();
    vec![
        ("GATEWAY_INTERFACE".into(), "CGI/1.1".into()),
        ("SERVER_PROTOCOL".into(), "HTTP/1.1".into()),
        ("SERVER_SOFTWARE".into(), "lambda-fpm".into()),
        ("REQUEST_METHOD".into(), "GET".into()),
        ("SCRIPT_FILENAME".into(), script.clone()),
        ("SCRIPT_NAME".into(), format!("/{SCRIPT_NAME}")),
        ("REQUEST_URI".into(), format!("/{SCRIPT_NAME}")),
        ("QUERY_STRING".into(), String::new()),
        ("DOCUMENT_ROOT".into(), document_root.to_string()),
        ("REMOTE_ADDR".into(), "127.0.0.1".into()),
        ("SERVER_NAME".into(), "localhost".into()),
        ("SERVER_PORT".into(), "80".into()),
        (
            "LAMBDA_FPM_OPCACHE_DIR".into(),
            opcache_dir.to_string_lossy().to_string(),
        ),
        (
            "LAMBDA_FPM_PRIME_BUDGET_MS".into(),
            budget.as_millis().to_string(),
        ),
    ]
}

/// Reads the script's answer (the CGI output: headers, blank line, JSON).
pub fn parse_reply(stdout: &[u8]) -> Result<Primed, String> {
    let (head, body) =
        crate::cgi_response::split_output(stdout).map_err(|e| format!("bad CGI output: {e}"))?;
    if head.status != 200 {
        return Err(format!(
            "status {}: {}",
            head.status,
            String::from_utf8_lossy(&body[..body.len().min(200)])
        ));
    }
    serde_json::from_slice(body).map_err(|e| {
        format!(
            "unexpected answer ({e}): {}",
            String::from_utf8_lossy(&body[..body.len().min(200)])
        )
    })
}

/// Writes the script into `runtime_dir` and runs it through php-fpm at `socket`. PHP stops
/// itself when `budget` is spent; the bridge gives up one second later.
pub async fn prime(
    socket: &Path,
    runtime_dir: &Path,
    document_root: &str,
    opcache_dir: &Path,
    budget: Duration,
) -> Result<Primed, String> {
    let script = runtime_dir.join(SCRIPT_NAME);
    tokio::fs::write(&script, SCRIPT)
        .await
        .map_err(|e| format!("cannot write {}: {e}", script.display()))?;
    let env = params(&script, document_root, opcache_dir, budget);
    let started = Instant::now();
    let work = async { execute(socket, env, Bytes::new()).await?.read_all().await };
    let (stdout, _stderr) = tokio::time::timeout(budget + Duration::from_secs(1), work)
        .await
        .map_err(|_| format!("no answer after {} ms", started.elapsed().as_millis()))?
        .map_err(|e| e.to_string())?;
    parse_reply(&stdout)
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
        let out = b"Content-Type: application/json\r\n\r\n{\"scripts\":12,\"failed\":1,\"stale\":2,\"out_of_time\":false,\"error\":null,\"ms\":8.5}";
        let p = parse_reply(out).unwrap();
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
        let out =
            b"Status: 500 Internal Server Error\r\nContent-Type: text/html\r\n\r\nFatal error";
        let e = parse_reply(out).unwrap_err();
        assert!(e.contains("500"), "{e}");
        let out = b"Content-Type: text/html\r\n\r\n<b>Parse error</b>";
        let e = parse_reply(out).unwrap_err();
        assert!(e.contains("unexpected answer"), "{e}");
    }
}
