//! A Lambda Runtime API emulator, serving on 127.0.0.1.
//!
//! It implements the Runtime API as documented: `GET /invocation/next` hands out queued events
//! with `Lambda-Runtime-Aws-Request-Id` / `Lambda-Runtime-Deadline-Ms`;
//! `POST /invocation/{id}/response` takes buffered JSON or a streamed
//! `application/vnd.awslambda.http-integration-response` (JSON prelude, 8 NUL bytes, body,
//! error trailers); `/invocation/{id}/error` and `/init/error` take error documents. Several
//! runtimes may poll one emulator (bench's front runs many sandboxes).

use std::collections::{HashMap, VecDeque};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::{Request, Response};
use serde_json::Value;
use tokio::sync::Notify;

use crate::serve::Server;

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
    /// When a runtime first asked for work (its init was over).
    first_next: Option<std::time::Instant>,
}

type ServeError = std::io::Error;

/// The emulator, serving on 127.0.0.1.
#[derive(Clone)]
pub struct RuntimeApi {
    pub addr: SocketAddr,
    state: Arc<Mutex<State>>,
    queued: Arc<Notify>,
    answered: Arc<Notify>,
    /// the loopback server, so `stop` can take the API away
    server: Arc<Mutex<Option<Server>>>,
}

impl RuntimeApi {
    pub async fn start() -> RuntimeApi {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind 127.0.0.1");
        let api = RuntimeApi {
            addr: listener.local_addr().expect("bound"),
            state: Arc::default(),
            queued: Arc::new(Notify::new()),
            answered: Arc::new(Notify::new()),
            server: Arc::default(),
        };
        let handler = api.clone();
        let server = Server::on(listener, move |req| {
            let api = handler.clone();
            async move { api.serve(req).await }
        });
        *api.server.lock().unwrap() = Some(server);
        api
    }

    /// Takes the Runtime API away: the port stops accepting and open connections are closed.
    pub fn stop(&self) {
        if let Some(server) = self.server.lock().unwrap().as_ref() {
            server.stop();
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
                let next = {
                    let mut state = self.state.lock().unwrap();
                    state.first_next.get_or_insert_with(std::time::Instant::now);
                    state.queue.pop_front()
                };
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

    /// Queues an event with a deadline `timeout_ms` from now; returns its request id.
    pub fn enqueue(&self, event: Value, timeout_ms: u64) -> String {
        let now = SystemTime::now().duration_since(UNIX_EPOCH).unwrap();
        self.enqueue_at(event, now.as_millis() as u64 + timeout_ms)
    }

    /// Queues an event with an explicit deadline (epoch ms); returns its request id.
    pub fn enqueue_at(&self, event: Value, deadline_ms: u64) -> String {
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
        self.answer(&id, wait)
            .await
            .unwrap_or_else(|| panic!("no answer for {id} within {wait:?}"))
    }

    /// Waits up to `wait` for the answer to request `id`.
    pub async fn answer(&self, id: &str, wait: Duration) -> Option<Answer> {
        tokio::time::timeout(wait, async {
            loop {
                let notified = self.answered.notified();
                if let Some(a) = self.state.lock().unwrap().answers.remove(id) {
                    return a;
                }
                notified.await;
            }
        })
        .await
        .ok()
    }

    /// The init error a runtime posted, if any.
    pub fn init_error(&self) -> Option<Value> {
        self.state.lock().unwrap().init_error.clone()
    }

    /// When a runtime first asked for work since the last [`reset_first_next`](Self::reset_first_next).
    pub fn first_next(&self) -> Option<std::time::Instant> {
        self.state.lock().unwrap().first_next
    }

    pub fn reset_first_next(&self) {
        self.state.lock().unwrap().first_next = None;
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
