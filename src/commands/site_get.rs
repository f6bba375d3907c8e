//! A GET the bridge sends its own site (`cron`, `warm`): routed like a visitor's request, then
//! run through `php_request` (so the same deadline and kill policy) with the environment
//! `cgi_env::internal_get` builds, and read whole.

use bytes::Bytes;

use crate::bridge::Bridge;
use crate::cgi_env::{InternalGet, Script, internal_get};
use crate::php_request::{self, Answer, PhpCall, PhpError, Read};
use crate::routing::{PhpTarget, Route};

/// PHP's answer to one internal GET.
#[derive(Debug)]
pub struct PhpReply {
    pub status: u16,
    pub body_bytes: usize,
    pub php_ms: u64,
    pub stderr: Vec<String>,
}

/// What routing made of a path the bridge requests itself.
pub enum Target {
    Php(PhpTarget),
    /// Not PHP (a static file, a redirect or a denied path), with the route's short name.
    Other(&'static str),
}

/// Why an internal GET gave no answer.
#[derive(Debug, thiserror::Error)]
pub enum GetError {
    #[error("routing failed: {0}")]
    Routing(#[from] tokio::task::JoinError),
    #[error("host {0:?} cannot build URLs (name[:port] expected)")]
    Host(String),
    #[error(
        "{path} was still running after {php_ms} ms, at the invocation's deadline minus LAMBDA_FPM_TIMEOUT_MARGIN_MS; php-fpm killed (it restarts on the next request)"
    )]
    TimedOut { path: String, php_ms: u64 },
    #[error("{0}")]
    NotRunning(String),
    #[error("{path}: {error}")]
    Php { path: String, error: PhpError },
}

/// Routes `path` and `query` like a visitor's request.
pub async fn route_path(bridge: &Bridge, path: &str, query: &str) -> Result<Target, GetError> {
    Ok(match bridge.route(path, query).await? {
        Route::Php(target) => Target::Php(target),
        other => Target::Other(other.kind()),
    })
}

/// Who asks: the Host PHP sees, the user agent, and the document root PHP runs against (EFS
/// itself, or the code mirror).
pub struct Caller<'a> {
    pub host: &'a str,
    pub user_agent: &'a str,
    pub document_root: &'a str,
}

/// Sends a GET for `target` to php-fpm and reads the whole answer before `deadline`.
pub async fn php_get(
    bridge: &Bridge,
    target: &PhpTarget,
    path: &str,
    query: &str,
    caller: &Caller<'_>,
    deadline: tokio::time::Instant,
) -> Result<PhpReply, GetError> {
    let env = internal_get(InternalGet {
        script: Script::Site(target),
        path,
        query,
        host: caller.host,
        scheme: bridge.config().direct_scheme,
        user_agent: caller.user_agent,
        document_root: caller.document_root,
        extra: vec![],
    })
    .map_err(|bad| GetError::Host(bad.0))?;
    let call = PhpCall {
        env,
        body: Bytes::new(),
        deadline,
        request_id: "",
        max_output: usize::MAX,
    };
    let ran = php_request::run(bridge.fpm(), call, Read::Whole).await;
    match ran.answer {
        Ok(Answer::Whole { head, body }) => Ok(PhpReply {
            status: head.status,
            body_bytes: body.len(),
            php_ms: ran.php_ms,
            stderr: ran.stderr,
        }),
        Ok(Answer::Streaming { .. }) => unreachable!("Read::Whole reads the whole answer"),
        Err(PhpError::TimedOut) => Err(GetError::TimedOut {
            path: path.to_string(),
            php_ms: ran.php_ms,
        }),
        Err(PhpError::NotRunning(e)) => Err(GetError::NotRunning(e.to_string())),
        Err(error) => Err(GetError::Php {
            path: path.to_string(),
            error,
        }),
    }
}
