//! Test support: a small Lambda Runtime API emulator (the AWS side, which cannot exist here)
//! and a harness that runs the real `bootstrap` binary against real php-fpm.
//!
//! The emulator implements the Runtime API as documented: `GET /invocation/next` hands out
//! queued events with `Lambda-Runtime-Aws-Request-Id` / `Lambda-Runtime-Deadline-Ms`;
//! `POST /invocation/{id}/response` takes buffered JSON or a streamed
//! `application/vnd.awslambda.http-integration-response` (JSON prelude, 8 NUL bytes, body,
//! error trailers); `/invocation/{id}/error` and `/init/error` take error documents.

#![allow(dead_code)]

use std::collections::{HashMap, VecDeque};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;
use serde_json::Value;
use tokio::sync::Notify;

/// What the runtime answered for one invocation.
#[derive(Debug, Clone)]
pub enum Answer {
    Buffered(Value),
    Streamed {
        prelude: Value,
        body: Vec<u8>,
        error_type: Option<String>,
    },
    Error(Value),
}

/// How the emulator refuses a runtime's response (`RuntimeApi::refuse_responses`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// What `cargo lambda watch` does when the caller of an invocation has gone: a 500
    /// problem+json, sent without reading the posted body (so hyper closes the connection,
    /// and a runtime still writing a large body sees the connection reset under it).
    Status500,
    /// The connection closed with no answer at all (a Runtime API that restarted): the
    /// runtime's client gets a transport error, not a status.
    Drop,
}

#[derive(Default)]
struct State {
    queue: VecDeque<(String, Value, u64)>,
    answers: HashMap<String, Answer>,
    init_error: Option<Value>,
    seq: u64,
    refuse: VecDeque<Refusal>,
    refused: Vec<String>,
}

type ServeError = std::io::Error;

/// The emulator, serving on 127.0.0.1.
#[derive(Clone)]
pub struct RuntimeApi {
    pub addr: SocketAddr,
    state: Arc<Mutex<State>>,
    queued: Arc<Notify>,
    answered: Arc<Notify>,
    /// the accept loop and every connection task, so `stop` can take the API away
    tasks: Arc<Mutex<Vec<tokio::task::AbortHandle>>>,
}

impl RuntimeApi {
    pub async fn start() -> RuntimeApi {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let api = RuntimeApi {
            addr: listener.local_addr().unwrap(),
            state: Arc::default(),
            queued: Arc::new(Notify::new()),
            answered: Arc::new(Notify::new()),
            tasks: Arc::default(),
        };
        let server = api.clone();
        let accept = tokio::spawn(async move {
            loop {
                let Ok((stream, _)) = listener.accept().await else {
                    continue;
                };
                let api = server.clone();
                let tasks = server.tasks.clone();
                let connection = tokio::spawn(async move {
                    let service = service_fn(move |req| {
                        let api = api.clone();
                        async move { api.serve(req).await }
                    });
                    let _ = hyper::server::conn::http1::Builder::new()
                        .serve_connection(TokioIo::new(stream), service)
                        .await;
                });
                tasks.lock().unwrap().push(connection.abort_handle());
            }
        });
        api.tasks.lock().unwrap().push(accept.abort_handle());
        api
    }

    /// Takes the Runtime API away: the port stops accepting and open connections are closed.
    pub fn stop(&self) {
        for task in self.tasks.lock().unwrap().drain(..) {
            task.abort();
        }
    }

    async fn serve(&self, req: Request<Incoming>) -> Result<Response<Full<Bytes>>, ServeError> {
        let path = req.uri().path().to_string();
        let ok = |body: Bytes| {
            Response::builder()
                .status(202)
                .body(Full::new(body))
                .unwrap()
        };
        if path == "/2018-06-01/runtime/invocation/next" {
            loop {
                let notified = self.queued.notified();
                let next = self.state.lock().unwrap().queue.pop_front();
                if let Some((id, event, deadline)) = next {
                    return Ok(Response::builder()
                        .status(200)
                        .header("content-type", "application/json")
                        .header("lambda-runtime-aws-request-id", &id)
                        .header("lambda-runtime-deadline-ms", deadline.to_string())
                        .header(
                            "lambda-runtime-invoked-function-arn",
                            "arn:aws:lambda:eu-west-1:123456789012:function:wordpress",
                        )
                        .header(
                            "lambda-runtime-trace-id",
                            "Root=1-00000000-000000000000000000000000",
                        )
                        .body(Full::new(Bytes::from(event.to_string())))
                        .unwrap());
                }
                notified.await;
            }
        }
        if path == "/2018-06-01/runtime/init/error" {
            let body = req
                .into_body()
                .collect()
                .await
                .map_err(std::io::Error::other)?
                .to_bytes();
            self.state.lock().unwrap().init_error =
                Some(serde_json::from_slice(&body).unwrap_or(Value::Null));
            self.answered.notify_waiters();
            return Ok(ok(Bytes::new()));
        }
        if let Some(rest) = path.strip_prefix("/2018-06-01/runtime/invocation/") {
            let (id, what) = rest.split_once('/').unwrap();
            let id = id.to_string();
            let refusal = {
                let mut state = self.state.lock().unwrap();
                let refusal = state.refuse.pop_front();
                if refusal.is_some() {
                    state.refused.push(id.clone());
                }
                refusal
            };
            if let Some(refusal) = refusal {
                self.answered.notify_waiters();
                return match refusal {
                    Refusal::Status500 => Ok(Response::builder()
                        .status(500)
                        .header("content-type", "application/problem+json")
                        .body(Full::new(Bytes::from_static(
                            br#"{"type":"about:blank","status":500,"title":"Internal Server Error"}"#,
                        )))
                        .unwrap()),
                    Refusal::Drop => Err(std::io::Error::other("emulator: connection dropped")),
                };
            }
            let content_type = req
                .headers()
                .get("content-type")
                .and_then(|v| v.to_str().ok())
                .unwrap_or("")
                .to_string();
            let collected = req
                .into_body()
                .collect()
                .await
                .map_err(std::io::Error::other)?;
            let trailers = collected.trailers().cloned();
            let body = collected.to_bytes();
            let answer = match what {
                "error" => Answer::Error(serde_json::from_slice(&body).unwrap_or(Value::Null)),
                _ if content_type == "application/vnd.awslambda.http-integration-response" => {
                    let split = body
                        .windows(8)
                        .position(|w| w == [0u8; 8])
                        .expect("prelude separator");
                    let mut rest = body[split + 8..].to_vec();
                    let mut error_type = trailers.and_then(|t| {
                        t.get("lambda-runtime-function-error-type")
                            .map(|v| v.to_str().unwrap_or("").to_string())
                    });
                    // lambda_runtime 1.5 writes a mid-stream error as body text in trailer
                    // syntax rather than as HTTP trailers: recognize that too.
                    let marker = b"Lambda-Runtime-Function-Error-Type: ";
                    if let Some(at) = rest.windows(marker.len()).position(|w| w == marker) {
                        let tail = String::from_utf8_lossy(&rest[at + marker.len()..]).into_owned();
                        error_type = Some(tail.lines().next().unwrap_or("").to_string());
                        rest.truncate(at);
                    }
                    Answer::Streamed {
                        prelude: serde_json::from_slice(&body[..split]).unwrap(),
                        body: rest,
                        error_type,
                    }
                }
                _ => Answer::Buffered(serde_json::from_slice(&body).unwrap_or(Value::Null)),
            };
            self.state.lock().unwrap().answers.insert(id, answer);
            self.answered.notify_waiters();
            return Ok(ok(Bytes::new()));
        }
        Ok(Response::builder()
            .status(404)
            .body(Full::new(Bytes::new()))
            .unwrap())
    }

    /// Refuses the next responses (or errors) runtimes post, one per entry, in order.
    pub fn refuse_responses(&self, how: &[Refusal]) {
        self.state
            .lock()
            .unwrap()
            .refuse
            .extend(how.iter().copied());
    }

    /// Queues an event and waits until the runtime's answer to it was refused
    /// (`refuse_responses`); panics after `wait`.
    pub async fn invoke_refused(&self, event: Value, wait: Duration) {
        let id = self.enqueue(event, 30_000);
        let waited = tokio::time::timeout(wait, async {
            loop {
                let notified = self.answered.notified();
                if self.state.lock().unwrap().refused.contains(&id) {
                    return;
                }
                notified.await;
            }
        })
        .await;
        waited.unwrap_or_else(|_| panic!("{id} was not answered (and refused) within {wait:?}"))
    }

    fn enqueue(&self, event: Value, timeout_ms: u64) -> String {
        let now = SystemTime::now().duration_since(UNIX_EPOCH).unwrap();
        self.enqueue_at(event, now.as_millis() as u64 + timeout_ms)
    }

    /// Queues an event with an explicit deadline (epoch ms); returns its request id.
    fn enqueue_at(&self, event: Value, deadline_ms: u64) -> String {
        let id = {
            let mut s = self.state.lock().unwrap();
            s.seq += 1;
            let id = format!("req-{}", s.seq);
            s.queue.push_back((id.clone(), event, deadline_ms));
            id
        };
        self.queued.notify_waiters();
        id
    }

    /// Queues an event with a deadline `timeout` from now and waits for the answer.
    pub async fn invoke_with_timeout(&self, event: Value, timeout: Duration) -> Answer {
        let deadline = SystemTime::now().duration_since(UNIX_EPOCH).unwrap() + timeout;
        self.invoke_raw(
            event,
            deadline.as_millis() as u64,
            timeout + Duration::from_secs(20),
        )
        .await
    }

    /// Queues an event with an explicit deadline (epoch ms) and waits up to `wait`.
    pub async fn invoke_raw(&self, event: Value, deadline_ms: u64, wait: Duration) -> Answer {
        let id = self.enqueue_at(event, deadline_ms);
        let waited = tokio::time::timeout(wait, async {
            loop {
                let notified = self.answered.notified();
                if let Some(a) = self.state.lock().unwrap().answers.remove(&id) {
                    return a;
                }
                notified.await;
            }
        })
        .await;
        waited.unwrap_or_else(|_| panic!("no answer for {id} within {wait:?}"))
    }

    pub async fn invoke(&self, event: Value) -> Answer {
        self.invoke_with_timeout(event, Duration::from_secs(30))
            .await
    }

    pub async fn wait_init_error(&self, wait: Duration) -> Option<Value> {
        let end = tokio::time::Instant::now() + wait;
        loop {
            let notified = self.answered.notified();
            if let Some(e) = self.state.lock().unwrap().init_error.clone() {
                return Some(e);
            }
            if tokio::time::timeout_at(end, notified).await.is_err() {
                return None;
            }
        }
    }
}

/// Repo root.
pub fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The layer's PHP, where Lambda has it: `scripts/test unit` runs the tests through
/// `scripts/with-layer`, which mounts the built layer at /opt (private mount namespace).
pub const LAYER_PHP_FPM: &str = "/opt/bin/php-fpm";
pub const LAYER_PHP_CLI: &str = "/opt/bin/php";
pub const LAYER_PHP_SCAN_DIR: &str = "/opt/php/conf.d";

/// php-fpm for the tests: the layer's (LAMBDA_FPM_TEST_PHP_FPM overrides it).
pub fn php_fpm_binary() -> String {
    let fpm = std::env::var("LAMBDA_FPM_TEST_PHP_FPM").unwrap_or_else(|_| LAYER_PHP_FPM.into());
    assert!(
        Path::new(&fpm).is_file(),
        "{fpm} not found: the integration tests use the layer's PHP; run them as \
         `scripts/with-layer cargo test` (or `scripts/test unit`)"
    );
    fpm
}

/// The WordPress tree `scripts/wordpress` prepares (Debian trixie's WordPress 6.8), named by
/// LAMBDA_FPM_TEST_WORDPRESS (scripts/test sets it).
pub fn wordpress_tree() -> Option<PathBuf> {
    std::env::var_os("LAMBDA_FPM_TEST_WORDPRESS")
        .map(PathBuf::from)
        .filter(|p| p.join("wp-settings.php").is_file())
}

/// Copies the fixture document root into a fresh temporary directory and adds what git
/// cannot hold (symlinks out of the root).
pub fn fixture_root(tag: &str) -> PathBuf {
    let base = std::env::temp_dir().join(format!("lambda-fpm-it-{tag}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&base);
    let root = base.join("docroot");
    copy_dir(&repo().join("tests/fixtures/docroot"), &root);
    // git cannot hold a .git directory inside the repo, nor symlinks out of the root.
    std::fs::create_dir_all(root.join(".git")).unwrap();
    std::fs::write(
        root.join(".git/config"),
        "SECRET-CONTENT-MARKER git config\n",
    )
    .unwrap();
    let outside = base.join("outside");
    std::fs::create_dir_all(&outside).unwrap();
    std::fs::write(
        outside.join("secret.txt"),
        "SECRET-CONTENT-MARKER outside the root\n",
    )
    .unwrap();
    std::os::unix::fs::symlink(outside.join("secret.txt"), root.join("link-out.txt")).unwrap();
    std::os::unix::fs::symlink(&outside, root.join("dir-out")).unwrap();
    root
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).unwrap();
        }
    }
}

/// A running bootstrap attached to its own emulator.
pub struct Lambda {
    pub api: RuntimeApi,
    pub root: PathBuf,
    pub runtime_dir: PathBuf,
    child: Child,
}

impl Drop for Lambda {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Environment for a bootstrap in tests.
pub fn base_env(api: &RuntimeApi, root: &Path, runtime_dir: &Path) -> Vec<(String, String)> {
    let repo = repo();
    [
        ("AWS_LAMBDA_RUNTIME_API", api.addr.to_string()),
        ("AWS_LAMBDA_FUNCTION_NAME", "wordpress".into()),
        ("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "1024".into()),
        ("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST".into()),
        ("AWS_LAMBDA_LOG_STREAM_NAME", "test".into()),
        ("AWS_LAMBDA_LOG_GROUP_NAME", "/aws/lambda/wordpress".into()),
        ("LAMBDA_FPM_DOCUMENT_ROOT", root.display().to_string()),
        ("LAMBDA_FPM_PHP_FPM", php_fpm_binary()),
        (
            "LAMBDA_FPM_PHP_INI",
            repo.join("php/php.ini").display().to_string(),
        ),
        (
            "LAMBDA_FPM_PHP_FPM_CONF",
            repo.join("php/php-fpm.conf").display().to_string(),
        ),
        ("LAMBDA_FPM_PHP_INI_SCAN_DIR", LAYER_PHP_SCAN_DIR.into()),
        ("LAMBDA_FPM_RUNTIME_DIR", runtime_dir.display().to_string()),
        ("LAMBDA_FPM_LOG_FORMAT", "json".into()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v))
    .collect()
}

impl Lambda {
    /// Starts bootstrap with the fixture root and extra env vars.
    pub async fn start(tag: &str, extra: &[(&str, &str)]) -> Lambda {
        let root = fixture_root(tag);
        Lambda::start_with_root(tag, root, extra).await
    }

    pub async fn start_with_root(tag: &str, root: PathBuf, extra: &[(&str, &str)]) -> Lambda {
        let api = RuntimeApi::start().await;
        let runtime_dir =
            std::env::temp_dir().join(format!("lambda-fpm-rt-{tag}-{}", std::process::id()));
        let log =
            std::fs::File::create(std::env::temp_dir().join(format!("lambda-fpm-it-{tag}.log")))
                .unwrap();
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_bootstrap"));
        cmd.env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .envs(base_env(&api, &root, &runtime_dir))
            .stdout(Stdio::null())
            .stderr(log);
        for (k, v) in extra {
            cmd.env(k, v);
        }
        let child = cmd.spawn().expect("spawn bootstrap");
        Lambda {
            api,
            root,
            runtime_dir,
            child,
        }
    }

    /// Starts an arbitrary command (e.g. `chroot ROOT /opt/bootstrap`) as the runtime, with
    /// exactly `env` plus the emulator's address.
    pub async fn start_command(
        tag: &str,
        program: &str,
        args: &[&str],
        env: &[(String, String)],
    ) -> Lambda {
        let api = RuntimeApi::start().await;
        let log = std::fs::File::create(Lambda::log_path(tag)).unwrap();
        let child = Command::new(program)
            .args(args)
            .env_clear()
            .envs(env.iter().cloned())
            .env("AWS_LAMBDA_RUNTIME_API", api.addr.to_string())
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .expect("spawn runtime command");
        Lambda {
            api,
            root: PathBuf::new(),
            runtime_dir: PathBuf::new(),
            child,
        }
    }

    pub fn log_path(tag: &str) -> PathBuf {
        std::env::temp_dir().join(format!("lambda-fpm-it-{tag}.log"))
    }

    pub async fn invoke(&self, event: Value) -> Answer {
        self.api.invoke(event).await
    }

    /// Sends a signal (e.g. "KILL", "TERM") to the bootstrap process and reaps it.
    pub fn signal(&mut self, name: &str) {
        let status = Command::new("kill")
            .args([&format!("-{name}"), &self.child.id().to_string()])
            .status()
            .unwrap();
        assert!(status.success());
        let _ = self.child.wait();
    }

    pub fn exited(&mut self) -> Option<std::process::ExitStatus> {
        self.child.try_wait().unwrap()
    }
}

/// A real-shaped Function URL (v2) event.
pub fn url_event(
    method: &str,
    path: &str,
    query: &str,
    headers: &[(&str, &str)],
    body: Option<&[u8]>,
) -> Value {
    let mut h = serde_json::Map::new();
    h.insert(
        "host".into(),
        "abcdefghij.lambda-url.eu-west-1.on.aws".into(),
    );
    h.insert("user-agent".into(), "lambda-fpm-tests".into());
    h.insert("x-forwarded-proto".into(), "https".into());
    h.insert("x-forwarded-for".into(), "203.0.113.50".into());
    h.insert("x-forwarded-port".into(), "443".into());
    for (k, v) in headers {
        h.insert(k.to_ascii_lowercase(), Value::String(v.to_string()));
    }
    let (body, b64) = match body {
        Some(b) => (
            Value::String(base64::Engine::encode(
                &base64::engine::general_purpose::STANDARD,
                b,
            )),
            true,
        ),
        None => (Value::Null, false),
    };
    serde_json::json!({
        "version": "2.0",
        "routeKey": "$default",
        "rawPath": path,
        "rawQueryString": query,
        "headers": h,
        "requestContext": {
            "accountId": "anonymous",
            "apiId": "abcdefghij",
            "domainName": "abcdefghij.lambda-url.eu-west-1.on.aws",
            "domainPrefix": "abcdefghij",
            "http": {
                "method": method,
                "path": path,
                "protocol": "HTTP/1.1",
                "sourceIp": "203.0.113.50",
                "userAgent": "lambda-fpm-tests"
            },
            "requestId": "test",
            "routeKey": "$default",
            "stage": "$default",
            "time": "23/Nov/2026:12:00:00 +0000",
            "timeEpoch": 1795000000000u64
        },
        "body": body,
        "isBase64Encoded": b64
    })
}

/// A buffered v2 answer: (status, headers, cookies, body bytes).
pub struct V2 {
    pub status: u16,
    pub headers: serde_json::Map<String, Value>,
    pub cookies: Vec<String>,
    pub body: Vec<u8>,
    pub raw: Value,
}

impl V2 {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(Value::as_str)
    }
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.text()))
    }
}

pub fn decode_body(v: &Value) -> Vec<u8> {
    let body = v["body"].as_str().unwrap_or("");
    if v["isBase64Encoded"].as_bool() == Some(true) {
        base64::Engine::decode(&base64::engine::general_purpose::STANDARD, body).unwrap()
    } else {
        body.as_bytes().to_vec()
    }
}

pub fn v2(answer: Answer) -> V2 {
    match answer {
        Answer::Buffered(raw) => V2 {
            status: raw["statusCode"].as_u64().unwrap() as u16,
            headers: raw["headers"].as_object().cloned().unwrap_or_default(),
            cookies: raw["cookies"]
                .as_array()
                .map(|a| {
                    a.iter()
                        .filter_map(|c| c.as_str().map(String::from))
                        .collect()
                })
                .unwrap_or_default(),
            body: decode_body(&raw),
            raw,
        },
        other => panic!("expected a buffered answer, got {other:?}"),
    }
}
