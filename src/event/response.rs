//! Outgoing: an [`HttpResponse`] into the JSON shape the event's source expects, and the
//! prelude parts of a streamed Function URL response (pure, no IO).

use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use bytes::Bytes;
use serde_json::{Map, Value, json};

use super::EventKind;

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
