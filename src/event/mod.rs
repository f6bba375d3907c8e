//! Lambda event <-> HTTP mapping (pure, no IO), split by direction as lambda-http does:
//! [`request`] turns an event into an [`HttpRequest`], [`response`] an [`HttpResponse`] into the
//! JSON the event's source expects. [`EventKind`] is what ties the two: every `match` on it is
//! exhaustive, so a new source is a compile error in each place that must learn about it.
//!
//! Sources: API Gateway REST (v1), HTTP API (v2), Function URL (v2 shape) and ALB, plus the
//! bridge's own command envelope `{"lambda_fpm": {...}}`.
//!
//! Why not lambda_http's `Request` conversion: it rebuilds the URL with `Url::parse` (which
//! normalizes `..` away before we can refuse it and panics on a malformed Host), re-encodes
//! the query string (REST, ALB), keeps the stage in REST paths, and its v2 response
//! serializer keeps only the first value of a repeated header. We keep the event's raw path
//! and query verbatim and write every header value.

pub mod request;
pub mod response;

pub use request::{EventError, HttpRequest, Invocation, parse_event};
pub use response::{HttpResponse, is_text_body, stream_prelude_parts, to_event_response};

/// Which service sent the event; the response must be shaped for it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EventKind {
    /// API Gateway REST API (payload format 1.0).
    ApiGatewayV1,
    /// API Gateway HTTP API (2.0) and Lambda Function URLs.
    ApiGatewayV2,
    /// Application Load Balancer; `multi_value` when the target group has multi-value headers on.
    Alb { multi_value: bool },
}

impl EventKind {
    pub fn as_str(self) -> &'static str {
        match self {
            EventKind::ApiGatewayV1 => "apigw_v1",
            EventKind::ApiGatewayV2 => "apigw_v2",
            EventKind::Alb { .. } => "alb",
        }
    }
}

#[cfg(test)]
mod tests;
