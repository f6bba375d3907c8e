//! The bridge's state: the configuration read at start-up, the supervised php-fpm, the
//! static-file server, routing's view of the document root, and the code mirror. [`Bridge::init`]
//! sets it all up (Lambda's init phase); afterwards it is shared, read-only but for the
//! supervisor, by `http` (visitors' requests) and `commands`, through the methods below.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use crate::config::Config;
use crate::fs_probe::DiskProbe;
use crate::htaccess_guard::HtaccessGuard;
use crate::mirror_sync::{InitOutcome, MirrorSync};
use crate::php_fpm::{PhpFpm, SpawnConfig, StartError};
use crate::routing::{DenyReason, Route, route};
use crate::server_timing::ColdStart;
use crate::static_files::StaticServer;

/// The bridge: configuration plus the supervised php-fpm.
pub struct Bridge {
    config: Config,
    /// Canonical document root.
    root: PathBuf,
    root_str: String,
    fpm: Arc<PhpFpm>,
    statics: StaticServer,
    /// The file-system side of routing, built once for the canonical root.
    probe: Arc<DiskProbe>,
    /// Directories protected by an `.htaccess` that denies all (None: not honoured).
    htaccess: Option<Arc<HtaccessGuard>>,
    /// Whether this sandbox has served a request yet (the first one is the cold start).
    served: AtomicBool,
    /// What this sandbox's start-up did, reported with its first request.
    cold: ColdStart,
    /// The local code mirror PHP runs against (`LAMBDA_FPM_CODE_MIRROR`), if on.
    mirror: Option<Arc<MirrorSync>>,
    /// Routing's probe of the mirror (the same tree, local: no EFS round trip per probe).
    mirror_probe: Option<Arc<DiskProbe>>,
}

/// Init failure: bad document root or php-fpm that will not start.
#[derive(Debug, thiserror::Error)]
pub enum InitError {
    #[error("LAMBDA_FPM_DOCUMENT_ROOT: {0} is not a directory")]
    NotADirectory(String),
    #[error(
        "LAMBDA_FPM_DOCUMENT_ROOT: cannot open {0}: {1} (is the EFS file system mounted there?)"
    )]
    Unreadable(String, std::io::Error),
    #[error("{0} panicked: {1}")]
    Panicked(&'static str, tokio::task::JoinError),
    #[error(transparent)]
    PhpFpm(#[from] StartError),
}

impl Bridge {
    /// Init: four things at once (php-fpm starts, the document root is checked, the opcache
    /// seed is unpacked, the code mirror is restored), then opcache is primed if wanted.
    pub async fn init(config: Config) -> Result<Bridge, InitError> {
        let init_started = std::time::Instant::now();
        crate::metrics_log::init(&config);
        let fpm = Arc::new(PhpFpm::new(SpawnConfig::from_config(&config)));
        let root_dir = config.document_root.clone();
        let seed_config = config.clone();
        let mirror_cfg = config.code_mirror.clone();
        let mirror_root = config.document_root.clone();
        let mirror_init = tokio::task::spawn_blocking(move || {
            mirror_cfg.enabled.then(|| {
                let root = crate::fs_probe::canonical_root(&mirror_root).unwrap_or(mirror_root);
                MirrorSync::init(root, &mirror_cfg)
            })
        });
        let (started, root, seeded, mirror) = tokio::join!(
            fpm.ensure_running(),
            tokio::task::spawn_blocking(move || crate::fs_probe::canonical_root(&root_dir)),
            tokio::task::spawn_blocking(move || crate::opcache::restore_seed(&seed_config)),
            mirror_init,
        );
        let seed = match seeded {
            Ok(outcome) => outcome,
            Err(e) => {
                tracing::warn!(target: "init", "opcache seed restore panicked: {e}");
                "failed"
            }
        };
        let mut mirror_restored = false;
        let mirror = match mirror {
            Ok(Some((sync, outcome))) => {
                match outcome {
                    InitOutcome::Restored {
                        generation,
                        files,
                        ms,
                    } => {
                        mirror_restored = true;
                        tracing::info!(target: "init", %generation, files, ms, "code mirror restored: PHP runs against the local copy")
                    }
                    InitOutcome::Efs(why) => {
                        tracing::info!(target: "init", "code mirror not used yet ({why}): PHP reads EFS; a refresh starts with the first request")
                    }
                }
                Some(Arc::new(sync))
            }
            Ok(None) => None,
            Err(e) => {
                tracing::warn!(target: "init", "code mirror init panicked, PHP reads EFS: {e}");
                None
            }
        };
        let root = match root {
            Ok(Ok(root)) if root.is_dir() => root,
            Ok(Ok(root)) => return Err(InitError::NotADirectory(root.display().to_string())),
            Ok(Err(e)) => {
                return Err(InitError::Unreadable(
                    config.document_root.display().to_string(),
                    e,
                ));
            }
            Err(e) => return Err(InitError::Panicked("document root check", e)),
        };
        started?;
        let root_str = root.to_string_lossy().trim_end_matches('/').to_string();
        let php_root = match &mirror {
            Some(m) => m.read_root().await,
            None => root_str.clone(),
        };
        let prime =
            crate::opcache::prime_if_wanted(&config, &fpm, &php_root, mirror_restored).await;
        let statics = StaticServer::new(
            root.clone(),
            config.cache_policy.clone(),
            config.static_cache,
        );
        let probe = Arc::new(DiskProbe::new(root.clone()));
        let htaccess = config
            .htaccess_deny
            .then(|| Arc::new(HtaccessGuard::new(root.clone(), config.static_cache.ttl)));
        Ok(Bridge {
            config,
            root,
            root_str,
            fpm,
            statics,
            probe,
            htaccess,
            served: AtomicBool::new(false),
            cold: ColdStart {
                init_ms: init_started.elapsed().as_secs_f64() * 1000.0,
                seed: seed.to_string(),
                prime: prime.to_string(),
            },
            mirror_probe: mirror
                .as_ref()
                .map(|m| Arc::new(DiskProbe::new(m.dir().to_path_buf()))),
            mirror,
        })
    }

    /// The configuration read at start-up.
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// The canonical document root (EFS).
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// The canonical document root as PHP sees it (no trailing slash).
    pub(crate) fn root_str(&self) -> &str {
        &self.root_str
    }

    /// The supervised php-fpm.
    pub fn fpm(&self) -> &Arc<PhpFpm> {
        &self.fpm
    }

    /// The code mirror, when `LAMBDA_FPM_CODE_MIRROR` is on.
    pub(crate) fn mirror(&self) -> Option<&Arc<MirrorSync>> {
        self.mirror.as_ref()
    }

    /// The static-file server.
    pub(crate) fn statics(&self) -> &StaticServer {
        &self.statics
    }

    /// What start-up did, exactly once: for this sandbox's first request (the cold start).
    pub(crate) fn first_request(&self) -> Option<ColdStart> {
        (!self.served.swap(true, Ordering::Relaxed)).then(|| self.cold.clone())
    }

    /// Routes a raw path + query (file-system probes off the async threads: EFS can be slow).
    pub(crate) async fn route(
        &self,
        path: &str,
        query: &str,
    ) -> Result<Route, tokio::task::JoinError> {
        // While PHP runs from the code mirror, routing asks the mirror too (same files; paths in
        // write-through directories, such as uploads, are on EFS only).
        let probe = match (&self.mirror, &self.mirror_probe) {
            (Some(m), Some(p)) if m.routes_on_mirror(path) => p.clone(),
            _ => self.probe.clone(),
        };
        let (path, query) = (path.to_string(), query.to_string());
        let front = self.config.front_controller.clone();
        let htaccess = self.htaccess.clone();
        tokio::task::spawn_blocking(move || {
            let decided = route(&path, &query, &front, probe.as_ref());
            // a file in a directory a plugin protects with .htaccess is neither served nor run
            let target = match &decided {
                Route::Static { relative } => relative,
                Route::Php(t) => &t.relative,
                Route::Redirect { .. } | Route::Deny(_) => return decided,
            };
            match htaccess.and_then(|guard| guard.denied_by(target)) {
                Some(_) => Route::Deny(DenyReason::Htaccess),
                None => decided,
            }
        })
        .await
    }
}
