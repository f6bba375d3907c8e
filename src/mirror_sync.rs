//! One sandbox's code mirror (design in `code_mirror`): which root PHP runs against now, the
//! marker check at most once per interval, and the background refresh that stages a new mirror.
//! All file work is `mirror_store`'s, run off the async threads.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::code_mirror::{Serving, Step, next_step};
use crate::mirror_store::{self, Staged};

/// Reads and lists in flight while a mirror is built from EFS.
const BUILD_THREADS: usize = 16;
/// After a failed refresh (a tree with symlinks, an unreadable archive, EFS errors), the next
/// one waits this long: PHP reads EFS meanwhile.
const RETRY_AFTER_FAILURE: Duration = Duration::from_secs(60);

/// Where PHP runs for one request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PhpRoot {
    /// DOCUMENT_ROOT for php-fpm (no trailing slash).
    pub root: String,
    /// The local mirror (false: EFS itself).
    pub mirror: bool,
}

struct State {
    serving: Serving,
    hooks: bool,
    last_check: Option<Instant>,
    refresh: Option<tokio::task::JoinHandle<RefreshResult>>,
    staged: Option<Staged>,
    /// No refresh starts before this (after a failure).
    retry_at: Option<Instant>,
}

pub struct MirrorSync {
    /// Whether PHP currently runs from the copy (read without the lock, by routing).
    on_mirror: std::sync::atomic::AtomicBool,
    efs_root: PathBuf,
    efs_root_str: String,
    target: PathBuf,
    target_str: String,
    write_through: Vec<String>,
    interval: Duration,
    state: tokio::sync::Mutex<State>,
}

/// What init did, for its log line.
#[derive(Debug)]
pub enum InitOutcome {
    Restored {
        generation: String,
        files: u64,
        ms: u64,
    },
    Efs(String),
}

/// Stages the mirror of the current generation: from the published archive if it is of that
/// generation, else by building and publishing one (one builder at a time, under a lock on EFS).
/// `Ok(None)`: another sandbox is building; try again later.
type RefreshResult = Result<Option<(Staged, Option<mirror_store::Built>)>, String>;

/// Also says whether this call built and published the archive.
fn refresh(root: PathBuf, target: PathBuf, write_through: Vec<String>) -> RefreshResult {
    let marker = mirror_store::read_generation(&root).map_err(|e| format!("marker: {e}"))?;
    let published = mirror_store::published_manifest(&root).ok().flatten();
    let mut built = None;
    if published.is_none_or(|m| m.generation != marker) {
        let lock = crate::code_mirror::LOCK_FILE;
        let dir = mirror_store::state_dir(&root);
        std::fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
        let file = std::fs::OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(false)
            .open(dir.join(lock))
            .map_err(|e| format!("{lock}: {e}"))?;
        match file.try_lock() {
            Ok(()) => {}
            Err(std::fs::TryLockError::WouldBlock) => return Ok(None),
            Err(std::fs::TryLockError::Error(e)) => return Err(format!("{lock}: {e}")),
        }
        let b = mirror_store::build_and_publish(&root, &write_through, BUILD_THREADS)
            .map_err(|e| format!("building the mirror: {e}"))?;
        tracing::info!(target: "mirror", generation = %b.manifest.generation, files = b.manifest.files, bytes = b.manifest.bytes, archive_bytes = b.archive_bytes, ms = b.ms, "code mirror published");
        built = Some(b);
    }
    let staged = mirror_store::restore_staged(&root, &target)
        .map_err(|e| format!("restoring the mirror: {e}"))?
        .ok_or("the mirror archive vanished")?;
    if staged.manifest.generation != marker {
        mirror_store::remove_tree(&staged.dir);
        return Ok(None); // the code changed again meanwhile: the next check starts over
    }
    Ok(Some((staged, built)))
}

impl MirrorSync {
    /// At init (nothing runs PHP yet): restores the mirror of the current generation if one is
    /// published, else starts on EFS (the first request starts a refresh).
    pub fn init(efs_root: PathBuf, cfg: &crate::config::CodeMirror) -> (MirrorSync, InitOutcome) {
        // canonical, like the document root: routing probes it and compares real paths
        let mut target = cfg.dir.clone();
        if let (Some(parent), Some(name)) = (target.parent(), target.file_name()) {
            let _ = std::fs::create_dir_all(parent);
            if let Ok(p) = std::fs::canonicalize(parent) {
                target = p.join(name);
            }
        }
        let mut serving = Serving::Efs;
        let mut hooks = mirror_store::has_hooks(&efs_root);
        let outcome = match mirror_store::read_generation(&efs_root) {
            Err(e) => InitOutcome::Efs(format!("cannot read the generation marker: {e}")),
            Ok(marker) => match mirror_store::published_manifest(&efs_root) {
                Ok(Some(m)) if m.generation == marker => {
                    match mirror_store::restore_staged(&efs_root, &target)
                        .and_then(|s| s.ok_or_else(|| std::io::Error::other("archive vanished")))
                        .and_then(|s| mirror_store::activate(&s.dir, &target).map(|()| s))
                    {
                        Ok(s) => {
                            serving = Serving::Mirror(marker.clone());
                            hooks = s.manifest.hooks;
                            InitOutcome::Restored {
                                generation: marker,
                                files: s.manifest.files,
                                ms: s.ms,
                            }
                        }
                        Err(e) => InitOutcome::Efs(format!("mirror not restored: {e}")),
                    }
                }
                Ok(Some(_)) => {
                    InitOutcome::Efs("the published mirror is of an older generation".into())
                }
                Ok(None) => InitOutcome::Efs("no mirror published yet".into()),
                Err(e) => InitOutcome::Efs(format!("unreadable mirror archive: {e}")),
            },
        };
        let sync = MirrorSync {
            on_mirror: std::sync::atomic::AtomicBool::new(matches!(serving, Serving::Mirror(_))),
            efs_root_str: efs_root.to_string_lossy().trim_end_matches('/').to_string(),
            efs_root,
            target_str: target.to_string_lossy().trim_end_matches('/').to_string(),
            target,
            write_through: cfg.write_through.clone(),
            interval: cfg.check_interval,
            state: tokio::sync::Mutex::new(State {
                serving: serving.clone(),
                hooks,
                // on EFS: the first request starts a refresh
                last_check: matches!(serving, Serving::Mirror(_)).then(Instant::now),
                refresh: None,
                staged: None,
                retry_at: None,
            }),
        };
        (sync, outcome)
    }

    /// The root the current mirror state serves reads from (without checking the marker).
    pub async fn read_root(&self) -> String {
        match self.state.lock().await.serving {
            Serving::Mirror(_) => self.target_str.clone(),
            Serving::Efs => self.efs_root_str.clone(),
        }
    }

    /// At the start of every request, before routing: reads the marker when the interval has
    /// passed and switches between the copy and EFS. Returns true when php-fpm must be
    /// restarted first (the code under it changed).
    pub async fn check(self: &Arc<Self>) -> bool {
        let mut st = self.state.lock().await;
        let mut restart = false;
        let due = st.last_check.is_none_or(|t| t.elapsed() >= self.interval);
        if due {
            st.last_check = Some(Instant::now());
            if st.refresh.as_ref().is_some_and(|h| h.is_finished())
                && let Some(h) = st.refresh.take()
            {
                match h.await {
                    Ok(Ok(Some((staged, _)))) => st.staged = Some(staged),
                    Ok(Ok(None)) => {}
                    Ok(Err(e)) => {
                        tracing::warn!(target: "mirror", "code mirror refresh failed, PHP keeps reading EFS (next try in {} s): {e}", RETRY_AFTER_FAILURE.as_secs());
                        st.retry_at = Some(Instant::now() + RETRY_AFTER_FAILURE);
                    }
                    Err(e) => {
                        tracing::warn!(target: "mirror", "code mirror refresh panicked: {e}");
                        st.retry_at = Some(Instant::now() + RETRY_AFTER_FAILURE);
                    }
                }
            }
            let root = self.efs_root.clone();
            let marker = tokio::task::spawn_blocking(move || mirror_store::read_generation(&root))
                .await
                .map_err(|e| std::io::Error::other(e.to_string()))
                .and_then(|r| r);
            match marker {
                Err(e) => {
                    if matches!(st.serving, Serving::Mirror(_)) {
                        tracing::warn!(target: "mirror", "cannot read the code generation marker ({e}): serving from EFS");
                        st.serving = Serving::Efs;
                        restart = true;
                    }
                }
                Ok(marker) => {
                    let staged = st.staged.as_ref().map(|s| s.manifest.generation.as_str());
                    match next_step(&st.serving, &marker, staged, st.refresh.is_some()) {
                        Step::Keep => {}
                        Step::LeaveMirror => {
                            tracing::info!(target: "mirror", generation = %marker, "code changed on EFS: serving from EFS until the mirror is refreshed");
                            st.serving = Serving::Efs;
                            restart = true;
                            self.start_refresh(&mut st);
                        }
                        Step::Refresh => self.start_refresh(&mut st),
                        Step::UseStaged => {
                            let staged = st.staged.take().expect("staged");
                            let target = self.target.clone();
                            let dir = staged.dir.clone();
                            let done = tokio::task::spawn_blocking(move || {
                                mirror_store::activate(&dir, &target)
                            })
                            .await;
                            match done {
                                Ok(Ok(())) => {
                                    tracing::info!(target: "mirror", generation = %marker, files = staged.manifest.files, "serving PHP from the refreshed code mirror");
                                    st.hooks = staged.manifest.hooks;
                                    st.serving = Serving::Mirror(marker);
                                    restart = true;
                                }
                                Ok(Err(e)) => {
                                    tracing::warn!(target: "mirror", "cannot switch to the refreshed mirror, PHP keeps reading EFS: {e}")
                                }
                                Err(e) => {
                                    tracing::warn!(target: "mirror", "mirror switch panicked: {e}")
                                }
                            }
                        }
                    }
                }
            }
        }
        self.note_serving(&st.serving);
        restart
    }

    /// Where this request's PHP runs (after [`check`](Self::check)). `writes_code`: the request
    /// may change code (it runs on EFS whatever the mirror's state).
    pub async fn php_root(&self, writes_code: bool) -> PhpRoot {
        let st = self.state.lock().await;
        let mirror = !writes_code && matches!(st.serving, Serving::Mirror(_));
        PhpRoot {
            root: if mirror {
                self.target_str.clone()
            } else {
                self.efs_root_str.clone()
            },
            mirror,
        }
    }

    fn note_serving(&self, serving: &Serving) {
        self.on_mirror.store(
            matches!(serving, Serving::Mirror(_)),
            std::sync::atomic::Ordering::Relaxed,
        );
    }

    /// Whether routing may look at the copy instead of EFS for `path` (a raw URL path): PHP runs
    /// from the copy and the path is not in a write-through directory (nor undecodable: routing
    /// on EFS refuses those as always).
    pub fn routes_on_mirror(&self, path: &str) -> bool {
        if !self.on_mirror.load(std::sync::atomic::Ordering::Relaxed) {
            return false;
        }
        match crate::routing::decode_path(path) {
            Ok((segments, _)) => {
                !crate::code_mirror::stays_on_efs(&segments.join("/"), &self.write_through)
            }
            Err(_) => false,
        }
    }

    /// The copy's directory.
    pub fn dir(&self) -> &std::path::Path {
        &self.target
    }

    fn start_refresh(self: &Arc<Self>, st: &mut State) {
        if st.refresh.is_some() || st.retry_at.is_some_and(|t| Instant::now() < t) {
            return;
        }
        st.retry_at = None;
        st.staged = None;
        let (root, target, wt) = (
            self.efs_root.clone(),
            self.target.clone(),
            self.write_through.clone(),
        );
        st.refresh = Some(tokio::task::spawn_blocking(move || {
            refresh(root, target, wt)
        }));
    }

    /// After a request that may have changed code (it ran on EFS): the marker is read again on
    /// the next request; a site whose wp-config.php does not report changes itself gets a new
    /// generation now.
    pub async fn after_code_change(&self, reason: &str) {
        let mut st = self.state.lock().await;
        if !st.hooks {
            let root = self.efs_root.clone();
            match tokio::task::spawn_blocking(move || mirror_store::bump_generation(&root)).await {
                Ok(Ok(g)) => {
                    tracing::info!(target: "mirror", generation = %g, "code generation bumped after {reason}")
                }
                Ok(Err(e)) => {
                    tracing::warn!(target: "mirror", "cannot bump the code generation after {reason}: {e}")
                }
                Err(e) => tracing::warn!(target: "mirror", "bump panicked: {e}"),
            }
        }
        st.last_check = None;
    }

    /// Marks the code as changed whatever wp-config.php does (the install command).
    pub async fn code_replaced(&self) -> std::io::Result<String> {
        let root = self.efs_root.clone();
        let g = tokio::task::spawn_blocking(move || mirror_store::bump_generation(&root))
            .await
            .map_err(std::io::Error::other)??;
        self.state.lock().await.last_check = None;
        Ok(g)
    }

    /// The warm command: publishes the mirror archive of the current generation if the published
    /// one is older, and moves this sandbox onto it now (PHP is idle during a command), so what
    /// warm compiles next is what visitors run and the opcache seed fits new sandboxes. Returns
    /// a JSON report, and whether php-fpm must be restarted (the tree under it was replaced, or
    /// PHP left the copy).
    pub async fn sync_now(&self) -> (serde_json::Value, bool) {
        let (root, target, wt) = (
            self.efs_root.clone(),
            self.target.clone(),
            self.write_through.clone(),
        );
        let mut st = self.state.lock().await;
        if let Some(h) = st.refresh.take() {
            let _ = h.await; // a background refresh would race with this one
        }
        st.staged = None;
        let r = tokio::task::spawn_blocking(move || {
            let (staged, built) = refresh(root, target.clone(), wt)?
                .ok_or("another sandbox is building the mirror, or the code changed meanwhile")?;
            mirror_store::activate(&staged.dir, &target).map_err(|e| e.to_string())?;
            Ok::<_, String>((built, staged.manifest))
        })
        .await
        .map_err(|e| e.to_string())
        .and_then(|r| r);
        st.last_check = Some(Instant::now());
        let was_on_mirror = matches!(st.serving, Serving::Mirror(_));
        let (doc, restart) = match r {
            Ok((built, manifest)) => {
                st.serving = Serving::Mirror(manifest.generation.clone());
                st.hooks = manifest.hooks;
                st.retry_at = None;
                let mut doc = serde_json::json!({"generation": manifest.generation, "files": manifest.files, "bytes": manifest.bytes});
                match built {
                    Some(b) => {
                        doc["published"] = true.into();
                        doc["archive_bytes"] = b.archive_bytes.into();
                        doc["ms"] = b.ms.into();
                    }
                    None => {
                        doc["published"] = false.into();
                        doc["reason"] = "the published mirror is current".into();
                    }
                }
                (doc, true)
            }
            Err(e) => {
                tracing::warn!(target: "mirror", "warm: code mirror not synchronized, PHP keeps reading EFS: {e}");
                st.serving = Serving::Efs;
                st.retry_at = Some(Instant::now() + RETRY_AFTER_FAILURE);
                (
                    serde_json::json!({"published": false, "error": e}),
                    was_on_mirror,
                )
            }
        };
        self.note_serving(&st.serving);
        (doc, restart)
    }
}
