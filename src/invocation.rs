//! One invocation in: an HTTP request (any event source) or an operations command, told apart
//! by `event::parse_event`, and handed to the HTTP side (`http`) or to `commands`. The one
//! place both meet, so neither imports the other.

use std::sync::Arc;
use std::time::Instant;

use lambda_http::lambda_runtime::{self, FunctionResponse, LambdaEvent};
use serde_json::Value;

use crate::bridge::Bridge;
use crate::event::{Invocation, parse_event};
use crate::reply::Reply;

/// Handles one invocation.
pub async fn handle(
    bridge: Arc<Bridge>,
    event: LambdaEvent<Value>,
) -> Result<Reply, lambda_runtime::Error> {
    let (payload, ctx) = event.into_parts();
    let started = Instant::now();
    match parse_event(&payload) {
        Ok(Invocation::Http(request)) => {
            Ok(crate::http::handle(&bridge, request, &ctx, started).await)
        }
        Ok(Invocation::Command(command)) => {
            let result = crate::commands::run(&bridge, &command, &ctx).await;
            Ok(FunctionResponse::BufferedResponse(result?))
        }
        Err(e) => {
            tracing::error!(target: "request", request_id = %ctx.request_id, error = %e, "rejected invocation");
            Err(e.into())
        }
    }
}
