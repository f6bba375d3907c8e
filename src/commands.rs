//! Non-HTTP invocations: the `{"lambda_fpm": {"command": ...}}` envelope (docs/operations.md).
//!
//! - `install`: put WordPress onto an empty document root from a zip/tar.gz at an https:// URL
//!   or s3:// object (`install`);
//! - `php`: run the php CLI in the document root, e.g. wp-cli (`php_cli`);
//! - `cron`: run WordPress's due cron events through php-fpm (`cron`);
//! - `warm`: start php-fpm and optionally pre-compile paths into opcache (`warm`).
//!
//! The envelope is parsed by the pure `envelope::parse`. Every command answers one JSON
//! document `{"ok": true|false, "command": "<name>", "ms": <total>, ...}`. A failed command
//! (including a malformed envelope) fails the invocation: the Lambda result is an error whose
//! `errorMessage` is that JSON document, so `aws lambda invoke` reports `FunctionError`, the
//! function's `Errors` metric counts it and EventBridge Scheduler sees a failed target.

pub(crate) mod archive;
pub(crate) mod cron;
pub(crate) mod envelope;
pub(crate) mod fetch;
pub(crate) mod install;
pub mod install_lock;
pub(crate) mod php_cli;
pub(crate) mod site_get;
pub(crate) mod warm;

use std::time::{Instant, SystemTime, UNIX_EPOCH};

use lambda_http::lambda_runtime::{self, Context};
use serde_json::{Value, json};

use crate::bridge::Bridge;
use envelope::Command;

fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}

/// Runs one command. `Ok` carries the result of a successful command; a failed one is an
/// `Err` whose message is the JSON result (`"ok": false` and an `"error"`).
pub async fn run(
    bridge: &Bridge,
    command: &Value,
    ctx: &Context,
) -> Result<Value, lambda_runtime::Error> {
    let started = Instant::now();
    let parsed = match envelope::parse(command) {
        Ok(c) => c,
        Err(e) => {
            let name = command.get("command").and_then(Value::as_str).unwrap_or("");
            tracing::error!(target: "command", request_id = %ctx.request_id, error = %e, "rejected command");
            let doc = json!({"ok": false, "command": name, "error": e.to_string()});
            return Err(doc.to_string().into());
        }
    };
    let cfg = bridge.config();
    let budget = crate::php_request::budget(cfg, ctx.deadline);
    let deadline = tokio::time::Instant::now() + budget;
    let (ok, mut body) = match &parsed {
        Command::Install(spec) => {
            let holder = install_lock::Holder {
                request_id: ctx.request_id.clone(),
                since_ms: now_ms(),
                until_ms: ctx.deadline,
            };
            install::run(bridge, spec, deadline, &holder).await
        }
        Command::Php(spec) => php_cli::run(bridge, spec, budget).await,
        Command::Cron(spec) => cron::run(bridge, spec, deadline).await,
        Command::Warm(spec) => warm::run(bridge, spec, deadline).await,
    };
    // These ran on EFS and may have changed code: the code mirror must follow.
    if let Some(m) = bridge.mirror() {
        match &parsed {
            Command::Install(_) if ok => match m.code_replaced().await {
                Ok(g) => body["code_generation"] = json!(g),
                Err(e) => body["code_generation_error"] = json!(e.to_string()),
            },
            Command::Php(_) => m.after_code_change("the php command").await,
            Command::Cron(_) => m.after_code_change("the cron command").await,
            _ => {}
        }
    }
    let ms = started.elapsed().as_millis() as u64;
    crate::metrics_log::command(parsed.name(), ok, ms as f64);
    let mut doc = json!({"ok": ok, "command": parsed.name(), "ms": ms});
    if let (Some(doc_map), Some(body_map)) = (doc.as_object_mut(), body.as_object_mut()) {
        doc_map.append(body_map);
    }
    let error = doc.get("error").and_then(Value::as_str).unwrap_or("");
    if ok {
        tracing::info!(target: "command", request_id = %ctx.request_id, command = parsed.name(), ok, ms, "command done");
        Ok(doc)
    } else {
        tracing::error!(target: "command", request_id = %ctx.request_id, command = parsed.name(), ok, ms, error, "command failed");
        Err(doc.to_string().into())
    }
}
