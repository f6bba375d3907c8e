//! The Lambda adapter: one invocation in, one response out. It wires the pure cores (event
//! mapping, origin trust, routing, CGI environment, CGI response parsing) to the IO shells
//! (static-file reader, FastCGI transport, php-fpm supervisor) and writes one log line per
//! request.

use std::path::PathBuf;
use std::pin::Pin;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use bytes::{Bytes, BytesMut};
use futures_util::{Stream, StreamExt};
use lambda_http::lambda_runtime::{
    self, Context, FunctionResponse, MetadataPrelude, StreamResponse,
};
use serde_json::Value;
use tokio::time::timeout_at;

use crate::cgi_env::{EnvInput, build_env};
use crate::cgi_response::{
    CgiHead, HeadError, MAX_HEAD_BYTES, find_head_end, parse_head, split_output,
};
use crate::config::{Config, InvokeMode};
use crate::event::{EventKind, HttpRequest, HttpResponse, stream_prelude_parts, to_event_response};
use crate::fastcgi_transport::{Chunk, PhpOutput, TransportError, execute};
use crate::fs_probe::DiskProbe;
use crate::origin::{OriginCheck, check_origin, client_view};
use crate::php_fpm::{PhpFpm, SpawnConfig, StartError};
use crate::routing::{PhpTarget, Route, route};

/// Body stream of a streamed response.
pub type BodyStream = Pin<Box<dyn Stream<Item = Result<Bytes, lambda_runtime::Error>> + Send>>;
/// What the handler returns to the runtime.
pub type Reply = FunctionResponse<Value, BodyStream>;

/// The bridge: configuration plus the supervised php-fpm.
pub struct Bridge {
    config: Config,
    /// Canonical document root.
    root: PathBuf,
    root_str: String,
    fpm: PhpFpm,
    statics: crate::static_files::StaticServer,
    /// The file-system side of routing, built once for the canonical root.
    probe: Arc<DiskProbe>,
    /// Whether this sandbox has served a request yet (the first one is the cold start).
    served: std::sync::atomic::AtomicBool,
    /// The local code mirror PHP runs against (`LAMBDA_FPM_CODE_MIRROR`), if on.
    mirror: Option<Arc<crate::mirror_sync::MirrorSync>>,
    /// Routing's probe of the mirror (the same tree, local: no EFS round trip per probe).
    mirror_probe: Option<Arc<DiskProbe>>,
}

/// Init failure: bad document root or php-fpm that will not start.
#[derive(Debug)]
pub struct InitError(pub String);

impl std::fmt::Display for InitError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for InitError {}

impl From<StartError> for InitError {
    fn from(e: StartError) -> Self {
        InitError(e.to_string())
    }
}

/// One request's log fields.
struct RequestLog {
    request_id: String,
    kind: &'static str,
    method: String,
    path: String,
    route: &'static str,
    /// Static-file cache use: hit / revalidated / miss / bypass, "-" otherwise.
    cache: &'static str,
    /// Where PHP ran: mirror (the local code copy) / efs / efs-write (a code-changing request);
    /// "-" when no PHP ran or the mirror is off.
    code: &'static str,
    detail: String,
    php_ms: Option<u64>,
    /// The first request of this sandbox.
    cold: bool,
    started: Instant,
}

impl RequestLog {
    fn finish(&self, status: u16, bytes_out: usize) {
        let total_ms = self.started.elapsed().as_secs_f64() * 1000.0;
        let total_ms = (total_ms * 10.0).round() / 10.0;
        // One line per request; 5xx at WARN so an alarm on WARN/ERROR sees every failure.
        macro_rules! line {
            ($level:ident) => {
                tracing::$level!(
                    target: "request",
                    request_id = %self.request_id,
                    event = self.kind,
                    method = %self.method,
                    path = %self.path,
                    route = self.route,
                    cache = self.cache,
                    code = self.code,
                    status,
                    php_ms = self.php_ms,
                    cold = self.cold,
                    total_ms,
                    bytes_out,
                    detail = %self.detail,
                    "request"
                )
            };
        }
        if status >= 500 {
            line!(warn);
        } else {
            line!(info);
        }
    }
}

/// A response before it is shaped for the event source.
enum Outcome {
    Buffered(HttpResponse),
    /// A static file whose body is still on disk (larger than the in-memory cache takes).
    File(HttpResponse, crate::static_files::FileBody),
    Streaming {
        head: CgiHead,
        first: Bytes,
        rest: PhpOutput,
        deadline: tokio::time::Instant,
    },
}

fn plain(status: u16, text: &str) -> HttpResponse {
    HttpResponse {
        status,
        headers: vec![
            ("content-type".into(), "text/plain; charset=utf-8".into()),
            ("cache-control".into(), "no-store".into()),
        ],
        body: Bytes::from(format!("{status} {text}\n")),
    }
}

fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}

/// Lookups in flight at once when init prefetches the seed's scripts' metadata (EFS answers
/// many concurrent NFS requests; one at a time is what PHP would do).
const PREFETCH_THREADS: usize = 16;
/// The prefetch only warms caches: it stops after this long, whatever is left.
const PREFETCH_BUDGET: Duration = Duration::from_secs(1);

/// How long init may spend priming opcache (`LAMBDA_FPM_OPCACHE_PRIME`); Lambda allows 10 s of init.
const PRIME_BUDGET: Duration = Duration::from_secs(3);

impl Bridge {
    /// Init: validates the document root and starts php-fpm (concurrently).
    pub async fn init(config: Config) -> Result<Bridge, InitError> {
        let fpm = PhpFpm::new(SpawnConfig::from_config(&config));
        let root_dir = config.document_root.clone();
        // Three things at once: php-fpm starts, the document root is checked, and the
        // pre-compiled opcache seed (if any) is unpacked into the local file cache.
        let seed = (config.opcache_seed == crate::opcache_seed::SeedMode::Copy)
            .then(|| (config.opcache_seed_file(), config.opcache_dir()));
        // ...and, fourth, the code mirror of the current generation is restored into /tmp.
        let mirror_cfg = config.code_mirror.clone();
        let mirror_root = config.document_root.clone();
        let mirror_init = tokio::task::spawn_blocking(move || {
            mirror_cfg.enabled.then(|| {
                let root = crate::fs_probe::canonical_root(&mirror_root).unwrap_or(mirror_root);
                crate::mirror_sync::MirrorSync::init(root, &mirror_cfg)
            })
        });
        let (started, root, restored, mirror) = tokio::join!(
            fpm.ensure_running(),
            tokio::task::spawn_blocking(move || crate::fs_probe::canonical_root(&root_dir)),
            tokio::task::spawn_blocking(move || seed.map(|(file, dir)| {
                let restored = crate::opcache_seed::restore(&file, &dir);
                // then look up the seed's scripts at once, so the first request's path walks
                // hit the kernel's caches instead of EFS one at a time
                let prefetched = match &restored {
                    crate::opcache_seed::Restore::Restored { scripts, .. } => {
                        Some(crate::metadata_prefetch::prefetch(
                            scripts,
                            PREFETCH_THREADS,
                            PREFETCH_BUDGET,
                        ))
                    }
                    _ => None,
                };
                (restored, prefetched)
            })),
            mirror_init,
        );
        let mut mirror_restored = false;
        let mirror = match mirror {
            Ok(Some((sync, outcome))) => {
                mirror_restored =
                    matches!(outcome, crate::mirror_sync::InitOutcome::Restored { .. });
                match outcome {
                    crate::mirror_sync::InitOutcome::Restored {
                        generation,
                        files,
                        ms,
                    } => {
                        tracing::info!(target: "init", %generation, files, ms, "code mirror restored: PHP runs against the local copy")
                    }
                    crate::mirror_sync::InitOutcome::Efs(why) => {
                        tracing::info!(target: "init", "code mirror not used yet ({why}): PHP reads EFS; a refresh starts with the first request")
                    }
                }
                Some(Arc::new(sync))
            }
            Ok(None) => None,
            Err(e) => {
                tracing::warn!(target: "init", "code mirror init panicked, PHP reads EFS: {e}");
                None
            }
        };
        match restored {
            Ok(Some((
                crate::opcache_seed::Restore::Restored {
                    files, bytes, ms, ..
                },
                Some(p),
            ))) => {
                tracing::info!(target: "init", files, bytes, ms, prefetched = p.looked_up, missing = p.missing, prefetch_ms = p.ms, prefetch_out_of_time = p.out_of_time, "opcache seed restored")
            }
            Ok(Some((crate::opcache_seed::Restore::Ignored(why), _))) => {
                tracing::warn!(target: "init", "opcache seed ignored: {why}")
            }
            Ok(Some((crate::opcache_seed::Restore::Absent, _))) => {
                tracing::info!(target: "init", "no opcache seed yet (the warm command publishes one)")
            }
            Ok(Some((crate::opcache_seed::Restore::Restored { .. }, None))) | Ok(None) => {}
            Err(e) => tracing::warn!(target: "init", "opcache seed restore panicked: {e}"),
        }
        let root = match root {
            Ok(Ok(root)) if root.is_dir() => root,
            Ok(Ok(root)) => {
                return Err(InitError(format!(
                    "LAMBDA_FPM_DOCUMENT_ROOT: {} is not a directory",
                    root.display()
                )));
            }
            Ok(Err(e)) => {
                return Err(InitError(format!(
                    "LAMBDA_FPM_DOCUMENT_ROOT: cannot open {}: {e} (is the EFS file system mounted there?)",
                    config.document_root.display()
                )));
            }
            Err(e) => return Err(InitError(format!("document root check panicked: {e}"))),
        };
        started?;
        let root_str = root.to_string_lossy().trim_end_matches('/').to_string();
        if config.opcache_prime.primes(mirror_restored) {
            let php_root = match &mirror {
                Some(m) => m.read_root().await,
                None => root_str.clone(),
            };
            let primed = crate::opcache_prime::prime(
                fpm.socket(),
                &config.runtime_dir,
                &php_root,
                &config.opcache_dir(),
                PRIME_BUDGET,
            )
            .await;
            match primed {
                Ok(p) if p.error.is_none() => {
                    tracing::info!(target: "init", scripts = p.scripts, failed = p.failed, stale = p.stale, out_of_time = p.out_of_time, php_ms = p.ms, "opcache primed")
                }
                Ok(p) => {
                    tracing::warn!(target: "init", "opcache not primed: {}", p.error.unwrap_or_default())
                }
                Err(e) => tracing::warn!(target: "init", "opcache not primed: {e}"),
            }
        }
        let statics = crate::static_files::StaticServer::new(
            root.clone(),
            config.cache_policy.clone(),
            config.static_cache,
        );
        let probe = Arc::new(DiskProbe::new(root.clone()));
        Ok(Bridge {
            config,
            root,
            root_str,
            fpm,
            statics,
            probe,
            served: std::sync::atomic::AtomicBool::new(false),
            mirror_probe: mirror
                .as_ref()
                .map(|m| Arc::new(DiskProbe::new(m.dir().to_path_buf()))),
            mirror,
        })
    }

    /// The configuration read at start-up.
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// The canonical document root (EFS).
    pub fn root(&self) -> &std::path::Path {
        &self.root
    }

    /// The supervised php-fpm.
    pub fn fpm(&self) -> &PhpFpm {
        &self.fpm
    }

    /// The code mirror, when `LAMBDA_FPM_CODE_MIRROR` is on.
    pub fn mirror(&self) -> Option<&crate::mirror_sync::MirrorSync> {
        self.mirror.as_deref()
    }

    /// Publishes this sandbox's opcache file cache as the seed for new sandboxes (copy mode),
    /// when it holds something newer than the current seed. Returns a JSON report.
    pub async fn publish_opcache_seed(&self) -> Value {
        if self.config.opcache_seed != crate::opcache_seed::SeedMode::Copy {
            return serde_json::json!({"skipped": "LAMBDA_FPM_OPCACHE_SEED is not copy"});
        }
        let (source, seed) = (self.config.opcache_dir(), self.config.opcache_seed_file());
        let result = tokio::task::spawn_blocking(move || {
            crate::opcache_seed::publish_if_newer(&source, &seed)
        })
        .await;
        match result {
            Ok(Ok(Some(p))) => {
                tracing::info!(target: "command", files = p.files, bytes = p.bytes, archive_bytes = p.archive_bytes, ms = p.ms, "opcache seed published");
                serde_json::json!({"published": true, "files": p.files, "bytes": p.bytes, "archive_bytes": p.archive_bytes, "ms": p.ms})
            }
            Ok(Ok(None)) => {
                serde_json::json!({"published": false, "reason": "nothing newer than the current seed"})
            }
            Ok(Err(e)) => {
                tracing::warn!(target: "command", error = %e, "cannot publish the opcache seed");
                serde_json::json!({"published": false, "error": e.to_string()})
            }
            Err(e) => serde_json::json!({"published": false, "error": e.to_string()}),
        }
    }

    /// Routes a raw path + query (file-system probes off the async threads: EFS can be slow).
    pub async fn route(&self, path: &str, query: &str) -> Result<Route, tokio::task::JoinError> {
        // While PHP runs from the code mirror, routing asks the mirror too (same files; paths in
        // write-through directories, such as uploads, are on EFS only).
        let probe = match (&self.mirror, &self.mirror_probe) {
            (Some(m), Some(p)) if m.routes_on_mirror(path) => p.clone(),
            _ => self.probe.clone(),
        };
        let (path, query) = (path.to_string(), query.to_string());
        let front = self.config.front_controller.clone();
        tokio::task::spawn_blocking(move || route(&path, &query, &front, probe.as_ref())).await
    }

    /// Answers one HTTP request (an invocation `crate::invocation` found to be one).
    pub async fn handle_http(
        self: &Arc<Self>,
        request: HttpRequest,
        ctx: &Context,
        started: Instant,
    ) -> Reply {
        let mut log = RequestLog {
            request_id: ctx.request_id.clone(),
            kind: request.kind.as_str(),
            method: request.method.clone(),
            path: request.path.clone(),
            route: "-",
            cache: "-",
            code: "-",
            detail: String::new(),
            php_ms: None,
            cold: !self.served.swap(true, std::sync::atomic::Ordering::Relaxed),
            started,
        };
        let kind = request.kind;
        let outcome = self.respond(&request, ctx, &mut log).await;
        match outcome {
            Outcome::Buffered(mut response) => {
                if request.method == "HEAD" {
                    response.body = Bytes::new();
                }
                if self.config.invoke_mode == InvokeMode::ResponseStream {
                    // A RESPONSE_STREAM Function URL shows a buffered JSON payload verbatim:
                    // every HTTP answer must be a stream with a prelude.
                    log.finish(response.status, response.body.len());
                    return single_chunk_stream(response);
                }
                self.buffered_reply(kind, &request, response, &mut log)
            }
            Outcome::Streaming {
                head,
                first,
                rest,
                deadline,
            } => {
                let head_only = request.method == "HEAD";
                self.streaming_reply(head, first, rest, deadline, head_only, log)
            }
            Outcome::File(head, body) => {
                if self.config.invoke_mode == InvokeMode::ResponseStream {
                    log.finish(head.status, body.len as usize);
                    let stream = crate::static_files::stream_body(body)
                        .map(|r| r.map_err(lambda_runtime::Error::from));
                    return FunctionResponse::StreamingResponse(StreamResponse {
                        metadata_prelude: prelude(head.status, &head.headers),
                        stream: Box::pin(stream) as BodyStream,
                    });
                }
                // Buffered: read it only if it can fit (compressed, if the client allows).
                let limit = self.config.max_response_bytes as u64;
                let can_gzip = accepts_gzip(&request) && head.header("content-encoding").is_none();
                if !crate::payload_fit::file_may_fit(body.len, limit, can_gzip) {
                    log.detail = format!(
                        "static file of {} bytes cannot fit the {} byte buffered Lambda payload; use LAMBDA_FPM_INVOKE_MODE=response_stream",
                        body.len, limit
                    );
                    tracing::error!(target: "request", request_id = %log.request_id, "{}", log.detail);
                    let error = plain(
                        502,
                        "Bad Gateway: file too large for a buffered Lambda response",
                    );
                    log.finish(502, error.body.len());
                    return FunctionResponse::BufferedResponse(to_event_response(kind, &error));
                }
                match crate::static_files::read_body(&body).await {
                    Ok(bytes) => {
                        let mut response = head;
                        response.body = bytes;
                        self.buffered_reply(kind, &request, response, &mut log)
                    }
                    Err(e) => {
                        log.detail = format!("cannot read file: {e}");
                        let error = plain(500, "Internal Server Error");
                        log.finish(500, error.body.len());
                        FunctionResponse::BufferedResponse(to_event_response(kind, &error))
                    }
                }
            }
        }
    }

    fn buffered_reply(
        &self,
        kind: EventKind,
        request: &HttpRequest,
        mut response: HttpResponse,
        log: &mut RequestLog,
    ) -> Reply {
        let limit = self.config.max_response_bytes;
        let mut value = to_event_response(kind, &response);
        // Lambda refuses buffered payloads over 6 MB with an opaque error (payload_fit).
        let too_large = |value: &Value, body_len: usize| {
            crate::payload_fit::too_large(body_len, limit, || {
                serde_json::to_vec(value)
                    .map(|v| v.len())
                    .unwrap_or(usize::MAX)
            })
        };
        if too_large(&value, response.body.len()) {
            // Compressing text is what makes it fit, when the client takes gzip.
            let original = response.body.len();
            let compressible = response
                .header("content-type")
                .is_some_and(crate::encoding::compressible);
            if compressible
                && accepts_gzip(request)
                && response.header("content-encoding").is_none()
                && let Ok(gz) = gzip(&response.body)
            {
                response.body = gz;
                response
                    .headers
                    .retain(|(n, _)| n != "content-length" && n != "etag" && n != "accept-ranges");
                response
                    .headers
                    .push(("content-encoding".into(), "gzip".into()));
                response
                    .headers
                    .push(("vary".into(), "Accept-Encoding".into()));
                value = to_event_response(kind, &response);
                log.detail = format!(
                    "gzip on the fly to fit the payload limit: {original} -> {} bytes",
                    response.body.len()
                );
            }
            if too_large(&value, response.body.len()) {
                log.detail = format!(
                    "response of {original} bytes exceeds the {limit} byte buffered Lambda payload; use LAMBDA_FPM_INVOKE_MODE=response_stream",
                );
                tracing::error!(target: "request", request_id = %log.request_id, "{}", log.detail);
                let error = plain(
                    502,
                    "Bad Gateway: response too large for a buffered Lambda response",
                );
                log.finish(502, error.body.len());
                return FunctionResponse::BufferedResponse(to_event_response(kind, &error));
            }
        }
        log.finish(response.status, response.body.len());
        FunctionResponse::BufferedResponse(value)
    }

    fn streaming_reply(
        self: &Arc<Self>,
        head: CgiHead,
        first: Bytes,
        rest: PhpOutput,
        deadline: tokio::time::Instant,
        head_only: bool,
        log: RequestLog,
    ) -> Reply {
        let prelude = prelude(head.status, &head.headers);
        let status = head.status;
        let bridge = self.clone();
        struct State {
            first: Option<Bytes>,
            rest: PhpOutput,
            bridge: Arc<Bridge>,
            log: RequestLog,
            bytes_out: usize,
            deadline: tokio::time::Instant,
            status: u16,
            head_only: bool,
            done: bool,
        }
        let state = State {
            first: Some(first),
            rest,
            bridge,
            log,
            bytes_out: 0,
            deadline,
            status,
            head_only,
            done: false,
        };
        let stream = futures_util::stream::unfold(state, |mut s| async move {
            if s.done {
                return None;
            }
            if let Some(first) = s.first.take()
                && !first.is_empty()
                && !s.head_only
            {
                s.bytes_out += first.len();
                return Some((Ok(first), s));
            }
            loop {
                match timeout_at(s.deadline, s.rest.next()).await {
                    Ok(Ok(Some(Chunk::Stdout(b)))) => {
                        if s.head_only || b.is_empty() {
                            continue;
                        }
                        s.bytes_out += b.len();
                        return Some((Ok(b), s));
                    }
                    Ok(Ok(Some(Chunk::Stderr(b)))) => log_php_stderr(&s.log.request_id, &b),
                    Ok(Ok(None)) => {
                        s.log.php_ms = Some(s.log.started.elapsed().as_millis() as u64);
                        s.log.finish(s.status, s.bytes_out);
                        return None;
                    }
                    Ok(Err(e)) => {
                        s.done = true;
                        s.log.detail = format!("stream aborted: {e}");
                        s.bridge.fpm.kill().await;
                        s.log.finish(502, s.bytes_out);
                        return Some((Err(lambda_runtime::Error::from(e.to_string())), s));
                    }
                    Err(_) => {
                        s.done = true;
                        s.log.detail = "deadline reached while streaming; php-fpm killed".into();
                        s.bridge.fpm.kill().await;
                        s.log.finish(504, s.bytes_out);
                        return Some((
                            Err(lambda_runtime::Error::from(
                                "PHP ran past the invocation deadline",
                            )),
                            s,
                        ));
                    }
                }
            }
        });
        FunctionResponse::StreamingResponse(StreamResponse {
            metadata_prelude: prelude,
            stream: Box::pin(stream) as BodyStream,
        })
    }

    async fn respond(
        self: &Arc<Self>,
        request: &HttpRequest,
        ctx: &Context,
        log: &mut RequestLog,
    ) -> Outcome {
        let cfg = &self.config;
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

        // The code mirror's marker check (at most once per interval): before routing, which
        // looks at the copy while PHP runs from it.
        if let Some(m) = &self.mirror
            && m.check().await
        {
            // the code under PHP changed: no compiled script or cached path may survive
            self.fpm.kill().await;
        }

        // Small hot static files: served from memory, no file system access at all.
        if let Some(served) = self.statics.serve_cached(request) {
            log.route = "static";
            log.cache = served.cache.as_str();
            return Outcome::Buffered(served.response);
        }

        let decided = match self.route(&request.path, &request.query).await {
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
            Route::Static { relative } => match self.statics.serve(request, &relative).await {
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
                Err(e) => {
                    log.detail = format!("cannot read file: {e}");
                    Outcome::Buffered(plain(500, "Internal Server Error"))
                }
            },
            Route::Php(target) => self.run_php(request, &target, &view, ctx, log).await,
        }
    }

    async fn run_php(
        self: &Arc<Self>,
        request: &HttpRequest,
        target: &PhpTarget,
        view: &crate::origin::ClientView,
        ctx: &Context,
        log: &mut RequestLog,
    ) -> Outcome {
        let cfg = &self.config;
        let budget = crate::deadline::php_budget(
            ctx.deadline,
            now_ms(),
            cfg.timeout_margin,
            cfg.fallback_timeout,
        );
        let deadline = tokio::time::Instant::now() + budget;
        // The code mirror: requests that may change code run on EFS; the rest on the local copy.
        let writes_code = self.mirror.is_some()
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
        let php_root = match &self.mirror {
            Some(m) => {
                let chosen = m.php_root(writes_code).await;
                log.code = match (chosen.mirror, writes_code) {
                    (true, _) => "mirror",
                    (false, true) => "efs-write",
                    (false, false) => "efs",
                };
                chosen.root
            }
            None => self.root_str.clone(),
        };
        if let Err(e) = self.fpm.ensure_running().await {
            log.detail = e.to_string();
            tracing::error!(target: "php-fpm", request_id = %log.request_id, "{e}");
            return Outcome::Buffered(plain(502, "Bad Gateway: PHP is not running"));
        }
        let env = build_env(&EnvInput {
            request,
            target,
            view,
            document_root: &php_root,
            secret_header: &cfg.origin_secret_header,
        });
        let php_started = Instant::now();
        let streaming = cfg.invoke_mode == InvokeMode::ResponseStream;
        let work = async {
            let mut output = execute(self.fpm.socket(), env, request.body.clone()).await?;
            let mut stdout = BytesMut::new();
            loop {
                match output.next().await? {
                    Some(Chunk::Stdout(b)) => {
                        stdout.extend_from_slice(&b);
                        if streaming {
                            if let Some((head_end, body_start)) = find_head_end(&stdout) {
                                return Ok((stdout.freeze(), Some((output, head_end, body_start))));
                            }
                            if stdout.len() > MAX_HEAD_BYTES {
                                return Ok((stdout.freeze(), None));
                            }
                        }
                    }
                    Some(Chunk::Stderr(b)) => log_php_stderr(&log.request_id, &b),
                    None => return Ok((stdout.freeze(), None)),
                }
            }
        };
        let result: Result<Result<_, TransportError>, _> = timeout_at(deadline, work).await;
        log.php_ms = Some(php_started.elapsed().as_millis() as u64);
        if writes_code && let Some(m) = &self.mirror {
            // (a streamed response may still be running: the marker is read on the next request)
            m.after_code_change(&format!("{} /{}", request.method, target.relative))
                .await;
        }
        match result {
            Err(_) => {
                log.detail = format!(
                    "PHP still running {} ms before the deadline; php-fpm killed and will restart",
                    cfg.timeout_margin.as_millis()
                );
                self.fpm.kill().await;
                Outcome::Buffered(plain(504, "Gateway Timeout"))
            }
            Ok(Err(e)) => {
                log.detail = e.to_string();
                // A dead worker or unreachable socket: start clean on the next request.
                self.fpm.kill().await;
                Outcome::Buffered(plain(502, "Bad Gateway"))
            }
            Ok(Ok((stdout, Some((rest, head_end, body_start))))) => {
                match parse_head(&stdout[..head_end]) {
                    Ok(head) => {
                        note_dropped(log, &head);
                        Outcome::Streaming {
                            head,
                            first: stdout.slice(body_start..),
                            rest,
                            deadline,
                        }
                    }
                    Err(e) => bad_head(log, e),
                }
            }
            Ok(Ok((stdout, None))) => match split_output(&stdout) {
                Ok((head, body)) => {
                    note_dropped(log, &head);
                    Outcome::Buffered(HttpResponse {
                        status: head.status,
                        headers: head.headers,
                        body: stdout.slice_ref(body),
                    })
                }
                Err(e) => bad_head(log, e),
            },
        }
    }
}

fn prelude(status: u16, response_headers: &[(String, String)]) -> MetadataPrelude {
    let (joined, cookies) = stream_prelude_parts(response_headers);
    let mut headers = http::HeaderMap::new();
    for (name, value) in joined {
        if let (Ok(n), Ok(v)) = (
            http::HeaderName::from_bytes(name.as_bytes()),
            http::HeaderValue::from_str(&value),
        ) {
            headers.insert(n, v);
        }
    }
    MetadataPrelude {
        status_code: http::StatusCode::from_u16(status).unwrap_or(http::StatusCode::BAD_GATEWAY),
        headers,
        cookies,
    }
}

fn single_chunk_stream(response: HttpResponse) -> Reply {
    let body = response.body.clone();
    let chunks: Vec<Result<Bytes, lambda_runtime::Error>> = if body.is_empty() {
        vec![]
    } else {
        vec![Ok(body)]
    };
    FunctionResponse::StreamingResponse(StreamResponse {
        metadata_prelude: prelude(response.status, &response.headers),
        stream: Box::pin(futures_util::stream::iter(chunks)) as BodyStream,
    })
}

fn accepts_gzip(request: &HttpRequest) -> bool {
    crate::encoding::choose(
        request.header("accept-encoding"),
        &[crate::encoding::Coding::Gzip],
    )
    .is_some()
}

fn gzip(data: &[u8]) -> std::io::Result<Bytes> {
    use std::io::Write;
    let mut encoder = flate2::write::GzEncoder::new(
        Vec::with_capacity(data.len() / 4),
        flate2::Compression::default(),
    );
    encoder.write_all(data)?;
    Ok(Bytes::from(encoder.finish()?))
}

fn note_dropped(log: &mut RequestLog, head: &CgiHead) {
    if !head.dropped.is_empty() {
        log.detail = format!("dropped invalid header lines from PHP: {:?}", head.dropped);
    }
}

fn bad_head(log: &mut RequestLog, e: HeadError) -> Outcome {
    log.detail = e.to_string();
    Outcome::Buffered(plain(502, "Bad Gateway"))
}

fn log_php_stderr(request_id: &str, bytes: &[u8]) {
    for line in String::from_utf8_lossy(bytes)
        .lines()
        .filter(|l| !l.trim().is_empty())
    {
        tracing::warn!(target: "php", request_id, "{line}");
    }
}
