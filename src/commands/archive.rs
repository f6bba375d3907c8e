//! Safe extraction of a WordPress archive (zip, tar.gz or tar) into a staging directory.
//!
//! Rules, checked per entry before anything is written:
//! - names are relative: no leading `/`, no `..` component, no NUL, no backslash (a Windows
//!   separator would mean something else on Linux), valid UTF-8;
//! - only directories, regular files and symlinks; hard links, devices and FIFOs are refused;
//! - a symlink's target must be relative and stay inside the content root when resolved from
//!   the link's directory, without passing through another symlink on the way (so the lexical
//!   check is also the physical one), and no entry may live below a symlink;
//! - symlinks are created only after every file has been written, so no write ever goes
//!   through a link; files are opened with `O_CREAT|O_EXCL|O_NOFOLLOW`;
//! - modes are normalized (directories 0755, files 0644), whatever the archive says;
//! - a single top-level directory (`wordpress/` in wordpress.org's archives) is the content root.
//!
//! Any violation rejects the whole archive: an archive that tries something is not trusted
//! for the rest either.

use std::collections::HashSet;
use std::fs::{File, OpenOptions};
use std::io::{Read, Write};
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::time::Instant;

/// Archive formats recognised by their first bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Zip,
    TarGz,
    Tar,
}

impl Format {
    pub fn as_str(self) -> &'static str {
        match self {
            Format::Zip => "zip",
            Format::TarGz => "tar.gz",
            Format::Tar => "tar",
        }
    }
}

/// Detects the format from the first 512 bytes (or fewer).
pub fn detect(head: &[u8]) -> Option<Format> {
    if head.starts_with(b"PK\x03\x04") || head.starts_with(b"PK\x05\x06") {
        Some(Format::Zip)
    } else if head.starts_with(&[0x1f, 0x8b]) {
        Some(Format::TarGz)
    } else if head.len() >= 262 && &head[257..262] == b"ustar" {
        Some(Format::Tar)
    } else {
        None
    }
}

/// Limits against archive bombs.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    pub max_total_bytes: u64,
    pub max_entries: usize,
}

impl Default for Limits {
    fn default() -> Limits {
        Limits {
            max_total_bytes: 4 << 30,
            max_entries: 200_000,
        }
    }
}

/// What was extracted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Extracted {
    /// The directory whose children become the site (the tree, or its single top-level dir).
    pub content_root: PathBuf,
    /// The top-level directory that was stripped, if any.
    pub stripped: Option<String>,
    pub files: usize,
    pub dirs: usize,
    pub symlinks: usize,
    pub bytes: u64,
}

/// Why extraction failed.
#[derive(Debug)]
pub enum ArchiveError {
    /// The archive tries something unsafe or unsupported; names the entry.
    Unsafe(String),
    /// The archive cannot be read (corrupt, truncated, not an archive).
    Corrupt(String),
    /// Over [`Limits`].
    TooLarge(String),
    /// The deadline passed.
    OutOfTime,
    /// Writing the staging tree failed.
    Io(String),
}

impl std::fmt::Display for ArchiveError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ArchiveError::Unsafe(m) => write!(f, "unsafe archive rejected: {m}"),
            ArchiveError::Corrupt(m) => write!(f, "archive is corrupt or unreadable: {m}"),
            ArchiveError::TooLarge(m) => write!(f, "archive too large: {m}"),
            ArchiveError::OutOfTime => {
                f.write_str("ran out of time while extracting; invoke install again to retry")
            }
            ArchiveError::Io(m) => write!(f, "cannot write the staging directory: {m}"),
        }
    }
}

impl std::error::Error for ArchiveError {}

/// Normalizes an entry name into path components (pure). `Ok(vec![])` is the root itself
/// (`./`), which carries nothing to extract.
pub fn normalize_entry(name: &str) -> Result<Vec<String>, String> {
    if name.contains('\0') {
        return Err(format!("entry {name:?} contains a NUL byte"));
    }
    if name.contains('\\') {
        return Err(format!("entry {name:?} contains a backslash"));
    }
    if name.starts_with('/') {
        return Err(format!("entry {name:?} is an absolute path"));
    }
    let mut out = Vec::new();
    for (i, comp) in name.split('/').enumerate() {
        match comp {
            "" | "." => {}
            ".." => return Err(format!("entry {name:?} climbs out with '..'")),
            c if i == 0 && c.len() == 2 && c.ends_with(':') => {
                return Err(format!("entry {name:?} starts with a drive letter"));
            }
            c => out.push(c.to_string()),
        }
    }
    Ok(out)
}

/// Resolves a symlink target against the link's location (pure). `link` is the link's path
/// relative to the content root; `symlinks` are all symlink paths (joined with `/`) relative
/// to the same root. Returns the resolved target path, or why it is refused.
pub fn resolve_link(
    link: &[String],
    target: &str,
    symlinks: &HashSet<String>,
) -> Result<Vec<String>, String> {
    let shown = link.join("/");
    if target.is_empty() || target.contains('\0') {
        return Err(format!("symlink {shown:?} has an empty or NUL target"));
    }
    if target.starts_with('/') {
        return Err(format!(
            "symlink {shown:?} points to the absolute path {target:?}"
        ));
    }
    if target.contains('\\') {
        return Err(format!(
            "symlink {shown:?} target {target:?} has a backslash"
        ));
    }
    let mut cur: Vec<String> = link[..link.len().saturating_sub(1)].to_vec();
    let mut moved = false;
    for comp in target.split('/') {
        if comp.is_empty() || comp == "." {
            continue;
        }
        if moved && !cur.is_empty() && symlinks.contains(&cur.join("/")) {
            return Err(format!(
                "symlink {shown:?} -> {target:?} goes through another symlink ({:?})",
                cur.join("/")
            ));
        }
        if comp == ".." {
            if cur.pop().is_none() {
                return Err(format!(
                    "symlink {shown:?} -> {target:?} points outside the site"
                ));
            }
        } else {
            cur.push(comp.to_string());
        }
        moved = true;
    }
    Ok(cur)
}

/// The single top-level directory every entry lives in, if there is one (pure).
/// `entries` are (components, is_dir) pairs.
pub fn single_top_dir(entries: &[(Vec<String>, bool)]) -> Option<String> {
    let first = entries.first()?.0.first()?.clone();
    let mut top_is_dir = false;
    for (comps, is_dir) in entries {
        if comps.first() != Some(&first) {
            return None;
        }
        if comps.len() == 1 {
            if !is_dir {
                return None;
            }
            top_is_dir = true;
        } else {
            top_is_dir = true; // it has children, so it is a directory
        }
    }
    top_is_dir.then_some(first)
}

struct Sink {
    tree: PathBuf,
    deadline: Instant,
    limits: Limits,
    /// Every entry (components, is_dir), for the strip decision and the below-a-link check.
    entries: Vec<(Vec<String>, bool)>,
    seen: HashSet<String>,
    links: Vec<(Vec<String>, String)>,
    files: usize,
    dirs: usize,
    bytes: u64,
}

fn io(e: impl std::fmt::Display) -> ArchiveError {
    ArchiveError::Io(e.to_string())
}

impl Sink {
    fn check(&mut self, comps: &[String]) -> Result<bool, ArchiveError> {
        if Instant::now() > self.deadline {
            return Err(ArchiveError::OutOfTime);
        }
        if self.entries.len() >= self.limits.max_entries {
            return Err(ArchiveError::TooLarge(format!(
                "more than {} entries",
                self.limits.max_entries
            )));
        }
        if comps.is_empty() {
            return Ok(false);
        }
        Ok(true)
    }

    fn path(&self, comps: &[String]) -> PathBuf {
        let mut p = self.tree.clone();
        p.extend(comps);
        p
    }

    fn mkdirs(&mut self, comps: &[String]) -> Result<(), ArchiveError> {
        // Every directory on the way is ours (no symlink exists yet), created with 0755.
        for n in 1..=comps.len() {
            let key = comps[..n].join("/");
            if self.links.iter().any(|(l, _)| l[..] == comps[..n]) {
                return Err(ArchiveError::Unsafe(format!(
                    "an entry lies below the symlink {key:?}"
                )));
            }
            if self.seen.contains(&key) {
                continue;
            }
            let p = self.path(&comps[..n]);
            match std::fs::create_dir(&p) {
                Ok(()) => {}
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists && p.is_dir() => {}
                Err(e) => {
                    return Err(ArchiveError::Unsafe(format!(
                        "directory {key:?} conflicts with another entry: {e}"
                    )));
                }
            }
            std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o755)).map_err(io)?;
            self.seen.insert(key);
            self.dirs += 1;
        }
        Ok(())
    }

    fn dir(&mut self, comps: Vec<String>) -> Result<(), ArchiveError> {
        if !self.check(&comps)? {
            return Ok(());
        }
        self.mkdirs(&comps)?;
        self.entries.push((comps, true));
        Ok(())
    }

    fn file(&mut self, comps: Vec<String>, reader: &mut dyn Read) -> Result<(), ArchiveError> {
        if !self.check(&comps)? {
            return Err(ArchiveError::Unsafe("a file entry names the root".into()));
        }
        let key = comps.join("/");
        if !self.seen.insert(key.clone()) {
            return Err(ArchiveError::Unsafe(format!("duplicate entry {key:?}")));
        }
        self.mkdirs(&comps[..comps.len() - 1])?;
        let path = self.path(&comps);
        let mut out = OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o644)
            .custom_flags(libc::O_NOFOLLOW)
            .open(&path)
            .map_err(|e| ArchiveError::Unsafe(format!("cannot create {key:?}: {e}")))?;
        let mut buf = vec![0u8; 64 * 1024];
        loop {
            let n = match reader.read(&mut buf) {
                Ok(0) => break,
                Ok(n) => n,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(ArchiveError::Corrupt(format!("reading {key:?}: {e}"))),
            };
            self.bytes += n as u64;
            if self.bytes > self.limits.max_total_bytes {
                return Err(ArchiveError::TooLarge(format!(
                    "more than {} bytes uncompressed",
                    self.limits.max_total_bytes
                )));
            }
            out.write_all(&buf[..n]).map_err(io)?;
        }
        out.set_permissions(std::fs::Permissions::from_mode(0o644))
            .map_err(io)?;
        self.files += 1;
        self.entries.push((comps, false));
        Ok(())
    }

    fn symlink(&mut self, comps: Vec<String>, target: String) -> Result<(), ArchiveError> {
        if !self.check(&comps)? {
            return Err(ArchiveError::Unsafe(
                "a symlink entry names the root".into(),
            ));
        }
        let key = comps.join("/");
        if !self.seen.insert(key.clone()) {
            return Err(ArchiveError::Unsafe(format!("duplicate entry {key:?}")));
        }
        self.entries.push((comps.clone(), false));
        self.links.push((comps, target));
        Ok(())
    }

    /// Decides the content root, validates and creates the symlinks.
    fn finish(self) -> Result<Extracted, ArchiveError> {
        let stripped = single_top_dir(&self.entries);
        let skip = usize::from(stripped.is_some());
        let content_root = match &stripped {
            Some(top) => self.tree.join(top),
            None => self.tree.clone(),
        };
        let link_set: HashSet<String> = self
            .links
            .iter()
            .map(|(c, _)| c[skip..].join("/"))
            .collect();
        // No entry may live below a symlink (it would be written through it). One set lookup
        // per path prefix: linear in the entries, whatever the number of links (a list scan per
        // prefix made 32k links + 32k files take minutes), and the deadline still holds.
        let link_paths: HashSet<String> = self.links.iter().map(|(c, _)| c.join("/")).collect();
        let out_of_time = |i: usize| i.is_multiple_of(1024) && Instant::now() > self.deadline;
        for (i, (comps, _)) in self.entries.iter().enumerate() {
            if out_of_time(i) {
                return Err(ArchiveError::OutOfTime);
            }
            let mut prefix = String::new();
            for component in &comps[..comps.len().saturating_sub(1)] {
                if !prefix.is_empty() {
                    prefix.push('/');
                }
                prefix.push_str(component);
                if link_paths.contains(&prefix) {
                    return Err(ArchiveError::Unsafe(format!(
                        "entry {:?} lies below the symlink {prefix:?}",
                        comps.join("/")
                    )));
                }
            }
        }
        for (i, (comps, target)) in self.links.iter().enumerate() {
            if out_of_time(i) {
                return Err(ArchiveError::OutOfTime);
            }
            let relative = &comps[skip..];
            if relative.is_empty() {
                return Err(ArchiveError::Unsafe(format!(
                    "the top-level entry {:?} is a symlink",
                    comps.join("/")
                )));
            }
            resolve_link(relative, target, &link_set).map_err(ArchiveError::Unsafe)?;
        }
        for (i, (comps, target)) in self.links.iter().enumerate() {
            if out_of_time(i) {
                return Err(ArchiveError::OutOfTime);
            }
            let path = self.path(comps);
            if let Some(parent) = path.parent() {
                std::fs::create_dir_all(parent).map_err(io)?;
            }
            std::os::unix::fs::symlink(target, &path).map_err(io)?;
        }
        Ok(Extracted {
            content_root,
            stripped,
            files: self.files,
            dirs: self.dirs,
            symlinks: self.links.len(),
            bytes: self.bytes,
        })
    }
}

fn utf8_name(bytes: &[u8]) -> Result<String, ArchiveError> {
    String::from_utf8(bytes.to_vec()).map_err(|_| {
        ArchiveError::Unsafe(format!(
            "entry name {:?} is not valid UTF-8",
            String::from_utf8_lossy(bytes)
        ))
    })
}

/// Extracts `archive` into the empty directory `tree`.
pub fn extract(
    archive: &Path,
    tree: &Path,
    deadline: Instant,
    limits: Limits,
) -> Result<(Format, Extracted), ArchiveError> {
    let mut head = Vec::with_capacity(512);
    File::open(archive)
        .map_err(io)?
        .take(512)
        .read_to_end(&mut head)
        .map_err(io)?;
    let format = detect(&head).ok_or_else(|| {
        ArchiveError::Corrupt(format!(
            "not a zip, tar.gz or tar archive (starts with {:02x?})",
            &head[..head.len().min(8)]
        ))
    })?;
    std::fs::create_dir_all(tree).map_err(io)?;
    let mut sink = Sink {
        tree: tree.to_path_buf(),
        deadline,
        limits,
        entries: Vec::new(),
        seen: HashSet::new(),
        links: Vec::new(),
        files: 0,
        dirs: 0,
        bytes: 0,
    };
    let file = File::open(archive).map_err(io)?;
    match format {
        Format::Zip => extract_zip(file, &mut sink)?,
        Format::TarGz => {
            let mut gz = flate2::read::GzDecoder::new(file);
            extract_tar(&mut gz, &mut sink)?;
            // tar stops at its end-of-archive blocks; reading gzip to its end checks the
            // CRC-32 trailer, so damage inside file contents is not silently installed.
            std::io::copy(&mut gz, &mut std::io::sink())
                .map_err(|e| ArchiveError::Corrupt(format!("gzip stream: {e}")))?;
        }
        Format::Tar => extract_tar(file, &mut sink)?,
    }
    if sink.entries.is_empty() {
        return Err(ArchiveError::Corrupt("the archive has no entries".into()));
    }
    Ok((format, sink.finish()?))
}

fn extract_tar(reader: impl Read, sink: &mut Sink) -> Result<(), ArchiveError> {
    let mut archive = tar::Archive::new(reader);
    let entries = archive
        .entries()
        .map_err(|e| ArchiveError::Corrupt(e.to_string()))?;
    for entry in entries {
        let mut entry = entry.map_err(|e| ArchiveError::Corrupt(e.to_string()))?;
        let name = utf8_name(&entry.path_bytes())?;
        let comps = normalize_entry(&name).map_err(ArchiveError::Unsafe)?;
        let kind = entry.header().entry_type();
        use tar::EntryType as T;
        match kind {
            T::Directory => sink.dir(comps)?,
            T::Regular | T::Continuous => sink.file(comps, &mut entry)?,
            T::Symlink => {
                let target = entry
                    .link_name_bytes()
                    .map(|b| utf8_name(&b))
                    .transpose()?
                    .unwrap_or_default();
                sink.symlink(comps, target)?;
            }
            T::Link => {
                return Err(ArchiveError::Unsafe(format!(
                    "entry {name:?} is a hard link (not supported)"
                )));
            }
            T::XGlobalHeader | T::XHeader | T::GNULongName | T::GNULongLink => {}
            other => {
                return Err(ArchiveError::Unsafe(format!(
                    "entry {name:?} has unsupported type {other:?} (only files, directories and symlinks)"
                )));
            }
        }
    }
    Ok(())
}

fn extract_zip(file: File, sink: &mut Sink) -> Result<(), ArchiveError> {
    let mut zip = zip::ZipArchive::new(file).map_err(|e| ArchiveError::Corrupt(e.to_string()))?;
    for i in 0..zip.len() {
        let mut entry = zip
            .by_index(i)
            .map_err(|e| ArchiveError::Corrupt(e.to_string()))?;
        let name = utf8_name(entry.name_raw())?;
        let comps = normalize_entry(&name).map_err(ArchiveError::Unsafe)?;
        let mode = entry.unix_mode().unwrap_or(0);
        let file_type = mode & 0o170000;
        if entry.is_symlink() {
            let mut target = String::new();
            entry
                .by_ref()
                .take(4096)
                .read_to_string(&mut target)
                .map_err(|e| ArchiveError::Corrupt(format!("symlink {name:?}: {e}")))?;
            sink.symlink(comps, target)?;
        } else if entry.is_dir() {
            sink.dir(comps)?;
        } else if file_type == 0 || file_type == 0o100000 {
            sink.file(comps, &mut entry)?;
        } else {
            return Err(ArchiveError::Unsafe(format!(
                "entry {name:?} has unsupported unix type {file_type:o}"
            )));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn set(items: &[&str]) -> HashSet<String> {
        items.iter().map(|s| s.to_string()).collect()
    }

    fn comps(s: &str) -> Vec<String> {
        s.split('/').map(String::from).collect()
    }

    #[test]
    fn detects_formats() {
        assert_eq!(detect(b"PK\x03\x04rest"), Some(Format::Zip));
        assert_eq!(detect(b"PK\x05\x06"), Some(Format::Zip));
        assert_eq!(detect(&[0x1f, 0x8b, 8, 0]), Some(Format::TarGz));
        let mut tar = vec![0u8; 512];
        tar[257..262].copy_from_slice(b"ustar");
        assert_eq!(detect(&tar), Some(Format::Tar));
        assert_eq!(detect(b"<html>not found</html>"), None);
        assert_eq!(detect(b""), None);
    }

    #[test]
    fn normalizes_good_names() {
        assert_eq!(
            normalize_entry("wordpress/wp-login.php").unwrap(),
            comps("wordpress/wp-login.php")
        );
        assert_eq!(
            normalize_entry("./wordpress//index.php").unwrap(),
            comps("wordpress/index.php")
        );
        assert_eq!(
            normalize_entry("wordpress/wp-admin/").unwrap(),
            comps("wordpress/wp-admin")
        );
        assert_eq!(normalize_entry("./").unwrap(), Vec::<String>::new());
        assert_eq!(
            normalize_entry("a..b/c...php").unwrap(),
            comps("a..b/c...php")
        );
    }

    #[test]
    fn rejects_bad_names() {
        for (name, why) in [
            ("../etc/passwd", "'..'"),
            ("wordpress/../../x", "'..'"),
            ("a/./../../b", "'..'"),
            ("/etc/passwd", "absolute"),
            ("//server/share", "absolute"),
            ("C:/windows", "drive"),
            ("a\\..\\..\\b", "backslash"),
            ("a\0b", "NUL"),
        ] {
            let e = normalize_entry(name).unwrap_err();
            assert!(e.contains(why), "{name:?}: {e}");
        }
    }

    #[test]
    fn symlinks_inside_are_fine() {
        let none = set(&[]);
        assert_eq!(
            resolve_link(&comps("wp-content/link"), "../index.php", &none).unwrap(),
            comps("index.php")
        );
        assert_eq!(
            resolve_link(&comps("a/b/c"), "./d/e", &none).unwrap(),
            comps("a/b/d/e")
        );
        assert_eq!(
            resolve_link(&comps("top"), ".", &none).unwrap(),
            Vec::<String>::new()
        );
    }

    #[test]
    fn symlinks_out_are_refused() {
        let none = set(&[]);
        for (link, target, why) in [
            ("evil", "/etc/passwd", "absolute"),
            ("evil", "..", "outside"),
            ("a/evil", "../../x", "outside"),
            ("a/b/evil", "../c/../../../etc", "outside"),
            ("evil", "", "empty"),
            ("evil", "a\\b", "backslash"),
        ] {
            let e = resolve_link(&comps(link), target, &none).unwrap_err();
            assert!(e.contains(why), "{link} -> {target}: {e}");
        }
    }

    #[test]
    fn symlink_chains_through_links_are_refused() {
        // s -> . ; t -> s/.. would be inside lexically but is the root's parent physically
        let links = set(&["s", "t"]);
        assert!(resolve_link(&comps("s"), ".", &links).is_ok());
        let e = resolve_link(&comps("t"), "s/..", &links).unwrap_err();
        assert!(e.contains("through another symlink"), "{e}");
        // ending on a symlink is fine (it is validated itself)
        assert_eq!(resolve_link(&comps("t"), "s", &links).unwrap(), comps("s"));
    }

    #[test]
    fn top_dir_detection() {
        let e = |items: &[(&str, bool)]| -> Vec<(Vec<String>, bool)> {
            items.iter().map(|(p, d)| (comps(p), *d)).collect()
        };
        assert_eq!(
            single_top_dir(&e(&[("wordpress", true), ("wordpress/index.php", false)])),
            Some("wordpress".into())
        );
        // implicit directory (zip without directory entries)
        assert_eq!(
            single_top_dir(&e(&[("wp-6.5/index.php", false)])),
            Some("wp-6.5".into())
        );
        assert_eq!(
            single_top_dir(&e(&[("index.php", false), ("wp-admin/x.php", false)])),
            None
        );
        assert_eq!(single_top_dir(&e(&[("index.php", false)])), None);
        assert_eq!(single_top_dir(&e(&[("a/x", false), ("b/y", false)])), None);
        assert_eq!(single_top_dir(&[]), None);
    }

    fn tmp(tag: &str) -> PathBuf {
        let d =
            std::env::temp_dir().join(format!("lambda-fpm-archive-{tag}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        std::fs::create_dir_all(&d).unwrap();
        d
    }

    fn far() -> Instant {
        Instant::now() + std::time::Duration::from_secs(60)
    }

    fn tar_gz(path: &Path, build: impl FnOnce(&mut tar::Builder<flate2::write::GzEncoder<File>>)) {
        let enc =
            flate2::write::GzEncoder::new(File::create(path).unwrap(), flate2::Compression::fast());
        let mut b = tar::Builder::new(enc);
        build(&mut b);
        b.into_inner().unwrap().finish().unwrap();
    }

    fn add_file(
        b: &mut tar::Builder<flate2::write::GzEncoder<File>>,
        name: &str,
        data: &[u8],
        mode: u32,
    ) {
        let mut h = tar::Header::new_gnu();
        h.set_size(data.len() as u64);
        h.set_mode(mode);
        h.set_entry_type(tar::EntryType::Regular);
        // set_path refuses '..': write the raw name like a hostile archiver would
        let raw = &mut h.as_old_mut().name;
        raw[..name.len()].copy_from_slice(name.as_bytes());
        h.set_cksum();
        b.append(&h, data).unwrap();
    }

    #[test]
    fn extracts_tar_gz_with_strip_and_modes() {
        let d = tmp("ok");
        let a = d.join("a.tar.gz");
        tar_gz(&a, |b| {
            add_file(b, "wordpress/index.php", b"<?php echo 1;", 0o777);
            add_file(b, "wordpress/wp-admin/x.php", b"x", 0o600);
            let mut h = tar::Header::new_gnu();
            h.set_entry_type(tar::EntryType::Symlink);
            h.set_size(0);
            b.append_link(&mut h, "wordpress/wp-admin/up", "../index.php")
                .unwrap();
        });
        let (fmt, x) = extract(&a, &d.join("tree"), far(), Limits::default()).unwrap();
        assert_eq!(fmt, Format::TarGz);
        assert_eq!(x.stripped.as_deref(), Some("wordpress"));
        assert_eq!(x.content_root, d.join("tree/wordpress"));
        assert_eq!((x.files, x.symlinks), (2, 1));
        let m = |p: &str| {
            std::fs::symlink_metadata(d.join("tree/wordpress").join(p))
                .unwrap()
                .permissions()
                .mode()
                & 0o777
        };
        assert_eq!(m("index.php"), 0o644);
        assert_eq!(m("wp-admin/x.php"), 0o644);
        assert_eq!(m("wp-admin"), 0o755);
        assert_eq!(
            std::fs::read_to_string(d.join("tree/wordpress/wp-admin/up")).unwrap(),
            "<?php echo 1;"
        );
    }

    #[test]
    fn tar_with_dotdot_is_rejected_and_writes_nothing_outside() {
        let d = tmp("dotdot");
        let a = d.join("a.tar.gz");
        tar_gz(&a, |b| {
            add_file(b, "wordpress/index.php", b"ok", 0o644);
            add_file(b, "wordpress/../../escaped.txt", b"bad", 0o644);
        });
        let e = extract(&a, &d.join("tree"), far(), Limits::default()).unwrap_err();
        assert!(matches!(e, ArchiveError::Unsafe(_)), "{e}");
        assert!(e.to_string().contains("'..'"), "{e}");
        assert!(!d.join("escaped.txt").exists());
        assert!(!d.parent().unwrap().join("escaped.txt").exists());
    }

    #[test]
    fn tar_symlink_out_and_file_below_link_are_rejected() {
        let d = tmp("linkout");
        let a = d.join("a.tar.gz");
        tar_gz(&a, |b| {
            let mut h = tar::Header::new_gnu();
            h.set_entry_type(tar::EntryType::Symlink);
            h.set_size(0);
            b.append_link(&mut h, "wordpress/etc", "../../../../etc")
                .unwrap();
        });
        let e = extract(&a, &d.join("tree"), far(), Limits::default()).unwrap_err();
        assert!(e.to_string().contains("points outside the site"), "{e}");
        assert!(std::fs::symlink_metadata(d.join("tree/wordpress/etc")).is_err());

        let a = d.join("b.tar.gz");
        tar_gz(&a, |b| {
            let mut h = tar::Header::new_gnu();
            h.set_entry_type(tar::EntryType::Symlink);
            h.set_size(0);
            b.append_link(&mut h, "site/d", "sub").unwrap();
            add_file(b, "site/d/x.php", b"x", 0o644);
        });
        let e = extract(&a, &d.join("tree2"), far(), Limits::default()).unwrap_err();
        assert!(e.to_string().contains("below the symlink"), "{e}");
    }

    #[test]
    fn hard_links_and_devices_are_rejected() {
        let d = tmp("hard");
        let a = d.join("a.tar.gz");
        tar_gz(&a, |b| {
            add_file(b, "w/a", b"x", 0o644);
            let mut h = tar::Header::new_gnu();
            h.set_entry_type(tar::EntryType::Link);
            h.set_size(0);
            b.append_link(&mut h, "w/b", "w/a").unwrap();
        });
        let e = extract(&a, &d.join("tree"), far(), Limits::default()).unwrap_err();
        assert!(e.to_string().contains("hard link"), "{e}");

        for kind in [
            tar::EntryType::Char,
            tar::EntryType::Block,
            tar::EntryType::Fifo,
        ] {
            let a = d.join("dev.tar.gz");
            tar_gz(&a, |b| {
                let mut h = tar::Header::new_gnu();
                h.set_entry_type(kind);
                h.set_size(0);
                b.append_data(&mut h, "w/dev", std::io::empty()).unwrap();
            });
            let tree = d.join(format!("tree-{kind:?}"));
            let e = extract(&a, &tree, far(), Limits::default()).unwrap_err();
            assert!(e.to_string().contains("unsupported type"), "{kind:?}: {e}");
            assert!(std::fs::symlink_metadata(tree.join("w/dev")).is_err());
        }
    }

    fn add_link(b: &mut tar::Builder<flate2::write::GzEncoder<File>>, name: &str, target: &str) {
        let mut h = tar::Header::new_gnu();
        h.set_entry_type(tar::EntryType::Symlink);
        h.set_size(0);
        h.set_mode(0o777);
        b.append_link(&mut h, name, target).unwrap();
    }

    #[test]
    fn many_symlinks_extract_in_linear_time_and_within_the_deadline() {
        // 12k files and 12k links: with a list scan per path prefix, ~3*10^8 string joins
        let d = tmp("manylinks");
        let a = d.join("a.tar.gz");
        tar_gz(&a, |b| {
            for i in 0..12_000 {
                add_file(b, &format!("w/d{}/f{i}", i % 50), b"x", 0o644);
                add_link(b, &format!("w/d{}/l{i}", i % 50), &format!("f{i}"));
            }
        });
        let deadline = Instant::now() + std::time::Duration::from_secs(60);
        let (_, x) = extract(&a, &d.join("t"), deadline, Limits::default()).unwrap();
        assert_eq!((x.files, x.symlinks), (12_000, 12_000));
        // and the link phase honours the deadline too
        let mut sink = Sink {
            tree: d.join("t-late"),
            deadline: Instant::now() - std::time::Duration::from_millis(1),
            limits: Limits::default(),
            entries: vec![(vec!["w".into(), "a".into()], false)],
            seen: HashSet::new(),
            links: vec![(vec!["w".into(), "l".into()], "a".into())],
            files: 1,
            dirs: 1,
            bytes: 1,
        };
        sink.entries.push((vec!["w".into(), "l".into()], false));
        assert!(matches!(sink.finish(), Err(ArchiveError::OutOfTime)));
    }

    #[test]
    fn limits_and_deadline() {
        let d = tmp("limits");
        let a = d.join("a.tar.gz");
        tar_gz(&a, |b| {
            add_file(b, "w/a", &[b'a'; 5000], 0o644);
            add_file(b, "w/b", &[b'b'; 5000], 0o644);
        });
        let small = Limits {
            max_total_bytes: 6000,
            max_entries: 100,
        };
        let e = extract(&a, &d.join("t1"), far(), small).unwrap_err();
        assert!(matches!(e, ArchiveError::TooLarge(_)), "{e}");
        let few = Limits {
            max_total_bytes: 1 << 20,
            max_entries: 1,
        };
        assert!(matches!(
            extract(&a, &d.join("t2"), far(), few).unwrap_err(),
            ArchiveError::TooLarge(_)
        ));
        let past = Instant::now() - std::time::Duration::from_millis(1);
        assert!(matches!(
            extract(&a, &d.join("t3"), past, Limits::default()).unwrap_err(),
            ArchiveError::OutOfTime
        ));
    }

    #[test]
    fn zip_roundtrip_and_zip_slip() {
        use zip::write::SimpleFileOptions;
        let d = tmp("zip");
        let a = d.join("a.zip");
        {
            let mut w = zip::ZipWriter::new(File::create(&a).unwrap());
            let o =
                SimpleFileOptions::default().compression_method(zip::CompressionMethod::Deflated);
            w.add_directory("wordpress/", o).unwrap();
            w.start_file("wordpress/index.php", o).unwrap();
            w.write_all(b"<?php // zip").unwrap();
            w.add_symlink("wordpress/again.php", "index.php", o)
                .unwrap();
            w.finish().unwrap();
        }
        let (fmt, x) = extract(&a, &d.join("tree"), far(), Limits::default()).unwrap();
        assert_eq!(fmt, Format::Zip);
        assert_eq!(x.stripped.as_deref(), Some("wordpress"));
        assert_eq!(
            std::fs::read_to_string(d.join("tree/wordpress/again.php")).unwrap(),
            "<?php // zip"
        );

        let b = d.join("slip.zip");
        {
            let mut w = zip::ZipWriter::new(File::create(&b).unwrap());
            let o = SimpleFileOptions::default();
            w.start_file("../../slipped.php", o).unwrap();
            w.write_all(b"bad").unwrap();
            w.finish().unwrap();
        }
        let e = extract(&b, &d.join("tree2"), far(), Limits::default()).unwrap_err();
        assert!(e.to_string().contains("'..'"), "{e}");

        let c = d.join("linkout.zip");
        {
            let mut w = zip::ZipWriter::new(File::create(&c).unwrap());
            w.add_symlink(
                "wordpress/passwd",
                "/etc/passwd",
                SimpleFileOptions::default(),
            )
            .unwrap();
            w.finish().unwrap();
        }
        let e = extract(&c, &d.join("tree3"), far(), Limits::default()).unwrap_err();
        assert!(e.to_string().contains("absolute path"), "{e}");
    }

    #[test]
    fn corrupt_and_foreign_files() {
        let d = tmp("corrupt");
        let a = d.join("a.tar.gz");
        tar_gz(&a, |b| add_file(b, "w/a.php", &[b'x'; 100_000], 0o644));
        let mut bytes = std::fs::read(&a).unwrap();
        let n = bytes.len();
        bytes.truncate(n / 2);
        std::fs::write(&a, &bytes).unwrap();
        let e = extract(&a, &d.join("t1"), far(), Limits::default()).unwrap_err();
        assert!(matches!(e, ArchiveError::Corrupt(_)), "{e}");

        let h = d.join("page.html");
        std::fs::write(&h, "<html>Access Denied</html>").unwrap();
        let e = extract(&h, &d.join("t2"), far(), Limits::default()).unwrap_err();
        assert!(
            e.to_string().contains("not a zip, tar.gz or tar archive"),
            "{e}"
        );
    }
}
