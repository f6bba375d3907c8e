//! `install`: put WordPress onto an empty document root (the EFS mount) from an archive.
//!
//! Steps, each safe to repeat after a timeout:
//! 1. A completed install of the same source is a no-op (`already_installed`); a non-empty
//!    root is refused unless `force` (then the old site is moved aside, never deleted).
//! 2. A half-finished staging directory (`.lambda-fpm-staging`, left by an invocation that
//!    timed out before it was ready) is removed.
//! 3. The archive is downloaded into the staging directory, its SHA-256 checked, and it is
//!    extracted there ([`super::archive`]); `wp-config.php` (the repo's php/wp-config.php,
//!    which reads the DB settings from env vars) and `wp-salts.php` (fresh salts from the OS
//!    CSPRNG) are written; then `ready.json` marks the staging tree complete.
//! 4. Commit: with `force`, every old entry is renamed into `.lambda-fpm-previous-<time>/`;
//!    then each top-level entry of the new tree is renamed into the root (same file system:
//!    atomic per entry; `index.php` last). An invocation that dies here is resumed by the next
//!    `install`, which finds `ready.json` and finishes the renames.
//! 5. `.lambda-fpm-install.json` records what was installed; the staging directory is removed
//!    and php-fpm is restarted so no worker keeps stale opcache/realpath entries.
//!
//! Dot-files are never served by the bridge, so the staging tree, the marker and the moved-
//! aside site are invisible to visitors.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::archive::{self, Limits};
use super::envelope::InstallSpec;
use super::fetch::{self, hex};
use super::install_lock::{self, Holder, LOCK};
use crate::bridge::Bridge;

/// Staging directory inside the document root.
pub const STAGING: &str = ".lambda-fpm-staging";
/// Written after a completed install.
pub const MARKER: &str = ".lambda-fpm-install.json";
/// Prefix of the directory an old site is moved into by `force`.
pub const PREVIOUS_PREFIX: &str = ".lambda-fpm-previous-";
/// The wp-config.php written at install: the repository's template, verbatim.
pub const WP_CONFIG: &str = include_str!("../../php/wp-config.php");
/// Largest archive accepted.
const MAX_ARCHIVE_BYTES: u64 = 1 << 30;

const SALT_NAMES: [&str; 8] = [
    "AUTH_KEY",
    "SECURE_AUTH_KEY",
    "LOGGED_IN_KEY",
    "NONCE_KEY",
    "AUTH_SALT",
    "SECURE_AUTH_SALT",
    "LOGGED_IN_SALT",
    "NONCE_SALT",
];
/// Characters of a salt: printable ASCII without `'`, `"` and `\`, so it sits in a
/// single-quoted PHP string as is.
const SALT_ALPHABET: &[u8] =
    b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789!#$%&()*+,-./:;<=>?@[]^_`{|}~";

/// Staging state once the tree is complete.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
struct Ready {
    source: String,
    sha256: String,
    force: bool,
    /// Content root relative to the staging dir (`tree` or `tree/wordpress`).
    content: String,
    /// Where old entries go (relative to the root), when `force`.
    previous: Option<String>,
    /// True once every old entry was moved aside.
    old_moved: bool,
    stripped: Option<String>,
    format: String,
    files: usize,
    bytes: u64,
}

/// The outcome of a command: the JSON result and whether it succeeded.
pub type Outcome = (bool, Value);

fn fail(message: impl Into<String>) -> Outcome {
    (false, json!({"error": message.into()}))
}

/// Why preparing or committing an install failed.
#[derive(Debug, thiserror::Error)]
pub enum InstallError {
    #[error(transparent)]
    Fetch(#[from] super::fetch::FetchError),
    #[error(transparent)]
    Archive(#[from] super::archive::ArchiveError),
    #[error("cannot {0}: {1}")]
    Io(String, std::io::Error),
    #[error("OS random generator failed: {0}")]
    Random(String),
    #[error("{0} panicked: {1}")]
    Panicked(&'static str, tokio::task::JoinError),
    /// The document root or the archive is not what an install may proceed with.
    #[error("{0}")]
    Refused(String),
}

impl InstallError {
    fn io(what: impl Into<String>, error: std::io::Error) -> InstallError {
        InstallError::Io(what.into(), error)
    }
}

/// PHP defining fresh salts; `fill` must be a CSPRNG.
pub fn salts_php(
    fill: &mut dyn FnMut(&mut [u8]) -> Result<(), InstallError>,
) -> Result<String, InstallError> {
    let mut php = String::from(
        "<?php\n// Written once by `lambda-fpm install`. Env vars WORDPRESS_<NAME> take precedence\n// (wp-config.php defines those first). Keep this file private.\n",
    );
    for name in SALT_NAMES {
        let mut salt = String::with_capacity(64);
        // Rejection sampling keeps every character equally likely.
        let limit = 256 - 256 % SALT_ALPHABET.len();
        while salt.len() < 64 {
            let mut buf = [0u8; 96];
            fill(&mut buf)?;
            for b in buf {
                if (b as usize) < limit && salt.len() < 64 {
                    salt.push(SALT_ALPHABET[b as usize % SALT_ALPHABET.len()] as char);
                }
            }
        }
        php.push_str(&format!(
            "defined('{name}') || define('{name}', '{salt}');\n"
        ));
    }
    Ok(php)
}

fn os_random(buf: &mut [u8]) -> Result<(), InstallError> {
    getrandom::fill(buf).map_err(|e| InstallError::Random(e.to_string()))
}

/// Root entries other than the staging dir and the install lock (names), sorted.
fn root_entries(root: &Path, skip: &[&str]) -> std::io::Result<Vec<String>> {
    let mut names: Vec<String> = std::fs::read_dir(root)?
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n != STAGING && n != LOCK && !skip.contains(&n.as_str()))
        .collect();
    names.sort();
    Ok(names)
}

fn now_secs() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

fn write_private(path: &Path, text: &str, mode: u32) -> std::io::Result<()> {
    let tmp = path.with_extension("tmp-lambda-fpm");
    std::fs::write(&tmp, text)?;
    std::fs::set_permissions(&tmp, std::fs::Permissions::from_mode(mode))?;
    std::fs::rename(&tmp, path)
}

fn write_ready(staging: &Path, ready: &Ready) -> std::io::Result<()> {
    let text = serde_json::to_string_pretty(ready).map_err(std::io::Error::other)?;
    write_private(&staging.join("ready.json"), &text, 0o600)
}

fn read_ready(staging: &Path) -> Option<Ready> {
    let text = std::fs::read_to_string(staging.join("ready.json")).ok()?;
    serde_json::from_str(&text).ok()
}

/// Runs `install`, one at a time per document root ([`super::install_lock`]).
pub async fn run(
    bridge: &Bridge,
    spec: &InstallSpec,
    deadline: tokio::time::Instant,
    holder: &Holder,
) -> Outcome {
    let (root, h) = (bridge.root().to_path_buf(), holder.clone());
    // held until this function returns
    let _lock = match tokio::task::spawn_blocking(move || install_lock::acquire(&root, &h)).await {
        Ok(Ok(guard)) => guard,
        Ok(Err(refused)) => return fail(refused.to_string()),
        Err(e) => return fail(format!("install lock panicked: {e}")),
    };
    run_locked(bridge, spec, deadline).await
}

async fn run_locked(
    bridge: &Bridge,
    spec: &InstallSpec,
    deadline: tokio::time::Instant,
) -> Outcome {
    let root = bridge.root().to_path_buf();
    let staging = root.join(STAGING);
    let source = spec.source.display();

    let mut resumed = false;
    let mut cleaned = false;
    let ready = match read_ready(&staging) {
        Some(ready) => {
            tracing::warn!(target: "command", staging = %staging.display(), "resuming an install whose tree was complete");
            resumed = true;
            ready
        }
        None => {
            // 1. what is there already
            let existing = match root_entries(&root, &[]) {
                Ok(e) => e,
                Err(e) => return fail(format!("cannot list {}: {e}", root.display())),
            };
            if let Some(previous) = installed_marker(&root)
                && !spec.force
                && previous.get("source").and_then(Value::as_str) == Some(source.as_str())
                && spec.sha256.is_none_or(|want| {
                    previous.get("sha256").and_then(Value::as_str) == Some(hex(&want).as_str())
                })
            {
                return (
                    true,
                    json!({"already_installed": true, "changed": false, "source": source,
                           "installed": previous}),
                );
            }
            if !existing.is_empty() && !spec.force {
                let shown: Vec<&String> = existing.iter().take(5).collect();
                return fail(format!(
                    "document root {} is not empty ({} entries: {shown:?}{}); refusing to overwrite an existing site. Pass \"force\": true to move it aside into {PREVIOUS_PREFIX}<time>/ and install anyway",
                    root.display(),
                    existing.len(),
                    if existing.len() > 5 { ", …" } else { "" }
                ));
            }
            // 2. a half-finished staging dir
            if staging.exists() {
                cleaned = true;
                let s = staging.clone();
                if let Err(e) = tokio::task::spawn_blocking(move || std::fs::remove_dir_all(&s))
                    .await
                    .unwrap_or_else(|e| Err(std::io::Error::other(e.to_string())))
                {
                    return fail(format!(
                        "cannot remove the stale {}: {e}",
                        staging.display()
                    ));
                }
            }
            // 3. download, verify, extract, configure
            match prepare(spec, &staging, &root, deadline).await {
                Ok(ready) => ready,
                Err(e) => {
                    // A failed download/extraction leaves nothing behind (a timeout may still
                    // leave the dir: the next install removes it).
                    let s = staging.clone();
                    let _ = tokio::task::spawn_blocking(move || std::fs::remove_dir_all(&s)).await;
                    return fail(e.to_string());
                }
            }
        }
    };

    // 4. commit
    let commit = {
        let (root, staging, ready) = (root.clone(), staging.clone(), ready.clone());
        tokio::task::spawn_blocking(move || commit(&root, &staging, ready))
    };
    let moved = match commit.await {
        Ok(Ok(moved)) => moved,
        Ok(Err(e)) => return fail(e.to_string()),
        Err(e) => return fail(format!("commit panicked: {e}")),
    };

    // 5. record, clean up, restart php-fpm
    let record = json!({
        "source": ready.source,
        "sha256": ready.sha256,
        "installed_at": now_secs(),
        "format": ready.format,
        "stripped": ready.stripped,
        "files": ready.files,
        "bytes": ready.bytes,
    });
    if let Err(e) = write_private(
        &root.join(MARKER),
        &serde_json::to_string_pretty(&record).unwrap_or_default(),
        0o644,
    ) {
        return fail(format!("installed, but cannot write {MARKER}: {e}"));
    }
    let s = staging.clone();
    let _ = tokio::task::spawn_blocking(move || std::fs::remove_dir_all(&s)).await;
    bridge.fpm().kill().await;
    (
        true,
        json!({
            "changed": true,
            "source": ready.source,
            "sha256": ready.sha256,
            "format": ready.format,
            "stripped": ready.stripped,
            "files": ready.files,
            "bytes": ready.bytes,
            "entries": moved,
            "previous_site": ready.previous,
            "resumed": resumed,
            "cleaned_stale_staging": cleaned,
            "wp_config": "wp-config.php (reads WORDPRESS_DB_* from the environment) + wp-salts.php (fresh salts)",
        }),
    )
}

fn installed_marker(root: &Path) -> Option<Value> {
    serde_json::from_str(&std::fs::read_to_string(root.join(MARKER)).ok()?).ok()
}

async fn prepare(
    spec: &InstallSpec,
    staging: &Path,
    root: &Path,
    deadline: tokio::time::Instant,
) -> Result<Ready, InstallError> {
    std::fs::create_dir_all(staging)
        .and_then(|()| std::fs::set_permissions(staging, std::fs::Permissions::from_mode(0o700)))
        .map_err(|e| InstallError::io(format!("create {}", staging.display()), e))?;
    let archive_path = staging.join("archive.download");
    let got = fetch::download(&spec.source, &archive_path, deadline, MAX_ARCHIVE_BYTES).await?;
    let actual = hex(&got.sha256);
    if let Some(want) = spec.sha256
        && want != got.sha256
    {
        return Err(InstallError::Refused(format!(
            "checksum mismatch for {}: expected sha256 {}, got {actual} ({} bytes); nothing was installed",
            spec.source.display(),
            hex(&want),
            got.bytes
        )));
    }
    let tree = staging.join("tree");
    let std_deadline =
        Instant::now() + deadline.saturating_duration_since(tokio::time::Instant::now());
    let (a, t) = (archive_path.clone(), tree.clone());
    let (format, extracted) = tokio::task::spawn_blocking(move || {
        archive::extract(&a, &t, std_deadline, Limits::default())
    })
    .await
    .map_err(|e| InstallError::Panicked("extraction", e))??;
    let _ = std::fs::remove_file(&archive_path);

    let content = &extracted.content_root;
    if !content.join("wp-settings.php").is_file() {
        tracing::warn!(target: "command", "archive has no wp-settings.php: not a WordPress release?");
    }
    // wp-config.php from the template, fresh salts, an uploads dir.
    write_private(&content.join("wp-config.php"), WP_CONFIG, 0o640)
        .map_err(|e| InstallError::io("write wp-config.php", e))?;
    let salts = salts_php(&mut os_random)?;
    write_private(&content.join("wp-salts.php"), &salts, 0o640)
        .map_err(|e| InstallError::io("write wp-salts.php", e))?;
    if content.join("wp-content").is_dir() {
        let uploads = content.join("wp-content/uploads");
        std::fs::create_dir_all(&uploads)
            .and_then(|()| {
                std::fs::set_permissions(&uploads, std::fs::Permissions::from_mode(0o755))
            })
            .map_err(|e| InstallError::io("create wp-content/uploads", e))?;
    }
    let content_rel = content
        .strip_prefix(staging)
        .unwrap_or(Path::new("tree"))
        .to_string_lossy()
        .into_owned();
    let ready = Ready {
        source: spec.source.display(),
        sha256: actual,
        force: spec.force,
        content: content_rel,
        previous: spec
            .force
            .then(|| format!("{PREVIOUS_PREFIX}{}", now_secs())),
        old_moved: false,
        stripped: extracted.stripped.clone(),
        format: format.as_str().to_string(),
        files: extracted.files,
        bytes: extracted.bytes,
    };
    // Root may have gained entries meanwhile (another writer): checked again at commit.
    let _ = root;
    write_ready(staging, &ready).map_err(|e| InstallError::io("write ready.json", e))?;
    Ok(ready)
}

/// Moves the old site aside (force) and the new tree into the root. Returns the number of
/// top-level entries moved in.
fn commit(root: &Path, staging: &Path, mut ready: Ready) -> Result<usize, InstallError> {
    let content: PathBuf = staging.join(&ready.content);
    if !ready.old_moved {
        let old = root_entries(root, &[ready.previous.as_deref().unwrap_or("")])
            .map_err(|e| InstallError::io(format!("list {}", root.display()), e))?;
        if !old.is_empty() {
            let Some(previous) = ready.previous.clone().filter(|_| ready.force) else {
                return Err(InstallError::Refused(format!(
                    "document root gained entries while installing ({old:?}); refusing to overwrite"
                )));
            };
            let previous = root.join(previous);
            std::fs::create_dir_all(&previous)
                .map_err(|e| InstallError::io(format!("create {}", previous.display()), e))?;
            for name in &old {
                std::fs::rename(root.join(name), previous.join(name))
                    .map_err(|e| InstallError::io(format!("move old {name:?} aside"), e))?;
            }
        }
        ready.old_moved = true;
        write_ready(staging, &ready).map_err(|e| InstallError::io("update ready.json", e))?;
    }
    let mut names: Vec<String> = std::fs::read_dir(&content)
        .map_err(|e| InstallError::io(format!("list {}", content.display()), e))?
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    // index.php last: the site answers only once everything else is in place.
    names.sort_by_key(|n| (n == "index.php", n.clone()));
    let mut moved = 0;
    for name in &names {
        let to = root.join(name);
        if std::fs::symlink_metadata(&to).is_ok() {
            return Err(InstallError::Refused(format!(
                "{} appeared in the document root while installing; refusing to overwrite it",
                to.display()
            )));
        }
        std::fs::rename(content.join(name), &to)
            .map_err(|e| InstallError::io(format!("move {name:?} into place"), e))?;
        moved += 1;
    }
    Ok(moved)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn salts_are_complete_distinct_and_quotable() {
        let php = salts_php(&mut os_random).unwrap();
        let mut seen = std::collections::HashSet::new();
        for name in SALT_NAMES {
            let line = php
                .lines()
                .find(|l| l.starts_with(&format!("defined('{name}')")))
                .unwrap_or_else(|| panic!("{name} missing in {php}"));
            let salt = line.rsplit(", '").next().unwrap().trim_end_matches("');");
            assert_eq!(salt.len(), 64, "{line}");
            assert!(!salt.contains(['\'', '"', '\\']), "{line}");
            assert!(salt.bytes().all(|b| SALT_ALPHABET.contains(&b)));
            assert!(seen.insert(salt.to_string()), "repeated salt");
        }
        assert_ne!(
            php,
            salts_php(&mut os_random).unwrap(),
            "salts must be fresh each time"
        );
    }

    #[test]
    fn salts_use_every_random_byte_fairly() {
        // A counter "random" source: rejection sampling must skip bytes >= the largest
        // multiple of the alphabet size, so no character is favoured.
        let mut next = 0u8;
        let mut fill = |buf: &mut [u8]| {
            for b in buf.iter_mut() {
                *b = next;
                next = next.wrapping_add(1);
            }
            Ok(())
        };
        let php = salts_php(&mut fill).unwrap();
        let limit = 256 - 256 % SALT_ALPHABET.len();
        assert!(limit <= 256 && limit.is_multiple_of(SALT_ALPHABET.len()));
        assert!(php.contains("define('AUTH_KEY', 'ABCDEFGH"), "{php}");
        let failing = salts_php(&mut |_| Err(InstallError::Random("no entropy".into())))
            .unwrap_err()
            .to_string();
        assert_eq!(failing, "OS random generator failed: no entropy");
    }

    #[test]
    fn wp_config_template_reads_db_settings_from_env_and_loads_salts() {
        for needle in [
            "WORDPRESS_DB_HOST",
            "WORDPRESS_DB_NAME",
            "WORDPRESS_DB_USER",
            "WORDPRESS_DB_PASSWORD",
            "wp-salts.php",
            "wp-settings.php",
        ] {
            assert!(WP_CONFIG.contains(needle), "template lacks {needle}");
        }
    }

    #[test]
    fn commit_moves_old_site_aside_and_is_resumable() {
        let base = std::env::temp_dir().join(format!("lambda-fpm-commit-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&base);
        let root = base.join("root");
        let staging = root.join(STAGING);
        let content = staging.join("tree/wordpress");
        std::fs::create_dir_all(content.join("wp-admin")).unwrap();
        std::fs::write(content.join("index.php"), "new").unwrap();
        std::fs::write(content.join("wp-admin/a.php"), "new").unwrap();
        std::fs::write(root.join("index.php"), "old").unwrap();
        std::fs::write(root.join("old-only.txt"), "old").unwrap();
        let ready = Ready {
            source: "https://x/y.zip".into(),
            sha256: "00".into(),
            force: true,
            content: "tree/wordpress".into(),
            previous: Some(".lambda-fpm-previous-1".into()),
            old_moved: false,
            stripped: Some("wordpress".into()),
            format: "zip".into(),
            files: 2,
            bytes: 6,
        };
        write_ready(&staging, &ready).unwrap();
        // simulate a crash after the old site was moved and one new entry went in
        let mut half = ready.clone();
        std::fs::create_dir_all(root.join(".lambda-fpm-previous-1")).unwrap();
        for n in ["index.php", "old-only.txt"] {
            std::fs::rename(root.join(n), root.join(".lambda-fpm-previous-1").join(n)).unwrap();
        }
        half.old_moved = true;
        write_ready(&staging, &half).unwrap();
        std::fs::rename(content.join("wp-admin"), root.join("wp-admin")).unwrap();

        let resumed = read_ready(&staging).unwrap();
        assert!(resumed.old_moved);
        assert_eq!(commit(&root, &staging, resumed).unwrap(), 1);
        assert_eq!(
            std::fs::read_to_string(root.join("index.php")).unwrap(),
            "new"
        );
        assert_eq!(
            std::fs::read_to_string(root.join("wp-admin/a.php")).unwrap(),
            "new"
        );
        assert_eq!(
            std::fs::read_to_string(root.join(".lambda-fpm-previous-1/index.php")).unwrap(),
            "old"
        );
        assert!(!root.join("old-only.txt").exists());

        // without force, anything unexpected in the root stops the commit
        let mut strict = ready.clone();
        strict.force = false;
        strict.previous = None;
        std::fs::create_dir_all(&content).unwrap();
        assert!(
            commit(&root, &staging, strict)
                .unwrap_err()
                .to_string()
                .contains("refusing to overwrite")
        );
    }
}
