//! Integration tests of the `{"lambda_fpm": {"command": ...}}` operations: the real
//! `bootstrap`, the layer's real php-fpm and php CLI (at /opt: scripts/with-layer), driven through the Runtime API
//! emulator; install archives are served by a small HTTP server on 127.0.0.1.
//!
//! The WordPress + MariaDB end-to-end test (`real_wordpress_install_php_and_cron`) needs
//! `mariadb-server` and the WordPress tree of `scripts/wordpress` (LAMBDA_FPM_TEST_WORDPRESS): it
//! runs when LAMBDA_FPM_TEST_MARIADB=1 (scripts/test's unit suite sets both) and is skipped,
//! saying so, otherwise; with LAMBDA_FPM_TEST_MARIADB=1 and no tree it fails.

mod support;

use std::collections::HashMap;
use std::io::Write;
use std::net::SocketAddr;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::{Request, Response};
use lambda_fpm_testkit::{Answer, url_event, v2};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use support::Lambda;

// ------------------------------------------------------------------------------------------
// helpers

/// A request the file server saw: path and lower-case headers.
type Seen = (String, HashMap<String, String>);

/// A tiny HTTP file server on 127.0.0.1: path → (body, delay before answering).
#[derive(Clone, Default)]
struct FileServer {
    addr: Option<SocketAddr>,
    files: Arc<Mutex<HashMap<String, (Bytes, Duration)>>>,
    /// (path, lower-case headers) of every request.
    seen: Arc<Mutex<Vec<Seen>>>,
    /// path -> Location of a 302
    redirects: Arc<Mutex<HashMap<String, String>>>,
}

impl FileServer {
    async fn start() -> FileServer {
        let mut server = FileServer::default();
        let s = server.clone();
        let running = lambda_fpm_testkit::serve::Server::loopback(move |req: Request<Incoming>| {
            let s = s.clone();
            async move {
                let path = req.uri().path().to_string();
                let headers = req
                    .headers()
                    .iter()
                    .map(|(k, v)| (k.as_str().to_string(), v.to_str().unwrap_or("").to_string()))
                    .collect();
                s.seen.lock().unwrap().push((path.clone(), headers));
                if let Some(to) = s.redirects.lock().unwrap().get(&path).cloned() {
                    return Ok::<_, hyper::Error>(
                        Response::builder()
                            .status(302)
                            .header("location", to)
                            .body(Full::new(Bytes::new()))
                            .unwrap(),
                    );
                }
                let found = s.files.lock().unwrap().get(&path).cloned();
                Ok::<_, hyper::Error>(match found {
                    Some((body, delay)) => {
                        tokio::time::sleep(delay).await;
                        Response::builder()
                            .header("content-type", "application/octet-stream")
                            .body(Full::new(body))
                            .unwrap()
                    }
                    None => Response::builder()
                        .status(404)
                        .body(Full::new(Bytes::from_static(b"<Error>NoSuchKey</Error>")))
                        .unwrap(),
                })
            }
        })
        .await
        .unwrap();
        server.addr = Some(running.addr);
        server
    }

    /// `path` answers 302 to `location`; returns the URL of `path`.
    fn redirect(&self, path: &str, location: &str) -> String {
        self.redirects
            .lock()
            .unwrap()
            .insert(path.to_string(), location.to_string());
        self.url(path)
    }

    fn put(&self, path: &str, body: Vec<u8>) -> String {
        self.put_slow(path, body, Duration::ZERO)
    }

    fn put_slow(&self, path: &str, body: Vec<u8>, delay: Duration) -> String {
        self.files
            .lock()
            .unwrap()
            .insert(path.to_string(), (Bytes::from(body), delay));
        self.url(path)
    }

    fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr.unwrap())
    }
}

fn sha256_hex(data: &[u8]) -> String {
    Sha256::digest(data)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

fn fixture_site() -> PathBuf {
    support::repo().join("tests/fixtures/commands/synthetic-wordpress")
}

fn walk(dir: &Path, prefix: &str, out: &mut Vec<(String, Vec<u8>)>) {
    let mut entries: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap())
        .collect();
    entries.sort_by_key(|e| e.file_name());
    for e in entries {
        let name = format!("{prefix}{}", e.file_name().to_string_lossy());
        if e.file_type().unwrap().is_dir() {
            walk(&e.path(), &format!("{name}/"), out);
        } else {
            out.push((name, std::fs::read(e.path()).unwrap()));
        }
    }
}

/// The synthetic site's files under `prefix` (e.g. `wordpress/`), with VERSION.txt replaced.
fn site_files(prefix: &str, version: &str) -> Vec<(String, Vec<u8>)> {
    let mut files = Vec::new();
    walk(&fixture_site(), prefix, &mut files);
    for (name, data) in &mut files {
        if name.ends_with("VERSION.txt") {
            *data = version.as_bytes().to_vec();
        }
    }
    files
}

enum Extra<'a> {
    /// Raw name (written byte for byte, `..` included, as a hostile archiver would).
    File(&'a str, &'a [u8]),
    Symlink(&'a str, &'a str),
}

fn tar_gz(files: &[(String, Vec<u8>)], extra: &[Extra<'_>]) -> Vec<u8> {
    let enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    let mut b = tar::Builder::new(enc);
    for (name, data) in files {
        let mut h = tar::Header::new_gnu();
        h.set_size(data.len() as u64);
        h.set_mode(0o664);
        h.set_entry_type(tar::EntryType::Regular);
        b.append_data(&mut h, name, &data[..]).unwrap();
    }
    for e in extra {
        match e {
            Extra::File(name, data) => {
                let mut h = tar::Header::new_gnu();
                h.set_size(data.len() as u64);
                h.set_mode(0o644);
                h.set_entry_type(tar::EntryType::Regular);
                h.as_old_mut().name[..name.len()].copy_from_slice(name.as_bytes());
                h.set_cksum();
                b.append(&h, *data).unwrap();
            }
            Extra::Symlink(name, target) => {
                let mut h = tar::Header::new_gnu();
                h.set_entry_type(tar::EntryType::Symlink);
                h.set_size(0);
                h.set_mode(0o777);
                h.as_old_mut().name[..name.len()].copy_from_slice(name.as_bytes());
                h.as_old_mut().linkname[..target.len()].copy_from_slice(target.as_bytes());
                h.set_cksum();
                b.append(&h, std::io::empty()).unwrap();
            }
        }
    }
    b.into_inner().unwrap().finish().unwrap()
}

fn zip_of(files: &[(String, Vec<u8>)]) -> Vec<u8> {
    use zip::write::SimpleFileOptions;
    let mut w = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let o = SimpleFileOptions::default().compression_method(zip::CompressionMethod::Deflated);
    for (name, data) in files {
        w.start_file(name.as_str(), o).unwrap();
        w.write_all(data).unwrap();
    }
    w.finish().unwrap().into_inner()
}

fn empty_root(tag: &str) -> PathBuf {
    let base = lambda_fpm_testkit::temp::dir(&format!("cmd-{tag}"));
    let root = base.join("efs");
    std::fs::create_dir_all(&root).unwrap();
    root
}

/// The root's entries, except the install lock (a permanent dot-file once an install ran).
fn listing(root: &Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(root)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n != lambda_fpm::commands::install_lock::LOCK)
        .collect();
    v.sort();
    v
}

const PHP_CLI: &str = support::LAYER_PHP_CLI;

async fn start(tag: &str, root: PathBuf, extra: &[(&str, &str)]) -> Lambda {
    let mut env = vec![
        ("LAMBDA_FPM_PHP_CLI", PHP_CLI),
        ("LAMBDA_FPM_DIRECT_SCHEME", "http"),
    ];
    env.extend_from_slice(extra);
    Lambda::start_with_root(tag, root, &env).await
}

/// A command's outcome: Ok(result document) or Err(the failure document from errorMessage).
fn outcome(answer: Answer) -> Result<Value, Value> {
    match answer {
        Answer::Buffered(v) => {
            assert_eq!(v["ok"], true, "buffered answers are successes: {v}");
            Ok(v)
        }
        Answer::Error(e) => {
            let message = e["errorMessage"].as_str().unwrap_or_else(|| panic!("{e}"));
            let doc: Value = serde_json::from_str(message)
                .unwrap_or_else(|err| panic!("errorMessage is not JSON ({err}): {message}"));
            assert_eq!(doc["ok"], false, "{doc}");
            Err(doc)
        }
        other => panic!("unexpected answer {other:?}"),
    }
}

async fn command(l: &Lambda, body: Value) -> Result<Value, Value> {
    outcome(l.invoke(json!({ "lambda_fpm": body })).await)
}

async fn php(l: &Lambda, args: &[&str]) -> Result<Value, Value> {
    command(l, json!({"command": "php", "args": args})).await
}

fn mode(p: &Path) -> u32 {
    std::fs::symlink_metadata(p).unwrap().permissions().mode() & 0o777
}

// ------------------------------------------------------------------------------------------
// install

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn install_from_loopback_then_idempotent_refuse_and_force() {
    let server = FileServer::start().await;
    let v1 = tar_gz(&site_files("wordpress/", "v1"), &[]);
    let url1 = server.put("/dl/wordpress-v1.tar.gz", v1.clone());
    let root = empty_root("install");
    let l = start("install", root.clone(), &[]).await;

    let r = command(
        &l,
        json!({"command": "install", "url": url1, "sha256": sha256_hex(&v1)}),
    )
    .await
    .unwrap();
    assert_eq!(r["command"], "install");
    assert_eq!(r["changed"], true);
    assert_eq!(r["format"], "tar.gz");
    assert_eq!(r["stripped"], "wordpress");
    assert_eq!(r["sha256"], sha256_hex(&v1));
    assert_eq!(r["files"], 8);
    assert_eq!(r["cleaned_stale_staging"], false);

    // the tree, stripped of wordpress/, with normalized modes (and the code mirror's new
    // generation marker in .lambda-fpm/: the code was replaced)
    assert!(
        r["code_generation"].as_str().is_some_and(|g| !g.is_empty()),
        "{r}"
    );
    assert_eq!(
        std::fs::read_to_string(root.join(".lambda-fpm/code-generation"))
            .unwrap()
            .trim(),
        r["code_generation"].as_str().unwrap()
    );
    assert_eq!(
        listing(&root),
        vec![
            ".lambda-fpm",
            ".lambda-fpm-install.json",
            "VERSION.txt",
            "index.php",
            "wp-admin",
            "wp-config.php",
            "wp-content",
            "wp-cron.php",
            "wp-login.php",
            "wp-salts.php",
            "wp-settings.php"
        ]
    );
    assert_eq!(mode(&root.join("index.php")), 0o644);
    assert_eq!(mode(&root.join("wp-admin")), 0o755);
    assert_eq!(mode(&root.join("wp-content/uploads")), 0o755);
    assert_eq!(mode(&root.join("wp-config.php")), 0o640);
    assert_eq!(mode(&root.join("wp-salts.php")), 0o640);
    // wp-config.php is the repository's template; salts are fresh and complete
    assert_eq!(
        std::fs::read_to_string(root.join("wp-config.php")).unwrap(),
        std::fs::read_to_string(support::repo().join("php/wp-config.php")).unwrap()
    );
    let salts = std::fs::read_to_string(root.join("wp-salts.php")).unwrap();
    assert_eq!(salts.matches("|| define('").count(), 8, "{salts}");
    // PHP agrees the salts file defines 8 distinct 64-character constants
    let check = php(
        &l,
        &[
            "-r",
            "require 'wp-salts.php'; $v = array(AUTH_KEY, SECURE_AUTH_KEY, LOGGED_IN_KEY, NONCE_KEY, AUTH_SALT, SECURE_AUTH_SALT, LOGGED_IN_SALT, NONCE_SALT); echo count(array_unique($v)), ':', implode(',', array_map('strlen', $v));",
        ],
    )
    .await
    .unwrap();
    assert_eq!(check["stdout"], "8:64,64,64,64,64,64,64,64");

    // php-fpm serves the installed site
    let page = v2(l.invoke(url_event("GET", "/", "", &[], None)).await);
    assert_eq!(page.status, 200);
    assert_eq!(page.text(), "SYNTH-SITE v1");
    let css = v2(l
        .invoke(url_event(
            "GET",
            "/wp-content/themes/synthetic/style.css",
            "",
            &[],
            None,
        ))
        .await);
    assert!(css.text().contains("#123456"));

    // same source again: nothing to do
    let again = command(&l, json!({"command": "install", "url": url1}))
        .await
        .unwrap();
    assert_eq!(again["already_installed"], true);
    assert_eq!(again["changed"], false);

    // another source: refused, site untouched
    let v2_zip = zip_of(&site_files("wordpress-6.9/", "v2"));
    let url2 = server.put("/dl/wordpress-v2.zip", v2_zip.clone());
    let refused = command(&l, json!({"command": "install", "url": url2}))
        .await
        .unwrap_err();
    let msg = refused["error"].as_str().unwrap();
    assert!(
        msg.contains("not empty") && msg.contains("\"force\": true"),
        "{msg}"
    );
    assert_eq!(
        std::fs::read_to_string(root.join("VERSION.txt")).unwrap(),
        "v1"
    );

    // force: the old site is moved aside, the new one (a zip, other top dir) is served
    let forced = command(
        &l,
        json!({"command": "install", "url": url2, "sha256": sha256_hex(&v2_zip), "force": true}),
    )
    .await
    .unwrap();
    assert_eq!(forced["format"], "zip");
    assert_eq!(forced["stripped"], "wordpress-6.9");
    let previous = forced["previous_site"].as_str().unwrap().to_string();
    assert!(previous.starts_with(".lambda-fpm-previous-"), "{previous}");
    assert_eq!(
        std::fs::read_to_string(root.join("VERSION.txt")).unwrap(),
        "v2"
    );
    assert_eq!(
        std::fs::read_to_string(root.join(&previous).join("VERSION.txt")).unwrap(),
        "v1"
    );
    let page = v2(l.invoke(url_event("GET", "/", "", &[], None)).await);
    assert_eq!(page.text(), "SYNTH-SITE v2");
    // the moved-aside site, the marker and the salts are not served
    for path in [
        format!("/{previous}/VERSION.txt"),
        "/.lambda-fpm-install.json".to_string(),
        "/wp-salts.php".to_string(),
    ] {
        let r = v2(l.invoke(url_event("GET", &path, "", &[], None)).await);
        assert!(!r.text().contains("v1"), "{path}: {}", r.text());
        assert!(!r.text().contains("define("), "{path}: {}", r.text());
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn install_rejects_bad_archives_and_leaves_root_empty() {
    let server = FileServer::start().await;
    let root = empty_root("badarchives");
    let l = start("badarchives", root.clone(), &[]).await;
    let good = tar_gz(&site_files("wordpress/", "v1"), &[]);

    let mut corrupt = good.clone();
    let n = corrupt.len();
    corrupt.truncate(n * 2 / 3);
    let mut flipped = good.clone();
    for b in &mut flipped[200..260] {
        *b ^= 0x5a;
    }
    let dotdot = tar_gz(
        &site_files("wordpress/", "v1"),
        &[Extra::File(
            "wordpress/../../escaped.php",
            b"<?php echo 'escaped';",
        )],
    );
    let link_out = tar_gz(
        &site_files("wordpress/", "v1"),
        &[Extra::Symlink(
            "wordpress/wp-content/passwd",
            "../../../../../../etc/passwd",
        )],
    );
    let abs_link = tar_gz(
        &site_files("wordpress/", "v1"),
        &[Extra::Symlink("wordpress/etc", "/etc")],
    );
    let absolute = tar_gz(&[], &[Extra::File("/tmp/lambda-fpm-absolute.php", b"x")]);

    let cases: Vec<(&str, Value, &str)> = vec![
        (
            "truncated",
            json!({"url": server.put("/truncated.tar.gz", corrupt)}),
            "corrupt",
        ),
        (
            "bit-flipped",
            json!({"url": server.put("/flipped.tar.gz", flipped)}),
            "corrupt",
        ),
        (
            "checksum",
            json!({"url": server.put("/good.tar.gz", good.clone()), "sha256": "0".repeat(64)}),
            "checksum mismatch",
        ),
        (
            "dotdot",
            json!({"url": server.put("/dotdot.tar.gz", dotdot)}),
            "climbs out with '..'",
        ),
        (
            "symlink-out",
            json!({"url": server.put("/link.tar.gz", link_out)}),
            "points outside the site",
        ),
        (
            "absolute-symlink",
            json!({"url": server.put("/abslink.tar.gz", abs_link)}),
            "absolute path",
        ),
        (
            "absolute-name",
            json!({"url": server.put("/abs.tar.gz", absolute)}),
            "absolute path",
        ),
        (
            "not-an-archive",
            json!({"url": server.put("/page.html", b"<html>Access denied</html>".to_vec())}),
            "not a zip, tar.gz or tar archive",
        ),
        ("404", json!({"url": server.url("/missing.zip")}), "404"),
        // a pre-signed URL's credentials are never repeated in the result or the log
        (
            "presigned-404",
            json!({"url": format!("{}?X-Amz-Credential=AKIAEXAMPLE%2F20261203&X-Amz-Signature=sig-secret-77aa", server.url("/gone.zip"))}),
            "/gone.zip?…",
        ),
    ];
    for (name, mut spec, want) in cases {
        spec["command"] = json!("install");
        let e = command(&l, spec).await.unwrap_err();
        let msg = e["error"].as_str().unwrap();
        assert!(msg.contains(want), "{name}: {msg:?} lacks {want:?}");
        assert!(
            listing(&root).is_empty(),
            "{name}: root not empty: {:?}",
            listing(&root)
        );
    }
    let log = std::fs::read_to_string(Lambda::log_path("badarchives")).unwrap();
    assert!(
        log.contains("gone.zip"),
        "the failed install is not in the log"
    );
    assert!(!log.contains("sig-secret-77aa") && !log.contains("AKIAEXAMPLE"));
    assert!(!root.parent().unwrap().join("escaped.php").exists());
    assert!(!Path::new("/tmp/lambda-fpm-absolute.php").exists());

    // and the same root still takes a good archive
    let url = server.put("/good2.tar.gz", good);
    let ok = command(&l, json!({"command": "install", "url": url}))
        .await
        .unwrap();
    assert_eq!(ok["changed"], true);
    assert!(root.join("wp-cron.php").is_file());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn install_is_resumable_after_a_timeout() {
    let server = FileServer::start().await;
    let archive = tar_gz(&site_files("wordpress/", "v1"), &[]);
    let slow = server.put_slow("/slow.tar.gz", archive.clone(), Duration::from_secs(6));
    let root = empty_root("resume");
    let l = start(
        "resume",
        root.clone(),
        &[("LAMBDA_FPM_TIMEOUT_MARGIN_MS", "500")],
    )
    .await;

    // 1. the invocation runs out of time while downloading: a clear error, nothing installed
    let started = Instant::now();
    let answer = l
        .api
        .invoke_with_timeout(
            json!({"lambda_fpm": {"command": "install", "url": slow}}),
            Duration::from_millis(2500),
        )
        .await;
    let e = outcome(answer).unwrap_err();
    assert!(
        started.elapsed() < Duration::from_millis(2500),
        "answered before the deadline"
    );
    assert!(
        e["error"]
            .as_str()
            .unwrap()
            .contains("ran out of time downloading"),
        "{e}"
    );
    assert!(listing(&root).is_empty(), "{:?}", listing(&root));

    // 2. a half-finished staging dir (sandbox killed mid-extraction) is cleaned on retry
    let staging = root.join(".lambda-fpm-staging");
    std::fs::create_dir_all(staging.join("tree/wordpress/wp-includes")).unwrap();
    std::fs::write(staging.join("archive.download"), b"partial").unwrap();
    let url = server.put("/fast.tar.gz", archive.clone());
    let r = command(&l, json!({"command": "install", "url": url}))
        .await
        .unwrap();
    assert_eq!(r["cleaned_stale_staging"], true);
    assert_eq!(r["resumed"], false);
    assert!(!staging.exists());
    assert!(
        !root.join("wp-includes").exists(),
        "stale staging content must not leak in"
    );

    // 3. killed during the commit: the tree was complete (ready.json), some entries moved
    let root2 = empty_root("resume2");
    let l2 = start("resume2", root2.clone(), &[]).await;
    let staging = root2.join(".lambda-fpm-staging");
    let content = staging.join("tree/wordpress");
    for (name, data) in site_files("", "v-resumed") {
        let p = content.join(&name);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, data).unwrap();
    }
    std::fs::write(content.join("wp-config.php"), "<?php // staged").unwrap();
    std::fs::rename(content.join("wp-admin"), root2.join("wp-admin")).unwrap();
    std::fs::write(
        staging.join("ready.json"),
        json!({"source": url, "sha256": sha256_hex(&archive), "force": false,
               "content": "tree/wordpress", "previous": null, "old_moved": true,
               "stripped": "wordpress", "format": "tar.gz", "files": 8, "bytes": 1000})
        .to_string(),
    )
    .unwrap();
    let r = command(&l2, json!({"command": "install", "url": url}))
        .await
        .unwrap();
    assert_eq!(r["resumed"], true);
    assert!(!staging.exists());
    assert_eq!(
        std::fs::read_to_string(root2.join("VERSION.txt")).unwrap(),
        "v-resumed"
    );
    assert!(root2.join("wp-admin/index.php").is_file());
    let page = v2(l2.invoke(url_event("GET", "/", "", &[], None)).await);
    assert_eq!(page.text(), "SYNTH-SITE v-resumed");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_second_install_is_refused_while_one_runs() {
    // two sandboxes, one EFS root: B is asked to install while A is still downloading
    let server = FileServer::start().await;
    let archive = tar_gz(&site_files("wordpress/", "first"), &[]);
    let slow = server.put_slow("/slow.tar.gz", archive.clone(), Duration::from_secs(2));
    let other = server.put(
        "/other.tar.gz",
        tar_gz(&site_files("wordpress/", "second"), &[]),
    );
    let root = empty_root("lock");
    let a = start("lock-a", root.clone(), &[]).await;
    let b = start("lock-b", root.clone(), &[]).await;
    let a_install = command(&a, json!({"command": "install", "url": slow}));
    let b_install = async {
        tokio::time::sleep(Duration::from_millis(700)).await;
        command(&b, json!({"command": "install", "url": other})).await
    };
    let (a_result, b_result) = tokio::join!(a_install, b_install);
    let refused = b_result.unwrap_err();
    let msg = refused["error"].as_str().unwrap();
    assert!(msg.contains("another install is running"), "{msg}");
    assert!(msg.contains("nothing was changed"), "{msg}");
    // A was not disturbed: its site is complete
    let done = a_result.unwrap();
    assert_eq!(done["changed"], true);
    assert_eq!(
        std::fs::read_to_string(root.join("VERSION.txt")).unwrap(),
        "first"
    );
    // and once A is done, B may install (here: refused as the root is no longer empty)
    let again = command(&b, json!({"command": "install", "url": other}))
        .await
        .unwrap_err();
    assert!(
        again["error"].as_str().unwrap().contains("not empty"),
        "{again}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn install_from_s3_sends_a_sigv4_signed_get() {
    // Real S3 cannot be reached here: a loopback server stands in (AWS_ENDPOINT_URL_S3, as in
    // the AWS SDKs) and checks the request's signing shape. The signature itself is checked
    // against AWS's published example in the unit tests (src/commands/fetch.rs).
    let server = FileServer::start().await;
    let archive = tar_gz(&site_files("wordpress/", "s3"), &[]);
    server.put("/wp-releases/sites/blog.tar.gz", archive.clone());
    let root = empty_root("s3");
    let endpoint = server.url("");
    let l = start(
        "s3",
        root.clone(),
        &[
            ("AWS_ACCESS_KEY_ID", "ASIATESTKEY"),
            ("AWS_SECRET_ACCESS_KEY", "testsecret"),
            ("AWS_SESSION_TOKEN", "session-token-value"),
            ("AWS_REGION", "eu-west-1"),
            ("AWS_ENDPOINT_URL_S3", &endpoint),
        ],
    )
    .await;
    let r = command(
        &l,
        json!({"command": "install", "url": "s3://wp-releases/sites/blog.tar.gz",
               "sha256": sha256_hex(&archive)}),
    )
    .await
    .unwrap();
    assert_eq!(r["source"], "s3://wp-releases/sites/blog.tar.gz");
    assert_eq!(
        std::fs::read_to_string(root.join("VERSION.txt")).unwrap(),
        "s3"
    );
    let seen = server.seen.lock().unwrap().clone();
    let (path, h) = seen.last().unwrap();
    assert_eq!(path, "/wp-releases/sites/blog.tar.gz");
    let auth = &h["authorization"];
    assert!(
        auth.starts_with("AWS4-HMAC-SHA256 Credential=ASIATESTKEY/"),
        "{auth}"
    );
    assert!(auth.contains("/eu-west-1/s3/aws4_request, SignedHeaders=host;x-amz-content-sha256;x-amz-date;x-amz-security-token, Signature="), "{auth}");
    assert_eq!(h["x-amz-security-token"], "session-token-value");
    assert_eq!(
        h["x-amz-content-sha256"],
        "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
    );
    assert_eq!(h["x-amz-date"].len(), 16);

    // without credentials: a clear error naming the variable
    let root2 = empty_root("s3-nocreds");
    let l2 = start("s3-nocreds", root2, &[("AWS_REGION", "eu-west-1")]).await;
    let e = command(&l2, json!({"command": "install", "url": "s3://b-1/k.zip"}))
        .await
        .unwrap_err();
    assert!(
        e["error"]
            .as_str()
            .unwrap()
            .contains("AWS_ACCESS_KEY_ID is not set"),
        "{e}"
    );
}

// ------------------------------------------------------------------------------------------
// php

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn php_command_success_failure_timeout_and_huge_output() {
    let l = Lambda::start(
        "php-cli",
        &[
            ("LAMBDA_FPM_PHP_CLI", PHP_CLI),
            ("LAMBDA_FPM_ORIGIN_SECRET", "0123456789abcdef-secret"),
            ("WORDPRESS_DB_NAME", "from-function-env"),
            ("LAMBDA_FPM_ICU_DATA", "/srv/icu-addon"),
        ],
    )
    .await;
    let root = std::fs::canonicalize(&l.root).unwrap();

    // success: runs in the document root, with the layer's php.ini, scan dir and function env
    let r = php(
        &l,
        &[
            "-r",
            "echo json_encode(array('cwd' => getcwd(), 'ini' => php_ini_loaded_file(), 'scan' => getenv('PHP_INI_SCAN_DIR'), 'db' => getenv('WORDPRESS_DB_NAME'), 'secret' => getenv('LAMBDA_FPM_ORIGIN_SECRET'), 'icu' => getenv('ICU_DATA'), 'argv' => $argv)); fwrite(STDERR, 'to stderr');",
            "--",
            "a b",
            "--flag",
        ],
    )
    .await
    .unwrap();
    assert_eq!(r["exit_code"], 0);
    assert_eq!(r["timed_out"], false);
    assert_eq!(r["stderr"], "to stderr");
    let out: Value = serde_json::from_str(r["stdout"].as_str().unwrap()).unwrap();
    assert_eq!(out["cwd"], root.display().to_string());
    assert_eq!(
        out["ini"],
        support::repo().join("php/php.ini").display().to_string()
    );
    assert_eq!(out["scan"], support::LAYER_PHP_SCAN_DIR);
    assert_eq!(out["db"], "from-function-env");
    assert_eq!(
        out["icu"], "/srv/icu-addon",
        "ICU_DATA from LAMBDA_FPM_ICU_DATA"
    );
    assert_eq!(out["secret"], false, "the origin secret must not reach PHP");
    assert_eq!(out["argv"], json!(["Standard input code", "a b", "--flag"]));

    // a script file in the document root (like wp-cli.phar)
    std::fs::write(
        l.root.join("tool.php"),
        "<?php echo 'tool:', implode(',', array_slice($argv, 1)); exit((int) ($argv[2] ?? 0));",
    )
    .unwrap();
    let r = php(&l, &["tool.php", "list", "0"]).await.unwrap();
    assert_eq!(r["stdout"], "tool:list,0");

    // non-zero exit: the invocation fails, with exit code, stdout and stderr
    let e = php(
        &l,
        &[
            "-r",
            "echo 'partial'; fwrite(STDERR, 'Error: no such plugin'); exit(3);",
        ],
    )
    .await
    .unwrap_err();
    assert_eq!(e["command"], "php");
    assert_eq!(e["exit_code"], 3);
    assert_eq!(e["stdout"], "partial");
    assert_eq!(e["stderr"], "Error: no such plugin");
    assert_eq!(e["error"], "php exited with code 3");
    let e = php(&l, &["tool.php", "x", "7"]).await.unwrap_err();
    assert_eq!(e["exit_code"], 7);
    // a fatal error is a failure too
    let e = php(&l, &["-r", "undefined_function_xyz();"])
        .await
        .unwrap_err();
    assert_eq!(e["exit_code"], 255);
    assert!(
        e["stderr"]
            .as_str()
            .unwrap()
            .contains("undefined_function_xyz")
            || e["stdout"]
                .as_str()
                .unwrap()
                .contains("undefined_function_xyz"),
        "{e}"
    );

    // timeout_ms: killed (with its child processes), reported as timed out
    let started = Instant::now();
    let e = command(
        &l,
        json!({"command": "php", "args": ["-r", "echo 'started'; flush(); sleep(30);"], "timeout_ms": 1000}),
    )
    .await
    .unwrap_err();
    let took = started.elapsed();
    assert!(took < Duration::from_secs(5), "took {took:?}");
    assert_eq!(e["timed_out"], true);
    assert_eq!(e["exit_code"], Value::Null);
    assert_eq!(e["signal"], 9);
    assert_eq!(e["stdout"], "started");
    assert!(e["error"].as_str().unwrap().contains("killed"), "{e}");

    // the invocation's own deadline (3 s, margin 1 s) bounds PHP without timeout_ms
    let started = Instant::now();
    let answer = l
        .api
        .invoke_with_timeout(
            json!({"lambda_fpm": {"command": "php", "args": ["-r", "sleep(60);"]}}),
            Duration::from_secs(3),
        )
        .await;
    let e = outcome(answer).unwrap_err();
    let took = started.elapsed();
    assert!(
        took >= Duration::from_millis(1500) && took < Duration::from_secs(3),
        "took {took:?}"
    );
    assert_eq!(e["timed_out"], true);

    // huge output: head and tail kept with a marker; the payload stays small
    let r = command(
        &l,
        json!({"command": "php", "args": ["-r", "echo 'HEAD'; echo str_repeat('x', 5000000); echo 'TAIL'; fwrite(STDERR, str_repeat('e', 300000));"]}),
    )
    .await
    .unwrap();
    assert_eq!(r["stdout_bytes"], 5_000_008);
    assert_eq!(r["stdout_truncated"], true);
    assert_eq!(r["stderr_truncated"], true);
    assert_eq!(r["stderr_bytes"], 300_000);
    let stdout = r["stdout"].as_str().unwrap();
    assert!(stdout.starts_with("HEADxxx"));
    assert!(stdout.ends_with("xxxTAIL"));
    assert!(
        stdout.contains("HEADxxx")
            && stdout.contains("xxx\n[… lambda-fpm: 4737864 bytes omitted; 5000008 bytes in total, the first 131072 and last 131072 shown …]\nxxx"),
        "{:?}",
        stdout.get(131000..131300)
    );
    assert!(r.to_string().len() < 700_000);
    // control characters grow 6x as JSON: the result is shrunk to fit Lambda's 6 MB limit
    let r = command(
        &l,
        json!({"command": "php", "args": ["-r", "echo str_repeat(chr(1), 3000000);"], "max_output_bytes": 1048576}),
    )
    .await
    .unwrap();
    assert_eq!(r["stdout_bytes"], 3_000_000);
    assert!(
        r["stdout"]
            .as_str()
            .unwrap()
            .contains("to fit Lambda's 6 MB response limit")
    );
    assert!(r.to_string().len() < 1_000_000, "{}", r.to_string().len());

    // the process keeps serving HTTP afterwards
    let page = v2(l
        .invoke(url_event(
            "GET",
            "/robots.txt",
            "",
            &[("x-origin-secret", "0123456789abcdef-secret")],
            None,
        ))
        .await);
    assert_eq!(page.status, 200);
}

// ------------------------------------------------------------------------------------------
// cron, warm, malformed envelopes

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cron_requests_wp_cron_through_php_fpm() {
    let root = empty_root("cron");
    for (name, data) in site_files("", "v1") {
        let p = root.join(&name);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, data).unwrap();
    }
    let l = start("cron", root.clone(), &[]).await;
    let r = command(&l, json!({"command": "cron"})).await.unwrap();
    assert_eq!(r["status"], 200);
    assert_eq!(r["url"], "/wp-cron.php?doing_wp_cron");
    assert!(r["php_ms"].is_u64());
    let r = command(&l, json!({"command": "cron", "host": "www.example.com"}))
        .await
        .unwrap();
    assert_eq!(r["host"], "www.example.com");

    let log = std::fs::read_to_string(root.join("wp-content/cron-calls.log")).unwrap();
    let calls: Vec<Value> = log
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(calls.len(), 2);
    assert_eq!(calls[0]["method"], "GET");
    assert_eq!(calls[0]["script_name"], "/wp-cron.php");
    assert_eq!(calls[0]["query"], "doing_wp_cron");
    assert_eq!(calls[0]["get"], json!({"doing_wp_cron": ""}));
    assert_eq!(calls[0]["host"], "localhost");
    assert_eq!(
        calls[0]["document_root"],
        std::fs::canonicalize(&root).unwrap().display().to_string()
    );
    assert_eq!(calls[1]["host"], "www.example.com");

    // the Terraform schedule's exact input
    let tf: Value = serde_json::from_str(r#"{"lambda_fpm":{"command":"cron"}}"#).unwrap();
    assert!(outcome(l.invoke(tf).await).is_ok());

    // no WordPress: a failure that says why
    std::fs::remove_file(root.join("wp-cron.php")).unwrap();
    let e = command(&l, json!({"command": "cron"})).await.unwrap_err();
    assert!(
        e["error"].as_str().unwrap().contains("no wp-cron.php"),
        "{e}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn warm_starts_php_fpm_and_requests_paths() {
    let l = Lambda::start("warm", &[]).await;
    let r = command(&l, json!({"command": "warm"})).await.unwrap();
    assert!(r["php_fpm_starts"].as_u64().unwrap() >= 1);
    assert_eq!(r["paths"], json!([]));

    let r = command(
        &l,
        json!({"command": "warm", "paths": ["/", "/server.php?x=1", "/robots.txt", "/.env", "/status.php?code=500"]}),
    )
    .await
    .unwrap();
    let paths = r["paths"].as_array().unwrap();
    assert_eq!(paths[0]["script"], "index.php");
    assert_eq!(paths[0]["status"], 200);
    assert_eq!(paths[1]["script"], "server.php");
    assert!(
        paths[2]["skipped"].as_str().unwrap().contains("static"),
        "{r}"
    );
    assert!(
        paths[3]["skipped"].as_str().unwrap().contains("denied"),
        "{r}"
    );
    assert_eq!(r["php_fpm_started"], false, "already running");

    // after php-fpm was killed, warm starts it again
    let before = r["php_fpm_starts"].as_u64().unwrap();
    let status = std::fs::read_to_string(l.runtime_dir.join("php-fpm.pid")).unwrap();
    let pid: i32 = status.trim().parse().unwrap();
    unsafe {
        libc::kill(pid, libc::SIGKILL);
    }
    tokio::time::sleep(Duration::from_millis(200)).await;
    let r = command(&l, json!({"command": "warm"})).await.unwrap();
    assert_eq!(r["php_fpm_started"], true);
    assert_eq!(r["php_fpm_starts"].as_u64().unwrap(), before + 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_envelopes_fail_clearly() {
    let l = Lambda::start("envelope", &[]).await;
    let cases = [
        (
            json!({"lambda_fpm": {"command": "deploy"}}),
            "unknown command \"deploy\" (known: install, php, cron, warm)",
        ),
        (json!({"lambda_fpm": {}}), "missing \"command\""),
        (json!({"lambda_fpm": "cron"}), "lambda_fpm is a string"),
        (
            json!({"lambda_fpm": {"command": "php", "args": "-v"}}),
            "php.args must be an array of strings",
        ),
        (
            json!({"lambda_fpm": {"command": "install"}}),
            "install.url is required",
        ),
        (
            json!({"lambda_fpm": {"command": "install", "url": "http://example.com/x.zip"}}),
            "loopback",
        ),
        (
            json!({"lambda_fpm": {"command": "cron", "hots": "x"}}),
            "unknown field \"hots\"",
        ),
    ];
    for (event, want) in cases {
        let e = outcome(l.invoke(event.clone()).await).unwrap_err();
        let msg = e["error"].as_str().unwrap();
        assert!(msg.starts_with("malformed lambda_fpm envelope: "), "{msg}");
        assert!(msg.contains(want), "{event}: {msg:?} lacks {want:?}");
    }
    // still serving afterwards
    let page = v2(l
        .invoke(url_event("GET", "/robots.txt", "", &[], None))
        .await);
    assert_eq!(page.status, 200);
}

// ------------------------------------------------------------------------------------------
// real WordPress (Debian package) + MariaDB

struct MariaDb {
    child: std::process::Child,
    socket: PathBuf,
}

impl Drop for MariaDb {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl MariaDb {
    /// A private MariaDB on a unix socket (as scripts/local starts one), with a database and
    /// user `wordpress`/`wordpress`.
    fn start(dir: &Path) -> MariaDb {
        let data = dir.join("data");
        let socket = dir.join("mysqld.sock");
        let _ = std::fs::remove_dir_all(dir);
        std::fs::create_dir_all(&data).unwrap();
        let user = String::from_utf8(
            std::process::Command::new("id")
                .arg("-un")
                .output()
                .unwrap()
                .stdout,
        )
        .unwrap()
        .trim()
        .to_string();
        let out = std::process::Command::new("mariadb-install-db")
            .args([
                "--no-defaults",
                "--auth-root-authentication-method=socket",
                "--skip-test-db",
            ])
            .arg(format!("--datadir={}", data.display()))
            .arg(format!("--user={user}"))
            .output()
            .expect("mariadb-install-db (Debian mariadb-server)");
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let child = std::process::Command::new("mariadbd")
            .arg("--no-defaults")
            .arg(format!("--user={user}"))
            .arg(format!("--datadir={}", data.display()))
            .arg(format!("--socket={}", socket.display()))
            .arg(format!("--pid-file={}", dir.join("mariadb.pid").display()))
            .arg(format!("--log-error={}", dir.join("mariadb.err").display()))
            .args([
                "--skip-networking",
                "--innodb-buffer-pool-size=32M",
                "--performance-schema=OFF",
            ])
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        let db = MariaDb { child, socket };
        let started = Instant::now();
        loop {
            if db.sql("SELECT 1").is_ok() {
                break;
            }
            assert!(
                started.elapsed() < Duration::from_secs(60),
                "MariaDB did not start: {}",
                std::fs::read_to_string(dir.join("mariadb.err")).unwrap_or_default()
            );
            std::thread::sleep(Duration::from_millis(250));
        }
        db.sql("CREATE DATABASE wordpress CHARACTER SET utf8mb4; CREATE USER 'wordpress'@'localhost' IDENTIFIED BY 'wordpress'; GRANT ALL ON wordpress.* TO 'wordpress'@'localhost';")
            .unwrap();
        db
    }

    fn sql(&self, sql: &str) -> Result<String, String> {
        let out = std::process::Command::new("mariadb")
            .arg("--no-defaults")
            .arg(format!("--socket={}", self.socket.display()))
            .args(["-uroot", "-N", "-e", sql])
            .output()
            .map_err(|e| e.to_string())?;
        if out.status.success() {
            Ok(String::from_utf8_lossy(&out.stdout).into_owned())
        } else {
            Err(String::from_utf8_lossy(&out.stderr).into_owned())
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn real_wordpress_install_php_and_cron() {
    if std::env::var("LAMBDA_FPM_TEST_MARIADB").as_deref() != Ok("1") {
        eprintln!(
            "SKIPPED real_wordpress_install_php_and_cron: set LAMBDA_FPM_TEST_MARIADB=1 (scripts/test does) with the Debian wordpress + mariadb-server packages installed"
        );
        return;
    }
    // (not under empty_root("real")'s directory, which that call wipes)
    let base = std::env::temp_dir().join(format!("lambda-fpm-cmd-mariadb-{}", std::process::id()));
    let db = MariaDb::start(&base.join("mariadb"));

    // scripts/wordpress's tree (Debian trixie's WordPress 6.8, self-contained) as an archive
    let tree = support::wordpress_tree().expect(
        "LAMBDA_FPM_TEST_WORDPRESS must name scripts/wordpress's tree (scripts/test sets it)",
    );
    let archive = base.join("wordpress.tar.gz");
    let st = std::process::Command::new("tar")
        .arg("-C")
        .arg(tree.parent().unwrap())
        .arg("-czf")
        .arg(&archive)
        .arg("wordpress")
        .status()
        .unwrap();
    assert!(st.success());
    let bytes = std::fs::read(&archive).unwrap();
    let server = FileServer::start().await;
    let url = server.put("/wordpress.tar.gz", bytes.clone());

    let root = empty_root("real");
    let db_host = format!("localhost:{}", db.socket.display());
    let l = start(
        "real",
        root.clone(),
        &[
            ("WORDPRESS_DB_HOST", &db_host),
            ("WORDPRESS_DB_NAME", "wordpress"),
            ("WORDPRESS_DB_USER", "wordpress"),
            ("WORDPRESS_DB_PASSWORD", "wordpress"),
            ("WORDPRESS_DISABLE_WP_CRON", "1"),
        ],
    )
    .await;

    let started = Instant::now();
    let r = command(
        &l,
        json!({"command": "install", "url": url, "sha256": sha256_hex(&bytes)}),
    )
    .await
    .unwrap();
    eprintln!("real WordPress install: {:?}, {r}", started.elapsed());
    assert_eq!(r["stripped"], "wordpress");
    assert!(r["files"].as_u64().unwrap() > 1000, "{r}");
    assert!(root.join("wp-includes/version.php").is_file());
    // the install command puts our wp-config.php in place
    assert_eq!(
        std::fs::read_to_string(root.join("wp-config.php")).unwrap(),
        std::fs::read_to_string(support::repo().join("php/wp-config.php")).unwrap()
    );

    // wp_install() through the php command (what wp-cli's `core install` does)
    let r = php(
        &l,
        &[
            "-r",
            r#"$_SERVER['HTTP_HOST'] = 'localhost'; define('WP_INSTALLING', true);
               require 'wp-load.php'; require_once ABSPATH . 'wp-admin/includes/upgrade.php';
               add_filter('pre_wp_mail', '__return_false');
               $r = wp_install('Cron test', 'admin', 'admin@example.com', true, '', 'pw-0123456789');
               echo is_wp_error($r) ? 'ERROR' : 'user:' . $r['user_id'];"#,
        ],
    )
    .await
    .unwrap();
    assert_eq!(r["stdout"], "user:1", "{r}");

    // the site answers through php-fpm with the DB (wp-login.php shows the site title and
    // needs no theme package)
    let page = v2(l
        .invoke(url_event(
            "GET",
            "/wp-login.php",
            "",
            &[("host", "localhost")],
            None,
        ))
        .await);
    assert_eq!(
        page.status,
        200,
        "{}",
        &page.text()[..page.text().len().min(500)]
    );
    assert!(page.text().contains("Cron test"), "{}", page.text());

    // a due single event whose callback (a mu-plugin) records how it ran
    std::fs::create_dir_all(root.join("wp-content/mu-plugins")).unwrap();
    std::fs::write(
        root.join("wp-content/mu-plugins/lambda-fpm-cron-test.php"),
        r#"<?php
add_action('lambda_fpm_test_event', function ($token) {
    update_option('lambda_fpm_cron_ran', $token . '|' . (defined('DOING_CRON') && DOING_CRON ? 'DOING_CRON' : '-') . '|' . $_SERVER['SCRIPT_NAME'] . '|' . php_sapi_name());
});
"#,
    )
    .unwrap();
    let r = php(
        &l,
        &[
            "-r",
            r#"require 'wp-load.php';
               var_export(wp_schedule_single_event(time() - 60, 'lambda_fpm_test_event', array('tok-42')));
               echo '|', wp_next_scheduled('lambda_fpm_test_event', array('tok-42')) ? 'scheduled' : 'missing';
               echo '|', var_export(get_option('lambda_fpm_cron_ran'), true);"#,
        ],
    )
    .await
    .unwrap();
    assert_eq!(r["stdout"], "true|scheduled|false", "{r}");

    let r = command(&l, json!({"command": "cron"})).await.unwrap();
    assert_eq!(r["status"], 200, "{r}");

    let r = php(
        &l,
        &[
            "-r",
            r#"require 'wp-load.php';
               echo get_option('lambda_fpm_cron_ran'), '#';
               echo wp_next_scheduled('lambda_fpm_test_event', array('tok-42')) ? 'still-scheduled' : 'done';"#,
        ],
    )
    .await
    .unwrap();
    assert_eq!(
        r["stdout"], "tok-42|DOING_CRON|/wp-cron.php|fpm-fcgi#done",
        "{r}"
    );

    // the event ran exactly once: the row is in the options table
    let rows = db
        .sql("SELECT option_value FROM wordpress.wp_options WHERE option_name = 'lambda_fpm_cron_ran'")
        .unwrap();
    assert_eq!(rows.trim(), "tok-42|DOING_CRON|/wp-cron.php|fpm-fcgi");
    drop(l);
    drop(db);
    let _ = std::fs::remove_dir_all(&base);
    let _ = std::fs::remove_dir_all(root.parent().unwrap()); // ~90 MB of WordPress
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn install_follows_redirects_only_where_the_url_itself_may_go() {
    let server = FileServer::start().await;
    let good = tar_gz(&site_files("wordpress/", "v1"), &[]);
    let target = server.put("/real.tar.gz", good);
    let root = empty_root("redirects");
    let l = start("redirects", root.clone(), &[]).await;
    // a redirect to plain http off this machine is refused before any connection is made
    let to_http = server.redirect(
        "/to-http.tar.gz",
        "http://downloads.example.invalid/wordpress.tar.gz?sig=secret-9f",
    );
    let e = command(&l, json!({"command": "install", "url": to_http}))
        .await
        .unwrap_err();
    let msg = e["error"].as_str().unwrap();
    assert!(msg.contains("only https"), "{msg}");
    assert!(!msg.contains("secret-9f"), "{msg}");
    assert!(listing(&root).is_empty());
    // a redirect loop ends with a clear error
    let looping = server.redirect("/loop.tar.gz", &server.url("/loop.tar.gz"));
    let e = command(&l, json!({"command": "install", "url": looping}))
        .await
        .unwrap_err();
    assert!(e["error"].as_str().unwrap().contains("redirect"), "{e}");
    // one to a loopback http URL (what the URL itself may be) is followed
    let hop = server.redirect("/hop.tar.gz", &target);
    let ok = command(&l, json!({"command": "install", "url": hop}))
        .await
        .unwrap();
    assert_eq!(ok["changed"], true);
    assert!(root.join("wp-cron.php").is_file());
}
