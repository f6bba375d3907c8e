//! lambda-fpm: run WordPress (and any PHP app) on AWS Lambda. A custom runtime that turns
//! Lambda HTTP events into FastCGI requests to a bundled php-fpm, and serves static files
//! itself.
//!
//! Pure cores (no IO, unit-tested): [`config`], [`event`], [`origin`], [`routing`],
//! [`cgi_env`], [`cgi_response`], [`cache_policy`], [`conditional`], [`encoding`], [`deadline`],
//! [`runtime_restart`], [`payload_fit`].
//! IO shells: [`php_fpm`] (supervisor), [`fastcgi_transport`], [`static_files`],
//! [`fs_probe`], [`invocation`] (HTTP or command), [`handler`] (the HTTP side), [`commands`], [`opcache_seed`],
//! [`opcache_prime`], [`metadata_prefetch`], [`logging`].

pub mod cache_policy;
pub mod cgi_env;
pub mod cgi_response;
pub mod code_mirror;
pub mod commands;
pub mod conditional;
pub mod config;
pub mod deadline;
pub mod encoding;
pub mod event;
pub mod fastcgi_transport;
pub mod fs_probe;
pub mod handler;
pub mod invocation;
pub mod logging;
pub mod metadata_prefetch;
pub mod mirror_store;
pub mod mirror_sync;
pub mod opcache_prime;
pub mod opcache_seed;
pub mod origin;
pub mod payload_fit;
pub mod php_fpm;
pub mod routing;
pub mod runtime_restart;
pub mod static_files;
