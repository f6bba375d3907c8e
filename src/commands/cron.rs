//! `cron`: run WordPress's due cron events the way WordPress itself does, by requesting
//! `/wp-cron.php?doing_wp_cron` through php-fpm, so a schedule (EventBridge Scheduler, see
//! terraform/schedule.tf) can replace WP-Cron on page loads (`DISABLE_WP_CRON`).
//!
//! The query `doing_wp_cron` with no value is what WordPress documents for a system cron:
//! wp-cron.php then takes the `doing_cron` lock itself (a value would have to match a lock
//! `spawn_cron()` set beforehand, else wp-cron.php silently does nothing). wp-cron.php calls
//! `fastcgi_finish_request()` when it can; the layer's php.ini disables it, so the request
//! ends only when the events have run, and the reported time is the real cron time.

use std::time::Instant;

use bytes::Bytes;
use serde_json::{Value, json};

use super::envelope::CronSpec;
use crate::cgi_env::{EnvInput, build_env};
use crate::event::{EventKind, HttpRequest};
use crate::fastcgi_transport::execute;
use crate::handler::Bridge;
use crate::origin::internal_view;
use crate::routing::{PhpTarget, Route};

/// One FastCGI GET issued by the bridge itself (cron, warm).
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

/// Routes `path` (no query) like a visitor's request.
pub async fn route_path(bridge: &Bridge, path: &str, query: &str) -> Result<Target, String> {
    let decided = bridge
        .route(path, query)
        .await
        .map_err(|e| format!("routing failed: {e}"))?;
    Ok(match decided {
        Route::Php(target) => Target::Php(target),
        other => Target::Other(other.kind()),
    })
}

/// Sends a GET for `target` to php-fpm, as if `host` had been requested, and reads the whole
/// answer before `deadline` (past it, php-fpm is killed like for a visitor's request).
/// Who asks, for [`php_get`]: the Host PHP sees, the user agent, and the document root PHP runs
/// against (EFS itself, or the code mirror).
pub struct Caller<'a> {
    pub host: &'a str,
    pub user_agent: &'a str,
    pub document_root: &'a str,
}

pub async fn php_get(
    bridge: &Bridge,
    target: &PhpTarget,
    path: &str,
    query: &str,
    caller: &Caller<'_>,
    deadline: tokio::time::Instant,
) -> Result<PhpReply, String> {
    let Caller {
        host,
        user_agent,
        document_root,
    } = *caller;
    bridge
        .fpm()
        .ensure_running()
        .await
        .map_err(|e| e.to_string())?;
    let view = internal_view(host, bridge.config().direct_scheme)
        .map_err(|bad| format!("host {:?} cannot build URLs (name[:port] expected)", bad.0))?;
    let request = HttpRequest {
        kind: EventKind::ApiGatewayV2,
        method: "GET".into(),
        path: path.to_string(),
        query: query.to_string(),
        headers: vec![
            ("host".into(), host.to_string()),
            ("user-agent".into(), user_agent.to_string()),
        ],
        cookies: vec![],
        body: Bytes::new(),
        source_ip: Some("127.0.0.1".into()),
        protocol: "HTTP/1.1".into(),
    };
    let env = build_env(&EnvInput {
        request: &request,
        target,
        view: &view,
        document_root: document_root.trim_end_matches('/'),
        secret_header: &bridge.config().origin_secret_header,
    });
    let started = Instant::now();
    let work = async {
        execute(bridge.fpm().socket(), env, Bytes::new())
            .await?
            .read_all()
            .await
    };
    let result = tokio::time::timeout_at(deadline, work).await;
    let php_ms = started.elapsed().as_millis() as u64;
    match result {
        Err(_) => {
            bridge.fpm().kill().await;
            Err(format!(
                "{path} was still running after {php_ms} ms, at the invocation's deadline minus LAMBDA_FPM_TIMEOUT_MARGIN_MS; php-fpm killed (it restarts on the next request)"
            ))
        }
        Ok(Err(e)) => {
            bridge.fpm().kill().await;
            Err(format!("{path}: {e}"))
        }
        Ok(Ok((stdout, stderr))) => match crate::cgi_response::split_output(&stdout) {
            Ok((head, body)) => Ok(PhpReply {
                status: head.status,
                body_bytes: body.len(),
                php_ms,
                stderr,
            }),
            Err(e) => Err(format!("{path}: unreadable CGI answer: {e}")),
        },
    }
}

/// Runs `cron`.
pub async fn run(
    bridge: &Bridge,
    spec: &CronSpec,
    deadline: tokio::time::Instant,
) -> (bool, Value) {
    let (path, query) = ("/wp-cron.php", "doing_wp_cron");
    let target = match route_path(bridge, path, query).await {
        Ok(Target::Php(t)) if t.relative == "wp-cron.php" && !t.front_controller => t,
        Ok(_) => {
            return (
                false,
                json!({"error": format!("no wp-cron.php in the document root {} (is WordPress installed?)", bridge.root().display())}),
            );
        }
        Err(e) => return (false, json!({"error": e})),
    };
    let host = spec.host.as_deref().unwrap_or("localhost");
    let ua = concat!("lambda-fpm/", env!("CARGO_PKG_VERSION"), " (cron)");
    // on EFS itself, never the code mirror: wp-cron runs automatic updates
    let root = bridge.root().to_string_lossy();
    let caller = Caller {
        host,
        user_agent: ua,
        document_root: &root,
    };
    match php_get(bridge, &target, path, query, &caller, deadline).await {
        Ok(reply) => {
            let ok = (200..300).contains(&reply.status);
            let mut result = json!({
                "url": format!("{path}?{query}"),
                "host": host,
                "status": reply.status,
                "php_ms": reply.php_ms,
                "body_bytes": reply.body_bytes,
                "stderr": reply.stderr,
            });
            if !ok {
                result["error"] = json!(format!("wp-cron.php answered {}", reply.status));
            }
            // The schedule also keeps the opcache seed fresh after code changes (plugin or
            // core updates): republished only when this sandbox compiled something newer.
            result["opcache_seed"] = bridge.publish_opcache_seed().await;
            (ok, result)
        }
        Err(e) => (false, json!({"url": format!("{path}?{query}"), "error": e})),
    }
}
