//! Property tests of the pure cores' security invariants (proptest, stable toolchain, part of
//! the unit suite). Each property is checked on generated inputs biased towards what attacks
//! use: dot segments, percent-encoding, PHP-like names, uploads paths, CR/LF.

use proptest::prelude::*;

use crate::fuzz::{ModelTree as Model, assert_route_is_safe, encode_unreserved};
use crate::routing::route;

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

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn routing_never_panics(raw in "\\PC{0,64}", query in "\\PC{0,16}") {
        let _ = route(&raw, &query, "/index.php", &Model);
    }

    #[test]
    fn nothing_denied_by_name_is_ever_read_or_run(p in path()) {
        let decided = route(&p, "", "/index.php", &Model);
        assert_route_is_safe(&p, &decided, &Model);
    }

    #[test]
    fn percent_encoding_unreserved_bytes_changes_nothing(
        p in path(),
        mask in prop::collection::vec(any::<u8>(), 8),
    ) {
        let plain = route(&p, "", "/index.php", &Model);
        let encoded = route(&encode_unreserved(&p, &mask), "", "/index.php", &Model);
        prop_assert_eq!(plain, encoded);
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
