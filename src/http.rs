//! The HTTP side of an invocation: one request in, one [`Outcome`] decided, handed to `reply`.
//!
//! In order: the body-size limit, origin trust (`origin`), the client's view of the URL, the
//! code mirror's marker check, the in-memory static cache, routing (`routing`), then a static
//! file (`static_files`) or PHP (`cgi_env` + `php_request`). Every refusal is a plain-text
//! answer with its reason in the request log's `detail`.

use std::time::Instant;

use lambda_http::lambda_runtime::Context;

use crate::bridge::Bridge;
use crate::cgi_env::{EnvInput, build_env};
use crate::config::InvokeMode;
use crate::event::{HttpRequest, HttpResponse};
use crate::origin::{ClientView, OriginCheck, check_origin, client_view};
use crate::php_request::{self, Answer, PhpCall, PhpError, Read};
use crate::reply::{self, Outcome, Reply, Shape, plain};
use crate::request_log::RequestLog;
use crate::routing::{PhpTarget, Route};

/// Answers one HTTP request (an invocation `crate::invocation` found to be one).
pub async fn handle(
    bridge: &Bridge,
    request: HttpRequest,
    ctx: &Context,
    started: Instant,
) -> Reply {
    let mut log = RequestLog::new(
        &ctx.request_id,
        &request,
        bridge.first_request(),
        bridge.config().server_timing,
        started,
    );
    let outcome = decide(bridge, &request, ctx, &mut log).await;
    let cfg = bridge.config();
    let shape = Shape {
        kind: request.kind,
        mode: cfg.invoke_mode,
        head_only: request.method == "HEAD",
        accept_encoding: request.header("accept-encoding"),
        limit: cfg.max_response_bytes,
    };
    reply::send(outcome, &shape, log).await
}

/// Decides the answer.
async fn decide(
    bridge: &Bridge,
    request: &HttpRequest,
    ctx: &Context,
    log: &mut RequestLog,
) -> Outcome {
    let cfg = bridge.config();
    if request.body.len() > cfg.max_body_bytes {
        log.route = "denied";
        log.detail = format!(
            "request body {} bytes > LAMBDA_FPM_MAX_BODY_BYTES {}",
            request.body.len(),
            cfg.max_body_bytes
        );
        return Outcome::Buffered(plain(413, "Payload Too Large"));
    }
    let origin = check_origin(
        cfg.origin_secret.as_deref(),
        &cfg.origin_secret_header,
        request,
    );
    if origin == OriginCheck::Rejected {
        log.route = "denied";
        log.detail = format!("missing or wrong {} header", cfg.origin_secret_header);
        return Outcome::Buffered(plain(403, "Forbidden"));
    }
    let view = match client_view(request, origin, cfg.direct_scheme) {
        Ok(v) => v,
        Err(bad) => {
            log.route = "denied";
            log.detail = format!("invalid host {:?}", bad.0);
            return Outcome::Buffered(plain(400, "Bad Request: invalid Host"));
        }
    };

    if !crate::origin::host_allowed(&cfg.allowed_hosts, &view.server_name) {
        log.route = "denied";
        log.detail = format!(
            "host {:?} is not in LAMBDA_FPM_ALLOWED_HOSTS",
            view.server_name
        );
        return Outcome::Buffered(plain(421, "Misdirected Request: unknown host"));
    }

    // The code mirror's marker check (at most once per interval): before routing, which
    // looks at the copy while PHP runs from it.
    if let Some(m) = bridge.mirror()
        && m.check().await
    {
        // the code under PHP changed: no compiled script or cached path may survive
        bridge.fpm().kill().await;
    }

    // Small hot static files: served from memory, no file system access at all.
    let static_started = Instant::now();
    if let Some(served) = bridge.statics().serve_cached(request) {
        log.route = "static";
        log.cache = served.cache.as_str();
        log.static_ms = Some(static_started.elapsed().as_secs_f64() * 1000.0);
        return Outcome::Buffered(served.response);
    }

    let decided = match bridge.route(&request.path, &request.query).await {
        Ok(r) => r,
        Err(e) => {
            log.detail = format!("routing failed: {e}");
            return Outcome::Buffered(plain(500, "Internal Server Error"));
        }
    };
    log.route = decided.kind();
    match decided {
        Route::Deny(reason) => {
            log.detail = reason.as_str().to_string();
            let status = reason.status();
            let text = match status {
                400 => "Bad Request",
                404 => "Not Found",
                _ => "Forbidden",
            };
            Outcome::Buffered(plain(status, text))
        }
        Route::Redirect { location } => {
            let mut r = plain(301, "Moved Permanently");
            r.headers.push(("location".into(), location));
            Outcome::Buffered(r)
        }
        Route::Static { relative } => {
            match timed(bridge.statics().serve(request, &relative), log).await {
                Ok(served) => {
                    log.cache = served.cache.as_str();
                    match served.file_body {
                        Some(body) => Outcome::File(served.response, body),
                        None => Outcome::Buffered(served.response),
                    }
                }
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                    log.detail = "file vanished".into();
                    Outcome::Buffered(plain(404, "Not Found"))
                }
                // what was opened is not what routing may serve (a link swapped in since)
                Err(e) if e.kind() == std::io::ErrorKind::PermissionDenied => {
                    log.detail = format!("refused: {e}");
                    Outcome::Buffered(plain(403, "Forbidden"))
                }
                Err(e) => {
                    log.detail = format!("cannot read file: {e}");
                    Outcome::Buffered(plain(500, "Internal Server Error"))
                }
            }
        }
        Route::Php(target) => run_php(bridge, request, &target, &view, ctx, log).await,
    }
}

/// Runs the script routing chose, on the code mirror or on EFS.
async fn run_php(
    bridge: &Bridge,
    request: &HttpRequest,
    target: &PhpTarget,
    view: &ClientView,
    ctx: &Context,
    log: &mut RequestLog,
) -> Outcome {
    let cfg = bridge.config();
    let deadline = php_request::deadline(cfg, ctx.deadline);
    // The code mirror: requests that may change code run on EFS; the rest on the local copy.
    let writes_code = bridge.mirror().is_some()
        && crate::code_mirror::runs_on_efs(&crate::code_mirror::RequestFacts {
            method: &request.method,
            script: &target.relative,
            path: &request.path,
            query: &request.query,
            form: request
                .header("content-type")
                .is_some_and(|t| {
                    t.to_ascii_lowercase()
                        .starts_with("application/x-www-form-urlencoded")
                })
                .then_some(&request.body[..]),
        });
    let php_root = match bridge.mirror() {
        Some(m) => {
            let chosen = m.php_root(writes_code).await;
            log.code = match (chosen.mirror, writes_code) {
                (true, _) => "mirror",
                (false, true) => "efs-write",
                (false, false) => "efs",
            };
            chosen.root
        }
        None => bridge.root_str().to_string(),
    };
    let env = build_env(&EnvInput {
        request,
        target,
        view,
        document_root: &php_root,
        secret_header: &cfg.origin_secret_header,
    });
    let read = match cfg.invoke_mode {
        InvokeMode::ResponseStream => Read::Streaming,
        InvokeMode::Buffered => Read::Whole,
    };
    // buffered: read no more than can fit the payload (gzipped, if the client takes it)
    let max_output = match read {
        Read::Whole => crate::payload_fit::output_limit(
            cfg.max_response_bytes,
            reply::accepts_gzip(request.header("accept-encoding")),
        ),
        Read::Streaming => usize::MAX,
    };
    let call = PhpCall {
        env,
        body: request.body.clone(),
        deadline,
        request_id: &log.request_id,
        max_output,
    };
    let ran = php_request::run(bridge.fpm(), call, read).await;
    let php_ran = !matches!(ran.answer, Err(PhpError::NotRunning(_)));
    if php_ran {
        log.php = Some(ran.times);
    }
    if php_ran
        && writes_code
        && let Some(m) = bridge.mirror()
    {
        // (a streamed response may still be running: the marker is read on the next request)
        m.after_code_change(&format!("{} /{}", request.method, target.relative))
            .await;
    }
    match ran.answer {
        Ok(Answer::Whole { head, body }) => {
            note_dropped(log, &head.dropped);
            Outcome::Buffered(HttpResponse {
                status: head.status,
                headers: head.headers,
                body,
            })
        }
        Ok(Answer::Streaming { head, first, rest }) => {
            note_dropped(log, &head.dropped);
            Outcome::Streaming { head, first, rest }
        }
        Err(PhpError::NotRunning(e)) => {
            log.detail = e.to_string();
            tracing::error!(target: "php-fpm", request_id = %log.request_id, "{e}");
            Outcome::Buffered(plain(502, "Bad Gateway: PHP is not running"))
        }
        Err(PhpError::TimedOut) => {
            log.deadline = true;
            log.detail = format!(
                "PHP still running {} ms before the deadline; php-fpm killed and will restart",
                cfg.timeout_margin.as_millis()
            );
            Outcome::Buffered(plain(504, "Gateway Timeout"))
        }
        Err(e @ PhpError::TooLarge(_)) => {
            log.detail = format!("{e}; use LAMBDA_FPM_INVOKE_MODE=response_stream");
            tracing::error!(target: "request", request_id = %log.request_id, "{}", log.detail);
            Outcome::Buffered(plain(
                502,
                "Bad Gateway: response too large for a buffered Lambda response",
            ))
        }
        Err(e @ (PhpError::Transport(_) | PhpError::BadHead(_))) => {
            log.detail = e.to_string();
            Outcome::Buffered(plain(502, "Bad Gateway"))
        }
    }
}

/// Reads a static file, timing it for the log and Server-Timing.
async fn timed<T>(read: impl std::future::Future<Output = T>, log: &mut RequestLog) -> T {
    let at = Instant::now();
    let out = read.await;
    log.static_ms = Some(at.elapsed().as_secs_f64() * 1000.0);
    out
}

fn note_dropped(log: &mut RequestLog, dropped: &[String]) {
    if !dropped.is_empty() {
        log.detail = format!("dropped invalid header lines from PHP: {dropped:?}");
    }
}
