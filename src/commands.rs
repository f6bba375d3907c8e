//! Non-HTTP invocations: the `{"lambda_fpm": {"command": ...}}` envelope.
//!
//! `warm` starts php-fpm (if it is not running) and reports how long that took, so a
//! scheduled ping or a deploy hook can pay the cold start instead of a visitor.

use std::time::Instant;

use lambda_http::lambda_runtime::{self, Context};
use serde_json::{Value, json};

use crate::handler::Bridge;

/// Runs one command and returns its JSON result. Malformed commands are errors.
pub async fn run(
    bridge: &Bridge,
    command: &Value,
    ctx: &Context,
) -> Result<Value, lambda_runtime::Error> {
    let name = command.get("command").and_then(Value::as_str).ok_or(
        "malformed lambda_fpm envelope: expected {\"lambda_fpm\": {\"command\": \"<name>\", ...}}",
    )?;
    let started = Instant::now();
    let result = match name {
        "warm" => {
            bridge
                .fpm
                .ensure_running()
                .await
                .map_err(|e| e.to_string())?;
            json!({"ok": true, "command": "warm", "php_fpm_starts": bridge.fpm.starts()})
        }
        other => return Err(format!("unknown lambda_fpm command {other:?} (known: warm)").into()),
    };
    tracing::info!(target: "command", request_id = %ctx.request_id, command = name, ms = started.elapsed().as_millis() as u64, "command done");
    Ok(result)
}
