//! Evidence for why lambda-fpm shapes responses itself: lambda_http's v2 (HTTP API /
//! Function URL) response type serializes only the first value of a repeated header, and
//! lambda-fpm's own mapping keeps them all.

use lambda_http::aws_lambda_events::apigw::ApiGatewayV2httpResponse;
use lambda_http::http::{HeaderMap, HeaderValue};

#[test]
fn lambda_http_v2_response_drops_repeated_headers() {
    let mut headers = HeaderMap::new();
    headers.append("x-multi", HeaderValue::from_static("one"));
    headers.append("x-multi", HeaderValue::from_static("two"));
    let mut response = ApiGatewayV2httpResponse::default();
    response.status_code = 200;
    response.headers = headers;
    let json = serde_json::to_value(&response).unwrap();
    // The upstream serializer keeps the first value only (this is the bug worked around).
    assert_eq!(json["headers"]["x-multi"], "one", "{json}");
}

#[test]
fn lambda_fpm_v2_response_keeps_them() {
    use lambda_fpm::event::{EventKind, HttpResponse, to_event_response};
    let response = HttpResponse {
        status: 200,
        headers: vec![
            ("x-multi".into(), "one".into()),
            ("x-multi".into(), "two".into()),
        ],
        body: bytes::Bytes::new(),
    };
    let json = to_event_response(EventKind::ApiGatewayV2, &response);
    assert_eq!(json["headers"]["x-multi"], "one, two");
}
