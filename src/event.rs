//! Lambda event ↔ HTTP mapping (pure, no IO).
//!
//! Incoming: API Gateway REST (v1), HTTP API (v2), Function URL (v2 shape) and ALB events, and
//! the bridge's own command envelope `{"lambda_fpm": {...}}`, into one [`HttpRequest`].
//! Outgoing: an [`HttpResponse`] into the JSON shape the event's source expects.
//!
//! Why not lambda_http's `Request` conversion: it rebuilds the URL with `Url::parse` (which
//! normalizes `..` away before we can refuse it and panics on a malformed Host), re-encodes
//! the query string (REST, ALB), keeps the stage in REST paths, and its v2 response
//! serializer keeps only the first value of a repeated header. We keep the event's raw path
//! and query verbatim and write every header value.

use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use bytes::Bytes;
use serde_json::{Map, Value, json};
use std::fmt;

/// Which service sent the event; the response must be shaped for it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EventKind {
    /// API Gateway REST API (payload format 1.0).
    ApiGatewayV1,
    /// API Gateway HTTP API (2.0) and Lambda Function URLs.
    ApiGatewayV2,
    /// Application Load Balancer; `multi_value` when the target group has multi-value headers on.
    Alb { multi_value: bool },
}

impl EventKind {
    pub fn as_str(self) -> &'static str {
        match self {
            EventKind::ApiGatewayV1 => "apigw_v1",
            EventKind::ApiGatewayV2 => "apigw_v2",
            EventKind::Alb { .. } => "alb",
        }
    }
}

/// An HTTP request, as the event described it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpRequest {
    pub kind: EventKind,
    pub method: String,
    /// Raw URL path (percent-encoded as received), without an API Gateway stage prefix.
    pub path: String,
    /// Raw query string without `?`, verbatim where the event carries it.
    pub query: String,
    /// Header names in lower case; repeated headers are separate entries, in order.
    pub headers: Vec<(String, String)>,
    /// Request cookies from a v2 `cookies[]` array (one `name=value` per entry).
    pub cookies: Vec<String>,
    pub body: Bytes,
    /// The client address as the service saw it (`sourceIp`, or ALB's appended X-Forwarded-For).
    pub source_ip: Option<String>,
    /// `HTTP/1.1`, `HTTP/2.0` …
    pub protocol: String,
}

impl HttpRequest {
    /// Values of a header (name in lower case).
    pub fn header_values<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a str> + 'a {
        self.headers
            .iter()
            .filter(move |(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    /// The first value of a header.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    /// The request's cookies as one `Cookie` header value: v2 `cookies[]` when present, else
    /// the `cookie` header(s) joined with `; `.
    pub fn cookie_header(&self) -> Option<String> {
        if !self.cookies.is_empty() {
            return Some(self.cookies.join("; "));
        }
        let joined: Vec<&str> = self.header_values("cookie").collect();
        (!joined.is_empty()).then(|| joined.join("; "))
    }
}

/// What an invocation asks for.
#[derive(Debug, Clone, PartialEq)]
pub enum Invocation {
    Http(HttpRequest),
    /// The bridge's own command envelope: the value under `lambda_fpm`.
    Command(Value),
}

/// An event that cannot be understood.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EventError(pub String);

impl fmt::Display for EventError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for EventError {}

fn bad(message: impl Into<String>) -> EventError {
    EventError(message.into())
}

fn str_at<'a>(value: &'a Value, path: &[&str]) -> Option<&'a str> {
    let mut v = value;
    for key in path {
        v = v.get(key)?;
    }
    v.as_str()
}

/// Parses an invocation payload.
pub fn parse_event(event: &Value) -> Result<Invocation, EventError> {
    let obj = event
        .as_object()
        .ok_or_else(|| bad("event is not a JSON object"))?;
    if let Some(command) = obj.get("lambda_fpm") {
        return Ok(Invocation::Command(command.clone()));
    }
    let context = obj.get("requestContext");
    let kind = if context.and_then(|c| c.get("elb")).is_some() {
        EventKind::Alb {
            multi_value: obj.get("multiValueHeaders").is_some_and(Value::is_object),
        }
    } else if obj.get("version").and_then(Value::as_str) == Some("2.0")
        || context.and_then(|c| c.get("http")).is_some()
    {
        EventKind::ApiGatewayV2
    } else if obj.get("httpMethod").is_some() && context.is_some() {
        EventKind::ApiGatewayV1
    } else {
        return Err(bad(
            "unrecognized event: not API Gateway v1/v2, Function URL, ALB, or a {\"lambda_fpm\": …} command",
        ));
    };
    parse_http(event, kind).map(Invocation::Http)
}

fn parse_http(event: &Value, kind: EventKind) -> Result<HttpRequest, EventError> {
    let method = match kind {
        EventKind::ApiGatewayV2 => str_at(event, &["requestContext", "http", "method"]),
        _ => str_at(event, &["httpMethod"]),
    }
    .ok_or_else(|| bad("event has no HTTP method"))?;
    if method.is_empty() || !method.bytes().all(|b| b.is_ascii_alphabetic()) {
        return Err(bad(format!("invalid HTTP method {method:?}")));
    }
    let method = method.to_ascii_uppercase();

    let path = match kind {
        EventKind::ApiGatewayV2 => {
            let raw = str_at(event, &["rawPath"]).ok_or_else(|| bad("v2 event has no rawPath"))?;
            strip_stage(raw, str_at(event, &["requestContext", "stage"]))
        }
        _ => str_at(event, &["path"])
            .ok_or_else(|| bad("event has no path"))?
            .to_string(),
    };

    let query = match kind {
        EventKind::ApiGatewayV2 => str_at(event, &["rawQueryString"]).unwrap_or("").to_string(),
        // API Gateway REST decodes parameters: encode them again, in event order.
        EventKind::ApiGatewayV1 => rebuild_query(event, true),
        // ALB passes parameters exactly as the client sent them.
        EventKind::Alb { .. } => rebuild_query(event, false),
    };

    let headers = collect_headers(event);
    let cookies = event
        .get("cookies")
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(Value::as_str)
                .map(str::to_string)
                .collect()
        })
        .unwrap_or_default();

    let body = match event.get("body") {
        None | Some(Value::Null) => Bytes::new(),
        Some(Value::String(text)) => {
            if event.get("isBase64Encoded").and_then(Value::as_bool) == Some(true) {
                Bytes::from(
                    BASE64
                        .decode(text.as_bytes())
                        .map_err(|e| bad(format!("body is not valid base64: {e}")))?,
                )
            } else {
                Bytes::from(text.clone().into_bytes())
            }
        }
        Some(_) => return Err(bad("body is not a string")),
    };

    let source_ip = match kind {
        EventKind::ApiGatewayV2 => {
            str_at(event, &["requestContext", "http", "sourceIp"]).map(str::to_string)
        }
        EventKind::ApiGatewayV1 => {
            str_at(event, &["requestContext", "identity", "sourceIp"]).map(str::to_string)
        }
        // ALB appends the address of the peer that connected to it.
        EventKind::Alb { .. } => headers
            .iter()
            .rfind(|(n, _)| n == "x-forwarded-for")
            .and_then(|(_, v)| v.rsplit(',').next())
            .map(|ip| ip.trim().to_string())
            .filter(|ip| !ip.is_empty()),
    };

    let protocol = match kind {
        EventKind::ApiGatewayV2 => str_at(event, &["requestContext", "http", "protocol"]),
        EventKind::ApiGatewayV1 => str_at(event, &["requestContext", "protocol"]),
        EventKind::Alb { .. } => None,
    }
    .filter(|p| p.starts_with("HTTP/"))
    .unwrap_or("HTTP/1.1")
    .to_string();

    Ok(HttpRequest {
        kind,
        method,
        path,
        query,
        headers,
        cookies,
        body,
        source_ip,
        protocol,
    })
}

/// HTTP API events carry the stage in `rawPath` unless the stage is `$default`.
fn strip_stage(raw_path: &str, stage: Option<&str>) -> String {
    if let Some(stage) = stage.filter(|s| !s.is_empty() && *s != "$default") {
        let prefix = format!("/{stage}");
        if raw_path == prefix {
            return "/".to_string();
        }
        if let Some(rest) = raw_path.strip_prefix(&prefix)
            && rest.starts_with('/')
        {
            return rest.to_string();
        }
    }
    raw_path.to_string()
}

/// Headers, preferring `multiValueHeaders` (v1, ALB multi-value) over `headers`.
fn collect_headers(event: &Value) -> Vec<(String, String)> {
    let mut out = Vec::new();
    if let Some(multi) = event.get("multiValueHeaders").and_then(Value::as_object) {
        for (name, values) in multi {
            let name = name.to_ascii_lowercase();
            match values {
                Value::Array(list) => {
                    for v in list.iter().filter_map(Value::as_str) {
                        out.push((name.clone(), v.to_string()));
                    }
                }
                Value::String(v) => out.push((name, v.clone())),
                _ => {}
            }
        }
        if !out.is_empty() {
            return out;
        }
    }
    if let Some(single) = event.get("headers").and_then(Value::as_object) {
        for (name, value) in single {
            if let Some(v) = value.as_str() {
                out.push((name.to_ascii_lowercase(), v.to_string()));
            }
        }
    }
    out
}

/// Query string from (multi)QueryStringParameters, in event order.
fn rebuild_query(event: &Value, encode: bool) -> String {
    let mut pairs: Vec<(String, String)> = Vec::new();
    if let Some(multi) = event
        .get("multiValueQueryStringParameters")
        .and_then(Value::as_object)
        .filter(|m| !m.is_empty())
    {
        for (k, values) in multi {
            for v in values
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(Value::as_str)
            {
                pairs.push((k.clone(), v.to_string()));
            }
        }
    } else if let Some(single) = event
        .get("queryStringParameters")
        .and_then(Value::as_object)
    {
        for (k, v) in single {
            if let Some(v) = v.as_str() {
                pairs.push((k.clone(), v.to_string()));
            }
        }
    }
    let enc = |s: &str| -> String {
        if encode {
            percent_encoding::utf8_percent_encode(s, QUERY_COMPONENT).to_string()
        } else {
            s.to_string()
        }
    };
    pairs
        .iter()
        .map(|(k, v)| {
            if v.is_empty() && !encode {
                enc(k)
            } else {
                format!("{}={}", enc(k), enc(v))
            }
        })
        .collect::<Vec<_>>()
        .join("&")
}

/// Characters encoded when rebuilding a decoded query component (application/x-www-form-urlencoded
/// minus the space-as-plus rule: `%20` decodes the same in PHP).
const QUERY_COMPONENT: &percent_encoding::AsciiSet = &percent_encoding::NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'~');

/// An HTTP response to shape for the event's source.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpResponse {
    pub status: u16,
    /// Header names in lower case; repeated headers are separate entries, in order.
    pub headers: Vec<(String, String)>,
    pub body: Bytes,
}

impl HttpResponse {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }
}

/// Whether a body with this content type (and encoding) can travel as JSON text, or must be
/// base64. Text types are sent as text only when the bytes are valid UTF-8.
pub fn is_text_body(
    content_type: Option<&str>,
    content_encoding: Option<&str>,
    body: &[u8],
) -> bool {
    if content_encoding.is_some_and(|e| !e.trim().eq_ignore_ascii_case("identity")) {
        return false;
    }
    let Some(ct) = content_type else {
        return body.is_empty();
    };
    let textual = crate::encoding::is_textual(ct);
    textual && std::str::from_utf8(body).is_ok()
}

/// Comma-joins repeated headers (except Set-Cookie) for formats with one value per name.
fn joined_headers(headers: &[(String, String)]) -> Map<String, Value> {
    let mut map = Map::new();
    for (name, value) in headers {
        if name == "set-cookie" {
            continue;
        }
        match map.get_mut(name) {
            Some(Value::String(existing)) => {
                existing.push_str(", ");
                existing.push_str(value);
            }
            _ => {
                map.insert(name.clone(), Value::String(value.clone()));
            }
        }
    }
    map
}

fn multi_headers(headers: &[(String, String)]) -> Map<String, Value> {
    let mut map = Map::new();
    for (name, value) in headers {
        match map.get_mut(name) {
            Some(Value::Array(list)) => list.push(Value::String(value.clone())),
            _ => {
                map.insert(name.clone(), json!([value]));
            }
        }
    }
    map
}

/// Shapes a response for the event's source.
pub fn to_event_response(kind: EventKind, response: &HttpResponse) -> Value {
    let text = is_text_body(
        response.header("content-type"),
        response.header("content-encoding"),
        &response.body,
    );
    let body = if text {
        String::from_utf8_lossy(&response.body).into_owned()
    } else {
        BASE64.encode(&response.body)
    };
    match kind {
        EventKind::ApiGatewayV2 => {
            let cookies: Vec<&str> = response
                .headers
                .iter()
                .filter(|(n, _)| n == "set-cookie")
                .map(|(_, v)| v.as_str())
                .collect();
            json!({
                "statusCode": response.status,
                "headers": joined_headers(&response.headers),
                "cookies": cookies,
                "body": body,
                "isBase64Encoded": !text,
            })
        }
        EventKind::ApiGatewayV1 | EventKind::Alb { multi_value: true } => {
            let mut v = json!({
                "statusCode": response.status,
                "multiValueHeaders": multi_headers(&response.headers),
                "body": body,
                "isBase64Encoded": !text,
            });
            if matches!(kind, EventKind::Alb { .. }) {
                v["statusDescription"] = Value::String(status_description(response.status));
            }
            v
        }
        EventKind::Alb { multi_value: false } => {
            // Without multi-value headers ALB takes one value per name: the last Set-Cookie
            // wins (enable multi-value headers on the target group to keep them all).
            let mut headers = joined_headers(&response.headers);
            if let Some((_, cookie)) = response
                .headers
                .iter()
                .rev()
                .find(|(n, _)| n == "set-cookie")
            {
                headers.insert("set-cookie".into(), Value::String(cookie.clone()));
            }
            json!({
                "statusCode": response.status,
                "statusDescription": status_description(response.status),
                "headers": headers,
                "body": body,
                "isBase64Encoded": !text,
            })
        }
    }
}

fn status_description(status: u16) -> String {
    let reason = http::StatusCode::from_u16(status)
        .ok()
        .and_then(|s| s.canonical_reason())
        .unwrap_or("");
    format!("{status} {reason}").trim_end().to_string()
}

/// Streaming prelude parts for a Function URL `RESPONSE_STREAM` response: joined headers
/// (repeated values comma-joined) and the Set-Cookie values.
pub fn stream_prelude_parts(
    response_headers: &[(String, String)],
) -> (Vec<(String, String)>, Vec<String>) {
    let joined = joined_headers(response_headers)
        .into_iter()
        .map(|(k, v)| (k, v.as_str().unwrap_or_default().to_string()))
        .collect();
    let cookies = response_headers
        .iter()
        .filter(|(n, _)| n == "set-cookie")
        .map(|(_, v)| v.clone())
        .collect();
    (joined, cookies)
}

#[cfg(test)]
mod tests;
