//! Property tests of the pure cores' security invariants (proptest, stable toolchain, part of
//! the unit suite). Each property is checked on generated inputs biased towards what attacks
//! use: dot segments, percent-encoding, PHP-like names, uploads paths, CR/LF.

use proptest::prelude::*;

use crate::routing::{FileProbe, Probe, Route, route};

/// A model tree: every name below is a file, directories are their parents.
struct Model;

const FILES: &[&str] = &[
    "index.php",
    "wp-login.php",
    "wp-config.php",
    "wp-content/uploads/2024/shell.php",
    "wp-content/uploads/2024/index.php",
    "wp-content/uploads/2024/photo.jpg",
    "wp-content/themes/t/style.css",
    "wp-content/debug.log",
    ".git/config",
    ".env",
    "backup.sql",
    "robots.txt",
    "index.php.bak",
    "dir/index.php",
];

impl FileProbe for Model {
    fn probe(&self, relative: &str) -> Probe {
        if relative.is_empty() || FILES.iter().any(|f| f.starts_with(&format!("{relative}/"))) {
            Probe::Dir
        } else if FILES.contains(&relative) {
            Probe::File
        } else if relative == "escape" || relative.starts_with("escape/") {
            Probe::Outside
        } else {
            Probe::Missing
        }
    }
}

fn segment() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("..".to_string()),
        Just(".".to_string()),
        Just("".to_string()),
        Just(".git".to_string()),
        Just("wp-content".to_string()),
        Just("uploads".to_string()),
        Just("2024".to_string()),
        Just("index.php".to_string()),
        Just("shell.php".to_string()),
        Just("wp-config.php".to_string()),
        Just("dir".to_string()),
        Just("escape".to_string()),
        Just("%2e%2e".to_string()),
        Just("%2f".to_string()),
        Just("%00".to_string()),
        "[a-zA-Z0-9._~%-]{1,12}",
    ]
}

fn path() -> impl Strategy<Value = String> {
    (prop::collection::vec(segment(), 0..6), any::<bool>()).prop_map(|(segs, slash)| {
        let mut p = format!("/{}", segs.join("/"));
        if slash {
            p.push('/');
        }
        p
    })
}

/// The file a route would read or run, relative to the root.
fn target(r: &Route) -> Option<&str> {
    match r {
        Route::Static { relative } => Some(relative),
        Route::Php(t) => Some(&t.relative),
        Route::Redirect { .. } | Route::Deny(_) => None,
    }
}

/// Percent-encodes the unreserved characters of `s` at the positions `mask` selects (never the
/// hex digits of an escape already there: that would make another path).
fn encode_some(s: &str, mask: &[bool]) -> String {
    let bytes = s.as_bytes();
    let mut out = String::new();
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes[i];
        if b == b'%' {
            let end = (i + 3).min(bytes.len());
            out.push_str(&s[i..end]);
            i = end;
            continue;
        }
        let unreserved = b.is_ascii_alphanumeric() || b"-._~".contains(&b);
        if unreserved && mask.get(i).copied().unwrap_or(false) {
            out.push_str(&format!("%{b:02X}"));
        } else {
            out.push(b as char);
        }
        i += 1;
    }
    out
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn routing_never_panics(raw in "\\PC{0,64}", query in "\\PC{0,16}") {
        let _ = route(&raw, &query, "/index.php", &Model);
    }

    #[test]
    fn nothing_denied_by_name_is_ever_read_or_run(p in path()) {
        let decided = route(&p, "", "/index.php", &Model);
        if let Some(t) = target(&decided) {
            let segs: Vec<&str> = t.split('/').collect();
            prop_assert!(!segs.iter().any(|s| s.starts_with('.') || s.is_empty()), "{p} -> {t}");
            prop_assert!(!t.starts_with("escape"), "{p} left the root: {t}");
            prop_assert!(!segs.iter().any(|s| s.to_ascii_lowercase().starts_with("wp-config")), "{p} -> {t}");
            prop_assert!(!segs.iter().any(|s| crate::routing::is_sensitive_name(s)), "{p} -> {t}");
            let in_uploads = t.starts_with("wp-content/uploads/");
            prop_assert!(!(in_uploads && t.ends_with(".php")), "{p} runs uploads PHP: {t}");
            if let Route::Static { relative } = &decided {
                prop_assert!(!relative.ends_with(".php"), "{p} serves PHP source: {relative}");
            }
        }
    }

    #[test]
    fn percent_encoding_unreserved_bytes_changes_nothing(
        p in path(),
        mask in prop::collection::vec(any::<bool>(), 64),
    ) {
        let plain = route(&p, "", "/index.php", &Model);
        let encoded = route(&encode_some(&p, &mask), "", "/index.php", &Model);
        // a redirect repeats the path as sent; every other decision must be identical
        if !matches!(plain, Route::Redirect { .. }) {
            prop_assert_eq!(plain, encoded);
        }
    }

    #[test]
    fn cgi_heads_never_panic_and_never_emit_cr_or_lf(raw in prop::collection::vec(any::<u8>(), 0..512)) {
        if let Ok((head, _body)) = crate::cgi_response::split_output(&raw) {
            prop_assert!((100..=999).contains(&head.status));
            for (name, value) in &head.headers {
                prop_assert!(!name.is_empty());
                prop_assert!(!name.contains(['\r', '\n', ':', ' ']), "{name:?}");
                prop_assert!(!value.contains(['\r', '\n']), "{value:?}");
            }
        }
    }

    #[test]
    fn events_never_panic(
        method in "\\PC{0,8}",
        raw_path in "\\PC{0,40}",
        query in "\\PC{0,20}",
        body in prop::option::of("\\PC{0,40}"),
        b64 in any::<bool>(),
    ) {
        for version in ["2.0", "1.0"] {
            let e = serde_json::json!({
                "version": version,
                "httpMethod": method,
                "path": raw_path,
                "rawPath": raw_path,
                "rawQueryString": query,
                "requestContext": {"http": {"method": method}, "elb": if version == "1.0" { serde_json::json!({}) } else { serde_json::Value::Null }},
                "headers": {"host": raw_path},
                "body": body,
                "isBase64Encoded": b64,
            });
            let _ = crate::event::parse_event(&e);
        }
    }
}
