//! EFS latency simulator: a FUSE pass-through file system over a local directory that sleeps a
//! configurable time in every operation that would be a network round trip on EFS (lookup,
//! getattr, access, readlink, open, opendir, readdir, read) and counts the operations.
//!
//! Kernel caching is off by default (entry/attr TTL 0): every stat()/open() PHP or the bridge
//! makes reaches the file system and is counted, an upper bound for EFS (whose NFS client caches
//! attributes for a few seconds but revalidates on every open). Opened files keep the page cache
//! (FOPEN_KEEP_CACHE), as NFS does when the file did not change. Writes are refused.

use std::collections::HashMap;
use std::ffi::OsStr;
use std::fs::File;
use std::os::unix::fs::{FileExt, MetadataExt};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use anyhow::{Context, Result};
use fuser::{
    AccessFlags, Errno, FileAttr, FileHandle, FileType, Filesystem, FopenFlags, Generation,
    INodeNo, LockOwner, MountOption, OpenFlags, ReplyAttr, ReplyData, ReplyDirectory, ReplyEmpty,
    ReplyEntry, ReplyOpen, Request,
};
use serde::Serialize;

/// Operation counters.
#[derive(Default, Debug)]
pub struct Counters {
    pub lookup: AtomicU64,
    pub getattr: AtomicU64,
    pub access: AtomicU64,
    pub readlink: AtomicU64,
    pub open: AtomicU64,
    pub opendir: AtomicU64,
    pub readdir: AtomicU64,
    pub read: AtomicU64,
    pub read_bytes: AtomicU64,
}

/// A snapshot of [`Counters`].
#[derive(Debug, Clone, Copy, Default, Serialize, serde::Deserialize, PartialEq)]
pub struct OpCounts {
    pub lookup: u64,
    pub getattr: u64,
    pub access: u64,
    pub readlink: u64,
    pub open: u64,
    pub opendir: u64,
    pub readdir: u64,
    pub read: u64,
    pub read_bytes: u64,
}

impl OpCounts {
    /// Operations that each cost one round trip (everything but bytes).
    pub fn round_trips(&self) -> u64 {
        self.lookup
            + self.getattr
            + self.access
            + self.readlink
            + self.open
            + self.opendir
            + self.readdir
            + self.read
    }

    pub fn minus(&self, o: &OpCounts) -> OpCounts {
        OpCounts {
            lookup: self.lookup - o.lookup,
            getattr: self.getattr - o.getattr,
            access: self.access - o.access,
            readlink: self.readlink - o.readlink,
            open: self.open - o.open,
            opendir: self.opendir - o.opendir,
            readdir: self.readdir - o.readdir,
            read: self.read - o.read,
            read_bytes: self.read_bytes - o.read_bytes,
        }
    }
}

impl Counters {
    pub fn snapshot(&self) -> OpCounts {
        let l = |a: &AtomicU64| a.load(Ordering::Relaxed);
        OpCounts {
            lookup: l(&self.lookup),
            getattr: l(&self.getattr),
            access: l(&self.access),
            readlink: l(&self.readlink),
            open: l(&self.open),
            opendir: l(&self.opendir),
            readdir: l(&self.readdir),
            read: l(&self.read),
            read_bytes: l(&self.read_bytes),
        }
    }
}

/// Delays per operation class.
#[derive(Debug, Clone, Copy)]
pub struct Delays {
    /// lookup, getattr, access, readlink, open, opendir, readdir
    pub metadata: Duration,
    /// each read() call
    pub read: Duration,
    /// kernel entry/attribute cache time
    pub ttl: Duration,
}

/// (inode, kind, name) of one directory entry.
type DirEntry = (u64, FileType, std::ffi::OsString);

/// Operation kinds, in [`PathCounts`] order.
pub const KINDS: [&str; 8] = [
    "lookup", "getattr", "access", "readlink", "open", "opendir", "readdir", "read",
];

/// Round trips per path (relative to the mounted source), by kind ([`KINDS`] order).
#[derive(Default, Debug)]
pub struct PathCounts(Mutex<HashMap<String, [u64; 8]>>);

impl PathCounts {
    fn add(&self, path: &str, kind: usize) {
        if let Ok(mut m) = self.0.lock() {
            m.entry(path.to_string()).or_default()[kind] += 1;
        }
    }

    pub fn snapshot(&self) -> HashMap<String, [u64; 8]> {
        self.0.lock().map(|m| m.clone()).unwrap_or_default()
    }
}

/// `after - before`, per path (paths with no new operations left out).
pub fn path_delta(
    after: &HashMap<String, [u64; 8]>,
    before: &HashMap<String, [u64; 8]>,
) -> HashMap<String, [u64; 8]> {
    let mut out = HashMap::new();
    for (p, a) in after {
        let b = before.get(p).copied().unwrap_or_default();
        let d: [u64; 8] = std::array::from_fn(|i| a[i] - b[i]);
        if d.iter().any(|n| *n > 0) {
            out.insert(p.clone(), d);
        }
    }
    out
}

/// The path class a WordPress file belongs to: `wordpress/wp-includes/blocks/x/block.json` ->
/// `wp-includes/blocks`, `wordpress/wp-content/themes/t/...` -> `wp-content/themes/t`,
/// `wordpress/index.php` -> `(root files)`; the leading site directory is dropped.
pub fn path_class(path: &str) -> String {
    let mut parts: Vec<&str> = path.split('/').filter(|p| !p.is_empty()).collect();
    if !parts.is_empty() {
        parts.remove(0); // the site's directory inside the mounted parent
    }
    let depth = match parts.first() {
        Some(&"wp-content") => 3,
        Some(&"wp-includes") | Some(&"wp-admin") => 2,
        _ => 1,
    };
    if parts.len() <= 1 {
        return "(root files)".into();
    }
    if parts.len() <= depth {
        // a directory or file right at that level: its parent class
        return parts[..parts.len() - 1].join("/");
    }
    parts[..depth].join("/")
}

/// Operations grouped by [`path_class`], largest first: (class, total, by kind).
pub fn by_class(paths: &HashMap<String, [u64; 8]>) -> Vec<(String, u64, [u64; 8])> {
    let mut m: HashMap<String, [u64; 8]> = HashMap::new();
    for (p, c) in paths {
        let e = m.entry(path_class(p)).or_default();
        for i in 0..8 {
            e[i] += c[i];
        }
    }
    let mut v: Vec<_> = m
        .into_iter()
        .map(|(k, c)| (k, c.iter().sum::<u64>(), c))
        .collect();
    v.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    v
}

pub struct DelayFs {
    root: PathBuf,
    delays: Delays,
    counters: Arc<Counters>,
    paths: Arc<PathCounts>,
    inodes: RwLock<HashMap<u64, PathBuf>>,
    files: Mutex<HashMap<u64, File>>,
    dirs: Mutex<HashMap<u64, Vec<DirEntry>>>,
    next_fh: AtomicU64,
}

fn kind_of(ft: std::fs::FileType) -> FileType {
    use std::os::unix::fs::FileTypeExt;
    if ft.is_dir() {
        FileType::Directory
    } else if ft.is_symlink() {
        FileType::Symlink
    } else if ft.is_fifo() {
        FileType::NamedPipe
    } else if ft.is_socket() {
        FileType::Socket
    } else if ft.is_block_device() {
        FileType::BlockDevice
    } else if ft.is_char_device() {
        FileType::CharDevice
    } else {
        FileType::RegularFile
    }
}

fn time(secs: i64, nsecs: i64) -> SystemTime {
    if secs >= 0 {
        UNIX_EPOCH + Duration::new(secs as u64, nsecs as u32)
    } else {
        UNIX_EPOCH
    }
}

fn errno(e: &std::io::Error) -> Errno {
    Errno::from_i32(e.raw_os_error().unwrap_or(libc::EIO))
}

impl DelayFs {
    pub fn new(
        root: &Path,
        delays: Delays,
        counters: Arc<Counters>,
        paths: Arc<PathCounts>,
    ) -> Result<DelayFs> {
        let root = root
            .canonicalize()
            .with_context(|| format!("source {}", root.display()))?;
        let mut inodes = HashMap::new();
        inodes.insert(INodeNo::ROOT.0, root.clone());
        Ok(DelayFs {
            root,
            delays,
            counters,
            paths,
            inodes: RwLock::new(inodes),
            files: Mutex::default(),
            dirs: Mutex::default(),
            next_fh: AtomicU64::new(1),
        })
    }

    fn wait(&self, d: Duration) {
        if !d.is_zero() {
            std::thread::sleep(d);
        }
    }

    fn meta(&self, counter: &AtomicU64) {
        counter.fetch_add(1, Ordering::Relaxed);
        self.wait(self.delays.metadata);
    }

    /// Counts one operation of `kind` ([`KINDS`] index) on `path`.
    fn count_path(&self, path: &Path, kind: usize) {
        let rel = path.strip_prefix(&self.root).unwrap_or(path);
        self.paths.add(&rel.to_string_lossy(), kind);
    }

    fn path(&self, ino: INodeNo) -> Option<PathBuf> {
        self.inodes.read().unwrap().get(&ino.0).cloned()
    }

    /// Our inode number for a file: the source's, except the root which is 1.
    fn ino_for(&self, path: &Path, m: &std::fs::Metadata) -> u64 {
        if path == self.root {
            INodeNo::ROOT.0
        } else if m.ino() == INodeNo::ROOT.0 {
            u64::MAX - 1
        } else {
            m.ino()
        }
    }

    fn attr(&self, path: &Path, m: &std::fs::Metadata) -> FileAttr {
        FileAttr {
            ino: INodeNo(self.ino_for(path, m)),
            size: m.size(),
            blocks: m.blocks(),
            atime: time(m.atime(), m.atime_nsec()),
            mtime: time(m.mtime(), m.mtime_nsec()),
            ctime: time(m.ctime(), m.ctime_nsec()),
            crtime: time(m.mtime(), m.mtime_nsec()),
            kind: kind_of(m.file_type()),
            perm: (m.mode() & 0o7777) as u16,
            nlink: m.nlink() as u32,
            uid: m.uid(),
            gid: m.gid(),
            rdev: m.rdev() as u32,
            blksize: m.blksize() as u32,
            flags: 0,
        }
    }
}

impl Filesystem for DelayFs {
    fn lookup(&self, _req: &Request, parent: INodeNo, name: &OsStr, reply: ReplyEntry) {
        self.meta(&self.counters.lookup);
        let Some(dir) = self.path(parent) else {
            return reply.error(Errno::ENOENT);
        };
        let path = dir.join(name);
        self.count_path(&path, 0);
        match std::fs::symlink_metadata(&path) {
            Ok(m) => {
                let attr = self.attr(&path, &m);
                self.inodes.write().unwrap().insert(attr.ino.0, path);
                reply.entry(&self.delays.ttl, &attr, Generation(0));
            }
            Err(e) => reply.error(errno(&e)),
        }
    }

    fn getattr(&self, _req: &Request, ino: INodeNo, _fh: Option<FileHandle>, reply: ReplyAttr) {
        self.meta(&self.counters.getattr);
        let Some(path) = self.path(ino) else {
            return reply.error(Errno::ENOENT);
        };
        self.count_path(&path, 1);
        match std::fs::symlink_metadata(&path) {
            Ok(m) => reply.attr(&self.delays.ttl, &self.attr(&path, &m)),
            Err(e) => reply.error(errno(&e)),
        }
    }

    fn access(&self, _req: &Request, ino: INodeNo, _mask: AccessFlags, reply: ReplyEmpty) {
        self.meta(&self.counters.access);
        // root runs everything here; writes fail later with ENOSYS/EROFS (opcache's
        // file-cache check only needs access() to pass)
        if let Some(path) = self.path(ino) {
            self.count_path(&path, 2);
            reply.ok()
        } else {
            reply.error(Errno::ENOENT)
        }
    }

    fn readlink(&self, _req: &Request, ino: INodeNo, reply: ReplyData) {
        self.meta(&self.counters.readlink);
        let Some(path) = self.path(ino) else {
            return reply.error(Errno::ENOENT);
        };
        self.count_path(&path, 3);
        match std::fs::read_link(&path) {
            Ok(t) => reply.data(t.as_os_str().as_encoded_bytes()),
            Err(e) => reply.error(errno(&e)),
        }
    }

    fn open(&self, _req: &Request, ino: INodeNo, flags: OpenFlags, reply: ReplyOpen) {
        self.meta(&self.counters.open);
        if flags.0 & (libc::O_WRONLY | libc::O_RDWR) != 0 {
            return reply.error(Errno::EROFS);
        }
        let Some(path) = self.path(ino) else {
            return reply.error(Errno::ENOENT);
        };
        self.count_path(&path, 4);
        match File::open(&path) {
            Ok(f) => {
                let fh = self.next_fh.fetch_add(1, Ordering::Relaxed);
                self.files.lock().unwrap().insert(fh, f);
                reply.opened(FileHandle(fh), FopenFlags::FOPEN_KEEP_CACHE);
            }
            Err(e) => reply.error(errno(&e)),
        }
    }

    fn read(
        &self,
        _req: &Request,
        ino: INodeNo,
        fh: FileHandle,
        offset: u64,
        size: u32,
        _flags: OpenFlags,
        _lock_owner: Option<LockOwner>,
        reply: ReplyData,
    ) {
        self.counters.read.fetch_add(1, Ordering::Relaxed);
        if let Some(path) = self.path(ino) {
            self.count_path(&path, 7);
        }
        self.wait(self.delays.read);
        let file = self
            .files
            .lock()
            .unwrap()
            .get(&fh.0)
            .and_then(|f| f.try_clone().ok());
        let Some(file) = file else {
            return reply.error(Errno::EBADF);
        };
        let mut buf = vec![0u8; size as usize];
        let mut got = 0usize;
        while got < buf.len() {
            match file.read_at(&mut buf[got..], offset + got as u64) {
                Ok(0) => break,
                Ok(n) => got += n,
                Err(e) => return reply.error(errno(&e)),
            }
        }
        self.counters
            .read_bytes
            .fetch_add(got as u64, Ordering::Relaxed);
        reply.data(&buf[..got]);
    }

    fn release(
        &self,
        _req: &Request,
        _ino: INodeNo,
        fh: FileHandle,
        _flags: OpenFlags,
        _lock_owner: Option<LockOwner>,
        _flush: bool,
        reply: ReplyEmpty,
    ) {
        self.files.lock().unwrap().remove(&fh.0);
        reply.ok();
    }

    fn opendir(&self, _req: &Request, ino: INodeNo, _flags: OpenFlags, reply: ReplyOpen) {
        self.meta(&self.counters.opendir);
        let Some(path) = self.path(ino) else {
            return reply.error(Errno::ENOENT);
        };
        self.count_path(&path, 5);
        let rd = match std::fs::read_dir(&path) {
            Ok(rd) => rd,
            Err(e) => return reply.error(errno(&e)),
        };
        let mut entries = vec![
            (ino.0, FileType::Directory, ".".into()),
            (ino.0, FileType::Directory, "..".into()),
        ];
        for e in rd.flatten() {
            let Ok(m) = e.metadata() else { continue };
            let p = e.path();
            let child = self.ino_for(&p, &m);
            entries.push((child, kind_of(m.file_type()), e.file_name()));
        }
        let fh = self.next_fh.fetch_add(1, Ordering::Relaxed);
        self.dirs.lock().unwrap().insert(fh, entries);
        reply.opened(FileHandle(fh), FopenFlags::empty());
    }

    fn readdir(
        &self,
        _req: &Request,
        ino: INodeNo,
        fh: FileHandle,
        offset: u64,
        mut reply: ReplyDirectory,
    ) {
        self.meta(&self.counters.readdir);
        if let Some(path) = self.path(ino) {
            self.count_path(&path, 6);
        }
        let dirs = self.dirs.lock().unwrap();
        let Some(entries) = dirs.get(&fh.0) else {
            return reply.error(Errno::EBADF);
        };
        for (i, (ino, kind, name)) in entries.iter().enumerate().skip(offset as usize) {
            if reply.add(INodeNo(*ino), (i + 1) as u64, *kind, name) {
                break;
            }
        }
        reply.ok();
    }

    fn releasedir(
        &self,
        _req: &Request,
        _ino: INodeNo,
        fh: FileHandle,
        _flags: OpenFlags,
        reply: ReplyEmpty,
    ) {
        self.dirs.lock().unwrap().remove(&fh.0);
        reply.ok();
    }
}

/// A mounted simulator; unmounts when dropped.
pub struct Mounted {
    pub counters: Arc<Counters>,
    pub paths: Arc<PathCounts>,
    pub mountpoint: PathBuf,
    session: Option<fuser::BackgroundSession>,
}

impl Mounted {
    pub fn unmount(mut self) -> Result<()> {
        if let Some(s) = self.session.take() {
            s.umount_and_join().context("unmounting")?;
        }
        Ok(())
    }
}

impl Drop for Mounted {
    fn drop(&mut self) {
        if let Some(s) = self.session.take() {
            let _ = s.umount_and_join();
        }
    }
}

/// Mounts `source` at `mountpoint` through the simulator (serving on background threads).
pub fn mount(source: &Path, mountpoint: &Path, delays: Delays, threads: usize) -> Result<Mounted> {
    std::fs::create_dir_all(mountpoint)?;
    let counters = Arc::new(Counters::default());
    let paths = Arc::new(PathCounts::default());
    let fs = DelayFs::new(source, delays, counters.clone(), paths.clone())?;
    let mut cfg = fuser::Config::default();
    cfg.mount_options = vec![
        MountOption::FSName("efs-sim".into()),
        MountOption::Subtype("lambda-fpm-bench".into()),
    ];
    cfg.n_threads = Some(threads.max(1));
    let session = fuser::spawn_mount(fs, mountpoint, &cfg)
        .with_context(|| format!("mounting FUSE at {}", mountpoint.display()))?;
    // wait until the mount answers
    for _ in 0..200 {
        if std::fs::metadata(mountpoint)
            .map(|m| m.ino() == 1)
            .unwrap_or(false)
        {
            break;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    Ok(Mounted {
        counters,
        paths,
        mountpoint: mountpoint.to_path_buf(),
        session: Some(session),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn path_classes() {
        assert_eq!(path_class("wordpress/index.php"), "(root files)");
        assert_eq!(path_class("wordpress"), "(root files)");
        assert_eq!(
            path_class("wordpress/wp-includes/blocks/a/block.json"),
            "wp-includes/blocks"
        );
        assert_eq!(path_class("wordpress/wp-includes/load.php"), "wp-includes");
        assert_eq!(
            path_class("wordpress/wp-content/themes/t/theme.json"),
            "wp-content/themes/t"
        );
        assert_eq!(
            path_class("wordpress/wp-content/themes/t"),
            "wp-content/themes"
        );
        assert_eq!(path_class("wordpress/wp-content/languages"), "wp-content");
        let mut m = HashMap::new();
        m.insert(
            "wordpress/wp-includes/a.php".to_string(),
            [1, 1, 0, 0, 0, 0, 0, 0],
        );
        m.insert(
            "wordpress/wp-includes/b.php".to_string(),
            [2, 0, 0, 0, 0, 0, 0, 0],
        );
        m.insert("wordpress/index.php".to_string(), [0, 0, 0, 0, 1, 0, 0, 0]);
        let c = by_class(&m);
        assert_eq!(c[0].0, "wp-includes");
        assert_eq!(c[0].1, 4);
        assert_eq!(
            c[1],
            ("(root files)".to_string(), 1, [0, 0, 0, 0, 1, 0, 0, 0])
        );
        let mut later = m.clone();
        later.get_mut("wordpress/index.php").unwrap()[4] = 3;
        let d = path_delta(&later, &m);
        assert_eq!(d.len(), 1);
        assert_eq!(d["wordpress/index.php"][4], 2);
    }

    #[test]
    fn op_counts_arithmetic() {
        let a = OpCounts {
            lookup: 5,
            getattr: 4,
            open: 3,
            read: 2,
            read_bytes: 100,
            ..Default::default()
        };
        let b = OpCounts {
            lookup: 1,
            getattr: 1,
            ..Default::default()
        };
        let d = a.minus(&b);
        assert_eq!((d.lookup, d.getattr, d.round_trips()), (4, 3, 12));
    }
}
