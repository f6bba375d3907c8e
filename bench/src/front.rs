//! A Function-URL-like HTTP front for load tests: each HTTP request becomes a payload-v2 event,
//! handed through the in-process Runtime API emulator to `bootstrap` sandboxes, and the
//! buffered response document is turned back into HTTP. (What `cargo lambda watch` does, minus
//! its compile-and-watch machinery, under our control.) Loopback only.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, Result};
use base64::Engine;
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::{Request, Response};
use lambda_fpm_testkit::V2Event;
use lambda_fpm_testkit::serve::Server;
use serde_json::Value;

use crate::lambda::{self, Bridge, RuntimeApi};
use crate::suites::Site;

/// Builds a payload-v2 event from an HTTP request.
pub fn event_from(req: &http::request::Parts, body: &[u8]) -> Value {
    let mut event = V2Event::bare(
        req.method.as_str(),
        req.uri.path(),
        req.uri.query().unwrap_or(""),
    )
    .header("host", "127.0.0.1")
    .header("user-agent", "lambda-fpm-bench");
    let mut cookies = Vec::new();
    for (k, v) in &req.headers {
        let v = v.to_str().unwrap_or("");
        if k == http::header::COOKIE {
            cookies.extend(v.split(';').map(|c| c.trim().to_string()));
            continue;
        }
        event = if k == http::header::HOST || k == http::header::USER_AGENT {
            event.header(k.as_str(), v)
        } else {
            event.add_header(k.as_str(), v)
        };
    }
    event = event.cookies(&cookies);
    if !body.is_empty() {
        event = event.body(body);
    }
    event.build()
}

/// Turns a buffered response document into an HTTP response.
pub fn response_from(doc: &Value) -> Response<Full<Bytes>> {
    let status = doc.get("statusCode").and_then(Value::as_u64).unwrap_or(502) as u16;
    let mut b = Response::builder().status(status);
    if let Some(h) = doc.get("headers").and_then(Value::as_object) {
        for (k, v) in h {
            if let Some(v) = v.as_str() {
                b = b.header(k, v);
            }
        }
    }
    if let Some(c) = doc.get("cookies").and_then(Value::as_array) {
        for v in c.iter().filter_map(Value::as_str) {
            b = b.header("set-cookie", v);
        }
    }
    let body = doc.get("body").and_then(Value::as_str).unwrap_or("");
    let bytes = if doc.get("isBase64Encoded").and_then(Value::as_bool) == Some(true) {
        base64::engine::general_purpose::STANDARD
            .decode(body)
            .unwrap_or_default()
    } else {
        body.as_bytes().to_vec()
    };
    b.body(Full::new(Bytes::from(bytes)))
        .unwrap_or_else(|_| Response::new(Full::new(Bytes::from_static(b"bad response"))))
}

/// Serves HTTP on `listen` until SIGINT/SIGTERM, through `sandboxes` bootstrap processes.
pub async fn serve(site: &Site, listen: SocketAddr, sandboxes: usize) -> Result<()> {
    let api = RuntimeApi::start().await?;
    let mut bridges = Vec::new();
    for i in 0..sandboxes.max(1) {
        let rt = site.work.join(format!("front-rt-{i}"));
        if rt.exists() {
            std::fs::remove_dir_all(&rt)?;
        }
        std::fs::create_dir_all(rt.join("opcache"))?;
        let ini = site.ini_with_cache(&rt, &format!("front-{i}"), &[])?;
        let spec = site.bridge_spec(
            &site.docroot,
            &ini,
            &rt,
            &site.work.join(format!("front-bootstrap-{i}.log")),
        );
        bridges.push(Bridge::spawn(&spec, &api)?);
    }
    for b in bridges.iter_mut() {
        lambda::wait_ready(&api, b, Duration::from_secs(30)).await?;
        api.reset_first_next();
    }
    let listener = tokio::net::TcpListener::bind(listen)
        .await
        .with_context(|| format!("binding {listen}"))?;
    eprintln!(
        "serving http://{listen}/ through {} bootstrap sandbox(es)",
        bridges.len()
    );
    let api = Arc::new(api);
    let server = Server::on(listener, move |req: Request<Incoming>| {
        let api = api.clone();
        async move {
            let (parts, body) = req.into_parts();
            let body = body
                .collect()
                .await
                .map(|b| b.to_bytes())
                .unwrap_or_default();
            let ev = event_from(&parts, &body);
            let resp = match api.invoke(&ev, Duration::from_secs(60)).await {
                Ok(doc) => response_from(&doc),
                Err(e) => Response::builder()
                    .status(502)
                    .body(Full::new(Bytes::from(format!("front: {e}"))))
                    .unwrap(),
            };
            Ok::<_, Infallible>(resp)
        }
    });
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = term.recv() => {}
    }
    server.stop();
    for b in bridges {
        b.stop().await;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn round_trip() {
        let req = Request::builder()
            .uri("/a/b?x=1")
            .header("host", "127.0.0.1:9")
            .header("cookie", "a=1; b=2")
            .header("x-m", "one")
            .header("x-m", "two")
            .body(())
            .unwrap();
        let (parts, _) = req.into_parts();
        let ev = event_from(&parts, b"");
        assert_eq!(ev["rawPath"], "/a/b");
        assert_eq!(ev["rawQueryString"], "x=1");
        assert_eq!(ev["headers"]["x-m"], "one,two");
        assert_eq!(ev["cookies"], json!(["a=1", "b=2"]));
        assert_eq!(ev["isBase64Encoded"], false);
        let r = response_from(&json!({"statusCode": 201, "headers": {"x": "y"},
            "cookies": ["s=1"], "body": "aGk=", "isBase64Encoded": true}));
        assert_eq!(r.status(), 201);
        assert_eq!(r.headers()["set-cookie"], "s=1");
    }
}
