//! Incoming: an event of any supported source into one `HttpRequest` (pure, no IO).
//!
//! Each source has its own function naming where it keeps each field (`v2`, `v1`, `alb`);
//! what they share (method check, headers, cookies, body) is read once in `parse_http`.

use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use bytes::Bytes;
use serde_json::Value;

use super::EventKind;

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
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct EventError(pub String);

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

/// Where one source keeps the fields that differ between sources.
struct SourceFields<'a> {
    method: Option<&'a str>,
    path: String,
    query: String,
    source_ip: Option<String>,
    protocol: Option<&'a str>,
}

/// API Gateway HTTP API (2.0) and Function URLs.
fn v2(event: &Value) -> Result<SourceFields<'_>, EventError> {
    let raw = str_at(event, &["rawPath"]).ok_or_else(|| bad("v2 event has no rawPath"))?;
    Ok(SourceFields {
        method: str_at(event, &["requestContext", "http", "method"]),
        path: strip_stage(raw, str_at(event, &["requestContext", "stage"])),
        query: str_at(event, &["rawQueryString"]).unwrap_or("").to_string(),
        source_ip: str_at(event, &["requestContext", "http", "sourceIp"]).map(str::to_string),
        protocol: str_at(event, &["requestContext", "http", "protocol"]),
    })
}

/// API Gateway REST API (1.0).
fn v1(event: &Value) -> Result<SourceFields<'_>, EventError> {
    Ok(SourceFields {
        method: str_at(event, &["httpMethod"]),
        path: path_field(event)?,
        // API Gateway REST decodes parameters: encode them again, in event order.
        query: rebuild_query(event, true),
        source_ip: str_at(event, &["requestContext", "identity", "sourceIp"]).map(str::to_string),
        protocol: str_at(event, &["requestContext", "protocol"]),
    })
}

/// Application Load Balancer.
fn alb<'a>(event: &'a Value, headers: &[(String, String)]) -> Result<SourceFields<'a>, EventError> {
    Ok(SourceFields {
        method: str_at(event, &["httpMethod"]),
        path: path_field(event)?,
        // ALB passes parameters exactly as the client sent them.
        query: rebuild_query(event, false),
        // ALB appends the address of the peer that connected to it.
        source_ip: headers
            .iter()
            .rfind(|(n, _)| n == "x-forwarded-for")
            .and_then(|(_, v)| v.rsplit(',').next())
            .map(|ip| ip.trim().to_string())
            .filter(|ip| !ip.is_empty()),
        protocol: None,
    })
}

fn path_field(event: &Value) -> Result<String, EventError> {
    str_at(event, &["path"])
        .map(str::to_string)
        .ok_or_else(|| bad("event has no path"))
}

fn parse_http(event: &Value, kind: EventKind) -> Result<HttpRequest, EventError> {
    let headers = collect_headers(event);
    let fields = match kind {
        EventKind::ApiGatewayV2 => v2(event)?,
        EventKind::ApiGatewayV1 => v1(event)?,
        EventKind::Alb { .. } => alb(event, &headers)?,
    };
    let method = fields
        .method
        .ok_or_else(|| bad("event has no HTTP method"))?;
    if method.is_empty() || !method.bytes().all(|b| b.is_ascii_alphabetic()) {
        return Err(bad(format!("invalid HTTP method {method:?}")));
    }
    let method = method.to_ascii_uppercase();

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

    let protocol = fields
        .protocol
        .filter(|p| p.starts_with("HTTP/"))
        .unwrap_or("HTTP/1.1")
        .to_string();

    Ok(HttpRequest {
        kind,
        method,
        path: fields.path,
        query: fields.query,
        headers,
        cookies,
        body,
        source_ip: fields.source_ip,
        protocol,
    })
}

/// HTTP API events carry the stage in `rawPath` unless the stage is `$default`.
pub(super) fn strip_stage(raw_path: &str, stage: Option<&str>) -> String {
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
