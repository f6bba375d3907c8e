//! Static-file reader: serves a routed file from the document root with content type,
//! validators, Cache-Control and range support. The decisions are made by the pure
//! [`crate::conditional`] and [`crate::cache_policy`] modules; this file does the IO.

use std::io::SeekFrom;
use std::path::Path;

use bytes::Bytes;
use tokio::io::{AsyncReadExt, AsyncSeekExt};

use crate::cache_policy::CachePolicy;
use crate::conditional::{Conditions, Decision, Validators, decide};
use crate::event::{HttpRequest, HttpResponse};

/// Serves `relative` (below the canonical `root`) for `request`.
pub async fn serve(
    root: &Path,
    relative: &str,
    request: &HttpRequest,
    policy: &CachePolicy,
) -> std::io::Result<HttpResponse> {
    let method = request.method.as_str();
    if method != "GET" && method != "HEAD" {
        return Ok(HttpResponse {
            status: 405,
            headers: vec![
                ("allow".into(), "GET, HEAD".into()),
                ("content-type".into(), "text/plain; charset=utf-8".into()),
            ],
            body: Bytes::from_static(b"405 Method Not Allowed: static files accept GET and HEAD\n"),
        });
    }
    let path = root.join(relative);
    let mut file = tokio::fs::File::open(&path).await?;
    let meta = file.metadata().await?;
    let size = meta.len();
    let validators = Validators::new(size, meta.modified()?);
    let decision = decide(
        &validators,
        size,
        &Conditions {
            if_none_match: request.header("if-none-match"),
            if_modified_since: request.header("if-modified-since"),
            range: request.header("range"),
            if_range: request.header("if-range"),
        },
    );

    let mut headers: Vec<(String, String)> = vec![
        ("etag".into(), validators.etag.clone()),
        ("last-modified".into(), validators.last_modified_http()),
        (
            "cache-control".into(),
            policy.for_static(&request.path, &request.query).to_string(),
        ),
        ("accept-ranges".into(), "bytes".into()),
    ];
    let content_type = mime_guess::from_path(relative)
        .first_raw()
        .unwrap_or("application/octet-stream");
    let head_only = method == "HEAD";

    let (status, body) = match decision {
        Decision::NotModified => (304, Bytes::new()),
        Decision::Unsatisfiable => {
            headers.push(("content-range".into(), format!("bytes */{size}")));
            (416, Bytes::new())
        }
        Decision::Full => {
            headers.push(("content-type".into(), content_type.to_string()));
            headers.push(("x-content-type-options".into(), "nosniff".into()));
            headers.push(("content-length".into(), size.to_string()));
            let body = if head_only {
                Bytes::new()
            } else {
                let mut buf = Vec::with_capacity(size as usize);
                file.read_to_end(&mut buf).await?;
                Bytes::from(buf)
            };
            (200, body)
        }
        Decision::Partial(range) => {
            let len = range.end() - range.start() + 1;
            headers.push(("content-type".into(), content_type.to_string()));
            headers.push(("x-content-type-options".into(), "nosniff".into()));
            headers.push((
                "content-range".into(),
                format!("bytes {}-{}/{size}", range.start(), range.end()),
            ));
            headers.push(("content-length".into(), len.to_string()));
            let body = if head_only {
                Bytes::new()
            } else {
                file.seek(SeekFrom::Start(*range.start())).await?;
                let mut buf = vec![0u8; len as usize];
                file.read_exact(&mut buf).await?;
                Bytes::from(buf)
            };
            (206, body)
        }
    };
    Ok(HttpResponse {
        status,
        headers,
        body,
    })
}
