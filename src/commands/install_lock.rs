//! One `install` at a time per document root, across sandboxes.
//!
//! Two invocations of `install` (a retry fired while the first still runs, two operators) would
//! otherwise share the staging directory: the second would remove the first one's half-written
//! tree. The lock is an advisory whole-file lock (`flock`, through std's `File::try_lock`) on a
//! dot-file in the document root (never served, never deleted). EFS supports NFSv4.1 locks and
//! Linux's NFS client maps `flock` onto them, so sandboxes on different hosts exclude each other.
//! The kernel releases the lock when its holder's file is closed or its process ends: when an
//! install finishes, fails, or its invocation times out (Lambda then ends the runtime process),
//! so a stale lock cannot outlive its holder and no expiry time is needed. The file also names
//! the holder (request id, start, deadline) for the error message of the one refused.

use std::io::{Read, Seek, SeekFrom, Write};
use std::path::Path;

/// Lock file name inside the document root.
pub const LOCK: &str = ".lambda-fpm-install.lock";

/// Who holds the lock (written into the file by the holder).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Holder {
    /// Invocation that holds it.
    pub request_id: String,
    /// Unix ms when it was taken.
    pub since_ms: u64,
    /// Unix ms when the holder's invocation ends at the latest.
    pub until_ms: u64,
}

/// A held lock: released when dropped (the file is closed).
#[derive(Debug)]
pub struct Guard {
    _file: std::fs::File,
}

/// Why the lock was not taken.
#[derive(Debug)]
pub enum Refused {
    /// Another install holds it (`None` when the file does not say who).
    Busy(Option<Holder>),
    /// The file system said no.
    Io(String),
}

impl std::fmt::Display for Refused {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Refused::Busy(Some(h)) => write!(
                f,
                "another install is running (request {}, started at {} ms, its invocation ends by {} ms, Unix time); nothing was changed. Retry when it has finished or timed out (a timed-out install is resumed)",
                h.request_id, h.since_ms, h.until_ms
            ),
            Refused::Busy(None) => write!(
                f,
                "another install is running; nothing was changed. Retry when it has finished or timed out"
            ),
            Refused::Io(e) => write!(f, "cannot take the install lock: {e}"),
        }
    }
}

/// Takes the lock in `root` without waiting.
pub fn acquire(root: &Path, holder: &Holder) -> Result<Guard, Refused> {
    let path = root.join(LOCK);
    let io = |e: std::io::Error| Refused::Io(format!("{}: {e}", path.display()));
    let mut file = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .open(&path)
        .map_err(io)?;
    match file.try_lock() {
        Ok(()) => {}
        Err(std::fs::TryLockError::WouldBlock) => {
            let mut text = Vec::new();
            let _ = file.read_to_end(&mut text);
            return Err(Refused::Busy(serde_json::from_slice(&text).ok()));
        }
        Err(std::fs::TryLockError::Error(e)) => return Err(io(e)),
    }
    let text = serde_json::to_vec(holder).map_err(|e| io(std::io::Error::other(e)))?;
    file.set_len(0)
        .and_then(|()| file.seek(SeekFrom::Start(0)))
        .and_then(|_| file.write_all(&text))
        .and_then(|()| file.sync_data())
        .map_err(io)?;
    Ok(Guard { _file: file })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::PathBuf;

    fn dir(tag: &str) -> PathBuf {
        let d = std::env::temp_dir().join(format!("lambda-fpm-lock-{tag}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        std::fs::create_dir_all(&d).unwrap();
        d
    }

    fn holder(id: &str) -> Holder {
        Holder {
            request_id: id.into(),
            since_ms: 1_000,
            until_ms: 61_000,
        }
    }

    #[test]
    fn second_install_is_refused_and_told_who_holds_it() {
        let d = dir("busy");
        let a = acquire(&d, &holder("req-a")).unwrap();
        let refused = acquire(&d, &holder("req-b")).unwrap_err();
        match &refused {
            Refused::Busy(Some(h)) => assert_eq!(h, &holder("req-a")),
            other => panic!("{other:?}"),
        }
        assert!(refused.to_string().contains("req-a"), "{refused}");
        drop(a);
        // released (finished, failed, or its process ended): the next one gets it
        let c = acquire(&d, &holder("req-c")).unwrap();
        let text = std::fs::read_to_string(d.join(LOCK)).unwrap();
        assert_eq!(
            serde_json::from_str::<Holder>(&text).unwrap(),
            holder("req-c")
        );
        drop(c);
    }

    #[test]
    fn a_longer_holder_record_is_fully_replaced() {
        let d = dir("replace");
        drop(acquire(&d, &holder("a-very-long-request-id-0123456789")).unwrap());
        let _g = acquire(&d, &holder("b")).unwrap();
        let text = std::fs::read_to_string(d.join(LOCK)).unwrap();
        assert_eq!(serde_json::from_str::<Holder>(&text).unwrap(), holder("b"));
    }

    #[test]
    fn exactly_one_of_many_concurrent_installs_gets_it() {
        let d = dir("race");
        let barrier = std::sync::Barrier::new(8);
        let won: Vec<Option<Guard>> = std::thread::scope(|s| {
            let handles: Vec<_> = (0..8)
                .map(|i| {
                    let (d, barrier) = (&d, &barrier);
                    s.spawn(move || {
                        barrier.wait();
                        acquire(d, &holder(&format!("req-{i}"))).ok()
                    })
                })
                .collect();
            handles.into_iter().map(|h| h.join().unwrap()).collect()
        });
        assert_eq!(won.iter().filter(|g| g.is_some()).count(), 1);
    }

    #[test]
    fn a_lock_held_by_a_process_that_ended_is_free() {
        // flock dies with its holder: a child process takes the lock and is killed
        let d = dir("dead");
        let mut child = std::process::Command::new("flock")
            .arg("--no-fork")
            .arg(d.join(LOCK))
            .args(["sleep", "30"])
            .spawn()
            .expect("flock(1) from util-linux");
        // wait until the child holds it
        let start = std::time::Instant::now();
        loop {
            match acquire(&d, &holder("probe")) {
                Err(Refused::Busy(_)) => break,
                Ok(g) => drop(g),
                Err(e) => panic!("{e}"),
            }
            assert!(start.elapsed().as_secs() < 10, "child never took the lock");
            std::thread::sleep(std::time::Duration::from_millis(10));
        }
        child.kill().unwrap();
        child.wait().unwrap();
        // --no-fork: the killed process was the only one with the file open
        acquire(&d, &holder("after")).expect("released with its holder");
    }
}
