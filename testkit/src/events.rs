//! Function URL / HTTP API (payload format 2.0) events, built the way Lambda shapes them, and
//! the buffered answers read back.

use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use serde_json::{Map, Value, json};

use crate::runtime_api::Answer;

/// The host of [`V2Event::function_url`]'s events.
pub const FUNCTION_URL_HOST: &str = "abcdefghij.lambda-url.eu-west-1.on.aws";

/// A payload 2.0 event under construction.
#[derive(Debug, Clone)]
pub struct V2Event {
    method: String,
    path: String,
    query: String,
    /// Lower-case names; one value each, as payload 2.0 joins repeated headers.
    headers: Map<String, Value>,
    cookies: Vec<String>,
    body: Option<Vec<u8>>,
    source_ip: String,
    user_agent: String,
}

impl V2Event {
    /// An event with no headers at all (callers add every one).
    pub fn bare(method: &str, path: &str, query: &str) -> V2Event {
        V2Event {
            method: method.into(),
            path: path.into(),
            query: query.into(),
            headers: Map::new(),
            cookies: vec![],
            body: None,
            source_ip: "127.0.0.1".into(),
            user_agent: String::new(),
        }
    }

    /// What a Function URL sends for a client at 203.0.113.50 over HTTPS.
    pub fn function_url(method: &str, path: &str, query: &str) -> V2Event {
        V2Event::bare(method, path, query)
            .header("host", FUNCTION_URL_HOST)
            .header("user-agent", "lambda-fpm-tests")
            .header("x-forwarded-proto", "https")
            .header("x-forwarded-for", "203.0.113.50")
            .header("x-forwarded-port", "443")
            .source_ip("203.0.113.50")
    }

    /// Sets a header (the name is lower-cased; a header of that name is replaced).
    pub fn header(mut self, name: &str, value: &str) -> V2Event {
        let name = name.to_ascii_lowercase();
        if name == "user-agent" {
            self.user_agent = value.to_string();
        }
        self.headers.insert(name, Value::String(value.to_string()));
        self
    }

    /// Appends a value to a header, comma-joined as payload 2.0 does for repeated headers.
    pub fn add_header(mut self, name: &str, value: &str) -> V2Event {
        let name = name.to_ascii_lowercase();
        match self.headers.get_mut(&name) {
            Some(Value::String(prev)) => {
                prev.push(',');
                prev.push_str(value);
                self
            }
            _ => self.header(&name, value),
        }
    }

    /// Request cookies (payload 2.0 moves them out of the headers into `cookies`).
    pub fn cookies(mut self, cookies: &[String]) -> V2Event {
        self.cookies = cookies.to_vec();
        self
    }

    /// The body (sent base64-encoded).
    pub fn body(mut self, body: &[u8]) -> V2Event {
        self.body = Some(body.to_vec());
        self
    }

    /// `requestContext.http.sourceIp`.
    pub fn source_ip(mut self, ip: &str) -> V2Event {
        self.source_ip = ip.into();
        self
    }

    /// The event document.
    pub fn build(&self) -> Value {
        let host = self
            .headers
            .get("host")
            .and_then(Value::as_str)
            .unwrap_or(FUNCTION_URL_HOST);
        let prefix = host.split('.').next().unwrap_or(host);
        let (body, b64) = match &self.body {
            Some(b) => (Value::String(BASE64.encode(b)), true),
            None => (Value::Null, false),
        };
        let mut event = json!({
            "version": "2.0",
            "routeKey": "$default",
            "rawPath": self.path,
            "rawQueryString": self.query,
            "headers": self.headers,
            "requestContext": {
                "accountId": "anonymous",
                "apiId": prefix,
                "domainName": host,
                "domainPrefix": prefix,
                "http": {
                    "method": self.method,
                    "path": self.path,
                    "protocol": "HTTP/1.1",
                    "sourceIp": self.source_ip,
                    "userAgent": self.user_agent
                },
                "requestId": "test",
                "routeKey": "$default",
                "stage": "$default",
                "time": "23/Nov/2026:12:00:00 +0000",
                "timeEpoch": 1795000000000u64
            },
            "body": body,
            "isBase64Encoded": b64
        });
        if !self.cookies.is_empty() {
            event["cookies"] = json!(self.cookies);
        }
        event
    }
}

/// A Function URL event ([`V2Event::function_url`]) with extra headers and an optional body.
pub fn url_event(
    method: &str,
    path: &str,
    query: &str,
    headers: &[(&str, &str)],
    body: Option<&[u8]>,
) -> Value {
    let mut event = V2Event::function_url(method, path, query);
    for (k, v) in headers {
        event = event.header(k, v);
    }
    if let Some(b) = body {
        event = event.body(b);
    }
    event.build()
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

/// The body of a buffered answer document, base64-decoded when it says so.
pub fn decode_body(v: &Value) -> Vec<u8> {
    let body = v["body"].as_str().unwrap_or("");
    if v["isBase64Encoded"].as_bool() == Some(true) {
        BASE64
            .decode(body)
            .unwrap_or_else(|e| panic!("body is not base64: {e}"))
    } else {
        body.as_bytes().to_vec()
    }
}

/// Reads a buffered payload 2.0 answer; panics on any other kind.
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn function_url_event_has_the_shape_lambda_sends() {
        let e = url_event(
            "POST",
            "/wp-login.php",
            "a=1",
            &[("Cookie", "x=1"), ("Host", "example.com")],
            Some(b"log=a"),
        );
        assert_eq!(e["version"], "2.0");
        assert_eq!(e["rawPath"], "/wp-login.php");
        assert_eq!(e["rawQueryString"], "a=1");
        assert_eq!(e["requestContext"]["http"]["method"], "POST");
        assert_eq!(e["requestContext"]["http"]["sourceIp"], "203.0.113.50");
        assert_eq!(e["requestContext"]["domainName"], "example.com");
        assert_eq!(e["requestContext"]["domainPrefix"], "example");
        // names lower-cased, a header given twice replaced, not doubled
        assert_eq!(e["headers"]["host"], "example.com");
        assert_eq!(e["headers"]["cookie"], "x=1");
        assert_eq!(e["isBase64Encoded"], true);
        assert_eq!(decode_body(&e), b"log=a");
        assert!(e.get("cookies").is_none());
    }

    #[test]
    fn bare_events_join_repeated_headers_and_carry_cookies() {
        let e = V2Event::bare("GET", "/", "")
            .add_header("Accept", "text/html")
            .add_header("accept", "*/*")
            .cookies(&["a=1".into(), "b=2".into()])
            .build();
        assert_eq!(e["headers"]["accept"], "text/html,*/*");
        assert_eq!(e["cookies"], json!(["a=1", "b=2"]));
        assert_eq!(e["body"], Value::Null);
        assert_eq!(e["isBase64Encoded"], false);
        assert_eq!(e["requestContext"]["http"]["sourceIp"], "127.0.0.1");
    }

    #[test]
    fn buffered_answers_are_read_back() {
        let raw = json!({"statusCode": 201, "headers": {"x": "y"}, "cookies": ["c=1"],
                         "body": "aGk=", "isBase64Encoded": true});
        let a = v2(Answer::Buffered(raw));
        assert_eq!(a.status, 201);
        assert_eq!(a.header("x"), Some("y"));
        assert_eq!(a.cookies, vec!["c=1".to_string()]);
        assert_eq!(a.text(), "hi");
    }
}
