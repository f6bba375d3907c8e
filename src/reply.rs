//! The way back: an [`Outcome`] (what `http` decided) becomes what the runtime sends, shaped
//! for the event source. Decided here, once per request:
//!
//! - **buffered or streamed**: `LAMBDA_FPM_INVOKE_MODE=response_stream` streams every answer
//!   (a `RESPONSE_STREAM` Function URL shows a buffered JSON payload verbatim), with a prelude
//!   of status and headers; otherwise one JSON document;
//! - **whether it fits** Lambda's buffered payload ([`crate::payload_fit`]): a file on disk is
//!   read only if it may fit; a body too large is gzipped on the fly when the client takes gzip
//!   and it is text; what still cannot fit becomes a 502 that names the setting to change;
//! - **the request log line**, finished here and nowhere else: for a buffered answer when it is
//!   handed over, for a stream when it ends (with the bytes that really went out, and a 502/504
//!   when PHP failed mid-stream).

use std::pin::Pin;

use bytes::Bytes;
use futures_util::{Stream, StreamExt};
use lambda_http::lambda_runtime::{self, FunctionResponse, MetadataPrelude, StreamResponse};
use serde_json::Value;

use crate::cgi_response::CgiHead;
use crate::config::InvokeMode;
use crate::event::{EventKind, HttpResponse, stream_prelude_parts, to_event_response};
use crate::php_request::{PhpError, Rest};
use crate::request_log::RequestLog;
use crate::static_files::FileBody;

/// Body stream of a streamed response.
pub type BodyStream = Pin<Box<dyn Stream<Item = Result<Bytes, lambda_runtime::Error>> + Send>>;
/// What the handler returns to the runtime.
pub type Reply = FunctionResponse<Value, BodyStream>;

/// A response before it is shaped for the event source.
pub enum Outcome {
    /// Status, headers and the whole body in memory.
    Buffered(HttpResponse),
    /// A static file whose body is still on disk (larger than the in-memory cache takes).
    File(HttpResponse, FileBody),
    /// PHP's head, the body bytes read with it, and the rest still coming (stream mode only).
    Streaming {
        head: CgiHead,
        first: Bytes,
        rest: Box<Rest>,
    },
}

/// What shapes the reply besides the outcome.
pub struct Shape<'a> {
    pub kind: EventKind,
    pub mode: InvokeMode,
    /// A HEAD request: status and headers only.
    pub head_only: bool,
    /// The request's `Accept-Encoding` (gzip on the fly needs the client's consent).
    pub accept_encoding: Option<&'a str>,
    /// Lambda's buffered payload limit (`LAMBDA_FPM_MAX_RESPONSE_BYTES`).
    pub limit: usize,
}

impl Shape<'_> {
    /// Whether an answer with `status` goes without a body: HEAD, and 204 / 304, which HTTP
    /// says carry none (PHP may still print one).
    fn bodiless(&self, status: u16) -> bool {
        self.head_only || status == 204 || status == 304
    }

    fn accepts_gzip(&self) -> bool {
        accepts_gzip(self.accept_encoding)
    }
}

/// Whether a request's `Accept-Encoding` takes gzip.
pub fn accepts_gzip(accept_encoding: Option<&str>) -> bool {
    crate::encoding::choose(accept_encoding, &[crate::encoding::Coding::Gzip]).is_some()
}

/// A small plain-text answer the bridge writes itself (errors, redirects).
pub fn plain(status: u16, text: &str) -> HttpResponse {
    HttpResponse {
        status,
        headers: vec![
            ("content-type".into(), "text/plain; charset=utf-8".into()),
            ("cache-control".into(), "no-store".into()),
        ],
        body: Bytes::from(format!("{status} {text}\n")),
    }
}

/// Turns the outcome into the runtime's reply and finishes the request log.
pub async fn send(outcome: Outcome, shape: &Shape<'_>, mut log: RequestLog) -> Reply {
    if shape.mode == InvokeMode::ResponseStream {
        let (status, headers, body, php): (u16, Vec<(String, String)>, Body, bool) = match outcome {
            Outcome::Buffered(r) => {
                let chunk = (!r.body.is_empty() && !shape.bodiless(r.status)).then_some(Ok(r.body));
                let body = futures_util::stream::iter(chunk);
                (r.status, r.headers, Box::pin(body), false)
            }
            Outcome::File(head, file) => {
                let body = crate::static_files::stream_body(file).map(|r| {
                    r.map_err(|e| Failed {
                        status: 500,
                        text: "Internal Server Error",
                        detail: format!("file read failed while streaming: {e}"),
                    })
                });
                (head.status, head.headers, Box::pin(body), false)
            }
            Outcome::Streaming { head, first, rest } => {
                let body = php_body(first, rest, shape.bodiless(head.status));
                (head.status, head.headers, body, true)
            }
        };
        let mut headers = headers;
        log.set_server_timing(&mut headers);
        return streamed(status, &headers, body, php, log);
    }
    let response = match outcome {
        Outcome::Buffered(r) => Ok(r),
        Outcome::File(head, file) => read_file(head, &file, shape).await,
        // PHP is read whole unless streaming (php_request::Read::Whole)
        Outcome::Streaming { .. } => Err(Failed {
            status: 502,
            text: "Bad Gateway",
            detail: "internal error: a streamed PHP answer in buffered mode".into(),
        }),
    };
    let response = response.map(|mut r| {
        log.set_server_timing(&mut r.headers);
        r
    });
    let (response, value) = match response.and_then(|r| fit(r, shape)) {
        Ok((response, value, note)) => {
            if let Some(note) = note {
                log.detail = note;
            }
            (response, value)
        }
        Err(failed) => {
            if failed.status == 502 {
                tracing::error!(target: "request", request_id = %log.request_id, "{}", failed.detail);
            }
            log.detail = failed.detail;
            let error = plain(failed.status, failed.text);
            let value = to_event_response(shape.kind, &error);
            (error, value)
        }
    };
    log.finish(response.status, response.body.len());
    FunctionResponse::BufferedResponse(value)
}

/// Why a reply ends in an error: the status to send (or log, mid-stream), the text the client
/// sees, and the detail for the log.
struct Failed {
    status: u16,
    text: &'static str,
    detail: String,
}

/// A streamed body before the request log is attached.
type Body = Pin<Box<dyn Stream<Item = Result<Bytes, Failed>> + Send>>;

/// Reads a file for a buffered reply, only if it may fit ([`crate::payload_fit::file_may_fit`]).
async fn read_file(
    mut head: HttpResponse,
    file: &FileBody,
    shape: &Shape<'_>,
) -> Result<HttpResponse, Failed> {
    let limit = shape.limit as u64;
    let can_gzip = shape.accepts_gzip() && head.header("content-encoding").is_none();
    if !crate::payload_fit::file_may_fit(file.len, limit, can_gzip) {
        return Err(Failed {
            status: 502,
            text: "Bad Gateway: file too large for a buffered Lambda response",
            detail: format!(
                "static file of {} bytes cannot fit the {limit} byte buffered Lambda payload; use LAMBDA_FPM_INVOKE_MODE=response_stream",
                file.len
            ),
        });
    }
    match crate::static_files::read_body(file).await {
        Ok(bytes) => {
            head.body = bytes;
            Ok(head)
        }
        Err(e) => Err(Failed {
            status: 500,
            text: "Internal Server Error",
            detail: format!("cannot read file: {e}"),
        }),
    }
}

/// Shapes a buffered response for the event source, gzipping it when that is what makes it
/// fit. Returns the response as sent (for the log), the payload, and a note for the log.
fn fit(
    mut response: HttpResponse,
    shape: &Shape<'_>,
) -> Result<(HttpResponse, Value, Option<String>), Failed> {
    if shape.bodiless(response.status) {
        response.body = Bytes::new();
    }
    let limit = shape.limit;
    let too_large = |value: &Value, body_len: usize| {
        crate::payload_fit::too_large(body_len, limit, || {
            serde_json::to_vec(value)
                .map(|v| v.len())
                .unwrap_or(usize::MAX)
        })
    };
    let mut value = to_event_response(shape.kind, &response);
    if !too_large(&value, response.body.len()) {
        return Ok((response, value, None));
    }
    let original = response.body.len();
    let mut note = None;
    let compressible = response
        .header("content-type")
        .is_some_and(crate::encoding::compressible);
    if compressible
        && shape.accepts_gzip()
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
        value = to_event_response(shape.kind, &response);
        note = Some(format!(
            "gzip on the fly to fit the payload limit: {original} -> {} bytes",
            response.body.len()
        ));
    }
    if too_large(&value, response.body.len()) {
        return Err(Failed {
            status: 502,
            text: "Bad Gateway: response too large for a buffered Lambda response",
            detail: format!(
                "response of {original} bytes exceeds the {limit} byte buffered Lambda payload; use LAMBDA_FPM_INVOKE_MODE=response_stream",
            ),
        });
    }
    Ok((response, value, note))
}

/// PHP's body as a stream: the bytes read with the head, then the rest. A failure mid-stream
/// (php-fpm already killed by `php_request`) ends it with a 502, or a 504 at the deadline.
fn php_body(first: Bytes, rest: Box<Rest>, bodiless: bool) -> Body {
    let first = (!first.is_empty()).then_some(first);
    let body = futures_util::stream::unfold((first, rest), |(first, mut rest)| async move {
        if let Some(first) = first {
            return Some((Ok(first), (None, rest)));
        }
        match rest.next().await? {
            Ok(bytes) => Some((Ok(bytes), (None, rest))),
            Err(e) => {
                let failed = match e {
                    PhpError::TimedOut => Failed {
                        status: 504,
                        text: "Gateway Timeout",
                        detail: "deadline reached while streaming; php-fpm killed".into(),
                    },
                    e => Failed {
                        status: 502,
                        text: "Bad Gateway",
                        detail: format!("stream aborted: {e}"),
                    },
                };
                Some((Err(failed), (None, rest)))
            }
        }
    });
    if bodiless {
        // read PHP to its end (or failure) but send nothing
        Box::pin(body.filter(|item| std::future::ready(item.is_err())))
    } else {
        Box::pin(body)
    }
}

/// A streamed reply: prelude, body, and the log line when the body ends.
fn streamed(
    status: u16,
    headers: &[(String, String)],
    body: Body,
    php: bool,
    log: RequestLog,
) -> Reply {
    struct State {
        body: Body,
        log: Option<RequestLog>,
        status: u16,
        php: bool,
        bytes_out: usize,
    }
    let state = State {
        body,
        log: Some(log),
        status,
        php,
        bytes_out: 0,
    };
    let stream = futures_util::stream::unfold(state, |mut s| async move {
        let mut log = s.log.take()?;
        let (status, item) = match s.body.next().await {
            Some(Ok(bytes)) => {
                s.bytes_out += bytes.len();
                s.log = Some(log);
                return Some((Ok(bytes), s));
            }
            None => (s.status, None),
            Some(Err(failed)) => {
                log.deadline = failed.status == 504;
                log.detail = failed.detail;
                let error = lambda_runtime::Error::from(log.detail.clone());
                (failed.status, Some(Err(error)))
            }
        };
        if s.php {
            let ms = log.started.elapsed().as_secs_f64() * 1000.0;
            if let Some(p) = &mut log.php {
                // from the request's start: PHP's own start is a fraction of a ms later
                p.total_ms = Some(ms);
            }
        }
        log.finish(status, s.bytes_out);
        item.map(|item| (item, s))
    });
    FunctionResponse::StreamingResponse(StreamResponse {
        metadata_prelude: prelude(status, headers),
        stream: Box::pin(stream) as BodyStream,
    })
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

fn gzip(data: &[u8]) -> std::io::Result<Bytes> {
    use std::io::Write;
    let mut encoder = flate2::write::GzEncoder::new(
        Vec::with_capacity(data.len() / 4),
        flate2::Compression::default(),
    );
    encoder.write_all(data)?;
    Ok(Bytes::from(encoder.finish()?))
}

#[cfg(test)]
mod tests {
    use super::*;

    const LIMIT: usize = 64 * 1024;

    fn shape(mode: InvokeMode, head_only: bool, gzip: bool) -> Shape<'static> {
        Shape {
            kind: EventKind::ApiGatewayV2,
            mode,
            head_only,
            accept_encoding: gzip.then_some("gzip, br"),
            limit: LIMIT,
        }
    }

    fn response(content_type: &str, body: Vec<u8>) -> HttpResponse {
        HttpResponse {
            status: 200,
            headers: vec![
                ("content-type".into(), content_type.into()),
                ("etag".into(), "\"x\"".into()),
            ],
            body: Bytes::from(body),
        }
    }

    /// Text that compresses well but is larger than the limit.
    fn big_text() -> Vec<u8> {
        "<p>lambda-fpm</p>\n".repeat(LIMIT / 8).into_bytes()
    }

    /// Bytes that do not compress (a simple LCG), larger than the limit.
    fn big_binary() -> Vec<u8> {
        let mut x: u32 = 12345;
        (0..LIMIT * 2)
            .map(|_| {
                x = x.wrapping_mul(1_103_515_245).wrapping_add(12345);
                (x >> 24) as u8
            })
            .collect()
    }

    fn log() -> RequestLog {
        let request = crate::event::HttpRequest {
            kind: EventKind::ApiGatewayV2,
            method: "GET".into(),
            path: "/".into(),
            query: String::new(),
            headers: vec![],
            cookies: vec![],
            body: Bytes::new(),
            source_ip: None,
            protocol: "HTTP/1.1".into(),
        };
        RequestLog::new(
            "req-1",
            &request,
            None,
            crate::config::ServerTiming::Log,
            std::time::Instant::now(),
        )
    }

    #[test]
    fn a_small_response_is_shaped_as_it_is() {
        let shape = shape(InvokeMode::Buffered, false, true);
        let (r, value, note) = fit(response("text/html", b"hi".to_vec()), &shape)
            .ok()
            .unwrap();
        assert_eq!(r.body, "hi");
        assert_eq!(value["statusCode"], 200);
        assert_eq!(value["body"], "hi");
        assert!(note.is_none());
    }

    #[test]
    fn no_content_and_not_modified_send_no_body() {
        let shape = shape(InvokeMode::Buffered, false, false);
        for status in [204, 304] {
            let mut r = response("text/plain", b"PHP printed this".to_vec());
            r.status = status;
            let (r, value, _) = fit(r, &shape).ok().unwrap();
            assert!(r.body.is_empty(), "{status}");
            assert_eq!(value["body"], "", "{status}");
        }
    }

    #[test]
    fn head_sends_no_body() {
        let shape = shape(InvokeMode::Buffered, true, false);
        let (r, value, _) = fit(response("text/html", big_text()), &shape).ok().unwrap();
        assert!(r.body.is_empty());
        assert_eq!(value["body"], "");
    }

    #[test]
    fn too_large_text_is_gzipped_when_the_client_takes_gzip() {
        let shape = shape(InvokeMode::Buffered, false, true);
        let (r, value, note) = fit(response("text/html", big_text()), &shape).ok().unwrap();
        assert_eq!(r.header("content-encoding"), Some("gzip"));
        assert_eq!(r.header("vary"), Some("Accept-Encoding"));
        assert!(
            r.header("etag").is_none(),
            "the etag was for the identity body"
        );
        assert!(r.body.len() < LIMIT);
        assert_eq!(value["isBase64Encoded"], true);
        assert!(note.unwrap().starts_with("gzip on the fly"));
    }

    #[test]
    fn too_large_without_gzip_or_incompressible_is_a_502_naming_the_setting() {
        for (shape, body, ct) in [
            (
                shape(InvokeMode::Buffered, false, false),
                big_text(),
                "text/html",
            ),
            (
                shape(InvokeMode::Buffered, false, true),
                big_binary(),
                "image/png",
            ),
        ] {
            let failed = fit(response(ct, body), &shape).err().unwrap();
            assert_eq!(failed.status, 502);
            assert!(
                failed
                    .detail
                    .contains("LAMBDA_FPM_INVOKE_MODE=response_stream")
            );
        }
    }

    #[tokio::test]
    async fn buffered_mode_hands_over_one_payload() {
        let shape = shape(InvokeMode::Buffered, false, false);
        let reply = send(
            Outcome::Buffered(response("text/plain", b"ok".to_vec())),
            &shape,
            log(),
        )
        .await;
        match reply {
            FunctionResponse::BufferedResponse(v) => assert_eq!(v["body"], "ok"),
            FunctionResponse::StreamingResponse(_) => panic!("streamed in buffered mode"),
        }
        // a payload that cannot fit becomes the bridge's own 502, still a payload
        let reply = send(
            Outcome::Buffered(response("image/png", big_binary())),
            &shape,
            log(),
        )
        .await;
        match reply {
            FunctionResponse::BufferedResponse(v) => {
                assert_eq!(v["statusCode"], 502);
                assert!(v["body"].as_str().unwrap().contains("too large"));
            }
            FunctionResponse::StreamingResponse(_) => panic!("streamed in buffered mode"),
        }
    }

    #[tokio::test]
    async fn stream_mode_streams_even_a_buffered_answer() {
        let shape = shape(InvokeMode::ResponseStream, false, false);
        let big = big_binary();
        let reply = send(
            Outcome::Buffered(response("image/png", big.clone())),
            &shape,
            log(),
        )
        .await;
        let FunctionResponse::StreamingResponse(s) = reply else {
            panic!("buffered in stream mode")
        };
        assert_eq!(s.metadata_prelude.status_code, 200);
        assert_eq!(s.metadata_prelude.headers["content-type"], "image/png");
        let chunks: Vec<_> = s.stream.collect().await;
        let body: Vec<u8> = chunks
            .into_iter()
            .flat_map(|c| c.unwrap().to_vec())
            .collect();
        assert_eq!(body, big, "no payload limit applies to a stream");
    }
}
