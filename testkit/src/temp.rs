//! Fresh temporary directories: `<tmp>/lambda-fpm-<tag>-<pid>`, emptied first, so a rerun
//! never sees a previous run's files and parallel test binaries never share one.

use std::path::PathBuf;

/// A fresh, empty directory for `tag`.
pub fn dir(tag: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("lambda-fpm-{tag}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir)
        .unwrap_or_else(|e| panic!("cannot create {}: {e}", dir.display()));
    dir
}
