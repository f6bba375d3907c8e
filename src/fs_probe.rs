//! The disk side of routing: answers [`FileProbe`] questions against the real document root,
//! refusing anything whose real path (after symlinks) leaves the root.

use std::path::{Path, PathBuf};

use crate::routing::{FileProbe, Probe};

/// Probes files below a canonical document root.
pub struct DiskProbe {
    root: PathBuf,
}

impl DiskProbe {
    /// `root` must already be canonical (see [`canonical_root`]).
    pub fn new(root: PathBuf) -> DiskProbe {
        DiskProbe { root }
    }
}

/// Resolves the document root once at start-up.
pub fn canonical_root(root: &Path) -> std::io::Result<PathBuf> {
    std::fs::canonicalize(root)
}

impl FileProbe for DiskProbe {
    fn probe(&self, relative: &str) -> Probe {
        let path = self.root.join(relative);
        let Ok(link_meta) = std::fs::symlink_metadata(&path) else {
            return Probe::Missing;
        };
        // Fast path: a plain file or directory whose parents are plain directories needs no
        // realpath walk. Parents can still be symlinks, so compare the canonical parent only
        // when the final component is not itself a symlink, and the whole path when it is.
        let real = if link_meta.file_type().is_symlink() {
            match std::fs::canonicalize(&path) {
                Ok(real) => real,
                Err(_) => return Probe::Missing, // dangling link
            }
        } else {
            match path.parent().map(std::fs::canonicalize) {
                Some(Ok(parent)) => parent.join(path.file_name().unwrap_or_default()),
                Some(Err(_)) => return Probe::Missing,
                None => path.clone(),
            }
        };
        if !real.starts_with(&self.root) {
            return Probe::Outside;
        }
        match std::fs::metadata(&real) {
            Ok(m) if m.is_file() => Probe::File,
            Ok(m) if m.is_dir() => Probe::Dir,
            _ => Probe::Missing,
        }
    }

    fn real_path(&self, relative: &str) -> Option<String> {
        real_relative(
            &self.root,
            &std::fs::canonicalize(self.root.join(relative)).ok()?,
        )
        .filter(|real| real != relative)
    }
}

/// `real` (a canonical path) relative to the canonical `root`, if it is inside it.
pub fn real_relative(root: &Path, real: &Path) -> Option<String> {
    real.strip_prefix(root).ok()?.to_str().map(str::to_string)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::symlink;

    #[test]
    fn probes_real_tree_and_refuses_symlinks_out() {
        let base = std::env::temp_dir().join(format!("lambda-fpm-probe-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&base);
        let root = base.join("root");
        let outside = base.join("outside");
        std::fs::create_dir_all(root.join("dir")).unwrap();
        std::fs::create_dir_all(&outside).unwrap();
        std::fs::write(root.join("a.txt"), "a").unwrap();
        std::fs::write(outside.join("secret.txt"), "s").unwrap();
        symlink(outside.join("secret.txt"), root.join("link-out.txt")).unwrap();
        symlink(&outside, root.join("dir-out")).unwrap();
        symlink(root.join("a.txt"), root.join("link-in.txt")).unwrap();
        symlink(base.join("nowhere"), root.join("dangling")).unwrap();

        let probe = DiskProbe::new(canonical_root(&root).unwrap());
        assert_eq!(probe.probe("a.txt"), Probe::File);
        assert_eq!(probe.probe("dir"), Probe::Dir);
        assert_eq!(probe.probe(""), Probe::Dir);
        assert_eq!(probe.probe("missing"), Probe::Missing);
        assert_eq!(probe.probe("link-in.txt"), Probe::File);
        assert_eq!(probe.probe("link-out.txt"), Probe::Outside);
        assert_eq!(probe.probe("dir-out"), Probe::Outside);
        assert_eq!(probe.probe("dir-out/secret.txt"), Probe::Outside);
        assert_eq!(probe.probe("dangling"), Probe::Missing);
        // what a link really is, for the deny rules
        std::fs::create_dir_all(root.join("real-dir")).unwrap();
        std::fs::write(root.join("real-dir/index.php"), "<?php").unwrap();
        symlink("real-dir", root.join("dir-in")).unwrap();
        assert_eq!(probe.real_path("a.txt"), None);
        assert_eq!(probe.real_path("link-in.txt").as_deref(), Some("a.txt"));
        assert_eq!(
            probe.real_path("dir-in/index.php").as_deref(),
            Some("real-dir/index.php")
        );
        assert_eq!(probe.real_path("link-out.txt"), None);
        assert_eq!(probe.real_path("missing"), None);
        std::fs::remove_dir_all(&base).unwrap();
    }
}
