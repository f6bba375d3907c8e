//! `cron`: run WordPress's due cron events the way WordPress itself does, by requesting
//! `/wp-cron.php?doing_wp_cron` through php-fpm, so a schedule (EventBridge Scheduler, see
//! terraform/schedule.tf) can replace WP-Cron on page loads (`DISABLE_WP_CRON`).
//!
//! The query `doing_wp_cron` with no value is what WordPress documents for a system cron:
//! wp-cron.php then takes the `doing_cron` lock itself (a value would have to match a lock
//! `spawn_cron()` set beforehand, else wp-cron.php silently does nothing). wp-cron.php calls
//! `fastcgi_finish_request()` when it can; the layer's php.ini disables it, so the request
//! ends only when the events have run, and the reported time is the real cron time.

use serde_json::{Value, json};

use super::envelope::CronSpec;
use super::site_get::{Caller, Target, php_get, route_path};
use crate::bridge::Bridge;

/// Runs `cron`.
pub async fn run(
    bridge: &Bridge,
    spec: &CronSpec,
    deadline: tokio::time::Instant,
) -> (bool, Value) {
    let (path, query) = ("/wp-cron.php", "doing_wp_cron");
    let target = match route_path(bridge, path, query).await {
        Ok(Target::Php(t)) if t.relative == "wp-cron.php" && !t.front_controller => t,
        Ok(_) => {
            return (
                false,
                json!({"error": format!("no wp-cron.php in the document root {} (is WordPress installed?)", bridge.root().display())}),
            );
        }
        Err(e) => return (false, json!({"error": e.to_string()})),
    };
    let host = spec.host.as_deref().unwrap_or("localhost");
    let ua = concat!("lambda-fpm/", env!("CARGO_PKG_VERSION"), " (cron)");
    // on EFS itself, never the code mirror: wp-cron runs automatic updates
    let root = bridge.root().to_string_lossy();
    let caller = Caller {
        host,
        user_agent: ua,
        document_root: &root,
    };
    match php_get(bridge, &target, path, query, &caller, deadline).await {
        Ok(reply) => {
            let ok = (200..300).contains(&reply.status);
            let mut result = json!({
                "url": format!("{path}?{query}"),
                "host": host,
                "status": reply.status,
                "php_ms": reply.php_ms,
                "body_bytes": reply.body_bytes,
                "stderr": reply.stderr,
            });
            if !ok {
                result["error"] = json!(format!("wp-cron.php answered {}", reply.status));
            }
            // The schedule also keeps the opcache seed fresh after code changes (plugin or
            // core updates): republished only when this sandbox compiled something newer.
            result["opcache_seed"] = crate::opcache::publish_seed(bridge.config()).await;
            (ok, result)
        }
        Err(e) => (
            false,
            json!({"url": format!("{path}?{query}"), "error": e.to_string()}),
        ),
    }
}
