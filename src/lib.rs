//! lambda-fpm: run WordPress (and any PHP app) on AWS Lambda. A custom runtime that turns
//! Lambda HTTP events into FastCGI requests to a bundled php-fpm, and serves static files
//! itself.
//!
//! Pure cores (no IO, unit-tested): `config`, `event`, `origin`, `routing`,
//! `cgi_env`, `cgi_response`, `cache_policy`, `conditional`, `encoding`, `deadline`, `htaccess`,
//! `payload_fit`, `php_env`, `code_mirror`, `runtime_restart`, `server_timing`, `metrics`.
//! IO shells: `bridge` (state, init), `invocation` (HTTP or command), `http` (decide one
//! outcome), `reply` (deliver it; `request_log`), `php_request` (the one way PHP runs),
//! `php_fpm` (supervisor), `fastcgi_transport`, `static_files`, `fs_probe`, `htaccess_guard`, `metrics_log`, `opcache`,
//! `mirror_sync`, `mirror_store`, `commands`, `logging`.
//!
//! Modules are `pub(crate)` unless `bootstrap` or the integration tests use them.

pub mod bridge;
pub(crate) mod cache_policy;
pub(crate) mod cgi_env;
pub(crate) mod cgi_response;
pub(crate) mod code_mirror;
pub mod commands;
pub(crate) mod conditional;
pub mod config;
pub(crate) mod deadline;
pub(crate) mod encoding;
pub mod event;
pub(crate) mod fastcgi_transport;
pub(crate) mod fs_probe;
#[cfg(any(test, fuzzing))]
#[doc(hidden)]
pub mod fuzz;
pub(crate) mod htaccess;
pub(crate) mod htaccess_guard;
pub(crate) mod http;
pub mod invocation;
pub mod logging;
pub mod metrics;
pub(crate) mod metrics_log;
pub(crate) mod mirror_store;
pub(crate) mod mirror_sync;
pub mod opcache;
pub(crate) mod origin;
pub(crate) mod payload_fit;
pub mod php_env;
pub(crate) mod php_fpm;
pub(crate) mod php_request;
#[cfg(test)]
mod properties;
pub(crate) mod reply;
pub(crate) mod request_log;
pub(crate) mod routing;
pub mod runtime_restart;
pub(crate) mod server_timing;
pub(crate) mod static_files;
