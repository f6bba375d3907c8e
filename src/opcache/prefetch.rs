//! Parallel `stat` of the scripts a new sandbox is about to include.
//!
//! On EFS every path lookup the kernel has not cached is a network round trip, and PHP makes
//! them one after another while the first request runs: realpath walks each include's
//! components and opcache checks each script's timestamp. The opcache seed names the scripts
//! the warmed pages included, so init can look them all up at once, many in flight together;
//! the first request then finds their directory entries and attributes in the kernel's caches
//! (NFS keeps attributes for 3-60 s, directory entries longer). Nothing is read or opened, and
//! a path that no longer exists costs one lookup and is only counted.

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

/// What a prefetch did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Prefetched {
    /// Paths looked up (found or not).
    pub looked_up: usize,
    /// Of those, paths that do not exist (any more).
    pub missing: usize,
    /// The budget ran out before every path was looked up.
    pub out_of_time: bool,
    pub ms: u64,
}

/// Looks up every path, `threads` at a time, until done or `budget` is spent (the lookups only
/// warm caches: stopping early is safe).
pub fn prefetch(paths: &[PathBuf], threads: usize, budget: Duration) -> Prefetched {
    let started = Instant::now();
    let next = AtomicUsize::new(0);
    let (looked_up, missing) = (AtomicUsize::new(0), AtomicUsize::new(0));
    let out_of_time = AtomicBool::new(false);
    std::thread::scope(|scope| {
        for _ in 0..threads.clamp(1, paths.len().max(1)) {
            scope.spawn(|| {
                loop {
                    if started.elapsed() >= budget {
                        out_of_time.store(true, Ordering::Relaxed);
                        return;
                    }
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    let Some(path) = paths.get(i) else { return };
                    if std::fs::metadata(path).is_err() {
                        missing.fetch_add(1, Ordering::Relaxed);
                    }
                    looked_up.fetch_add(1, Ordering::Relaxed);
                }
            });
        }
    });
    let looked_up = looked_up.into_inner();
    Prefetched {
        looked_up,
        missing: missing.into_inner(),
        out_of_time: out_of_time.into_inner() && looked_up < paths.len(),
        ms: started.elapsed().as_millis() as u64,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn looks_up_every_path_and_counts_the_missing() {
        let dir = std::env::temp_dir().join(format!("lambda-fpm-prefetch-{}", std::process::id()));
        std::fs::create_dir_all(dir.join("wp-includes")).unwrap();
        let mut paths = Vec::new();
        for i in 0..50 {
            let p = dir.join(format!("wp-includes/f{i}.php"));
            std::fs::write(&p, "<?php").unwrap();
            paths.push(p);
        }
        paths.push(dir.join("gone.php"));
        paths.push(dir.join("no-such-dir/x.php"));
        for threads in [1, 4, 16, 100] {
            let p = prefetch(&paths, threads, Duration::from_secs(10));
            assert_eq!(
                (p.looked_up, p.missing, p.out_of_time),
                (52, 2, false),
                "{threads} threads"
            );
        }
        assert_eq!(prefetch(&[], 16, Duration::from_secs(1)).looked_up, 0);
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn stops_when_the_budget_is_spent() {
        let paths = vec![PathBuf::from("/nonexistent/a.php"); 10];
        let p = prefetch(&paths, 4, Duration::ZERO);
        assert!(p.out_of_time);
        assert_eq!(p.looked_up, 0);
    }
}
