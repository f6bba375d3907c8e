//! `warm`: start php-fpm if it is not running and, optionally, request some paths through it
//! so their scripts are compiled into opcache before a visitor arrives. Nothing is returned
//! to anyone: the answers are only measured.
//!
//! Success means php-fpm runs and every path got an answer from PHP (any status: a 404 page
//! warms opcache as well as a 200). A path that is not PHP (a static file, a redirect, a
//! denied path) is reported as skipped.

use std::time::Instant;

use serde_json::{Value, json};

use super::envelope::WarmSpec;
use super::site_get::{Caller, Target, php_get, route_path};
use crate::bridge::Bridge;

/// Runs `warm`.
pub async fn run(
    bridge: &Bridge,
    spec: &WarmSpec,
    deadline: tokio::time::Instant,
) -> (bool, Value) {
    let started = Instant::now();
    let starts_before = bridge.fpm().starts();
    if let Err(e) = bridge.fpm().ensure_running().await {
        return (false, json!({"error": e.to_string()}));
    }
    let start_ms = started.elapsed().as_millis() as u64;
    let mut ok = true;
    let mut paths = Vec::new();
    let ua = concat!("lambda-fpm/", env!("CARGO_PKG_VERSION"), " (warm)");
    // The code mirror first: publish it if stale and move onto it, so what is compiled below is
    // what visitors run and the opcache seed fits every new sandbox.
    let code_mirror = match bridge.mirror() {
        Some(m) => {
            let (doc, restart) = m.sync_now().await;
            if restart {
                bridge.fpm().kill().await;
                if let Err(e) = bridge.fpm().ensure_running().await {
                    return (false, json!({"error": e.to_string(), "code_mirror": doc}));
                }
            }
            doc
        }
        None => json!({"skipped": "LAMBDA_FPM_CODE_MIRROR is off"}),
    };
    let php_root = match bridge.mirror() {
        Some(m) => m.read_root().await,
        None => bridge.root().to_string_lossy().into_owned(),
    };
    for raw in &spec.paths {
        let (path, query) = raw.split_once('?').unwrap_or((raw.as_str(), ""));
        let entry = match route_path(bridge, path, query).await {
            Ok(Target::Php(target)) => {
                let caller = Caller {
                    host: "localhost",
                    user_agent: ua,
                    document_root: &php_root,
                };
                match php_get(bridge, &target, path, query, &caller, deadline).await {
                    Ok(reply) => json!({"path": raw, "script": target.relative,
                                        "status": reply.status, "php_ms": reply.php_ms}),
                    Err(e) => {
                        ok = false;
                        json!({"path": raw, "error": e.to_string()})
                    }
                }
            }
            Ok(Target::Other(kind)) => json!({"path": raw, "skipped": format!("not PHP ({kind})")}),
            Err(e) => {
                ok = false;
                json!({"path": raw, "error": e.to_string()})
            }
        };
        paths.push(entry);
    }
    // What this sandbox compiled becomes the seed new sandboxes start from.
    let opcache_seed = crate::opcache::publish_seed(bridge.config()).await;
    (
        ok,
        json!({
            "opcache_seed": opcache_seed,
            "code_mirror": code_mirror,
            "php_fpm_started": bridge.fpm().starts() > starts_before,
            "php_fpm_starts": bridge.fpm().starts(),
            "start_ms": start_ms,
            "paths": paths,
        }),
    )
}
