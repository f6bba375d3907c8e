//! Integration tests: the real `bootstrap` binary, the layer's real php-fpm (at /opt: scripts/with-layer), fixture
//! PHP scripts, driven through a Runtime API emulator with real-shaped events.

mod support;

use std::time::{Duration, Instant};

use lambda_fpm_testkit::{Answer, Refusal, url_event, v2};
use serde_json::{Value, json};
use support::Lambda;

fn fixture(name: &str) -> Value {
    let text = std::fs::read_to_string(support::repo().join("tests/events").join(name)).unwrap();
    serde_json::from_str(&text).unwrap()
}

fn get(path: &str, query: &str) -> Value {
    url_event("GET", path, query, &[], None)
}

fn get_with(path: &str, headers: &[(&str, &str)]) -> Value {
    url_event("GET", path, "", headers, None)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn front_controller_gets_full_cgi_environment() {
    let lambda = Lambda::start("cgi", &[]).await;
    let r = v2(lambda
        .invoke(url_event(
            "GET",
            "/2024/01/hello%20world/",
            "a=1&b=%2F&c",
            &[("x-multi", "one,two")],
            None,
        ))
        .await);
    assert_eq!(r.status, 200, "{}", r.text());
    let j = r.json();
    let s = &j["server"];
    assert_eq!(j["script"], "index.php");
    assert_eq!(s["SCRIPT_NAME"], "/index.php");
    assert_eq!(
        s["SCRIPT_FILENAME"],
        format!(
            "{}/index.php",
            std::fs::canonicalize(&lambda.root).unwrap().display()
        )
    );
    assert_eq!(s["REQUEST_URI"], "/2024/01/hello%20world/?a=1&b=%2F&c");
    assert_eq!(s["QUERY_STRING"], "a=1&b=%2F&c");
    assert_eq!(s["REQUEST_METHOD"], "GET");
    assert_eq!(s["HTTPS"], "on");
    assert_eq!(s["REQUEST_SCHEME"], "https");
    assert_eq!(s["SERVER_PORT"], "443");
    assert_eq!(s["SERVER_NAME"], "abcdefghij.lambda-url.eu-west-1.on.aws");
    assert_eq!(s["HTTP_HOST"], "abcdefghij.lambda-url.eu-west-1.on.aws");
    assert_eq!(s["REMOTE_ADDR"], "203.0.113.50");
    assert_eq!(s["GATEWAY_INTERFACE"], "CGI/1.1");
    assert_eq!(s["SERVER_PROTOCOL"], "HTTP/1.1");
    assert!(
        s["SERVER_SOFTWARE"]
            .as_str()
            .unwrap()
            .starts_with("lambda-fpm/")
    );
    assert_eq!(s["HTTP_X_MULTI"], "one,two");
    assert_eq!(j["get"]["b"], "/");
    // php-fpm's environment: ICU looks for the ICU add-on layer's data there
    assert_eq!(s["ICU_DATA"], "/opt/share/icu");
    assert!(s.get("HTTP_PROXY").is_none());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn post_form_multipart_upload_and_cookies() {
    let lambda = Lambda::start("post", &[]).await;
    let mut image = vec![0u8; 70_000];
    for (i, b) in image.iter_mut().enumerate() {
        *b = (i * 31 % 251) as u8;
    }
    let boundary = "----lambdafpmboundary";
    let mut body = Vec::new();
    body.extend_from_slice(
        format!("--{boundary}\r\nContent-Disposition: form-data; name=\"title\"\r\n\r\nHello\r\n")
            .as_bytes(),
    );
    body.extend_from_slice(
        format!("--{boundary}\r\nContent-Disposition: form-data; name=\"async-upload\"; filename=\"photo.jpg\"\r\nContent-Type: image/jpeg\r\n\r\n").as_bytes(),
    );
    body.extend_from_slice(&image);
    body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
    let mut event = url_event(
        "POST",
        "/server.php",
        "",
        &[(
            "content-type",
            &format!("multipart/form-data; boundary={boundary}"),
        )],
        Some(&body),
    );
    event["cookies"] = json!(["wordpress_logged_in=abc%7C123", "wp-settings-1=x"]);
    let r = v2(lambda.invoke(event).await);
    assert_eq!(r.status, 200, "{}", r.text());
    let j = r.json();
    assert_eq!(j["post"]["title"], "Hello");
    let file = &j["files"]["async-upload"];
    assert_eq!(file["error"], 0);
    assert_eq!(file["size"], 70_000);
    let expected = {
        use std::fmt::Write;
        let digest = sha256(&image);
        digest.iter().fold(String::new(), |mut s, b| {
            let _ = write!(s, "{b:02x}");
            s
        })
    };
    assert_eq!(file["sha256"], expected);
    assert_eq!(j["cookie"]["wordpress_logged_in"], "abc|123");
    assert_eq!(j["cookie"]["wp-settings-1"], "x");
    assert_eq!(j["server"]["CONTENT_LENGTH"], body.len().to_string());

    // urlencoded form
    let r = v2(lambda
        .invoke(url_event(
            "POST",
            "/server.php",
            "",
            &[("content-type", "application/x-www-form-urlencoded")],
            Some(b"log=admin&pwd=p%40ss+word"),
        ))
        .await);
    let j = r.json();
    assert_eq!(j["post"]["log"], "admin");
    assert_eq!(j["post"]["pwd"], "p@ss word");
}

/// Minimal SHA-256 through PHP is what the server reports; compute ours with the php CLI-free
/// path: use the `sha2`-less approach of shelling to `sha256sum`.
fn sha256(data: &[u8]) -> Vec<u8> {
    use std::io::Write;
    let mut child = std::process::Command::new("sha256sum")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(data).unwrap();
    let out = child.wait_with_output().unwrap();
    let hex = String::from_utf8(out.stdout).unwrap();
    (0..64)
        .step_by(2)
        .map(|i| u8::from_str_radix(&hex[i..i + 2], 16).unwrap())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn responses_keep_every_cookie_and_repeated_header() {
    let lambda = Lambda::start("cookies", &[]).await;
    let r = v2(lambda.invoke(get("/cookies.php", "")).await);
    assert_eq!(r.status, 200);
    assert_eq!(r.cookies.len(), 2, "{:?}", r.raw);
    assert!(r.cookies[0].starts_with("first=one"));
    assert!(r.cookies[1].starts_with("second=two"));
    assert_eq!(r.header("x-multi"), Some("one, two"));
    assert!(r.header("set-cookie").is_none());

    // REST v1: multiValueHeaders
    let mut v1 = fixture("apigw-v1.json");
    v1["path"] = json!("/cookies.php");
    v1["httpMethod"] = json!("GET");
    v1["body"] = Value::Null;
    let Answer::Buffered(raw) = lambda.invoke(v1).await else {
        panic!()
    };
    assert_eq!(raw["statusCode"], 200);
    let cookies = raw["multiValueHeaders"]["set-cookie"].as_array().unwrap();
    assert_eq!(cookies.len(), 2);
    assert_eq!(raw["multiValueHeaders"]["x-multi"], json!(["one", "two"]));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rest_v1_event_has_no_stage_in_path_and_rebuilt_query() {
    let lambda = Lambda::start("v1", &[]).await;
    let mut v1 = fixture("apigw-v1.json");
    v1["path"] = json!("/server.php");
    let Answer::Buffered(raw) = lambda.invoke(v1).await else {
        panic!()
    };
    assert_eq!(raw["statusCode"], 200, "{raw}");
    let j: Value = serde_json::from_slice(&lambda_fpm_testkit::decode_body(&raw)).unwrap();
    assert_eq!(
        j["server"]["REQUEST_URI"],
        "/server.php?post=1&action=edit&q=a%20b%26c"
    );
    assert_eq!(j["get"]["q"], "a b&c");
    assert_eq!(j["post"]["post_title"], "Hello");
    assert_eq!(j["server"]["REMOTE_ADDR"], "198.51.100.7");
    assert_eq!(j["server"]["HTTP_COOKIE"], "a=1; b=2");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn alb_events_both_header_modes() {
    let lambda = Lambda::start("alb", &[]).await;
    let mut alb = fixture("alb.json");
    alb["path"] = json!("/server.php");
    let Answer::Buffered(raw) = lambda.invoke(alb).await else {
        panic!()
    };
    assert_eq!(raw["statusCode"], 200, "{raw}");
    assert_eq!(raw["statusDescription"], "200 OK");
    assert!(raw["headers"].is_object());
    let j: Value = serde_json::from_slice(&lambda_fpm_testkit::decode_body(&raw)).unwrap();
    assert_eq!(j["server"]["QUERY_STRING"], "s=hello%20world&paged=2");
    assert_eq!(j["get"]["s"], "hello world");
    assert_eq!(j["server"]["REMOTE_ADDR"], "198.51.100.200");
    assert_eq!(j["server"]["REQUEST_SCHEME"], "http");
    assert_eq!(j["server"]["SERVER_PORT"], "80");

    let mut multi = fixture("alb-multi.json");
    multi["path"] = json!("/cookies.php");
    let Answer::Buffered(raw) = lambda.invoke(multi).await else {
        panic!()
    };
    assert_eq!(
        raw["multiValueHeaders"]["set-cookie"]
            .as_array()
            .unwrap()
            .len(),
        2
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn status_redirect_binary_and_bad_headers() {
    let lambda = Lambda::start("status", &[]).await;
    let r = v2(lambda.invoke(get("/redirect.php", "")).await);
    assert_eq!(r.status, 302);
    assert_eq!(r.header("location"), Some("https://example.org/target?x=1"));
    let r = v2(lambda.invoke(get("/status.php", "code=418")).await);
    assert_eq!(r.status, 418);
    let r = v2(lambda.invoke(get("/created.php", "")).await);
    assert_eq!(r.status, 201);
    assert_eq!(r.text(), "created\n");

    let r = v2(lambda.invoke(get("/binary.php", "")).await);
    assert_eq!(r.raw["isBase64Encoded"], true);
    let expected: Vec<u8> = (0..4).flat_map(|_| 0..=255u8).collect();
    assert_eq!(r.body, expected);

    let r = v2(lambda.invoke(get("/badheaders.php", "")).await);
    assert_eq!(r.status, 200);
    assert_eq!(r.header("x-good"), Some("fine"));
    assert!(
        !r.headers.keys().any(|k| k.contains("injected")),
        "{:?}",
        r.headers
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn path_info_and_directories() {
    let lambda = Lambda::start("dirs", &[]).await;
    let r = v2(lambda.invoke(get("/pathinfo.php/extra/bits", "")).await);
    let j = r.json();
    assert_eq!(j["PATH_INFO"], "/extra/bits");
    assert_eq!(j["SCRIPT_NAME"], "/pathinfo.php");
    assert_eq!(j["PHP_SELF"], "/pathinfo.php/extra/bits");
    let r = v2(lambda.invoke(get("/dir", "x=1")).await);
    assert_eq!(r.status, 301);
    assert_eq!(r.header("location"), Some("/dir/?x=1"));
    let r = v2(lambda.invoke(get("/dir/", "")).await);
    assert_eq!(r.status, 200);
    assert_eq!(r.text(), "dir index\n");
    let r = v2(lambda.invoke(get("/nodir/", "")).await);
    assert_eq!(r.status, 403);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn static_files_are_served_by_the_bridge() {
    let lambda = Lambda::start("static", &[]).await;
    let r = v2(lambda.invoke(get("/assets/style.css", "")).await);
    assert_eq!(r.status, 200);
    assert_eq!(r.text(), "body { color: red; }\n");
    assert_eq!(r.header("content-type"), Some("text/css"));
    assert_eq!(r.header("cache-control"), Some("public, max-age=3600"));
    assert_eq!(r.header("accept-ranges"), Some("bytes"));
    let etag = r.header("etag").unwrap().to_string();
    let last_modified = r.header("last-modified").unwrap().to_string();
    assert!(etag.starts_with('"'));

    let r = v2(lambda.invoke(get("/assets/style.css", "ver=6.1.9")).await);
    assert_eq!(
        r.header("cache-control"),
        Some("public, max-age=31536000, immutable")
    );

    let r = v2(lambda
        .invoke(get_with("/assets/style.css", &[("if-none-match", &etag)]))
        .await);
    assert_eq!(r.status, 304);
    assert!(r.body.is_empty());
    let r = v2(lambda
        .invoke(get_with(
            "/assets/style.css",
            &[("if-modified-since", &last_modified)],
        ))
        .await);
    assert_eq!(r.status, 304);

    let r = v2(lambda
        .invoke(get_with(
            "/assets/random.bin",
            &[("range", "bytes=100-199")],
        ))
        .await);
    assert_eq!(r.status, 206);
    assert_eq!(r.header("content-range"), Some("bytes 100-199/20000"));
    let full = std::fs::read(lambda.root.join("assets/random.bin")).unwrap();
    assert_eq!(r.body, &full[100..200]);
    let r = v2(lambda
        .invoke(get_with("/assets/random.bin", &[("range", "bytes=20000-")]))
        .await);
    assert_eq!(r.status, 416);
    assert_eq!(r.header("content-range"), Some("bytes */20000"));

    let r = v2(lambda.invoke(get("/assets/random.bin", "")).await);
    assert_eq!(r.raw["isBase64Encoded"], true);
    assert_eq!(r.body, full);

    let r = v2(lambda
        .invoke(get("/wp-content/uploads/2024/pixel.png", ""))
        .await);
    assert_eq!(r.header("content-type"), Some("image/png"));
    assert_eq!(r.header("cache-control"), Some("public, max-age=604800"));
    assert_eq!(
        r.body,
        std::fs::read(lambda.root.join("wp-content/uploads/2024/pixel.png")).unwrap()
    );

    let r = v2(lambda
        .invoke(url_event("HEAD", "/assets/style.css", "", &[], None))
        .await);
    assert_eq!(r.status, 200);
    assert!(r.body.is_empty());
    assert_eq!(r.header("content-type"), Some("text/css"));

    let r = v2(lambda
        .invoke(url_event("POST", "/assets/style.css", "", &[], Some(b"x")))
        .await);
    assert_eq!(r.status, 405);

    // PHP never ran for any of them: the request log says "static"
    let log = std::fs::read_to_string(Lambda::log_path("static")).unwrap();
    let static_lines = log
        .lines()
        .filter(|l| l.contains("\"route\":\"static\""))
        .count();
    assert!(static_lines >= 10, "{log}");
    assert!(
        !log.lines().any(|l| l.contains("\"route\":\"php\"")),
        "{log}"
    );
}

/// Every deny rule, through the real bridge: status, and no file content leaked.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deny_table_never_leaks_content() {
    let lambda = Lambda::start("deny", &[]).await;
    let cases: &[(&str, u16)] = &[
        ("/.env", 403),
        ("/.htaccess", 403),
        ("/.git/config", 403),
        ("/%2egit/config", 403),
        ("/wp-config.php", 403),
        ("/WP-CONFIG.PHP", 403),
        ("/sub/wp-config.php.bak", 403),
        ("/index.php.bak", 403),
        ("/index.php~", 403),
        ("/index.php.swp", 403),
        ("/x.PHP", 403),
        ("/x.pHp", 403),
        ("/x.phtml", 403),
        ("/x.%EF%BD%90%EF%BD%88%EF%BD%90", 403),
        ("/wp-content/uploads/2024/shell.php", 403),
        ("/wp-content/uploads/2024/x.jpg/y.php", 403),
        ("/wp-content/uploads/2024/x.jpg/index.php", 403),
        // a directory index is the script it resolves to: refused like its own URL
        ("/wp-content/uploads/2024/index.php", 403),
        ("/wp-content/uploads/2024/", 403),
        ("/wp-content/uploads/2%3024/", 403),
        // files no site means to publish
        ("/wp-content/debug.log", 403),
        ("/backup.sql", 403),
        ("/wp-config.bak", 403),
        ("/error_log", 403),
        ("/../etc/passwd", 400),
        ("/%2e%2e/%2e%2e/etc/passwd", 400),
        ("/assets/..%2f..%2fwp-config.php", 400),
        ("/a%5c..%5cwp-config.php", 400),
        ("/wp-config.php%00.txt", 400),
        ("/%ff%fe", 400),
        ("/link-out.txt", 403),
        ("/dir-out/secret.txt", 403),
        ("/nodir/", 403),
        ("/missing.php", 404),
        ("/robots.txt/y.php", 404),
    ];
    for (path, status) in cases {
        let r = v2(lambda.invoke(get(path, "")).await);
        assert_eq!(r.status, *status, "{path}: {}", r.text());
        assert!(
            !r.text().contains("SECRET-CONTENT-MARKER"),
            "{path} leaked: {}",
            r.text()
        );
    }
    // the x.jpg with PHP inside is served as an image, never executed
    let r = v2(lambda
        .invoke(get("/wp-content/uploads/2024/x.jpg", ""))
        .await);
    assert_eq!(r.status, 200);
    assert_eq!(r.header("content-type"), Some("image/jpeg"));
    assert!(!r.text().contains("SECRET-CONTENT-MARKER executed\n"));
    // a bad Host header is refused too
    let r = v2(lambda
        .invoke(get_with("/", &[("host", "evil.example/<script>")]))
        .await);
    assert_eq!(r.status, 400);
    // and every denial has its log line with the reason
    let log = std::fs::read_to_string(Lambda::log_path("deny")).unwrap();
    assert!(log.contains("\"detail\":\"wp_config\""), "{log}");
    assert!(log.contains("\"detail\":\"path_traversal\""), "{log}");
    assert!(
        log.contains("\"detail\":\"outside_document_root\""),
        "{log}"
    );
    // the next request is still served
    let r = v2(lambda.invoke(get("/robots.txt", "")).await);
    assert_eq!(r.status, 200);
}

/// Each path gets 403 and no fixture secret; returns the answers' texts for more checks.
async fn forbidden_without_leak(
    lambda: &Lambda,
    paths: &[&'static str],
) -> Vec<(&'static str, String)> {
    let mut texts = Vec::new();
    for path in paths {
        let r = v2(lambda.invoke(get(path, "")).await);
        assert_eq!(r.status, 403, "{path}: {}", r.text());
        assert!(
            !r.text().contains("SECRET-CONTENT-MARKER"),
            "{path} leaked: {}",
            r.text()
        );
        texts.push((*path, r.text()));
    }
    texts
}

/// #24 finding 5, through the real bridge and php-fpm: a symlink inside the root is judged by
/// what it points to (no PHP source under a .txt name, no upload run through an alias, no JPEG
/// run as PHP), and a file swapped for such a link after it was served is refused.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn symlinks_are_judged_by_their_target() {
    let lambda = Lambda::start("links", &[]).await;
    let refused = forbidden_without_leak(
        &lambda,
        &[
            "/conf.txt",
            "/source.txt",
            "/alias.php",
            "/img.php",
            "/media/2024/shell.php",
            "/media/2024/",
        ],
    )
    .await;
    for (path, text) in refused {
        assert!(!text.contains("<?php"), "{path} showed PHP source: {text}");
    }
    // links to what may be served or run still work
    let r = v2(lambda.invoke(get("/robots-link.txt", "")).await);
    assert_eq!(r.status, 200);
    assert_eq!(
        r.text(),
        std::fs::read_to_string(lambda.root.join("robots.txt")).unwrap()
    );
    let r = v2(lambda.invoke(get("/media/2024/pixel.png", "")).await);
    assert_eq!(
        (r.status, r.header("content-type")),
        (200, Some("image/png"))
    );
    let r = v2(lambda.invoke(get("/status-link.php", "code=201")).await);
    assert_eq!(r.status, 201, "{}", r.text());
    // a served file replaced by a link to PHP source is refused from then on
    std::fs::write(lambda.root.join("swap.txt"), "plain\n").unwrap();
    let r = v2(lambda.invoke(get("/swap.txt", "")).await);
    assert_eq!((r.status, r.text().as_str()), (200, "plain\n"));
    std::fs::remove_file(lambda.root.join("swap.txt")).unwrap();
    std::os::unix::fs::symlink("die.php", lambda.root.join("swap.txt")).unwrap();
    tokio::time::sleep(std::time::Duration::from_millis(2100)).await; // the memory cache's TTL (2 s)
    let r = v2(lambda.invoke(get("/swap.txt", "")).await);
    assert_eq!(r.status, 403, "{}", r.text());
    let log = std::fs::read_to_string(Lambda::log_path("links")).unwrap();
    assert!(log.contains("\"detail\":\"symlink_target\""), "{log}");
}

/// #24 finding 6, the plugin directories that rely on `.htaccess`: what a plugin protects with
/// "deny from all" / "Require all denied" is neither served nor run; a `.htaccess` that only
/// narrows to some files protects nothing else; LAMBDA_FPM_HTACCESS_DENY=off turns it off.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn directories_a_plugin_protects_with_htaccess_stay_private() {
    let lambda = Lambda::start("htaccess", &[]).await;
    forbidden_without_leak(
        &lambda,
        &[
            "/wp-content/uploads/wc-logs/orders-export.csv",
            "/wp-content/updraft/backup_2024-01-01-db.gz",
            "/wp-content/wflogs/config.php",
        ],
    )
    .await;
    let r = v2(lambda
        .invoke(get("/wp-content/partial/readme.txt", ""))
        .await);
    assert_eq!((r.status, r.text().as_str()), (200, "public\n"));
    let log = std::fs::read_to_string(Lambda::log_path("htaccess")).unwrap();
    assert!(log.contains("\"detail\":\"htaccess_denied\""), "{log}");
    drop(lambda);
    let off = Lambda::start("htaccess-off", &[("LAMBDA_FPM_HTACCESS_DENY", "off")]).await;
    let r = v2(off
        .invoke(get("/wp-content/updraft/backup_2024-01-01-db.gz", ""))
        .await);
    assert_eq!(r.status, 200, "{}", r.text());
}

fn metric_lines(tag: &str) -> Vec<Value> {
    std::fs::read_to_string(Lambda::metrics_path(tag))
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}")))
        .collect()
}

/// #20: Server-Timing for viewers when enabled (PHP's entries merged, never a second `php`),
/// always in the request log; an EMF line per request on stdout that CloudWatch accepts, and
/// the cold start's line once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn server_timing_and_emf_metrics_from_real_requests() {
    let lambda = Lambda::start("timing", &[("LAMBDA_FPM_SERVER_TIMING", "on")]).await;
    let r = v2(lambda.invoke(get("/timing.php", "")).await);
    assert_eq!(r.status, 200);
    let st = r
        .header("server-timing")
        .expect("Server-Timing sent")
        .to_string();
    for entry in [
        "total;dur=",
        "bridge;dur=",
        "php;dur=",
        "php-connect;dur=",
        "php-ttfb;dur=",
        "db;dur=3.5;desc=\"2 queries\"",
        "cold;desc=\"seed ",
        "init;dur=",
    ] {
        assert!(st.contains(entry), "{entry} missing: {st}");
    }
    assert!(!st.contains("php;dur=999"), "PHP's php entry kept: {st}");
    let r = v2(lambda.invoke(get("/robots.txt", "")).await);
    let st = r.header("server-timing").unwrap().to_string();
    assert!(st.contains("static;dur=") && !st.contains("cold;"), "{st}");
    let r = v2(lambda.invoke(get("/.env", "")).await);
    assert_eq!(r.status, 403);
    let log = std::fs::read_to_string(Lambda::log_path("timing")).unwrap();
    assert!(log.contains("\"server_timing\":\"total;dur="), "{log}");

    let lines = metric_lines("timing");
    for line in &lines {
        lambda_fpm::metrics::check_emf(line).unwrap_or_else(|e| panic!("{e}: {line}"));
    }
    let requests: Vec<&Value> = lines
        .iter()
        .filter(|l| l.get("requests").is_some())
        .collect();
    assert_eq!(requests.len(), 3, "{lines:?}");
    assert_eq!(
        (&requests[0]["route"], &requests[0]["status"]),
        (&json!("php"), &json!("2xx"))
    );
    assert!(requests[0]["php_time"].as_f64().unwrap() > 0.0);
    assert_eq!(requests[0]["function"], "wordpress");
    assert_eq!(requests[1]["route"], "static");
    assert_eq!(requests[1]["static_cache_misses"], 1);
    assert_eq!(
        (&requests[2]["route"], &requests[2]["errors_4xx"]),
        (&json!("denied"), &json!(1))
    );
    let cold: Vec<&Value> = lines
        .iter()
        .filter(|l| l.get("cold_starts").is_some())
        .collect();
    assert_eq!(cold.len(), 1, "one cold start: {lines:?}");
    assert!(cold[0]["init_time"].as_f64().unwrap() > 0.0);

    // by default viewers get no Server-Timing (not even PHP's own), the log still has it
    let quiet = Lambda::start("timing-log", &[("LAMBDA_FPM_METRICS", "off")]).await;
    let r = v2(quiet.invoke(get("/timing.php", "")).await);
    assert_eq!(r.header("server-timing"), None);
    let log = std::fs::read_to_string(Lambda::log_path("timing-log")).unwrap();
    assert!(log.contains("db;dur=3.5"), "{log}");
    assert!(
        metric_lines("timing-log").is_empty(),
        "LAMBDA_FPM_METRICS=off wrote metrics"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn php_past_deadline_gets_504_and_php_fpm_restarts() {
    let lambda = Lambda::start("timeout", &[("LAMBDA_FPM_TIMEOUT_MARGIN_MS", "1000")]).await;
    // warm up, so the first start is not counted in the timing
    assert_eq!(
        v2(lambda.invoke(get("/status.php", "code=200")).await).status,
        200
    );
    let started = Instant::now();
    let answer = lambda
        .api
        .invoke_with_timeout(get("/sleep.php", "s=20"), Duration::from_secs(3))
        .await;
    let took = started.elapsed();
    let r = v2(answer);
    assert_eq!(r.status, 504, "{}", r.text());
    assert!(
        took < Duration::from_millis(3000),
        "answered after {took:?}: past the invocation deadline"
    );
    assert!(
        took >= Duration::from_millis(1800),
        "answered too early: {took:?}"
    );
    // the next request works (php-fpm restarted)
    let r = v2(lambda.invoke(get("/status.php", "code=200")).await);
    assert_eq!(r.status, 200);
    let log = std::fs::read_to_string(Lambda::log_path("timeout")).unwrap();
    assert!(log.contains("\"status\":504"), "{log}");
    // and the metrics say so: a deadline 504, then a php-fpm restart (#20)
    let lines = metric_lines("timeout");
    assert!(
        lines
            .iter()
            .any(|l| l["deadline_504"] == 1 && l["status"] == "5xx"),
        "{lines:?}"
    );
    assert!(
        lines.iter().any(|l| l["php_fpm_restarts"] == 1),
        "{lines:?}"
    );
    assert!(
        log.matches("php-fpm ready").count() >= 2,
        "no restart in log: {log}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nonsense_deadline_is_clamped() {
    let lambda = Lambda::start("clamp", &[("LAMBDA_FPM_FALLBACK_TIMEOUT_MS", "2500")]).await;
    // cargo-lambda sends 600000 (1970): PHP must still run, bounded by the fallback
    let answer = lambda
        .api
        .invoke_raw(
            get("/status.php", "code=200"),
            600_000,
            Duration::from_secs(20),
        )
        .await;
    assert_eq!(v2(answer).status, 200);
    let started = Instant::now();
    let answer = lambda
        .api
        .invoke_raw(get("/sleep.php", "s=20"), 600_000, Duration::from_secs(20))
        .await;
    assert_eq!(v2(answer).status, 504);
    assert!(started.elapsed() < Duration::from_secs(5));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killed_worker_gives_502_not_truncated_200() {
    let lambda = Lambda::start("killed", &[]).await;
    let r = v2(lambda.invoke(get("/die.php", "")).await);
    assert_eq!(r.status, 502, "{}", r.text());
    assert!(!r.text().contains("partial output"));
    let r = v2(lambda.invoke(get("/status.php", "code=200")).await);
    assert_eq!(r.status, 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn oversized_body_gets_413() {
    let lambda = Lambda::start("413", &[("LAMBDA_FPM_MAX_BODY_BYTES", "1000")]).await;
    let r = v2(lambda
        .invoke(url_event(
            "POST",
            "/server.php",
            "",
            &[],
            Some(&[b'a'; 1001]),
        ))
        .await);
    assert_eq!(r.status, 413);
    let r = v2(lambda
        .invoke(url_event(
            "POST",
            "/server.php",
            "",
            &[],
            Some(&[b'a'; 1000]),
        ))
        .await);
    assert_eq!(r.status, 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_events_get_a_clear_error_and_the_next_is_served() {
    let lambda = Lambda::start("malformed", &[]).await;
    for bad in [
        json!({"hello": "world"}),
        json!([1, 2]),
        json!({"version": "2.0", "requestContext": {"http": {}}}),
    ] {
        match lambda.invoke(bad.clone()).await {
            Answer::Error(e) => assert!(e["errorMessage"].as_str().unwrap().len() > 10, "{e}"),
            other => panic!("{bad}: {other:?}"),
        }
    }
    match lambda
        .invoke(json!({"lambda_fpm": {"command": "nope"}}))
        .await
    {
        Answer::Error(e) => assert!(
            e["errorMessage"]
                .as_str()
                .unwrap()
                .contains("unknown command")
        ),
        other => panic!("{other:?}"),
    }
    match lambda
        .invoke(json!({"lambda_fpm": {"command": "warm"}}))
        .await
    {
        Answer::Buffered(v) => assert_eq!(v["ok"], true),
        other => panic!("{other:?}"),
    }
    assert_eq!(v2(lambda.invoke(get("/robots.txt", "")).await).status, 200);
}

/// `cargo lambda watch` answers a runtime's response with a 500 when the invocation's caller
/// has gone, and does so without reading the posted body, so a large body can also end in a
/// reset connection; a Runtime API that restarts drops the connection outright. Either way the
/// invocation is lost, but the runtime is not: it logs why and goes on polling `/next`
/// (issue #25: the bridge used to exit with `client error (SendRequest)`).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_response_is_logged_and_the_next_invocation_served() {
    let mut lambda = Lambda::start("refused", &[]).await;
    assert_eq!(v2(lambda.invoke(get("/robots.txt", "")).await).status, 200);
    let wait = Duration::from_secs(30);
    for (refusal, path, query) in [
        (Refusal::Status500, "/robots.txt", ""),
        (Refusal::Status500, "/large.php", "mb=4"),
        (Refusal::Drop, "/robots.txt", ""),
        (Refusal::Drop, "/large.php", "mb=4"),
    ] {
        lambda.api.refuse_responses(&[refusal]);
        lambda.api.invoke_refused(get(path, query), wait).await;
        let r = v2(lambda.invoke(get("/large.php", "mb=1")).await);
        assert_eq!(r.status, 200, "after {refusal:?} of {path}");
        assert_eq!(r.body.len(), 1024 * 1024);
        assert!(
            lambda.exited().is_none(),
            "bootstrap exited after {refusal:?} of {path}"
        );
    }
    // Three dropped connections in a row (each after an invocation was handed out) are still
    // survived: the runtime gives up only when it cannot get invocations at all.
    lambda
        .api
        .refuse_responses(&[Refusal::Drop, Refusal::Drop, Refusal::Drop]);
    for _ in 0..3 {
        lambda
            .api
            .invoke_refused(get("/robots.txt", ""), wait)
            .await;
    }
    assert_eq!(v2(lambda.invoke(get("/robots.txt", "")).await).status, 200);
    let log = std::fs::read_to_string(Lambda::log_path("refused")).unwrap();
    assert!(
        log.contains("Runtime API failed; polling for the next invocation again"),
        "{log}"
    );
}

/// With no Runtime API to talk to at all, the runtime does not spin: it retries a few times,
/// then exits non-zero naming the error (Lambda then starts a fresh sandbox).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_runtime_api_that_is_gone_ends_the_runtime_with_a_reason() {
    let mut lambda = Lambda::start("api-gone", &[]).await;
    assert_eq!(v2(lambda.invoke(get("/robots.txt", "")).await).status, 200);
    lambda.api.stop();
    let started = Instant::now();
    let status = loop {
        if let Some(status) = lambda.exited() {
            break status;
        }
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "bootstrap still running"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert!(!status.success(), "{status}");
    let log = std::fs::read_to_string(Lambda::log_path("api-gone")).unwrap();
    assert!(log.contains("giving up"), "{log}");
}

const SECRET: &str = "test-origin-secret-0123456789";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cloudfront_origin_secret() {
    let lambda = Lambda::start("origin", &[("LAMBDA_FPM_ORIGIN_SECRET", SECRET)]).await;
    let cf = |secret: Option<&str>| {
        let mut headers = vec![
            ("x-forwarded-host", "www.example.org"),
            ("x-forwarded-proto", "https"),
            ("cloudfront-viewer-address", "192.0.2.44:51234"),
        ];
        if let Some(s) = secret {
            headers.push(("x-origin-secret", s));
        }
        url_event("GET", "/server.php", "", &headers, None)
    };
    let r = v2(lambda.invoke(cf(None)).await);
    assert_eq!(r.status, 403);
    let r = v2(lambda.invoke(cf(Some("wrong-secret-wrong-secret"))).await);
    assert_eq!(r.status, 403);
    // static files are protected too
    let r = v2(lambda.invoke(get("/robots.txt", "")).await);
    assert_eq!(r.status, 403);

    let r = v2(lambda.invoke(cf(Some(SECRET))).await);
    assert_eq!(r.status, 200);
    let s = r.json()["server"].clone();
    assert_eq!(s["HTTP_HOST"], "www.example.org");
    assert_eq!(s["SERVER_NAME"], "www.example.org");
    assert_eq!(s["HTTPS"], "on");
    assert_eq!(s["SERVER_PORT"], "443");
    assert_eq!(s["REMOTE_ADDR"], "192.0.2.44");
    assert_eq!(s["REMOTE_PORT"], "51234");
    assert!(!r.text().contains(SECRET), "secret leaked to PHP");
    let log = std::fs::read_to_string(Lambda::log_path("origin")).unwrap();
    assert!(!log.contains(SECRET), "secret in log");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn buffered_mode_refuses_oversized_response_clearly() {
    let lambda = Lambda::start("big-buffered", &[]).await;
    let r = v2(lambda.invoke(get("/large.php", "mb=7")).await);
    assert_eq!(r.status, 502);
    assert!(r.text().contains("too large"), "{}", r.text());
    let log = std::fs::read_to_string(Lambda::log_path("big-buffered")).unwrap();
    assert!(
        log.contains("LAMBDA_FPM_INVOKE_MODE=response_stream"),
        "{log}"
    );
    let r = v2(lambda.invoke(get("/large.php", "mb=2")).await);
    assert_eq!(r.status, 200);
    assert_eq!(r.body.len(), 2 * 1024 * 1024);
    // 300 MB of output: reading stops at what could fit, the bridge never holds it all
    let started = std::time::Instant::now();
    let r = v2(lambda.invoke(get("/large.php", "mb=300")).await);
    assert_eq!(r.status, 502);
    assert!(r.text().contains("too large"), "{}", r.text());
    let log = std::fs::read_to_string(Lambda::log_path("big-buffered")).unwrap();
    assert!(log.contains("PHP's output passed"), "{log}");
    let peak_mib = lambda.peak_rss_kib() / 1024;
    assert!(
        peak_mib < 150,
        "bridge peak RSS {peak_mib} MiB for a refused 300 MB answer"
    );
    assert!(started.elapsed() < std::time::Duration::from_secs(20));
    // and the next request is served
    let r = v2(lambda.invoke(get("/large.php", "mb=1")).await);
    assert_eq!(r.status, 200);
    assert_eq!(r.body.len(), 1024 * 1024);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn response_stream_mode() {
    let lambda = Lambda::start("stream", &[("LAMBDA_FPM_INVOKE_MODE", "response_stream")]).await;
    match lambda.invoke(get("/cookies.php", "")).await {
        Answer::Streamed {
            prelude,
            body,
            error_type,
        } => {
            assert_eq!(prelude["statusCode"], 200);
            assert_eq!(prelude["cookies"].as_array().unwrap().len(), 2);
            assert_eq!(prelude["headers"]["x-multi"], "one, two");
            assert_eq!(body, b"cookies set\n");
            assert!(error_type.is_none());
        }
        other => panic!("{other:?}"),
    }
    match lambda.invoke(get("/large.php", "mb=8")).await {
        Answer::Streamed { prelude, body, .. } => {
            assert_eq!(prelude["statusCode"], 200);
            assert_eq!(body.len(), 8 * 1024 * 1024);
        }
        other => panic!("{other:?}"),
    }
    match lambda.invoke(get("/stream.php", "")).await {
        Answer::Streamed { body, .. } => assert_eq!(
            String::from_utf8(body).unwrap(),
            "chunk 0\nchunk 1\nchunk 2\nchunk 3\nchunk 4\n"
        ),
        other => panic!("{other:?}"),
    }
    // static files and denials are streams too (never a raw JSON body)
    match lambda.invoke(get("/assets/style.css", "")).await {
        Answer::Streamed { prelude, body, .. } => {
            assert_eq!(prelude["headers"]["content-type"], "text/css");
            assert_eq!(body, b"body { color: red; }\n");
        }
        other => panic!("{other:?}"),
    }
    match lambda.invoke(get("/.env", "")).await {
        Answer::Streamed { prelude, .. } => assert_eq!(prelude["statusCode"], 403),
        other => panic!("{other:?}"),
    }
    // a worker killed mid-response: a 502 if the head had not been sent yet, otherwise the
    // stream ends with an error; never a clean, truncated 200
    match lambda.invoke(get("/die.php", "")).await {
        Answer::Streamed {
            prelude,
            error_type,
            ..
        } => assert!(
            prelude["statusCode"] == 502 || error_type.is_some(),
            "truncated stream reported as complete: {prelude}"
        ),
        Answer::Error(_) => {}
        other => panic!("{other:?}"),
    }
    match lambda.invoke(get("/status.php", "code=200")).await {
        Answer::Streamed { prelude, .. } => assert_eq!(prelude["statusCode"], 200),
        other => panic!("{other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn php_stderr_and_request_log_reach_the_log() {
    let lambda = Lambda::start("logs", &[]).await;
    assert_eq!(v2(lambda.invoke(get("/stderr.php", "")).await).status, 200);
    tokio::time::sleep(Duration::from_millis(300)).await;
    let log = std::fs::read_to_string(Lambda::log_path("logs")).unwrap();
    assert!(log.contains("lambda-fpm-test: message to the log"), "{log}");
    let line = log
        .lines()
        .find(|l| l.contains("\"path\":\"/stderr.php\""))
        .expect("request line");
    let v: Value = serde_json::from_str(line).unwrap();
    for field in [
        "request_id",
        "method",
        "path",
        "route",
        "status",
        "php_ms",
        "total_ms",
        "bytes_out",
    ] {
        assert!(v.get(field).is_some(), "{field} missing in {line}");
    }
    assert_eq!(v["route"], "php");
    assert_eq!(v["status"], 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn init_errors_name_the_problem() {
    // a bad config value names the variable
    let mut lambda = Lambda::start("init-var", &[("LAMBDA_FPM_INVOKE_MODE", "sideways")]).await;
    let e = lambda
        .api
        .wait_init_error(Duration::from_secs(10))
        .await
        .expect("init error reported");
    assert!(
        e["errorMessage"]
            .as_str()
            .unwrap()
            .contains("LAMBDA_FPM_INVOKE_MODE"),
        "{e}"
    );
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert!(lambda.exited().is_some());

    // php-fpm that cannot start: its own stderr is in the error
    let bad_conf = std::env::temp_dir().join(format!("lambda-fpm-bad-{}.conf", std::process::id()));
    std::fs::write(&bad_conf, "[global]\nthis is not valid\n").unwrap();
    let lambda = Lambda::start(
        "init-fpm",
        &[("LAMBDA_FPM_PHP_FPM_CONF", bad_conf.to_str().unwrap())],
    )
    .await;
    let e = lambda
        .api
        .wait_init_error(Duration::from_secs(10))
        .await
        .expect("init error reported");
    let msg = e["errorMessage"].as_str().unwrap();
    assert!(msg.contains("php-fpm failed to start"), "{msg}");
    assert!(msg.contains("php-fpm said"), "{msg}");

    // a missing document root
    let lambda = Lambda::start_with_root("init-root", "/nonexistent/efs".into(), &[]).await;
    let e = lambda
        .api
        .wait_init_error(Duration::from_secs(10))
        .await
        .expect("init error reported");
    // php-fpm had started in parallel with the root check: it must not outlive the failed init
    tokio::time::sleep(Duration::from_millis(500)).await;
    let runtime_dir = lambda.runtime_dir.clone();
    // php-fpm removes its pid file when it exits cleanly, so look for its processes by the
    // environment the bridge gave them (LAMBDA_FPM_RUNTIME_DIR names this sandbox's directory)
    let ours = format!("LAMBDA_FPM_RUNTIME_DIR={}", runtime_dir.display());
    let left: Vec<String> = std::fs::read_dir("/proc")
        .unwrap()
        .flatten()
        .filter(|e| {
            std::fs::read_to_string(e.path().join("cmdline")).is_ok_and(|c| c.contains("php-fpm"))
                && std::fs::read(e.path().join("environ"))
                    .is_ok_and(|env| env.split(|b| *b == 0).any(|v| v == ours.as_bytes()))
                && std::fs::read_to_string(e.path().join("stat")).is_ok_and(|st| {
                    st.rsplit_once(')')
                        .is_some_and(|(_, r)| !r.trim_start().starts_with('Z'))
                })
        })
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    assert!(
        left.is_empty(),
        "php-fpm left running after a failed init: pids {left:?}"
    );
    assert!(
        e["errorMessage"]
            .as_str()
            .unwrap()
            .contains("LAMBDA_FPM_DOCUMENT_ROOT"),
        "{e}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stale_socket_and_pid_are_cleaned() {
    let root = support::fixture_root("stale");
    let runtime_dir =
        std::env::temp_dir().join(format!("lambda-fpm-rt-stale-{}", std::process::id()));
    std::fs::create_dir_all(&runtime_dir).unwrap();
    // a leftover regular file where the socket goes, and a pid file naming a dead process
    std::fs::write(runtime_dir.join("php-fpm.sock"), "stale").unwrap();
    std::fs::write(runtime_dir.join("php-fpm.pid"), "999999").unwrap();
    let lambda = Lambda::start_with_root("stale", root, &[]).await;
    assert_eq!(
        v2(lambda.invoke(get("/status.php", "code=200")).await).status,
        200
    );
}

fn write_large(root: &std::path::Path, name: &str, len: usize, text: bool) -> Vec<u8> {
    let data: Vec<u8> = if text {
        (0..len).map(|i| b"lambda-fpm static\n"[i % 18]).collect()
    } else {
        let mut x: u32 = 12345;
        (0..len)
            .map(|_| {
                x = x.wrapping_mul(1_103_515_245).wrapping_add(12345);
                (x >> 16) as u8
            })
            .collect()
    };
    std::fs::write(root.join(name), &data).unwrap();
    data
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn precompressed_siblings_and_memory_cache() {
    let lambda = Lambda::start(
        "precompressed",
        &[("LAMBDA_FPM_STATIC_CACHE_TTL_MS", "300")],
    )
    .await;
    let css = lambda.root.join("assets/style.css");
    let original = std::fs::read(&css).unwrap();
    // real gzip of the file, made by the system's gzip
    let status = std::process::Command::new("gzip")
        .args(["-k", "-9", css.to_str().unwrap()])
        .status()
        .unwrap();
    assert!(status.success());
    let gz = std::fs::read(lambda.root.join("assets/style.css.gz")).unwrap();

    let r = v2(lambda
        .invoke(get_with(
            "/assets/style.css",
            &[("accept-encoding", "gzip, deflate")],
        ))
        .await);
    assert_eq!(r.status, 200);
    assert_eq!(r.header("content-encoding"), Some("gzip"));
    assert_eq!(r.header("vary"), Some("Accept-Encoding"));
    assert_eq!(r.header("content-type"), Some("text/css"));
    assert_eq!(r.raw["isBase64Encoded"], true);
    assert_eq!(r.body, gz);
    let r = v2(lambda.invoke(get("/assets/style.css", "")).await);
    assert_eq!(r.header("content-encoding"), None);
    assert_eq!(r.body, original);

    // the second identical request is a cache hit; after a change on disk and the ttl, new bytes
    let r1 = v2(lambda.invoke(get("/robots.txt", "")).await);
    let r2 = v2(lambda.invoke(get("/robots.txt", "")).await);
    assert_eq!(r1.body, r2.body);
    std::fs::write(
        lambda.root.join("robots.txt"),
        "User-agent: *\nDisallow: /private/\n",
    )
    .unwrap();
    tokio::time::sleep(Duration::from_millis(400)).await;
    let r3 = v2(lambda.invoke(get("/robots.txt", "")).await);
    assert_eq!(r3.text(), "User-agent: *\nDisallow: /private/\n");
    assert_ne!(r3.header("etag"), r1.header("etag"));
    let log = std::fs::read_to_string(Lambda::log_path("precompressed")).unwrap();
    let robots: Vec<&str> = log
        .lines()
        .filter(|l| l.contains("\"path\":\"/robots.txt\""))
        .collect();
    assert_eq!(robots.len(), 3, "{log}");
    assert!(robots[0].contains("\"cache\":\"miss\""), "{}", robots[0]);
    assert!(robots[1].contains("\"cache\":\"hit\""), "{}", robots[1]);
    assert!(robots[2].contains("\"cache\":\"miss\""), "{}", robots[2]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn large_static_files_in_buffered_mode() {
    let lambda = Lambda::start("large-buffered", &[]).await;
    // 7 MB of random bytes cannot fit a 6 MB payload: a clear 502 and a log line
    write_large(&lambda.root, "big.bin", 7 << 20, false);
    let r = v2(lambda.invoke(get("/big.bin", "")).await);
    assert_eq!(r.status, 502);
    assert!(r.text().contains("too large"), "{}", r.text());
    // a range of it fits
    let r = v2(lambda
        .invoke(get_with("/big.bin", &[("range", "bytes=0-1048575")]))
        .await);
    assert_eq!(r.status, 206);
    assert_eq!(r.body.len(), 1 << 20);
    // 7 MB of text fits once gzipped, when the client accepts gzip
    let text = write_large(&lambda.root, "big.txt", 7 << 20, true);
    let r = v2(lambda
        .invoke(get_with("/big.txt", &[("accept-encoding", "gzip")]))
        .await);
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.header("content-encoding"), Some("gzip"));
    let mut decoded = Vec::new();
    std::io::Read::read_to_end(&mut flate2::read::GzDecoder::new(&r.body[..]), &mut decoded)
        .unwrap();
    assert_eq!(decoded, text);
    let r = v2(lambda.invoke(get("/big.txt", "")).await);
    assert_eq!(r.status, 502);
    let log = std::fs::read_to_string(Lambda::log_path("large-buffered")).unwrap();
    assert!(
        log.contains("LAMBDA_FPM_INVOKE_MODE=response_stream"),
        "{log}"
    );
    assert!(log.contains("gzip on the fly"), "{log}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn large_static_files_stream_in_response_stream_mode() {
    let lambda = Lambda::start(
        "large-stream",
        &[("LAMBDA_FPM_INVOKE_MODE", "response_stream")],
    )
    .await;
    let data = write_large(&lambda.root, "big.bin", 9 << 20, false);
    match lambda.invoke(get("/big.bin", "")).await {
        Answer::Streamed {
            prelude,
            body,
            error_type,
        } => {
            assert_eq!(prelude["statusCode"], 200);
            assert_eq!(
                prelude["headers"]["content-type"],
                "application/octet-stream"
            );
            assert!(error_type.is_none());
            assert_eq!(body.len(), data.len());
            assert!(body == data, "streamed bytes differ");
        }
        other => panic!("{other:?}"),
    }
    match lambda
        .invoke(get_with("/big.bin", &[("range", "bytes=100-199")]))
        .await
    {
        Answer::Streamed { prelude, body, .. } => {
            assert_eq!(prelude["statusCode"], 206);
            assert_eq!(body, &data[100..200]);
        }
        other => panic!("{other:?}"),
    }
}

/// Whether any live (not zombie) process is left in php-fpm's process group (its master's pid).
fn group_alive(pgid: i32) -> bool {
    std::fs::read_dir("/proc")
        .unwrap()
        .flatten()
        .filter_map(|e| std::fs::read_to_string(e.path().join("stat")).ok())
        .any(|stat| {
            // pid (comm) state ppid pgrp ...; comm may hold spaces: split after the last ')'
            let rest = stat.rsplit_once(')').map(|(_, r)| r).unwrap_or("");
            let fields: Vec<&str> = rest.split_whitespace().collect();
            fields.len() > 2 && fields[0] != "Z" && fields[2] == pgid.to_string()
        })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn php_fpm_and_its_workers_die_with_the_bridge() {
    for (tag, signal) in [("die-kill", "KILL"), ("die-term", "TERM")] {
        let mut lambda = Lambda::start(tag, &[]).await;
        assert_eq!(
            v2(lambda.invoke(get("/status.php", "code=200")).await).status,
            200
        );
        let pid: i32 = std::fs::read_to_string(lambda.runtime_dir.join("php-fpm.pid"))
            .unwrap()
            .trim()
            .parse()
            .unwrap();
        assert!(group_alive(pid));
        lambda.signal(signal);
        let mut gone = false;
        for _ in 0..50 {
            tokio::time::sleep(Duration::from_millis(100)).await;
            if !group_alive(pid) {
                gone = true;
                break;
            }
        }
        assert!(
            gone,
            "php-fpm processes left behind after SIG{signal} to the bridge"
        );
    }
}

#[test]
fn php_env_prints_what_php_fpm_and_the_cli_get() {
    let env = [
        ("LAMBDA_FPM_DOCUMENT_ROOT", "/mnt/site"),
        ("LAMBDA_FPM_RUNTIME_DIR", "/tmp/lambda-fpm-php-env"),
        ("LAMBDA_FPM_PHP_INI_SCAN_DIR", "/opt/php/conf.d:/x"),
        ("LAMBDA_FPM_ORIGIN_SECRET", "a-secret-of-sufficient-length"),
    ];
    let run = |args: &[&str]| {
        std::process::Command::new(env!("CARGO_BIN_EXE_bootstrap"))
            .args(args)
            .env_clear()
            .envs(env)
            .output()
            .unwrap()
    };
    let config = lambda_fpm::config::Config::from_lookup(|k| {
        env.iter()
            .find(|(n, _)| *n == k)
            .map(|(_, v)| v.to_string())
    })
    .unwrap();
    for (args, process) in [
        (&["--php-env"][..], lambda_fpm::php_env::Process::Fpm),
        (&["--php-env", "fpm"][..], lambda_fpm::php_env::Process::Fpm),
        (&["--php-env", "cli"][..], lambda_fpm::php_env::Process::Cli),
    ] {
        let out = run(args);
        assert!(out.status.success(), "{args:?}: {out:?}");
        let text = String::from_utf8(out.stdout).unwrap();
        assert_eq!(text, lambda_fpm::php_env::lines(&config, process));
        assert!(!text.contains("a-secret"), "{text}");
    }
    let fpm = String::from_utf8(run(&["--php-env"]).stdout).unwrap();
    assert!(
        fpm.contains("LAMBDA_FPM_SOCKET=/tmp/lambda-fpm-php-env/php-fpm.sock\n"),
        "{fpm}"
    );
    // a wrong argument is a usage error, a bad setting names the variable; neither starts a runtime
    let out = run(&["--php-env", "apache"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("usage: bootstrap"));
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_bootstrap"))
        .args(["--php-env"])
        .env_clear()
        .env("LAMBDA_FPM_INVOKE_MODE", "bad")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("LAMBDA_FPM_INVOKE_MODE"));
}

#[tokio::test]
async fn a_user_ini_in_the_document_root_is_never_read() {
    // userini/.user.ini sets auto_prepend_file to an "image" next to it: with php-fpm's default
    // user_ini.filename that image would run as PHP before every script in the directory.
    let lambda = Lambda::start("userini", &[]).await;
    for _ in 0..2 {
        let r = v2(lambda.invoke(get("/userini/page.php", "")).await);
        assert_eq!(r.status, 200, "{}", r.text());
        assert_eq!(r.text(), "page\n");
    }
}

#[tokio::test]
async fn php_cannot_read_the_origin_secret_anywhere() {
    const SECRET: &str = "origin-secret-value-f3a9c1d7e2b8";
    const SEED_KEY: &str = "seed-key-0b9e4d7a1c3f5e8a2d6b9c0e4f7a1b3c";
    let lambda = Lambda::start(
        "procenv",
        &[
            ("LAMBDA_FPM_ORIGIN_SECRET", SECRET),
            ("LAMBDA_FPM_OPCACHE_SEED_KEY", SEED_KEY),
        ],
    )
    .await;
    let r = v2(lambda
        .invoke(get_with("/procenv.php", &[("x-origin-secret", SECRET)]))
        .await);
    assert_eq!(r.status, 200, "{}", r.text());
    let j = r.json();
    // it did read the bridge's /proc entry (the bootstrap binary, its other settings) ...
    assert!(
        j["bridge_cmdline"].as_str().unwrap().contains("bootstrap"),
        "{j}"
    );
    let environ = j["bridge_environ"].as_str().unwrap();
    assert!(environ.contains("LAMBDA_FPM_DOCUMENT_ROOT="), "{j}");
    // ... and the secret is in none of what PHP can see
    assert!(
        !r.text().contains(SECRET),
        "the origin secret reached PHP: {}",
        r.text()
    );
    assert!(!r.text().contains(SEED_KEY), "the seed key reached PHP");
    // and the bridge still checks it (it lives in the configuration, not the environment)
    let r = v2(lambda.invoke(get("/procenv.php", "")).await);
    assert_eq!(r.status, 403);
}

/// Runs one request full of secrets through a bridge at RUST_LOG=trace; returns its log.
async fn log_of_a_secret_request(tag: &str, extra: &[(&str, &str)]) -> String {
    const ORIGIN: &str = "origin-secret-8d1f0b2c9e7a6453";
    let mut env = vec![("LAMBDA_FPM_ORIGIN_SECRET", ORIGIN), ("RUST_LOG", "trace")];
    env.extend_from_slice(extra);
    let lambda = Lambda::start(tag, &env).await;
    let event = url_event(
        "POST",
        "/server.php",
        "key=reset-secret-3c9a",
        &[
            ("x-origin-secret", ORIGIN),
            ("cookie", "wordpress_logged_in_x=cookie-secret-5a7c3e9d"),
            ("authorization", "Basic YXV0aC1zZWNyZXQtOWY="),
            ("content-type", "application/x-www-form-urlencoded"),
        ],
        Some(b"pwd=body-secret-1b4f6e2a&log=admin"),
    );
    let r = v2(lambda.invoke(event).await);
    assert_eq!(r.status, 200, "{}", r.text());
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    std::fs::read_to_string(Lambda::log_path(tag)).unwrap()
}

const LOGGED_SECRETS: &[&str] = &[
    "origin-secret-8d1f0b2c9e7a6453",
    "cookie-secret-5a7c3e9d",
    "body-secret-1b4f6e2a",
    "reset-secret-3c9a",
    "YXV0aC1zZWNyZXQtOWY",
    // the base64 the event carries the body as
    "cHdkPWJvZHktc2VjcmV0",
];

#[tokio::test]
async fn no_secret_reaches_the_log_at_any_level() {
    let log = log_of_a_secret_request("logsecrets", &[]).await;
    // the verbose levels are on (dependencies' DEBUG lines are there) ...
    assert!(
        log.contains("\"level\":\"DEBUG\""),
        "no DEBUG line at RUST_LOG=trace"
    );
    assert!(log.contains("\"target\":\"request\""));
    // ... and no secret of the request is in any line
    for secret in LOGGED_SECRETS {
        assert!(!log.contains(secret), "{secret} is in the log");
    }
    // what the caps hold back is real: with the documented opt-in, the same request's
    // FastCGI parameters and raw event are logged
    let log = log_of_a_secret_request("logsecrets-on", &[("LAMBDA_FPM_LOG_SECRETS", "on")]).await;
    assert!(
        LOGGED_SECRETS.iter().any(|s| log.contains(s)),
        "LAMBDA_FPM_LOG_SECRETS=on logged no secret at trace: the test above proves nothing"
    );
}

#[tokio::test]
async fn only_allowed_hosts_reach_php() {
    let lambda = Lambda::start(
        "hosts",
        &[(
            "LAMBDA_FPM_ALLOWED_HOSTS",
            "abcdefghij.lambda-url.eu-west-1.on.aws, *.example.org",
        )],
    )
    .await;
    let r = v2(lambda.invoke(get("/server.php", "")).await);
    assert_eq!(r.status, 200, "{}", r.text());
    let r = v2(lambda
        .invoke(get_with("/server.php", &[("host", "www.example.org")]))
        .await);
    assert_eq!(r.status, 200, "{}", r.text());
    // a Host an attacker chose (the password-reset poisoning case): refused before PHP, for
    // PHP and static files alike
    for path in ["/wp-login.php", "/server.php", "/robots.txt"] {
        let r = v2(lambda
            .invoke(get_with(path, &[("host", "attacker.example")]))
            .await);
        assert_eq!(r.status, 421, "{path}: {}", r.text());
    }
    let log = std::fs::read_to_string(Lambda::log_path("hosts")).unwrap();
    assert!(log.contains("not in LAMBDA_FPM_ALLOWED_HOSTS"), "{log}");
}

#[tokio::test]
async fn streamed_answers_without_a_body_still_carry_their_prelude() {
    // Lambda frames a RESPONSE_STREAM answer by its prelude and the 8-NUL delimiter; runtimes
    // that emit them only before the first body write answer 502 for bodiless responses. The
    // emulator parses the delimiter out of what the runtime posted, so each answer below shows
    // that both were sent though no body byte followed.
    let lambda = Lambda::start(
        "stream-empty",
        &[("LAMBDA_FPM_INVOKE_MODE", "response_stream")],
    )
    .await;
    let etag = match lambda.invoke(get("/robots.txt", "")).await {
        Answer::Streamed { prelude, .. } => {
            prelude["headers"]["etag"].as_str().unwrap().to_string()
        }
        other => panic!("{other:?}"),
    };
    let cases = [
        ("redirect", url_event("GET", "/dir", "", &[], None), 301),
        ("HEAD", url_event("HEAD", "/robots.txt", "", &[], None), 200),
        (
            "HEAD of PHP",
            url_event("HEAD", "/status.php", "", &[], None),
            418,
        ),
        (
            "304",
            url_event(
                "GET",
                "/robots.txt",
                "",
                &[("if-none-match", etag.as_str())],
                None,
            ),
            304,
        ),
        (
            "PHP 204",
            url_event("GET", "/status.php", "code=204", &[], None),
            204,
        ),
    ];
    for (what, event, status) in cases {
        match lambda.invoke(event).await {
            Answer::Streamed {
                prelude,
                body,
                error_type,
            } => {
                assert_eq!(prelude["statusCode"], status, "{what}: {prelude}");
                let bodiless = what.starts_with("HEAD") || what == "304" || what == "PHP 204";
                assert!(!bodiless || body.is_empty(), "{what}: {body:?}");
                assert!(error_type.is_none(), "{what}");
            }
            other => panic!("{what}: {other:?}"),
        }
    }
}
