//! The disk side of `htaccess`: which directories on a routed file's way hold an `.htaccess`
//! that denies every request. Read from the document root on EFS (the truth, mirror or not),
//! remembered per directory for the static cache's TTL, so a hot path costs hash lookups.

use std::collections::HashMap;
use std::io::Read;
use std::path::PathBuf;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use crate::htaccess::{denies_all, guarding_dirs};

/// `.htaccess` files larger than this are read only this far (plugins write a few lines).
const MAX_READ: u64 = 64 * 1024;
/// Directories remembered at most (then the memory starts over).
const MAX_DIRS: usize = 20_000;

pub struct HtaccessGuard {
    root: PathBuf,
    ttl: Duration,
    known: Mutex<HashMap<String, (bool, Instant)>>,
}

impl HtaccessGuard {
    pub fn new(root: PathBuf, ttl: Duration) -> HtaccessGuard {
        HtaccessGuard {
            root,
            ttl,
            known: Mutex::new(HashMap::new()),
        }
    }

    /// The outermost directory on `relative`'s way whose `.htaccess` denies all, if any
    /// (blocking: call off the async threads).
    pub fn denied_by(&self, relative: &str) -> Option<String> {
        guarding_dirs(relative)
            .into_iter()
            .find(|dir| self.denies(dir))
            .map(str::to_string)
    }

    fn denies(&self, dir: &str) -> bool {
        let now = Instant::now();
        if let Ok(known) = self.known.lock()
            && let Some((denies, at)) = known.get(dir)
            && now.duration_since(*at) <= self.ttl
        {
            return *denies;
        }
        let denies = self.read(dir);
        if let Ok(mut known) = self.known.lock() {
            if known.len() >= MAX_DIRS {
                known.clear();
            }
            known.insert(dir.to_string(), (denies, now));
        }
        denies
    }

    fn read(&self, dir: &str) -> bool {
        let path = self.root.join(dir).join(".htaccess");
        let Ok(file) = std::fs::File::open(path) else {
            return false;
        };
        let mut text = String::new();
        let _ = file.take(MAX_READ).read_to_string(&mut text);
        denies_all(&text)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_the_protecting_directory_and_sees_changes_after_the_ttl() {
        let root = std::env::temp_dir().join(format!("lambda-fpm-htaccess-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&root);
        std::fs::create_dir_all(root.join("wp-content/uploads/wc-logs")).unwrap();
        std::fs::write(root.join(".htaccess"), "RewriteEngine On\n").unwrap();
        std::fs::write(
            root.join("wp-content/uploads/wc-logs/.htaccess"),
            "deny from all\n",
        )
        .unwrap();
        let guard = HtaccessGuard::new(root.clone(), Duration::from_millis(50));
        assert_eq!(
            guard
                .denied_by("wp-content/uploads/wc-logs/fatal-errors.log")
                .as_deref(),
            Some("wp-content/uploads/wc-logs")
        );
        assert_eq!(guard.denied_by("wp-content/uploads/2024/a.jpg"), None);
        assert_eq!(guard.denied_by("index.php"), None);
        std::fs::write(root.join("wp-content/.htaccess"), "Require all denied\n").unwrap();
        assert_eq!(
            guard.denied_by("wp-content/uploads/2024/a.jpg"),
            None,
            "remembered"
        );
        std::thread::sleep(Duration::from_millis(60));
        assert_eq!(
            guard.denied_by("wp-content/uploads/2024/a.jpg").as_deref(),
            Some("wp-content")
        );
        std::fs::remove_dir_all(&root).unwrap();
    }
}
