//! The opcache warm start: how a new sandbox gets compiled scripts instead of compiling
//! WordPress itself on its first request.
//!
//! - `seed`: the opcache file cache of a warmed sandbox, published to EFS as an archive
//!   (`warm`, `cron`) and unpacked by every new sandbox at init (`LAMBDA_FPM_OPCACHE_SEED`);
//! - `prefetch`: right after the unpacking, the seed's scripts are looked up in parallel so
//!   the first request's path walks hit the kernel's caches instead of EFS one at a time;
//! - `prime`: optionally, the whole file cache is loaded into shared memory during init
//!   (`LAMBDA_FPM_OPCACHE_PRIME`).
//!
//! This module is what `bridge` calls: `restore_seed` (beside php-fpm's start),
//! `prime_if_wanted` (once php-fpm runs) and `publish_seed` (the commands). Each logs its
//! result (target `init` or `command`); none can fail init.

pub mod prefetch;
pub mod prime;
pub mod seed;

use std::sync::Arc;
use std::time::Duration;

use serde_json::{Value, json};

use crate::config::{Config, SeedMode};
use crate::php_fpm::PhpFpm;

/// Lookups in flight at once when init prefetches the seed's scripts' metadata (EFS answers
/// many concurrent NFS requests; one at a time is what PHP would do).
const PREFETCH_THREADS: usize = 16;
/// The prefetch only warms caches: it stops after this long, whatever is left.
const PREFETCH_BUDGET: Duration = Duration::from_secs(1);
/// How long init may spend priming opcache; Lambda allows 10 s of init.
const PRIME_BUDGET: Duration = Duration::from_secs(3);

/// Init, copy mode: unpacks the seed into the local file cache, then prefetches its scripts'
/// metadata. Blocking (run it on a blocking thread, beside php-fpm's start). Returns the
/// outcome's name: `off` / `restored` / `ignored` / `absent`.
pub(crate) fn restore_seed(config: &Config) -> &'static str {
    if config.opcache_seed != SeedMode::Copy {
        return "off";
    }
    let key = config.opcache_seed_key.as_deref().map(str::as_bytes);
    match seed::restore(&config.opcache_seed_file(), &config.opcache_dir(), key) {
        seed::Restore::Restored {
            files,
            bytes,
            ms,
            scripts,
        } => {
            let p = prefetch::prefetch(&scripts, PREFETCH_THREADS, PREFETCH_BUDGET);
            tracing::info!(target: "init", files, bytes, ms, prefetched = p.looked_up, missing = p.missing, prefetch_ms = p.ms, prefetch_out_of_time = p.out_of_time, "opcache seed restored");
            "restored"
        }
        seed::Restore::Ignored(why) => {
            tracing::warn!(target: "init", "opcache seed ignored: {why}");
            "ignored"
        }
        seed::Restore::Absent => {
            tracing::info!(target: "init", "no opcache seed yet (the warm command publishes one)");
            "absent"
        }
    }
}

/// Init, once php-fpm runs: primes opcache from the file cache when `LAMBDA_FPM_OPCACHE_PRIME`
/// says so (`mirror_restored`: the code mirror was restored, so priming reads local files).
/// Returns the outcome's name: `off` / `primed` / `failed`.
pub(crate) async fn prime_if_wanted(
    config: &Config,
    fpm: &Arc<PhpFpm>,
    php_root: &str,
    mirror_restored: bool,
) -> &'static str {
    if !config.opcache_prime.primes(mirror_restored) {
        return "off";
    }
    let primed = prime::prime(
        fpm,
        &config.runtime_dir,
        php_root,
        &config.opcache_dir(),
        PRIME_BUDGET,
    )
    .await;
    match primed {
        Ok(p) if p.error.is_none() => {
            tracing::info!(target: "init", scripts = p.scripts, failed = p.failed, stale = p.stale, out_of_time = p.out_of_time, php_ms = p.ms, "opcache primed");
            "primed"
        }
        Ok(p) => {
            tracing::warn!(target: "init", "opcache not primed: {}", p.error.unwrap_or_default());
            "failed"
        }
        Err(e) => {
            tracing::warn!(target: "init", "opcache not primed: {e}");
            "failed"
        }
    }
}

/// Publishes this sandbox's opcache file cache as the seed for new sandboxes (copy mode),
/// when it holds something newer than the current seed. Returns a JSON report.
pub(crate) async fn publish_seed(config: &Config) -> Value {
    if config.opcache_seed != SeedMode::Copy {
        return json!({"skipped": "LAMBDA_FPM_OPCACHE_SEED is not copy"});
    }
    let (source, seed_file) = (config.opcache_dir(), config.opcache_seed_file());
    let key = config.opcache_seed_key.clone();
    let result = tokio::task::spawn_blocking(move || {
        seed::publish_if_newer(&source, &seed_file, key.as_deref().map(str::as_bytes))
    })
    .await;
    match result {
        Ok(Ok(Some(p))) => {
            tracing::info!(target: "command", files = p.files, bytes = p.bytes, archive_bytes = p.archive_bytes, ms = p.ms, "opcache seed published");
            json!({"published": true, "files": p.files, "bytes": p.bytes, "archive_bytes": p.archive_bytes, "ms": p.ms})
        }
        Ok(Ok(None)) => {
            json!({"published": false, "reason": "nothing newer than the current seed"})
        }
        Ok(Err(e)) => {
            tracing::warn!(target: "command", error = %e, "cannot publish the opcache seed");
            json!({"published": false, "error": e.to_string()})
        }
        Err(e) => json!({"published": false, "error": e.to_string()}),
    }
}
