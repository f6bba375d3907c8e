use super::request::strip_stage;
use super::*;
use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use bytes::Bytes;
use serde_json::{Value, json};

fn fixture(name: &str) -> Value {
    let text = match name {
        "v1" => include_str!("../../tests/events/apigw-v1.json"),
        "v2" => include_str!("../../tests/events/apigw-v2.json"),
        "url" => include_str!("../../tests/events/function-url.json"),
        "alb" => include_str!("../../tests/events/alb.json"),
        "alb-multi" => include_str!("../../tests/events/alb-multi.json"),
        _ => unreachable!(),
    };
    serde_json::from_str(text).unwrap()
}

fn http(name: &str) -> HttpRequest {
    match parse_event(&fixture(name)).unwrap() {
        Invocation::Http(r) => r,
        other => panic!("{other:?}"),
    }
}

#[test]
fn v1_rest_event() {
    let r = http("v1");
    assert_eq!(r.kind, EventKind::ApiGatewayV1);
    assert_eq!(r.method, "POST");
    // the stage is not part of `path`
    assert_eq!(r.path, "/wp-admin/post.php");
    assert_eq!(r.query, "post=1&action=edit&q=a%20b%26c");
    assert_eq!(&r.body[..], b"post_title=Hello&content=World");
    assert_eq!(r.source_ip.as_deref(), Some("198.51.100.7"));
    assert_eq!(r.protocol, "HTTP/1.1");
    let multi: Vec<&str> = r.header_values("x-multi").collect();
    assert_eq!(multi, ["one", "two"]);
    assert_eq!(
        r.header("content-type"),
        Some("application/x-www-form-urlencoded")
    );
    assert_eq!(r.cookie_header().as_deref(), Some("a=1; b=2"));
}

#[test]
fn v2_http_api_event_strips_stage_and_keeps_raw_query() {
    let r = http("v2");
    assert_eq!(r.kind, EventKind::ApiGatewayV2);
    assert_eq!(r.method, "GET");
    assert_eq!(r.path, "/2024/01/hello-world/");
    assert_eq!(r.query, "utm_source=x%20y&a=1&a=2&empty=&flag");
    assert_eq!(r.source_ip.as_deref(), Some("203.0.113.9"));
    assert_eq!(
        r.cookie_header().as_deref(),
        Some("wordpress_test_cookie=WP%20Cookie%20check; wp-settings-1=libraryContent%3Dbrowse")
    );
    assert!(r.body.is_empty());
}

#[test]
fn function_url_event() {
    let r = http("url");
    assert_eq!(r.kind, EventKind::ApiGatewayV2);
    assert_eq!(r.method, "POST");
    assert_eq!(r.path, "/wp-login.php");
    assert_eq!(
        r.query,
        "redirect_to=https%3A%2F%2Fexample.com%2Fwp-admin%2F&reauth=1"
    );
    assert_eq!(&r.body[..], b"log=admin&pwd=secret&wp-submit=Log+In");
    assert_eq!(r.source_ip.as_deref(), Some("130.176.200.10"));
    assert_eq!(r.header("x-forwarded-host"), Some("www.example.org"));
}

#[test]
fn alb_event_keeps_query_verbatim_and_takes_appended_client_ip() {
    let r = http("alb");
    assert_eq!(r.kind, EventKind::Alb { multi_value: false });
    assert_eq!(r.path, "/feed/");
    assert_eq!(r.query, "s=hello%20world&paged=2");
    assert_eq!(r.source_ip.as_deref(), Some("198.51.100.200"));
    assert_eq!(r.protocol, "HTTP/1.1");
}

#[test]
fn alb_multi_value_event() {
    let r = http("alb-multi");
    assert_eq!(r.kind, EventKind::Alb { multi_value: true });
    assert_eq!(r.query, "tag=a&tag=b%2Bc");
    assert_eq!(r.source_ip.as_deref(), Some("198.51.100.201"));
    assert_eq!(r.cookie_header().as_deref(), Some("a=1; b=2"));
    assert!(r.body.is_empty());
}

#[test]
fn command_envelope() {
    let v = json!({"lambda_fpm": {"command": "warm"}});
    assert_eq!(
        parse_event(&v).unwrap(),
        Invocation::Command(json!({"command": "warm"}))
    );
}

#[test]
fn an_http_event_is_never_a_command_whatever_it_carries() {
    let envelope = r#"{"lambda_fpm":{"command":"php","args":["-r","echo 1;"]}}"#;
    for name in ["v1", "v2", "url", "alb", "alb-multi"] {
        let mut e = fixture(name);
        e["body"] = json!(envelope);
        e["isBase64Encoded"] = json!(false);
        e["headers"]["lambda_fpm"] = json!(envelope);
        e["queryStringParameters"] = json!({"lambda_fpm": envelope});
        e["rawQueryString"] = json!("lambda_fpm=1");
        match parse_event(&e) {
            Ok(Invocation::Http(r)) => assert_eq!(&r.body[..], envelope.as_bytes(), "{name}"),
            other => panic!("{name}: {other:?}"),
        }
    }
}

#[test]
fn malformed_events_are_errors_not_panics() {
    let cases = [
        json!(null),
        json!([]),
        json!("GET /"),
        json!({}),
        json!({"hello": "world"}),
        json!({"version": "2.0", "requestContext": {"http": {"method": "GET"}}}),
        json!({"version": "2.0", "rawPath": "/", "requestContext": {"http": {}}}),
        json!({"version": "2.0", "rawPath": "/", "requestContext": {"http": {"method": "G E T"}}}),
        json!({"httpMethod": "GET", "requestContext": {}}),
        json!({"httpMethod": 5, "path": "/", "requestContext": {}}),
        json!({"httpMethod": "GET", "path": "/", "requestContext": {}, "body": "!!!", "isBase64Encoded": true}),
        json!({"httpMethod": "GET", "path": "/", "requestContext": {}, "body": {"a": 1}}),
    ];
    for case in cases {
        assert!(parse_event(&case).is_err(), "{case}");
    }
}

#[test]
fn strip_stage_rules() {
    assert_eq!(strip_stage("/prod/x", Some("prod")), "/x");
    assert_eq!(strip_stage("/prod", Some("prod")), "/");
    assert_eq!(strip_stage("/production/x", Some("prod")), "/production/x");
    assert_eq!(strip_stage("/x", Some("$default")), "/x");
    assert_eq!(strip_stage("/x", None), "/x");
}

#[test]
fn method_is_upper_cased() {
    let v = json!({"httpMethod": "get", "path": "/", "requestContext": {}});
    let Invocation::Http(r) = parse_event(&v).unwrap() else {
        panic!()
    };
    assert_eq!(r.method, "GET");
}

#[test]
fn v1_single_value_headers_when_no_multi() {
    let v = json!({"httpMethod": "GET", "path": "/", "requestContext": {}, "headers": {"X-A": "1"}, "multiValueHeaders": null});
    let Invocation::Http(r) = parse_event(&v).unwrap() else {
        panic!()
    };
    assert_eq!(r.headers, vec![("x-a".to_string(), "1".to_string())]);
}

fn resp(headers: &[(&str, &str)], body: &[u8]) -> HttpResponse {
    HttpResponse {
        status: 200,
        headers: headers
            .iter()
            .map(|(a, b)| (a.to_string(), b.to_string()))
            .collect(),
        body: Bytes::copy_from_slice(body),
    }
}

#[test]
fn v2_response_joins_repeated_headers_and_moves_cookies() {
    let r = resp(
        &[
            ("content-type", "text/html; charset=UTF-8"),
            ("x-multi", "one"),
            ("x-multi", "two"),
            ("set-cookie", "a=1; Path=/"),
            ("set-cookie", "b=2; Path=/; HttpOnly"),
        ],
        b"<p>hi</p>",
    );
    let v = to_event_response(EventKind::ApiGatewayV2, &r);
    assert_eq!(v["statusCode"], 200);
    assert_eq!(v["headers"]["x-multi"], "one, two");
    assert!(v["headers"].get("set-cookie").is_none());
    assert_eq!(
        v["cookies"],
        json!(["a=1; Path=/", "b=2; Path=/; HttpOnly"])
    );
    assert_eq!(v["body"], "<p>hi</p>");
    assert_eq!(v["isBase64Encoded"], false);
}

#[test]
fn v1_response_uses_multi_value_headers() {
    let r = resp(
        &[
            ("set-cookie", "a=1"),
            ("set-cookie", "b=2"),
            ("content-type", "image/png"),
        ],
        b"\x89PNG\r\n",
    );
    let v = to_event_response(EventKind::ApiGatewayV1, &r);
    assert_eq!(v["multiValueHeaders"]["set-cookie"], json!(["a=1", "b=2"]));
    assert_eq!(v["isBase64Encoded"], true);
    assert_eq!(v["body"], BASE64.encode(b"\x89PNG\r\n"));
    assert!(v.get("statusDescription").is_none());
}

#[test]
fn alb_responses_have_status_description() {
    let mut r = resp(&[("set-cookie", "a=1"), ("set-cookie", "b=2")], b"");
    r.status = 404;
    let single = to_event_response(EventKind::Alb { multi_value: false }, &r);
    assert_eq!(single["statusDescription"], "404 Not Found");
    assert_eq!(single["headers"]["set-cookie"], "b=2");
    let multi = to_event_response(EventKind::Alb { multi_value: true }, &r);
    assert_eq!(multi["statusDescription"], "404 Not Found");
    assert_eq!(
        multi["multiValueHeaders"]["set-cookie"],
        json!(["a=1", "b=2"])
    );
}

#[test]
fn text_or_binary_by_content_type() {
    let yes = [
        "text/html; charset=UTF-8",
        "text/css",
        "application/json",
        "application/javascript",
        "application/rss+xml; charset=UTF-8",
        "application/ld+json",
        "image/svg+xml",
        "application/xml",
        "application/x-www-form-urlencoded",
    ];
    for ct in yes {
        assert!(is_text_body(Some(ct), None, b"abc"), "{ct}");
    }
    let no = [
        "image/png",
        "application/octet-stream",
        "font/woff2",
        "application/pdf",
        "application/zip",
    ];
    for ct in no {
        assert!(!is_text_body(Some(ct), None, b"abc"), "{ct}");
    }
    // compressed or invalid UTF-8 text is binary
    assert!(!is_text_body(Some("text/html"), Some("gzip"), b"abc"));
    assert!(is_text_body(Some("text/html"), Some("identity"), b"abc"));
    assert!(!is_text_body(Some("text/plain"), None, b"\xff\xfe"));
    // no content type: text only when empty
    assert!(is_text_body(None, None, b""));
    assert!(!is_text_body(None, None, b"x"));
}

#[test]
fn binary_bodies_round_trip_through_base64() {
    let bytes: Vec<u8> = (0..=255u8).collect();
    let r = resp(&[("content-type", "application/octet-stream")], &bytes);
    let v = to_event_response(EventKind::ApiGatewayV2, &r);
    let back = BASE64.decode(v["body"].as_str().unwrap()).unwrap();
    assert_eq!(back, bytes);
}

#[test]
fn stream_prelude_joins_and_extracts_cookies() {
    let headers = vec![
        ("x-a".to_string(), "1".to_string()),
        ("x-a".to_string(), "2".to_string()),
        ("set-cookie".to_string(), "c=3".to_string()),
    ];
    let (joined, cookies) = stream_prelude_parts(&headers);
    assert_eq!(joined, vec![("x-a".to_string(), "1, 2".to_string())]);
    assert_eq!(cookies, vec!["c=3".to_string()]);
}
