//! The fuzz targets' bodies: bytes in, a panic on any broken invariant. `fuzz/` runs each one
//! under libFuzzer (`cargo fuzz run -s none <target>`, stable toolchain); the unit suite replays
//! every kept corpus file through the same function, so a regression shows without a fuzzer.
//! FUZZING.md lists the targets, their invariants, the runs and their counts.
//!
//! Compiled for the unit tests and for `--cfg fuzzing` (set by cargo-fuzz) only.

use std::collections::BTreeSet;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Component, Path, PathBuf};
use std::time::{Duration, Instant, UNIX_EPOCH};

use serde_json::{Value, json};

use crate::cgi_response::split_output;
use crate::commands::archive::{self, Limits};
use crate::commands::envelope::{self, Command, MAX_OUTPUT_LIMIT, MAX_WARM_PATHS, Source};
use crate::conditional::{Conditions, Decision, Validators, decide};
use crate::event::{EventKind, HttpResponse, Invocation, parse_event, stream_prelude_parts};
use crate::opcache::seed::{self, Restore, SeedLimits};
use crate::routing::{
    FileProbe, Probe, Route, is_php_lookalike, is_php_name, is_sensitive_name, route,
};

/// A fuzz target: the input's bytes, a panic on a broken invariant.
pub type Target = fn(&[u8]);

/// The fuzz targets, by name (the names of `fuzz/fuzz_targets/*.rs` and `fuzz/corpus/*`).
pub const TARGETS: &[(&str, Target)] = &[
    ("event", event),
    ("envelope", envelope),
    ("routing", routing),
    ("cgi_response", cgi_response),
    ("conditional", conditional),
    ("archive", archive),
    ("seed", seed),
];

// ---------------------------------------------------------------------------------------------
// A model document root

/// A model document root: every name below is a file, their parents are directories, and
/// `escape`/`uploads-link` are symlinks that leave the root (as `fs_probe` reports them).
pub struct ModelTree;

/// The model's files.
pub const MODEL_FILES: &[&str] = &[
    "index.php",
    "wp-login.php",
    "wp-config.php",
    "wp-admin/index.php",
    "wp-admin/admin-ajax.php",
    "wp-content/uploads/2024/shell.php",
    "wp-content/uploads/2024/index.php",
    "wp-content/uploads/2024/photo.jpg",
    "wp-content/uploads/2024/.user.ini",
    "wp-content/themes/t/style.css",
    "wp-content/themes/t/index.html",
    "wp-content/debug.log",
    "wp-content/plugins/p/p.php",
    "wp-content/plugins/p/readme.txt",
    ".git/config",
    ".env",
    ".well-known/security.txt",
    "backup.sql",
    "backup.sql.gz",
    "robots.txt",
    "index.php.bak",
    "index.phtml",
    "dir/index.php",
    "html/index.html",
    "empty-dir/.keep",
];

/// The model's symlinks inside the root (name -> what it really is).
pub const MODEL_LINKS: &[(&str, &str)] = &[
    ("notes.txt", "index.php"),
    ("conf.txt", "wp-config.php"),
    ("env.txt", ".env"),
    ("alias.php", "wp-content/uploads/2024/shell.php"),
    ("img.php", "wp-content/uploads/2024/photo.jpg"),
    ("media", "wp-content/uploads"),
    ("theme", "wp-content/themes/t"),
    ("latest.css", "wp-content/themes/t/style.css"),
];

/// What `relative` really is in a model tree whose symlinks are `links` (name -> target, both
/// relative to the root): a link itself, or a path below a directory link. Shared by the model
/// trees of the fuzz targets and of the routing tests.
pub fn through_links(links: &[(&str, &str)], relative: &str) -> Option<String> {
    links.iter().find_map(|(link, real)| {
        if relative == *link {
            Some(real.to_string())
        } else {
            relative
                .strip_prefix(&format!("{link}/"))
                .map(|rest| format!("{real}/{rest}"))
        }
    })
}

impl FileProbe for ModelTree {
    fn probe(&self, relative: &str) -> Probe {
        let real = through_links(MODEL_LINKS, relative);
        let relative = real.as_deref().unwrap_or(relative);
        if relative == "escape"
            || relative.starts_with("escape/")
            || relative == "wp-content/uploads-link"
            || relative.starts_with("wp-content/uploads-link/")
        {
            Probe::Outside
        } else if MODEL_FILES.contains(&relative) {
            Probe::File
        } else if relative.is_empty()
            || MODEL_FILES.iter().any(|f| {
                f.len() > relative.len()
                    && f.starts_with(relative)
                    && f.as_bytes()[relative.len()] == b'/'
            })
        {
            Probe::Dir
        } else {
            Probe::Missing
        }
    }

    fn real_path(&self, relative: &str) -> Option<String> {
        through_links(MODEL_LINKS, relative)
    }
}

/// The file a route would read or run, relative to the root.
fn target_of(r: &Route) -> Option<&str> {
    match r {
        Route::Static { relative } => Some(relative),
        Route::Php(t) => Some(&t.relative),
        Route::Redirect { .. } | Route::Deny(_) => None,
    }
}

/// What no decision may ever read or run, whatever the URL: checked on the resolved file.
pub fn assert_route_is_safe(url: &str, decided: &Route, fs: &impl FileProbe) {
    let Some(t) = target_of(decided) else {
        if let Route::Redirect { location } = decided {
            assert!(
                location.starts_with('/') && !location.starts_with("//"),
                "{url:?} -> open redirect {location:?}"
            );
            assert!(
                location.bytes().all(|b| b.is_ascii_graphic()),
                "{url:?} -> {location:?}"
            );
        }
        return;
    };
    assert_eq!(
        fs.probe(t),
        Probe::File,
        "{url:?} -> {t:?}, which is not a file in the root"
    );
    // the rules hold for what the file really is, through any symlink
    let real = fs.real_path(t);
    let t = real.as_deref().unwrap_or(t);
    let segments: Vec<&str> = t.split('/').collect();
    for (i, s) in segments.iter().enumerate() {
        assert!(!s.is_empty() && *s != "." && *s != "..", "{url:?} -> {t:?}");
        assert!(
            !s.starts_with('.') || (i == 0 && *s == ".well-known"),
            "{url:?} -> dotfile {t:?}"
        );
        assert!(
            !s.to_ascii_lowercase().starts_with("wp-config"),
            "{url:?} -> {t:?}"
        );
        assert!(!is_sensitive_name(s), "{url:?} -> sensitive {t:?}");
        assert!(!is_php_lookalike(s), "{url:?} -> PHP look-alike {t:?}");
    }
    assert!(
        !(t.starts_with("wp-content/uploads/") && t.ends_with(".php")),
        "{url:?} runs uploads PHP {t:?}"
    );
    match decided {
        Route::Static { relative } => {
            assert!(
                !relative.ends_with(".php") && !t.ends_with(".php"),
                "{url:?} serves PHP source {t:?}"
            )
        }
        Route::Php(p) => {
            assert!(
                is_php_name(segments[segments.len() - 1]),
                "{url:?} runs {t:?}"
            );
            assert_eq!(p.script_name, format!("/{}", p.relative));
            assert!(
                p.path_info.is_empty() || p.path_info.starts_with('/'),
                "{:?}",
                p.path_info
            );
        }
        _ => unreachable!(),
    }
}

/// Percent-encodes the unreserved bytes of `s` whose position's bit is set in `mask` (never
/// inside an escape already there: that would make another path).
pub fn encode_unreserved(s: &str, mask: &[u8]) -> String {
    let bit = |i: usize| mask.get(i / 8).is_some_and(|m| m & (1 << (i % 8)) != 0);
    let bytes = s.as_bytes();
    let mut out = String::with_capacity(s.len() * 3);
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes[i];
        if b == b'%' {
            let end = (i + 3).min(bytes.len());
            out.push_str(&String::from_utf8_lossy(&bytes[i..end]));
            i = end;
            continue;
        }
        if (b.is_ascii_alphanumeric() || b"-._~".contains(&b)) && bit(i) {
            out.push_str(&format!("%{b:02X}"));
            i += 1;
            continue;
        }
        // copy one whole character
        let len = match b {
            0x00..=0x7f => 1,
            0xc0..=0xdf => 2,
            0xe0..=0xef => 3,
            _ => 4,
        };
        let end = (i + len).min(bytes.len());
        out.push_str(&String::from_utf8_lossy(&bytes[i..end]));
        i = end;
    }
    out
}

// ---------------------------------------------------------------------------------------------
// Targets

/// Event JSON -> invocation, for every source; a request then routes safely.
pub fn event(data: &[u8]) {
    let Ok(value) = serde_json::from_slice::<Value>(data) else {
        return;
    };
    let has_envelope = value
        .as_object()
        .is_some_and(|o| o.contains_key("lambda_fpm"));
    match parse_event(&value) {
        Ok(Invocation::Command(_)) => {
            assert!(
                has_envelope,
                "taken for a command without a top-level lambda_fpm key: {value}"
            )
        }
        Ok(Invocation::Http(req)) => {
            assert!(!has_envelope);
            assert!(
                !req.method.is_empty() && req.method.bytes().all(|b| b.is_ascii_uppercase()),
                "{:?}",
                req.method
            );
            assert!(req.protocol.starts_with("HTTP/"), "{:?}", req.protocol);
            for (name, _) in &req.headers {
                assert_eq!(name, &name.to_ascii_lowercase());
            }
            let decided = route(&req.path, &req.query, "/index.php", &ModelTree);
            assert_route_is_safe(&req.path, &decided, &ModelTree);
        }
        Err(_) => {}
    }
}

/// HTTP events of every source carrying attacker-chosen text in their body, headers, cookies,
/// query and path are never taken for a command; an envelope parses to bounded commands.
pub fn envelope(data: &[u8]) {
    let text = String::from_utf8_lossy(data).into_owned();
    let injected =
        serde_json::from_slice::<Value>(data).unwrap_or_else(|_| Value::String(text.clone()));
    let as_object = json!({ "lambda_fpm": injected });
    let templates = [
        json!({"version": "2.0", "rawPath": "/", "rawQueryString": text, "cookies": [text],
               "headers": {"x-a": text, "lambda_fpm": text},
               "queryStringParameters": {"lambda_fpm": text},
               "requestContext": {"http": {"method": "POST", "sourceIp": "127.0.0.1"}, "lambda_fpm": injected},
               "body": text, "isBase64Encoded": false}),
        json!({"version": "2.0", "rawPath": "/wp-login.php", "rawQueryString": "",
               "headers": {"content-type": "application/json"},
               "requestContext": {"http": {"method": "POST"}},
               "body": as_object.to_string(), "isBase64Encoded": false}),
        json!({"version": "1.0", "resource": "/{proxy+}", "path": "/", "httpMethod": "POST",
               "headers": {"x-a": text}, "multiValueHeaders": {"lambda_fpm": [text]},
               "queryStringParameters": {"lambda_fpm": text},
               "multiValueQueryStringParameters": {"lambda_fpm": [text]},
               "requestContext": {"stage": "prod", "lambda_fpm": injected},
               "body": text, "isBase64Encoded": false}),
        json!({"path": "/", "httpMethod": "POST", "headers": {"lambda_fpm": text},
               "queryStringParameters": {"x": text},
               "requestContext": {"elb": {"targetGroupArn": "arn"}},
               "body": as_object.to_string(), "isBase64Encoded": false}),
    ];
    for event in &templates {
        let parsed = parse_event(event);
        assert!(
            !matches!(parsed, Ok(Invocation::Command(_))),
            "an HTTP event was taken for a command: {event}"
        );
    }
    if let Ok(command) = envelope::parse(&injected) {
        match command {
            Command::Php(p) => {
                assert!(!p.args.is_empty() && p.args.iter().all(|a| !a.contains('\0')));
                assert!(p.max_output_bytes <= MAX_OUTPUT_LIMIT);
                assert!(p.timeout.is_none_or(|t| t <= Duration::from_secs(15 * 60)));
            }
            Command::Warm(w) => {
                assert!(w.paths.len() <= MAX_WARM_PATHS);
                assert!(
                    w.paths
                        .iter()
                        .all(|p| p.starts_with('/') && !p.contains(['\r', '\n', ' ']))
                );
            }
            Command::Cron(c) => {
                assert!(
                    c.host
                        .as_deref()
                        .is_none_or(|h| !h.contains(['/', '\r', '\n', ' ', '@'])),
                    "{:?}",
                    c.host
                );
            }
            Command::Install(i) => {
                if let Source::Http(url) = &i.source {
                    let parsed = reqwest::Url::parse(url).expect("an accepted URL parses");
                    assert!(
                        parsed.scheme() == "https"
                            || (parsed.scheme() == "http" && envelope::is_loopback(&parsed)),
                        "{url}"
                    );
                }
                let shown = i.source.display();
                if let Source::Http(_) = &i.source {
                    assert!(!shown.contains('?') && !shown.contains('#'), "{shown}");
                    let after_scheme = shown.split_once("://").map_or("", |(_, r)| r);
                    let authority = after_scheme.split('/').next().unwrap_or("");
                    assert!(!authority.contains('@'), "user info shown: {shown}");
                }
            }
        }
    }
}

/// Request path -> routing decision on the model tree: never a file outside the root, never a
/// dotfile, backup, dump, log, wp-config copy or PHP look-alike read or run, never PHP in
/// uploads run, never PHP source served, and the same decision when unreserved bytes are
/// percent-encoded. Input: `path \n query \n mask`.
pub fn routing(data: &[u8]) {
    let mut parts = data.splitn(3, |&b| b == b'\n');
    let path = String::from_utf8_lossy(parts.next().unwrap_or_default()).into_owned();
    let query = String::from_utf8_lossy(parts.next().unwrap_or_default()).into_owned();
    let mask = parts.next().unwrap_or_default();
    for url in [path.clone(), format!("/{path}")] {
        let decided = route(&url, &query, "/index.php", &ModelTree);
        assert_eq!(
            decided,
            route(&url, &query, "/index.php", &ModelTree),
            "not deterministic"
        );
        assert_route_is_safe(&url, &decided, &ModelTree);
        let encoded = encode_unreserved(&url, mask);
        let again = route(&encoded, &query, "/index.php", &ModelTree);
        assert_route_is_safe(&encoded, &again, &ModelTree);
        assert_eq!(decided, again, "{url:?} and {encoded:?} differ");
    }
}

fn header_is_emittable(name: &str, value: &str) {
    assert!(
        http::HeaderName::from_bytes(name.as_bytes()).is_ok(),
        "{name:?}"
    );
    assert!(
        http::HeaderValue::from_str(value).is_ok(),
        "{name:?}: {value:?}"
    );
    assert!(!value.contains(['\r', '\n', '\0']), "{name:?}: {value:?}");
}

/// CGI output -> status, headers, body -> every source's response shape and the stream
/// prelude: no panic, no CR/LF or other control byte in any header emitted, no hop-by-hop or
/// framing header (Content-Length, Transfer-Encoding) taken from PHP, the body untouched.
pub fn cgi_response(data: &[u8]) {
    let Ok((head, body)) = split_output(data) else {
        return;
    };
    assert!((100..=999).contains(&head.status));
    assert!(data.ends_with(body));
    for (name, value) in &head.headers {
        header_is_emittable(name, value);
        assert_eq!(name, &name.to_ascii_lowercase());
        assert!(
            ![
                "content-length",
                "transfer-encoding",
                "connection",
                "status",
                "te",
                "trailer",
                "upgrade",
                "keep-alive"
            ]
            .contains(&name.as_str()),
            "{name} forwarded from PHP"
        );
    }
    let response = HttpResponse {
        status: head.status,
        headers: head.headers.clone(),
        body: bytes::Bytes::copy_from_slice(body),
    };
    let kinds = [
        EventKind::ApiGatewayV2,
        EventKind::ApiGatewayV1,
        EventKind::Alb { multi_value: true },
        EventKind::Alb { multi_value: false },
    ];
    for kind in kinds {
        let shaped = crate::event::to_event_response(kind, &response);
        assert_eq!(shaped["statusCode"], head.status);
        for field in ["headers", "multiValueHeaders"] {
            for (name, values) in shaped[field].as_object().into_iter().flatten() {
                let values: Vec<&str> = match values {
                    Value::String(s) => vec![s.as_str()],
                    Value::Array(list) => list
                        .iter()
                        .map(|v| v.as_str().expect("string header"))
                        .collect(),
                    other => panic!("header {name} is {other}"),
                };
                for v in values {
                    header_is_emittable(name, v);
                }
            }
        }
        for cookie in shaped["cookies"].as_array().into_iter().flatten() {
            header_is_emittable("set-cookie", cookie.as_str().expect("cookie string"));
        }
        // the body comes back byte for byte
        let text = shaped["body"].as_str().expect("body string");
        let back = if shaped["isBase64Encoded"] == true {
            use base64::Engine;
            base64::engine::general_purpose::STANDARD
                .decode(text)
                .expect("valid base64")
        } else {
            text.as_bytes().to_vec()
        };
        assert_eq!(back, body, "{kind:?} changed the body");
    }
    let (joined, cookies) = stream_prelude_parts(&head.headers);
    for (name, value) in &joined {
        header_is_emittable(name, value);
    }
    for c in &cookies {
        header_is_emittable("set-cookie", c);
    }
}

/// Range and conditional headers -> 200/206/304/416: a 206 range lies inside the file, a
/// matching If-None-Match always wins (and makes If-Modified-Since irrelevant), no Range means
/// no 206/416. Input: `size(2 bytes) if-none-match \n if-modified-since \n range \n if-range`,
/// an empty field meaning the header is absent.
pub fn conditional(data: &[u8]) {
    if data.len() < 2 {
        return;
    }
    let size = u64::from(u16::from_le_bytes([data[0], data[1]]))
        * if data.len().is_multiple_of(7) {
            1 << 20
        } else {
            1
        };
    let text = String::from_utf8_lossy(&data[2..]);
    let mut fields = text.splitn(4, '\n').map(|f| (!f.is_empty()).then_some(f));
    let mut next = || fields.next().flatten();
    let c = Conditions {
        if_none_match: next(),
        if_modified_since: next(),
        range: next(),
        if_range: next(),
    };
    let validators = Validators::new(size, UNIX_EPOCH + Duration::new(1_700_000_000, 5));
    let decision = decide(&validators, size, &c);
    assert_eq!(decision, decide(&validators, size, &c));
    match &decision {
        Decision::Partial(r) => {
            assert!(r.start() <= r.end() && *r.end() < size, "{r:?} of {size}");
            assert!(c.range.is_some());
        }
        Decision::Unsatisfiable => assert!(c.range.is_some()),
        Decision::NotModified => {
            assert!(c.if_none_match.is_some() || c.if_modified_since.is_some())
        }
        Decision::Full => {}
    }
    if let Some(inm) = c.if_none_match {
        let without_ims = Conditions {
            if_modified_since: None,
            ..c
        };
        assert_eq!(
            decision,
            decide(&validators, size, &without_ims),
            "If-Modified-Since counted beside If-None-Match"
        );
        if inm.split(',').any(|t| t.trim() == validators.etag) {
            assert_eq!(decision, Decision::NotModified);
        }
    }
}

/// A fresh per-process scratch directory `<tmp>/lambda-fpm-fuzz-<tag>-<pid>` (empty).
fn scratch(tag: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("lambda-fpm-fuzz-{tag}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("scratch directory");
    dir
}

fn names_in(dir: &Path) -> BTreeSet<String> {
    std::fs::read_dir(dir)
        .map(|entries| {
            entries
                .flatten()
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default()
}

/// Every entry below `dir`, relative, with its metadata (symlinks not followed).
fn walk(dir: &Path) -> Vec<(PathBuf, std::fs::Metadata)> {
    let mut out = Vec::new();
    let mut todo = vec![PathBuf::new()];
    while let Some(rel) = todo.pop() {
        for entry in std::fs::read_dir(dir.join(&rel))
            .expect("readable")
            .flatten()
        {
            let child = rel.join(entry.file_name());
            let meta = std::fs::symlink_metadata(dir.join(&child)).expect("lstat");
            if meta.is_dir() {
                todo.push(child.clone());
            }
            out.push((child, meta));
        }
    }
    out
}

fn gzip(data: &[u8]) -> Vec<u8> {
    use std::io::Write;
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    gz.write_all(data).expect("gzip in memory");
    gz.finish().expect("gzip in memory")
}

/// Install archives (zip, tar.gz, tar): nothing is written outside the staging tree, no
/// hard link, device or FIFO is created, every symlink stays inside the content root without
/// passing through another, modes are normalised, sizes and counts stay within the limits and
/// match what was reported. Input: a mode byte (odd: gzip the rest, so tar headers are what
/// mutates), then the archive.
pub fn archive(data: &[u8]) {
    let Some((&mode, rest)) = data.split_first() else {
        return;
    };
    let bytes = if mode & 1 == 1 {
        gzip(rest)
    } else {
        rest.to_vec()
    };
    let base = scratch("archive");
    let case = base.join("case");
    std::fs::create_dir(&case).expect("case directory");
    let file = case.join("archive");
    std::fs::write(&file, &bytes).expect("archive file");
    let tree = case.join("tree");
    let limits = Limits {
        max_total_bytes: 1 << 20,
        max_entries: 2000,
    };
    let result = archive::extract(
        &file,
        &tree,
        Instant::now() + Duration::from_secs(10),
        limits,
    );
    assert_eq!(
        names_in(&base),
        BTreeSet::from(["case".to_string()]),
        "written beside the case directory"
    );
    let beside = names_in(&case);
    assert!(
        beside.iter().all(|n| n == "archive" || n == "tree"),
        "written outside the tree: {beside:?}"
    );
    if tree.exists() {
        let (mut files, mut links, mut bytes) = (0usize, 0usize, 0u64);
        for (rel, meta) in walk(&tree) {
            let ft = meta.file_type();
            if ft.is_dir() {
                assert_eq!(meta.permissions().mode() & 0o7777, 0o755, "{rel:?}");
            } else if ft.is_file() {
                assert_eq!(meta.permissions().mode() & 0o7777, 0o644, "{rel:?}");
                assert_eq!(meta.nlink(), 1, "{rel:?} is hard-linked");
                files += 1;
                bytes += meta.len();
            } else if ft.is_symlink() {
                links += 1;
            } else {
                panic!("{rel:?} is neither a file, a directory nor a symlink: {ft:?}");
            }
        }
        assert!(bytes <= limits.max_total_bytes, "{bytes} bytes written");
        if let Ok((_, extracted)) = &result {
            assert_eq!(
                (extracted.files, extracted.symlinks, extracted.bytes),
                (files, links, bytes)
            );
            let root = &extracted.content_root;
            assert!(root.starts_with(&tree) && root.is_dir());
            for (rel, meta) in walk(root) {
                if meta.file_type().is_symlink() {
                    assert_link_stays_inside(root, &rel);
                }
            }
        } else {
            // a rejected archive may leave staged files, never a symlink (links come last)
            assert_eq!(links, 0, "a rejected archive left symlinks");
        }
    } else {
        assert!(result.is_err());
    }
    let _ = std::fs::remove_dir_all(&base);
}

/// A symlink at `rel` below `root` resolves, lexically and physically, inside `root`, and no
/// component on the way is itself a symlink.
fn assert_link_stays_inside(root: &Path, rel: &Path) {
    let target = std::fs::read_link(root.join(rel)).expect("readlink");
    assert!(target.is_relative(), "{rel:?} -> absolute {target:?}");
    let mut at: Vec<Component> = rel
        .parent()
        .map(|p| p.components().collect())
        .unwrap_or_default();
    let steps: Vec<Component> = target.components().collect();
    for (i, c) in steps.iter().enumerate() {
        match c {
            Component::CurDir => {}
            Component::ParentDir => {
                assert!(at.pop().is_some(), "{rel:?} -> {target:?} leaves the root");
            }
            Component::Normal(_) => {
                at.push(*c);
                let here: PathBuf = at.iter().collect();
                let is_link = std::fs::symlink_metadata(root.join(&here))
                    .is_ok_and(|m| m.file_type().is_symlink());
                assert!(
                    !(is_link && i + 1 < steps.len()),
                    "{rel:?} -> {target:?} passes through the link {here:?}"
                );
            }
            other => panic!("{rel:?} -> {target:?} has {other:?}"),
        }
    }
    // physically: if it resolves, it resolves inside the root
    if let Ok(real) = std::fs::canonicalize(root.join(rel)) {
        let real_root = std::fs::canonicalize(root).expect("root resolves");
        assert!(real.starts_with(&real_root), "{rel:?} resolves to {real:?}");
    }
}

/// Key the `seed` target signs with (modes 2 and 3).
const SEED_KEY: &[u8] = b"fuzz seed key";

/// The opcache seed (tar.zst, optionally signed): nothing outside the target, only plain files
/// and directories, within the limits and as reported; anything unusable leaves the target
/// empty; with a key, an unsigned or wrongly signed seed is never restored. Input: a mode byte
/// (0: the rest is the seed file as is; 1: zstd the rest; 2: zstd, restore with a key, unsigned;
/// 3: zstd, signed with the key, restore with it), then the bytes.
pub fn seed(data: &[u8]) {
    let Some((&mode, rest)) = data.split_first() else {
        return;
    };
    let mode = mode % 4;
    let compressed = || zstd::bulk::compress(rest, 1).expect("zstd in memory");
    let (bytes, key) = match mode {
        0 => (rest.to_vec(), None),
        1 => (compressed(), None),
        2 => (compressed(), Some(SEED_KEY)),
        _ => {
            let mut signed = compressed();
            signed.extend(seed::signature(SEED_KEY, &signed));
            (signed, Some(SEED_KEY))
        }
    };
    let base = scratch("seed");
    let file = base.join("seed.tar.zst");
    std::fs::write(&file, &bytes).expect("seed file");
    let target = base.join("opcache");
    let limits = SeedLimits {
        archive_bytes: 1 << 20,
        unpacked_bytes: 1 << 20,
        files: 500,
    };
    let restored = seed::restore_within(&file, &target, limits, key);
    assert_eq!(
        names_in(&base),
        BTreeSet::from(["seed.tar.zst".to_string(), "opcache".to_string()]),
        "written beside the target (or the staging directory left)"
    );
    let entries = walk(&target);
    for (rel, meta) in &entries {
        assert!(
            meta.is_dir() || meta.is_file(),
            "{rel:?} is {:?}",
            meta.file_type()
        );
    }
    match restored {
        Restore::Restored { files, bytes, .. } => {
            assert!(mode != 2, "an unsigned seed was restored with a key");
            let on_disk: Vec<_> = entries.iter().filter(|(_, m)| m.is_file()).collect();
            assert_eq!(on_disk.len(), files);
            assert_eq!(on_disk.iter().map(|(_, m)| m.len()).sum::<u64>(), bytes);
            assert!(bytes <= limits.unpacked_bytes && files <= limits.files);
        }
        Restore::Ignored(_) | Restore::Absent => {
            assert!(entries.is_empty(), "an unusable seed left {entries:?}")
        }
    }
    let _ = std::fs::remove_dir_all(&base);
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every seed (fuzz/seeds/<target>/), kept corpus input (fuzz/corpus/<target>/) and reproduced crash
    /// (fuzz/regressions/<target>/) still passes its target, on the stable toolchain.
    #[test]
    fn fuzz_corpora_replay() {
        let fuzz = Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz");
        let mut replayed = 0;
        for (name, target) in TARGETS {
            let mut seen = 0;
            for kind in ["seeds", "corpus", "regressions"] {
                let Ok(entries) = std::fs::read_dir(fuzz.join(kind).join(name)) else {
                    continue;
                };
                for entry in entries.flatten() {
                    let data = std::fs::read(entry.path()).unwrap();
                    let outcome = std::panic::catch_unwind(|| target(&data));
                    assert!(outcome.is_ok(), "{name}: {} fails", entry.path().display());
                    seen += 1;
                }
            }
            assert!(seen > 0, "no corpus for fuzz target {name}");
            replayed += seen;
        }
        assert!(replayed > 100, "only {replayed} corpus inputs");
    }

    #[test]
    fn model_tree_probes() {
        assert_eq!(ModelTree.probe(""), Probe::Dir);
        assert_eq!(ModelTree.probe("wp-content"), Probe::Dir);
        assert_eq!(
            ModelTree.probe("wp-content/uploads/2024/photo.jpg"),
            Probe::File
        );
        assert_eq!(ModelTree.probe("wp-cont"), Probe::Missing);
        assert_eq!(ModelTree.probe("escape/x"), Probe::Outside);
        assert_eq!(ModelTree.probe("media/2024"), Probe::Dir);
        assert_eq!(
            ModelTree.real_path("media/2024/shell.php").as_deref(),
            Some("wp-content/uploads/2024/shell.php")
        );
        assert_eq!(
            route("/notes.txt", "", "/index.php", &ModelTree),
            Route::Deny(crate::routing::DenyReason::SymlinkTarget)
        );
    }

    #[test]
    fn encoding_unreserved_bytes_keeps_escapes_and_characters() {
        assert_eq!(encode_unreserved("/a%2e/é", &[0xff]), "/%61%2e/é");
        assert_eq!(encode_unreserved("/ab", &[0b100]), "/a%62");
    }

    /// The invariant checks can fail: a planted unsafe decision is caught.
    #[test]
    #[should_panic(expected = "runs uploads PHP")]
    fn a_route_into_uploads_php_is_caught() {
        let bad = Route::Php(crate::routing::PhpTarget {
            relative: "wp-content/uploads/2024/shell.php".into(),
            script_name: "/wp-content/uploads/2024/shell.php".into(),
            path_info: String::new(),
            front_controller: false,
        });
        assert_route_is_safe("/x", &bad, &ModelTree);
    }

    #[test]
    #[should_panic(expected = "dotfile")]
    fn a_dotfile_served_is_caught() {
        assert_route_is_safe(
            "/x",
            &Route::Static {
                relative: ".env".into(),
            },
            &ModelTree,
        );
    }
}
