//! Pre-compiled opcache for new sandboxes.
//!
//! A fresh php-fpm compiles every script WordPress includes on its first request (measured
//! 250–318 ms for the home page here, against ~35 ms warm); with a filled
//! `opcache.file_cache` the first render takes ~72 ms. This module gives every new sandbox
//! such a filled cache. Modes (`LAMBDA_FPM_OPCACHE_SEED`):
//!
//! - `copy` (default): one archive, `<seed dir>/opcache-seed.tar.zst`, is read sequentially at
//!   init (one EFS file instead of hundreds of small ones) and unpacked into the local file
//!   cache while php-fpm starts. It is published by the `warm` command (after warming the
//!   given paths) from that sandbox's own file cache.
//! - `direct`: php-fpm's `opcache.file_cache` is a directory on EFS shared by all sandboxes,
//!   which fill it themselves.
//! - `off`: a local, initially empty file cache.
//!
//! Safety, by construction:
//! - PHP keys its file cache by a build id (a subdirectory named after PHP's system id), so a
//!   cache made by another PHP build is never used; each entry carries a checksum, and an entry
//!   that fails it is ignored and deleted; with `opcache.validate_timestamps=1` an entry whose
//!   source file changed is recompiled. (All three verified against Debian's PHP 8.2.)
//! - The archive is published by writing a uniquely named temporary file next to it and
//!   renaming it over the old one: readers see the old or the new archive, never a torn one;
//!   concurrent publishers each write a complete file and the last rename wins.
//! - Restore unpacks into a staging directory (regular files and directories only, no
//!   absolute paths or `..`), and zstd's content checksum covers it: any error discards the
//!   staging directory and the sandbox starts with an empty cache. A seed is never fatal.

use std::io::{Read, Write};
use std::path::{Component, Path, PathBuf};
use std::time::Instant;

pub use crate::config::SeedMode;

pub use crate::config::SEED_FILE;
/// zstd level for publishing (3 is zstd's default: most of the ratio, fast to write).
const ZSTD_LEVEL: i32 = 3;
/// What restoring found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Restore {
    /// No archive (nothing published yet).
    Absent,
    /// Unpacked: files and bytes, and the scripts the entries are for (see [`script_path`]).
    Restored {
        files: usize,
        bytes: u64,
        ms: u64,
        scripts: Vec<PathBuf>,
    },
    /// An archive was there but unusable; the cache starts empty.
    Ignored(String),
}

/// Unpacks the seed archive into `target` (which must not hold anything php-fpm uses yet).
/// Never fails: problems are reported as [`Restore::Ignored`].
pub fn restore(seed_file: &Path, target: &Path, key: Option<&[u8]>) -> Restore {
    restore_within(seed_file, target, SeedLimits::default(), key)
}

/// Marks a signed seed: the archive, these 8 bytes, then HMAC-SHA256 of the archive.
const MAC_MAGIC: &[u8; 8] = b"LFPMMAC1";
const MAC_LEN: usize = 32;

/// What a signed seed carries after its archive: [`MAC_MAGIC`], then the MAC.
pub(crate) fn signature(key: &[u8], archive: &[u8]) -> Vec<u8> {
    let mut out = MAC_MAGIC.to_vec();
    out.extend_from_slice(&mac(key, archive));
    out
}

fn mac(key: &[u8], archive: &[u8]) -> [u8; MAC_LEN] {
    use hmac::{KeyInit, Mac};
    let mut m = hmac::Hmac::<sha2::Sha256>::new_from_slice(key).expect("HMAC takes any key");
    m.update(b"lambda-fpm opcache seed v1\0");
    m.update(archive);
    m.finalize().into_bytes().into()
}

/// The archive inside a seed file. With a key, only a seed signed with it (the signature is
/// checked in constant time); without one, the archive as it is (a signature left by a keyed
/// configuration is cut off unchecked).
fn archive_of<'a>(data: &'a [u8], key: Option<&[u8]>) -> Result<&'a [u8], String> {
    let trailer = MAC_MAGIC.len() + MAC_LEN;
    let signed =
        data.len() >= trailer && &data[data.len() - trailer..data.len() - MAC_LEN] == MAC_MAGIC;
    match (key, signed) {
        (Some(key), true) => {
            let (archive, rest) = data.split_at(data.len() - trailer);
            let given = &rest[MAC_MAGIC.len()..];
            use subtle::ConstantTimeEq;
            if bool::from(mac(key, archive).ct_eq(given)) {
                Ok(archive)
            } else {
                Err("its signature does not match this function's key (not published by it)".into())
            }
        }
        (Some(_), false) => Err("it is not signed (this function signs its seeds)".into()),
        (None, true) => Ok(&data[..data.len() - trailer]),
        (None, false) => Ok(data),
    }
}

/// Bounds on what a seed may unpack: the seed lives where PHP can write, so an archive that
/// unpacks without end (an 8 KB seed once wrote 256 MB) must stop early. WordPress's whole
/// cache is ~18 MB in ~340 files; the defaults leave room for a large site.
#[derive(Debug, Clone, Copy)]
pub struct SeedLimits {
    pub archive_bytes: u64,
    pub unpacked_bytes: u64,
    pub files: usize,
}

impl Default for SeedLimits {
    fn default() -> SeedLimits {
        SeedLimits {
            archive_bytes: 64 << 20,
            unpacked_bytes: 256 << 20,
            files: 50_000,
        }
    }
}

/// [`restore`] with explicit limits.
pub fn restore_within(
    seed_file: &Path,
    target: &Path,
    limits: SeedLimits,
    key: Option<&[u8]>,
) -> Restore {
    let started = Instant::now();
    match std::fs::metadata(seed_file) {
        Ok(m) if m.len() > limits.archive_bytes => {
            return Restore::Ignored(format!(
                "{} is {} bytes, more than the {} a seed may be",
                seed_file.display(),
                m.len(),
                limits.archive_bytes
            ));
        }
        _ => {}
    }
    let data = match std::fs::read(seed_file) {
        Ok(d) => d,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Restore::Absent,
        Err(e) => return Restore::Ignored(format!("cannot read {}: {e}", seed_file.display())),
    };
    let staging = target.with_file_name(format!(
        ".{}.restore-{}",
        target
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or("opcache"),
        std::process::id()
    ));
    let _ = std::fs::remove_dir_all(&staging);
    let archive = match archive_of(&data, key) {
        Ok(a) => a,
        Err(why) => {
            let _ = std::fs::create_dir_all(target);
            return Restore::Ignored(format!("{} is not used: {why}", seed_file.display()));
        }
    };
    match unpack(archive, &staging, limits) {
        Ok((scripts, bytes)) => {
            let files = scripts.len();
            // Move the build-id directories into place one by one: the target directory itself
            // never disappears (php-fpm checks it exists while it starts, concurrently).
            let moved = (|| {
                std::fs::create_dir_all(target)?;
                for entry in std::fs::read_dir(&staging)? {
                    let entry = entry?;
                    let dest = target.join(entry.file_name());
                    let _ = std::fs::remove_dir_all(&dest);
                    std::fs::rename(entry.path(), dest)?;
                }
                Ok::<_, std::io::Error>(())
            })();
            let _ = std::fs::remove_dir_all(&staging);
            match moved {
                Ok(()) => Restore::Restored {
                    files,
                    bytes,
                    ms: started.elapsed().as_millis() as u64,
                    scripts: scripts.iter().filter_map(|e| script_path(e)).collect(),
                },
                Err(e) => {
                    empty_dir(target);
                    Restore::Ignored(format!("cannot move restored cache into place: {e}"))
                }
            }
        }
        Err(e) => {
            let _ = std::fs::remove_dir_all(&staging);
            let _ = std::fs::create_dir_all(target);
            Restore::Ignored(format!("{} is not a usable seed: {e}", seed_file.display()))
        }
    }
}

/// Removes everything inside `dir`, keeping `dir`.
fn empty_dir(dir: &Path) {
    if let Ok(entries) = std::fs::read_dir(dir) {
        for entry in entries.flatten() {
            let _ = std::fs::remove_dir_all(entry.path())
                .or_else(|_| std::fs::remove_file(entry.path()));
        }
    }
    let _ = std::fs::create_dir_all(dir);
}

/// The script a file-cache entry is for: PHP stores `/a/b.php` as `<build id>/a/b.php.bin`.
pub fn script_path(entry: &Path) -> Option<PathBuf> {
    let mut parts = entry.components();
    parts.next()?; // the build id
    let rest = parts.as_path();
    let name = rest.file_name()?.to_str()?.strip_suffix(".bin")?;
    if name.is_empty() {
        return None;
    }
    Some(Path::new("/").join(rest.with_file_name(name)))
}

/// Unpacks into `into`; returns the files' archive paths and their total size.
fn unpack(data: &[u8], into: &Path, limits: SeedLimits) -> std::io::Result<(Vec<PathBuf>, u64)> {
    std::fs::create_dir_all(into)?;
    let mut archive = tar::Archive::new(zstd::stream::read::Decoder::new(data)?);
    let (mut files, mut bytes) = (Vec::new(), 0u64);
    let mut created = std::collections::HashSet::new();
    let mut names = std::collections::HashSet::new();
    for entry in archive.entries()? {
        let mut entry = entry?;
        let kind = entry.header().entry_type();
        // tar unpacks a "file" whose name ends in '/' as a directory (old BSD tar): count it
        // as one, or the reported files would not be what is on disk
        let as_dir = kind.is_dir() || entry.path_bytes().ends_with(b"/");
        let path = entry.path()?.into_owned();
        let safe = path
            .components()
            .all(|c| matches!(c, Component::Normal(_) | Component::CurDir));
        if !safe || !(kind.is_file() || kind.is_dir()) {
            return Err(std::io::Error::other(format!(
                "refusing entry {} ({kind:?})",
                path.display()
            )));
        }
        // Only plain names, files and directories, into a staging directory this process just
        // created: no entry can be or pass through a symlink, so tar's per-entry
        // canonicalisation in `unpack_in` (a dozen lstat calls each, half the restore time
        // here) is not needed. Parents are created once.
        let dest = into.join(&path);
        if as_dir {
            if created.insert(dest.clone()) {
                std::fs::create_dir_all(&dest)?;
            }
            continue;
        }
        if let Some(parent) = dest.parent()
            && created.insert(parent.to_path_buf())
        {
            std::fs::create_dir_all(parent)?;
        }
        bytes += entry.size();
        if bytes > limits.unpacked_bytes || files.len() >= limits.files {
            return Err(std::io::Error::other(format!(
                "unpacks to more than {} bytes or {} files",
                limits.unpacked_bytes, limits.files
            )));
        }
        // publish never writes a name twice; a second copy would overwrite the first and
        // make the reported count wrong
        if !names.insert(path.clone()) {
            return Err(std::io::Error::other(format!(
                "duplicate entry {}",
                path.display()
            )));
        }
        files.push(path);
        // writes the content and keeps the entry's mtime (publish_if_newer compares them)
        entry.unpack(&dest)?;
    }
    // Reading to the end makes zstd check the frame's content checksum (XXH64).
    let mut rest = Vec::new();
    archive.into_inner().read_to_end(&mut rest)?;
    Ok((files, bytes))
}

/// What publishing wrote.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Published {
    pub files: usize,
    pub bytes: u64,
    pub archive_bytes: u64,
    pub ms: u64,
}

/// Newest modification time of any file below `dir` (None when it holds no file).
fn newest_file(dir: &Path) -> Option<std::time::SystemTime> {
    let mut newest = None;
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).into_iter().flatten().flatten() {
            match entry.file_type() {
                Ok(t) if t.is_dir() => stack.push(entry.path()),
                Ok(t) if t.is_file() => {
                    if let Ok(m) = entry.metadata().and_then(|m| m.modified()) {
                        newest = newest.max(Some(m));
                    }
                }
                _ => {}
            }
        }
    }
    newest
}

/// Publishes `source` only when it holds entries newer than the current seed (code was
/// compiled since: a plugin update, a new page), so a periodic caller (cron) keeps the seed
/// fresh without rewriting it for nothing. `Ok(None)`: nothing new.
pub fn publish_if_newer(
    source: &Path,
    seed_file: &Path,
    key: Option<&[u8]>,
) -> std::io::Result<Option<Published>> {
    let Some(newest) = newest_file(source) else {
        return Ok(None);
    };
    let seed_time = std::fs::metadata(seed_file).and_then(|m| m.modified()).ok();
    if seed_time.is_some_and(|t| t >= newest) {
        return Ok(None);
    }
    publish(source, seed_file, key).map(Some)
}

/// Packs the file cache directory `source` into the seed archive, atomically, signed with
/// `key` when there is one.
pub fn publish(source: &Path, seed_file: &Path, key: Option<&[u8]>) -> std::io::Result<Published> {
    let started = Instant::now();
    let dir = seed_file
        .parent()
        .ok_or_else(|| std::io::Error::other("seed file has no directory"))?;
    std::fs::create_dir_all(dir)?;
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    let tmp = dir.join(format!(".{SEED_FILE}.tmp-{}-{nanos}", std::process::id()));
    let result = (|| {
        let file = std::fs::File::create(&tmp)?;
        let mut zst = zstd::stream::write::Encoder::new(std::io::BufWriter::new(file), ZSTD_LEVEL)?;
        zst.include_checksum(true)?;
        let mut builder = tar::Builder::new(zst);
        builder.follow_symlinks(false);
        let (mut files, mut bytes) = (0usize, 0u64);
        let mut stack = vec![source.to_path_buf()];
        while let Some(dir) = stack.pop() {
            let mut entries: Vec<_> = std::fs::read_dir(&dir)?.collect::<Result<_, _>>()?;
            entries.sort_by_key(|e| e.file_name());
            for entry in entries {
                let path = entry.path();
                let kind = entry.file_type()?;
                let relative = path.strip_prefix(source).map_err(std::io::Error::other)?;
                if kind.is_dir() {
                    stack.push(path);
                } else if kind.is_file() {
                    // PHP may be writing an entry right now: skip what vanished.
                    match std::fs::File::open(&path) {
                        Ok(mut f) => {
                            let len = f.metadata()?.len();
                            builder.append_file(relative, &mut f)?;
                            files += 1;
                            bytes += len;
                        }
                        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                        Err(e) => return Err(e),
                    }
                }
            }
        }
        let zst = builder.into_inner()?;
        let mut writer = zst.finish()?;
        writer.flush()?;
        let mut file = writer.into_inner().map_err(|e| e.into_error())?;
        if let Some(key) = key {
            let archive = std::fs::read(&tmp)?;
            file.write_all(&signature(key, &archive))?;
        }
        file.sync_all()?;
        Ok((files, bytes))
    })();
    match result {
        Ok((files, bytes)) => {
            let archive_bytes = std::fs::metadata(&tmp)?.len();
            std::fs::rename(&tmp, seed_file)?;
            Ok(Published {
                files,
                bytes,
                archive_bytes,
                ms: started.elapsed().as_millis() as u64,
            })
        }
        Err(e) => {
            let _ = std::fs::remove_file(&tmp);
            Err(e)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tempdir(tag: &str) -> PathBuf {
        lambda_fpm_testkit::temp::dir(&format!("seed-{tag}"))
    }

    fn fill(dir: &Path) {
        let sub = dir.join("0123abcd/mnt/wordpress/wp-includes");
        std::fs::create_dir_all(&sub).unwrap();
        std::fs::write(sub.join("load.php.bin"), vec![1u8; 5000]).unwrap();
        std::fs::write(sub.join("plugin.php.bin"), vec![2u8; 3000]).unwrap();
    }

    #[test]
    fn publish_then_restore_round_trip() {
        let base = tempdir("rt");
        let source = base.join("src");
        fill(&source);
        let seed = base.join("efs/.lambda-fpm").join(SEED_FILE);
        let p = publish(&source, &seed, None).unwrap();
        assert_eq!((p.files, p.bytes), (2, 8000));
        assert!(p.archive_bytes > 0 && p.archive_bytes < 8000);
        let target = base.join("rt/opcache");
        std::fs::create_dir_all(&target).unwrap();
        match restore(&seed, &target, None) {
            Restore::Restored {
                files,
                bytes,
                scripts,
                ..
            } => {
                assert_eq!((files, bytes), (2, 8000));
                let mut scripts = scripts;
                scripts.sort();
                assert_eq!(
                    scripts,
                    vec![
                        PathBuf::from("/mnt/wordpress/wp-includes/load.php"),
                        PathBuf::from("/mnt/wordpress/wp-includes/plugin.php")
                    ]
                );
            }
            other => panic!("{other:?}"),
        }
        let got =
            std::fs::read(target.join("0123abcd/mnt/wordpress/wp-includes/load.php.bin")).unwrap();
        assert_eq!(got, vec![1u8; 5000]);
        // no temporary files left next to the seed
        let names: Vec<_> = std::fs::read_dir(seed.parent().unwrap())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names.len(), 1, "{names:?}");
    }

    #[test]
    fn publish_if_newer_only_publishes_new_entries() {
        let base = tempdir("newer");
        let source = base.join("src");
        let seed = base.join(SEED_FILE);
        assert!(
            publish_if_newer(&base.join("empty"), &seed, None)
                .unwrap()
                .is_none()
        );
        fill(&source);
        assert!(publish_if_newer(&source, &seed, None).unwrap().is_some());
        assert!(
            publish_if_newer(&source, &seed, None).unwrap().is_none(),
            "republished with nothing new"
        );
        std::thread::sleep(std::time::Duration::from_millis(20));
        std::fs::write(source.join("0123abcd/new.php.bin"), b"x").unwrap();
        assert_eq!(
            publish_if_newer(&source, &seed, None)
                .unwrap()
                .unwrap()
                .files,
            3
        );
    }

    #[test]
    fn script_paths_of_file_cache_entries() {
        let cases = [
            (
                "0123abcd/mnt/wordpress/index.php.bin",
                Some("/mnt/wordpress/index.php"),
            ),
            ("0123abcd/a.php.bin", Some("/a.php")),
            ("0123abcd/mnt/wordpress/readme.txt", None),
            ("0123abcd/.bin", None),
            ("0123abcd", None),
            ("index.php.bin", None),
        ];
        for (entry, want) in cases {
            assert_eq!(
                script_path(Path::new(entry)),
                want.map(PathBuf::from),
                "{entry}"
            );
        }
    }

    #[test]
    fn absent_seed() {
        let base = tempdir("absent");
        assert_eq!(
            restore(&base.join("nope.tar.zst"), &base.join("t"), None),
            Restore::Absent
        );
    }

    #[test]
    fn with_a_key_only_a_seed_signed_with_it_is_restored() {
        let base = tempdir("signed");
        let source = base.join("src");
        fill(&source);
        let seed = base.join(SEED_FILE);
        let key: &[u8] = b"a-key-of-at-least-thirty-two-characters";
        publish(&source, &seed, Some(key)).unwrap();
        let t = base.join("t-good");
        assert!(matches!(
            restore(&seed, &t, Some(key)),
            Restore::Restored { files: 2, .. }
        ));
        // another key, an unsigned seed, a tampered archive: all ignored, nothing unpacked
        let signed = std::fs::read(&seed).unwrap();
        let mut tampered = signed.clone();
        tampered[10] ^= 1;
        publish(&source, &base.join("unsigned"), None).unwrap();
        let unsigned = std::fs::read(base.join("unsigned")).unwrap();
        for (name, bytes, key) in [
            (
                "other key",
                signed.clone(),
                &b"another-key-of-at-least-thirty-two-chars"[..],
            ),
            ("unsigned", unsigned.clone(), key),
            ("tampered", tampered, key),
        ] {
            std::fs::write(&seed, &bytes).unwrap();
            let t = base.join(format!("t-{name}"));
            match restore(&seed, &t, Some(key)) {
                Restore::Ignored(why) => assert!(why.contains("sign"), "{name}: {why}"),
                other => panic!("{name}: {other:?}"),
            }
            assert_eq!(std::fs::read_dir(&t).unwrap().count(), 0, "{name}");
        }
        // without a key (no secret configured) an unsigned seed is used as before
        std::fs::write(&seed, &unsigned).unwrap();
        assert!(matches!(
            restore(&seed, &base.join("t-nokey"), None),
            Restore::Restored { files: 2, .. }
        ));
    }

    #[test]
    fn a_seed_over_its_limits_is_ignored_and_unpacks_nothing() {
        let base = tempdir("limits");
        let source = base.join("src");
        fill(&source); // 2 files, 8000 bytes
        let seed = base.join(SEED_FILE);
        publish(&source, &seed, None).unwrap();
        let archive = std::fs::metadata(&seed).unwrap().len();
        let roomy = SeedLimits {
            archive_bytes: archive,
            unpacked_bytes: 8000,
            files: 2,
        };
        for (name, limits) in [
            (
                "archive",
                SeedLimits {
                    archive_bytes: archive - 1,
                    ..roomy
                },
            ),
            (
                "bytes",
                SeedLimits {
                    unpacked_bytes: 7999,
                    ..roomy
                },
            ),
            ("files", SeedLimits { files: 1, ..roomy }),
        ] {
            let target = base.join(format!("t-{name}"));
            std::fs::create_dir_all(&target).unwrap();
            assert!(
                matches!(
                    restore_within(&seed, &target, limits, None),
                    Restore::Ignored(_)
                ),
                "{name}"
            );
            assert_eq!(std::fs::read_dir(&target).unwrap().count(), 0, "{name}");
        }
        let target = base.join("t-ok");
        assert!(matches!(
            restore_within(&seed, &target, roomy, None),
            Restore::Restored {
                files: 2,
                bytes: 8000,
                ..
            }
        ));
    }

    #[test]
    fn corrupted_or_truncated_seed_is_ignored_and_leaves_an_empty_cache() {
        let base = tempdir("corrupt");
        let source = base.join("src");
        fill(&source);
        let seed = base.join(SEED_FILE);
        publish(&source, &seed, None).unwrap();
        let good = std::fs::read(&seed).unwrap();
        let cases: Vec<(&str, Vec<u8>)> = vec![
            ("garbage", b"not a zstd file at all".to_vec()),
            ("truncated", good[..good.len() / 2].to_vec()),
            ("flipped", {
                let mut b = good.clone();
                let mid = b.len() / 2;
                b[mid] ^= 0xff;
                b
            }),
        ];
        for (name, bytes) in cases {
            std::fs::write(&seed, &bytes).unwrap();
            let target = base.join(format!("t-{name}"));
            std::fs::create_dir_all(&target).unwrap();
            assert!(
                matches!(restore(&seed, &target, None), Restore::Ignored(_)),
                "{name}"
            );
            assert!(target.is_dir(), "{name}: cache dir must exist for php-fpm");
            assert_eq!(
                std::fs::read_dir(&target).unwrap().count(),
                0,
                "{name}: partial restore left behind"
            );
        }
    }

    #[test]
    fn entries_escaping_the_cache_are_refused() {
        let base = tempdir("escape");
        let seed = base.join(SEED_FILE);
        // a hand-made archive with a symlink entry
        let file = std::fs::File::create(&seed).unwrap();
        let mut b = tar::Builder::new(zstd::stream::write::Encoder::new(file, 3).unwrap());
        let mut h = tar::Header::new_gnu();
        h.set_entry_type(tar::EntryType::Symlink);
        h.set_size(0);
        b.append_link(&mut h, "evil", "/etc/passwd").unwrap();
        b.into_inner().unwrap().finish().unwrap();
        let target = base.join("t");
        assert!(matches!(restore(&seed, &target, None), Restore::Ignored(_)));
        assert!(!target.join("evil").exists());
    }

    /// Found by the `seed` fuzz target: tar unpacks a regular entry named `x/` as a
    /// directory, and it was counted as a restored file.
    #[test]
    fn a_file_entry_with_a_trailing_slash_counts_as_a_directory() {
        let base = tempdir("slash");
        let seed = base.join(SEED_FILE);
        let file = std::fs::File::create(&seed).unwrap();
        let mut b = tar::Builder::new(zstd::stream::write::Encoder::new(file, 3).unwrap());
        for (name, data) in [("0123abcd/", &b""[..]), ("0123abcd/a.php.bin", &b"x"[..])] {
            let mut h = tar::Header::new_gnu();
            h.set_entry_type(tar::EntryType::Regular);
            h.set_size(data.len() as u64);
            h.set_mode(0o644);
            b.append_data(&mut h, name, data).unwrap();
        }
        b.into_inner().unwrap().finish().unwrap();
        let target = base.join("t");
        match restore(&seed, &target, None) {
            Restore::Restored { files, bytes, .. } => assert_eq!((files, bytes), (1, 1)),
            other => panic!("{other:?}"),
        }
        assert!(target.join("0123abcd").is_dir());
        assert!(target.join("0123abcd/a.php.bin").is_file());
    }

    /// Found by the `seed` fuzz target: a name twice was unpacked twice and counted twice.
    #[test]
    fn a_seed_with_a_duplicate_entry_is_ignored() {
        let base = tempdir("duplicate");
        let seed = base.join(SEED_FILE);
        let file = std::fs::File::create(&seed).unwrap();
        let mut b = tar::Builder::new(zstd::stream::write::Encoder::new(file, 3).unwrap());
        for data in [&b"one"[..], &b"two"[..]] {
            let mut h = tar::Header::new_gnu();
            h.set_size(data.len() as u64);
            h.set_mode(0o644);
            b.append_data(&mut h, "0123abcd/a.php.bin", data).unwrap();
        }
        b.into_inner().unwrap().finish().unwrap();
        let target = base.join("t");
        assert!(matches!(restore(&seed, &target, None), Restore::Ignored(_)));
        assert_eq!(std::fs::read_dir(&target).unwrap().count(), 0);
    }

    #[test]
    fn concurrent_publishers_leave_one_complete_archive() {
        let base = tempdir("concurrent");
        let seed = base.join("efs").join(SEED_FILE);
        let sources: Vec<PathBuf> = (0..4)
            .map(|i| {
                let s = base.join(format!("src{i}"));
                fill(&s);
                std::fs::write(s.join(format!("marker-{i}")), vec![i as u8; 100_000]).unwrap();
                s
            })
            .collect();
        let reader_seed = seed.clone();
        let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let stop_reader = stop.clone();
        // a sandbox starting meanwhile must see a complete archive or none
        let reader = std::thread::spawn(move || {
            let mut restored = 0;
            let mut n = 0;
            while !stop_reader.load(std::sync::atomic::Ordering::Relaxed) {
                n += 1;
                let t = reader_seed.with_file_name(format!("reader-{n}"));
                match restore(&reader_seed, &t, None) {
                    Restore::Restored { files, .. } => {
                        assert_eq!(files, 3);
                        restored += 1;
                    }
                    Restore::Absent => {}
                    Restore::Ignored(e) => panic!("torn archive seen: {e}"),
                }
                let _ = std::fs::remove_dir_all(&t);
            }
            restored
        });
        let writers: Vec<_> = sources
            .into_iter()
            .map(|s| {
                let seed = seed.clone();
                std::thread::spawn(move || {
                    for _ in 0..5 {
                        publish(&s, &seed, None).unwrap();
                    }
                })
            })
            .collect();
        for w in writers {
            w.join().unwrap();
        }
        stop.store(true, std::sync::atomic::Ordering::Relaxed);
        reader.join().unwrap();
        let target = base.join("final");
        assert!(matches!(
            restore(&seed, &target, None),
            Restore::Restored { files: 3, .. }
        ));
        let leftovers = std::fs::read_dir(seed.parent().unwrap())
            .unwrap()
            .filter(|e| {
                e.as_ref()
                    .unwrap()
                    .file_name()
                    .to_string_lossy()
                    .contains(".tmp-")
            })
            .count();
        assert_eq!(leftovers, 0);
    }
}
