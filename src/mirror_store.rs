//! The code mirror's file work (see `code_mirror` for the design): the generation marker on
//! EFS, building and atomically publishing the mirror archive from the EFS tree, and restoring
//! it into a local staging directory that is switched into place whole.
//!
//! EFS costs a round trip per metadata operation, so building reads the tree with many
//! requests in flight (directories listed and files read by `threads` workers), then writes one
//! tar.zst sequentially; restoring is one sequential read of that archive.

use std::io::{Read, Write};
use std::path::{Component, Path, PathBuf};
use std::sync::Mutex;
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use crate::code_mirror::{
    ARCHIVE_FILE, GENERATION_FILE, HOOK_FUNCTION, MANIFEST_ENTRY, Manifest, STATE_DIR, stays_on_efs,
};

/// zstd level for the archive (3: zstd's default, most of the ratio, fast).
const ZSTD_LEVEL: i32 = 3;

pub fn state_dir(root: &Path) -> PathBuf {
    root.join(STATE_DIR)
}

pub fn archive_path(root: &Path) -> PathBuf {
    state_dir(root).join(ARCHIVE_FILE)
}

/// The generation marker's content ("" when there is none yet).
pub fn read_generation(root: &Path) -> std::io::Result<String> {
    match std::fs::read_to_string(state_dir(root).join(GENERATION_FILE)) {
        Ok(s) => Ok(s.trim().to_string()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(String::new()),
        Err(e) => Err(e),
    }
}

fn unique_suffix() -> String {
    static COUNTER: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    crate::code_mirror::new_generation(
        nanos,
        std::process::id(),
        COUNTER.fetch_add(1, std::sync::atomic::Ordering::Relaxed),
    )
}

/// Writes a new generation marker (temporary file + rename: readers see the old or the new one).
pub fn bump_generation(root: &Path) -> std::io::Result<String> {
    let dir = state_dir(root);
    std::fs::create_dir_all(&dir)?;
    let generation = unique_suffix();
    let tmp = dir.join(format!(".{GENERATION_FILE}.tmp-{generation}"));
    std::fs::write(&tmp, format!("{generation}\n"))?;
    std::fs::rename(&tmp, dir.join(GENERATION_FILE))?;
    Ok(generation)
}

/// Whether the site's wp-config.php reports code changes itself.
pub fn has_hooks(root: &Path) -> bool {
    std::fs::read_to_string(root.join("wp-config.php")).is_ok_and(|s| s.contains(HOOK_FUNCTION))
}

/// What building found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Built {
    pub manifest: Manifest,
    pub archive_bytes: u64,
    pub ms: u64,
}

#[derive(Debug)]
enum Item {
    Dir(String),
    File { rel: String, mtime: SystemTime },
}

/// Lists the tree below `root` (relative paths, sorted), leaving out what stays on EFS, with
/// `threads` directory listings in flight. Refuses symlinks and special files: the mirror copies
/// plain trees only.
fn list_tree(root: &Path, write_through: &[String], threads: usize) -> std::io::Result<Vec<Item>> {
    let queue = Mutex::new((vec![String::new()], 0usize)); // (pending dirs, busy workers)
    let found = Mutex::new(Vec::new());
    let failure: Mutex<Option<std::io::Error>> = Mutex::new(None);
    std::thread::scope(|s| {
        for _ in 0..threads.max(1) {
            s.spawn(|| {
                loop {
                    let next = {
                        let mut q = queue.lock().unwrap();
                        match q.0.pop() {
                            Some(d) => {
                                q.1 += 1;
                                Some(d)
                            }
                            None if q.1 == 0 => return,
                            None => None,
                        }
                    };
                    let Some(dir) = next else {
                        std::thread::sleep(std::time::Duration::from_micros(200));
                        continue;
                    };
                    let result = (|| {
                        let mut subdirs = Vec::new();
                        let mut items = Vec::new();
                        for entry in std::fs::read_dir(root.join(&dir))? {
                            let entry = entry?;
                            let name = entry.file_name().to_string_lossy().into_owned();
                            let rel = if dir.is_empty() { name } else { format!("{dir}/{name}") };
                            if stays_on_efs(&rel, write_through) {
                                continue;
                            }
                            let meta = std::fs::symlink_metadata(entry.path())?;
                            if meta.is_dir() {
                                items.push(Item::Dir(rel.clone()));
                                subdirs.push(rel);
                            } else if meta.is_file() {
                                items.push(Item::File { rel, mtime: meta.modified()? });
                            } else {
                                return Err(std::io::Error::other(format!(
                                    "{rel} is a symlink or special file: the code mirror copies plain trees only"
                                )));
                            }
                        }
                        Ok::<_, std::io::Error>((subdirs, items))
                    })();
                    let mut q = queue.lock().unwrap();
                    q.1 -= 1;
                    match result {
                        Ok((subdirs, items)) => {
                            q.0.extend(subdirs);
                            found.lock().unwrap().extend(items);
                        }
                        Err(e) => {
                            q.0.clear();
                            failure.lock().unwrap().get_or_insert(e);
                        }
                    }
                }
            });
        }
    });
    if let Some(e) = failure.into_inner().unwrap() {
        return Err(e);
    }
    let mut items = found.into_inner().unwrap();
    items.sort_by(|a, b| {
        let key = |i: &Item| match i {
            Item::Dir(r) | Item::File { rel: r, .. } => r.clone(),
        };
        key(a).cmp(&key(b))
    });
    Ok(items)
}

/// Reads every listed file with `threads` reads in flight.
fn read_files(root: &Path, files: &[&str], threads: usize) -> std::io::Result<Vec<Vec<u8>>> {
    let contents: Vec<Mutex<Option<Vec<u8>>>> = files.iter().map(|_| Mutex::new(None)).collect();
    let next = std::sync::atomic::AtomicUsize::new(0);
    let failure: Mutex<Option<std::io::Error>> = Mutex::new(None);
    std::thread::scope(|s| {
        for _ in 0..threads.max(1) {
            s.spawn(|| {
                loop {
                    let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    if i >= files.len() || failure.lock().unwrap().is_some() {
                        return;
                    }
                    match std::fs::read(root.join(files[i])) {
                        Ok(data) => *contents[i].lock().unwrap() = Some(data),
                        Err(e) => {
                            failure.lock().unwrap().get_or_insert(std::io::Error::new(
                                e.kind(),
                                format!("{}: {e}", files[i]),
                            ));
                        }
                    }
                }
            });
        }
    });
    if let Some(e) = failure.into_inner().unwrap() {
        return Err(e);
    }
    Ok(contents
        .into_iter()
        .map(|c| c.into_inner().unwrap().unwrap_or_default())
        .collect())
}

/// Builds the mirror archive of `root` (everything but the write-through directories) and
/// publishes it atomically at [`archive_path`], labelled with the generation marker read before
/// and after reading the tree; if the marker changed meanwhile (code changed while we read), the
/// archive is discarded and an error returned.
pub fn build_and_publish(
    root: &Path,
    write_through: &[String],
    threads: usize,
) -> std::io::Result<Built> {
    let started = Instant::now();
    let generation = read_generation(root)?;
    // WordPress puts .maintenance in the root while an upgrader replaces files: not a tree to copy
    if root.join(".maintenance").exists() {
        return Err(std::io::Error::other(
            "WordPress is upgrading (.maintenance exists): the mirror is built once it is done",
        ));
    }
    let items = list_tree(root, write_through, threads)?;
    let files: Vec<&str> = items
        .iter()
        .filter_map(|i| match i {
            Item::File { rel, .. } => Some(rel.as_str()),
            Item::Dir(_) => None,
        })
        .collect();
    let contents = read_files(root, &files, threads)?;
    let after = read_generation(root)?;
    if after != generation {
        return Err(std::io::Error::other(format!(
            "the code changed while the mirror was read (generation {generation:?} -> {after:?})"
        )));
    }
    let manifest = Manifest {
        generation,
        files: files.len() as u64,
        bytes: contents.iter().map(|c| c.len() as u64).sum(),
        write_through: write_through.to_vec(),
        hooks: has_hooks(root),
        built_ms: SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_millis() as u64)
            .unwrap_or(0),
    };
    let dir = state_dir(root);
    std::fs::create_dir_all(&dir)?;
    let tmp = dir.join(format!(".{ARCHIVE_FILE}.tmp-{}", unique_suffix()));
    let written = (|| {
        let file = std::fs::File::create(&tmp)?;
        let mut zst = zstd::stream::write::Encoder::new(std::io::BufWriter::new(file), ZSTD_LEVEL)?;
        zst.include_checksum(true)?;
        let mut tar = tar::Builder::new(zst);
        let json = serde_json::to_vec(&manifest).map_err(std::io::Error::other)?;
        let mut header = tar::Header::new_gnu();
        header.set_size(json.len() as u64);
        header.set_mode(0o644);
        header.set_mtime(manifest.built_ms / 1000);
        header.set_cksum();
        tar.append_data(&mut header, MANIFEST_ENTRY, json.as_slice())?;
        let mut contents = contents.into_iter();
        for item in &items {
            let mut header = tar::Header::new_gnu();
            match item {
                Item::Dir(rel) => {
                    header.set_entry_type(tar::EntryType::Directory);
                    header.set_mode(0o755);
                    header.set_size(0);
                    header.set_cksum();
                    tar.append_data(&mut header, rel, std::io::empty())?;
                }
                Item::File { rel, mtime } => {
                    let data = contents.next().unwrap_or_default();
                    header.set_entry_type(tar::EntryType::Regular);
                    header.set_mode(0o644);
                    header.set_size(data.len() as u64);
                    header.set_mtime(
                        mtime
                            .duration_since(UNIX_EPOCH)
                            .map(|d| d.as_secs())
                            .unwrap_or(0),
                    );
                    header.set_cksum();
                    tar.append_data(&mut header, rel, data.as_slice())?;
                }
            }
        }
        let zst = tar.into_inner()?;
        let mut writer = zst.finish()?;
        writer.flush()?;
        let file = writer.into_inner().map_err(|e| e.into_error())?;
        file.sync_all()?;
        Ok::<_, std::io::Error>(())
    })();
    if let Err(e) = written {
        let _ = std::fs::remove_file(&tmp);
        return Err(e);
    }
    let archive_bytes = std::fs::metadata(&tmp)?.len();
    std::fs::rename(&tmp, archive_path(root))?;
    Ok(Built {
        manifest,
        archive_bytes,
        ms: started.elapsed().as_millis() as u64,
    })
}

/// What restoring staged.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Staged {
    pub manifest: Manifest,
    pub dir: PathBuf,
    pub ms: u64,
}

/// The staging directory next to `target`.
pub fn staging_dir(target: &Path) -> PathBuf {
    let name = target
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "site".into());
    target.with_file_name(format!(".{name}.staged"))
}

/// Unpacks the published archive into the staging directory next to `target` and links the
/// write-through directories back to `root`. `Ok(None)`: no archive. The staged tree is complete
/// when this returns Ok; nothing is switched yet (see [`activate`]).
pub fn restore_staged(root: &Path, target: &Path) -> std::io::Result<Option<Staged>> {
    let started = Instant::now();
    let data = match std::fs::read(archive_path(root)) {
        Ok(d) => d,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(e),
    };
    let staging = staging_dir(target);
    remove_tree(&staging);
    let result = (|| {
        std::fs::create_dir_all(&staging)?;
        let mut archive = tar::Archive::new(zstd::stream::read::Decoder::new(data.as_slice())?);
        archive.set_preserve_mtime(true);
        let mut manifest: Option<Manifest> = None;
        for entry in archive.entries()? {
            let mut entry = entry?;
            let path = entry.path()?.into_owned();
            let kind = entry.header().entry_type();
            let plain = path.components().all(|c| matches!(c, Component::Normal(_)));
            if !plain || !(kind.is_file() || kind.is_dir()) {
                return Err(std::io::Error::other(format!(
                    "refusing entry {} ({kind:?})",
                    path.display()
                )));
            }
            if manifest.is_none() {
                if path != Path::new(MANIFEST_ENTRY) {
                    return Err(std::io::Error::other("the archive has no manifest"));
                }
                let mut json = Vec::new();
                entry.read_to_end(&mut json)?;
                manifest = Some(serde_json::from_slice(&json).map_err(std::io::Error::other)?);
                continue;
            }
            // Plain names only, into a directory this process just created and which holds no
            // symlink (the links below come last): no entry can escape it.
            let dest = staging.join(&path);
            if kind.is_dir() {
                std::fs::create_dir_all(&dest)?;
            } else {
                if let Some(parent) = dest.parent() {
                    std::fs::create_dir_all(parent)?;
                }
                entry.unpack(&dest)?;
            }
        }
        // zstd checks the content checksum at the end of the frame
        let mut rest = Vec::new();
        archive.into_inner().read_to_end(&mut rest)?;
        let manifest = manifest.ok_or_else(|| std::io::Error::other("empty archive"))?;
        for dir in manifest.write_through.iter().map(|d| d.trim_matches('/')) {
            // (links are made before the tree turns read-only below)
            let (link, real) = (staging.join(dir), root.join(dir));
            let Some(parent) = link.parent() else {
                continue;
            };
            if dir.is_empty() || !parent.is_dir() {
                continue; // e.g. no wp-content in this tree
            }
            if !real.is_dir() {
                std::fs::create_dir_all(&real)?;
            }
            let _ = std::fs::remove_dir_all(&link);
            std::os::unix::fs::symlink(&real, &link)?;
        }
        // Read-only: PHP (which never runs as root on Lambda) cannot write into the copy, where a
        // write would be lost with it; it writes through the links or fails with EACCES, loudly.
        set_tree_mode(&staging, 0o444, 0o555)?;
        Ok(manifest)
    })();
    match result {
        Ok(manifest) => Ok(Some(Staged {
            manifest,
            dir: staging,
            ms: started.elapsed().as_millis() as u64,
        })),
        Err(e) => {
            remove_tree(&staging);
            Err(e)
        }
    }
}

/// Sets every file's and directory's mode below `root` (and `root`'s), never following a symlink.
fn set_tree_mode(root: &Path, file_mode: u32, dir_mode: u32) -> std::io::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    let mut dirs = vec![root.to_path_buf()];
    let mut seen = Vec::new();
    while let Some(d) = dirs.pop() {
        for entry in std::fs::read_dir(&d)? {
            let entry = entry?;
            let kind = entry.file_type()?;
            if kind.is_dir() {
                dirs.push(entry.path());
            } else if kind.is_file() {
                std::fs::set_permissions(entry.path(), std::fs::Permissions::from_mode(file_mode))?;
            }
        }
        seen.push(d);
    }
    // directories last, deepest first (a read-only directory's entries can still be chmod'ed,
    // but listing must happen before a directory loses its write bit only for removal)
    for d in seen.iter().rev() {
        std::fs::set_permissions(d, std::fs::Permissions::from_mode(dir_mode))?;
    }
    Ok(())
}

/// Removes a (possibly read-only) copy: makes its directories writable first, so a process that
/// is not root can delete it. Best effort.
pub fn remove_tree(root: &Path) {
    if std::fs::symlink_metadata(root).is_ok_and(|m| m.is_dir()) {
        let _ = set_dirs_writable(root);
        let _ = std::fs::remove_dir_all(root);
    }
}

fn set_dirs_writable(root: &Path) -> std::io::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    let mut dirs = vec![root.to_path_buf()];
    while let Some(d) = dirs.pop() {
        std::fs::set_permissions(&d, std::fs::Permissions::from_mode(0o755))?;
        for entry in std::fs::read_dir(&d)? {
            let entry = entry?;
            if entry.file_type()?.is_dir() {
                dirs.push(entry.path());
            }
        }
    }
    Ok(())
}

/// Reads only the manifest of the published archive (it is the first entry).
pub fn published_manifest(root: &Path) -> std::io::Result<Option<Manifest>> {
    let file = match std::fs::File::open(archive_path(root)) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(e),
    };
    let mut archive = tar::Archive::new(zstd::stream::read::Decoder::new(file)?);
    let mut entries = archive.entries()?;
    let mut first = entries
        .next()
        .ok_or_else(|| std::io::Error::other("empty archive"))??;
    if first.path()?.as_ref() != Path::new(MANIFEST_ENTRY) {
        return Err(std::io::Error::other("the archive has no manifest"));
    }
    let mut json = Vec::new();
    first.read_to_end(&mut json)?;
    serde_json::from_slice(&json)
        .map(Some)
        .map_err(std::io::Error::other)
}

/// Switches a staged tree into place at `target` (PHP must be idle: the bridge does this between
/// requests, then restarts php-fpm). The old tree is removed.
pub fn activate(staged: &Path, target: &Path) -> std::io::Result<()> {
    let old = target.with_file_name(format!(
        ".{}.old",
        target.file_name().unwrap_or_default().to_string_lossy()
    ));
    remove_tree(&old);
    if target.exists() {
        std::fs::rename(target, &old)?;
    }
    std::fs::rename(staged, target)?;
    remove_tree(&old);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tempdir(tag: &str) -> PathBuf {
        lambda_fpm_testkit::temp::dir(&format!("mirror-{tag}"))
    }

    fn site(root: &Path) {
        for (p, c) in [
            ("index.php", "<?php echo 1;"),
            ("wp-config.php", "<?php // lambda_fpm_code_changed"),
            ("wp-includes/a.php", "<?php"),
            ("wp-content/themes/t/theme.json", "{}"),
            ("wp-content/uploads/2024/x.jpg", "jpeg"),
            ("wp-content/cache/page.html", "cached"),
        ] {
            let f = root.join(p);
            std::fs::create_dir_all(f.parent().unwrap()).unwrap();
            std::fs::write(f, c).unwrap();
        }
        std::fs::create_dir_all(root.join("wp-content/empty")).unwrap();
    }

    fn wt() -> Vec<String> {
        crate::code_mirror::DEFAULT_WRITE_THROUGH
            .iter()
            .map(|s| s.to_string())
            .collect()
    }

    #[test]
    fn build_restore_activate_round_trip() {
        let base = tempdir("round");
        let root = base.join("efs");
        site(&root);
        let old = SystemTime::UNIX_EPOCH + std::time::Duration::from_secs(1_600_000_000);
        std::fs::File::options()
            .write(true)
            .open(root.join("index.php"))
            .unwrap()
            .set_modified(old)
            .unwrap();
        let g = bump_generation(&root).unwrap();
        let built = build_and_publish(&root, &wt(), 4).unwrap();
        assert_eq!(built.manifest.generation, g);
        assert_eq!(built.manifest.files, 4, "{built:?}");
        assert!(built.manifest.hooks);
        assert_eq!(published_manifest(&root).unwrap().unwrap(), built.manifest);

        let target = base.join("tmp/site");
        std::fs::create_dir_all(base.join("tmp")).unwrap();
        let staged = restore_staged(&root, &target).unwrap().unwrap();
        assert_eq!(staged.manifest.generation, g);
        activate(&staged.dir, &target).unwrap();
        assert_eq!(
            std::fs::read_to_string(target.join("index.php")).unwrap(),
            "<?php echo 1;"
        );
        assert_eq!(
            std::fs::metadata(target.join("index.php"))
                .unwrap()
                .modified()
                .unwrap(),
            old
        );
        assert!(target.join("wp-content/empty").is_dir());
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = |p: &str| {
                std::fs::metadata(target.join(p))
                    .unwrap()
                    .permissions()
                    .mode()
                    & 0o777
            };
            assert_eq!(mode("index.php"), 0o444, "files of the copy are read-only");
            assert_eq!(
                mode("wp-includes"),
                0o555,
                "directories of the copy are read-only"
            );
            assert_eq!(mode("."), 0o555);
        }
        assert!(
            !target.join(STATE_DIR).exists(),
            "the bridge's state is not mirrored"
        );
        // write-through directories are links to EFS: what PHP writes there lands on EFS
        assert!(
            std::fs::symlink_metadata(target.join("wp-content/uploads"))
                .unwrap()
                .is_symlink()
        );
        std::fs::write(target.join("wp-content/uploads/new.txt"), "up").unwrap();
        assert_eq!(
            std::fs::read_to_string(root.join("wp-content/uploads/new.txt")).unwrap(),
            "up"
        );
        assert_eq!(
            std::fs::read_to_string(target.join("wp-content/cache/page.html")).unwrap(),
            "cached"
        );
        // a missing write-through directory is created on EFS (wp-content/upgrade here)
        assert!(root.join("wp-content/upgrade").is_dir());

        // a second generation replaces the whole tree
        std::fs::remove_file(root.join("wp-includes/a.php")).unwrap();
        std::fs::write(root.join("wp-includes/b.php"), "<?php // b").unwrap();
        let g2 = bump_generation(&root).unwrap();
        assert_ne!(g, g2);
        build_and_publish(&root, &wt(), 2).unwrap();
        let staged = restore_staged(&root, &target).unwrap().unwrap();
        assert_eq!(staged.manifest.generation, g2);
        activate(&staged.dir, &target).unwrap();
        assert!(!target.join("wp-includes/a.php").exists());
        assert!(target.join("wp-includes/b.php").is_file());
        std::fs::remove_dir_all(&base).unwrap();
    }

    #[test]
    fn no_archive_no_marker_and_refusals() {
        let base = tempdir("none");
        let root = base.join("efs");
        site(&root);
        assert_eq!(read_generation(&root).unwrap(), "");
        assert!(published_manifest(&root).unwrap().is_none());
        assert!(restore_staged(&root, &base.join("site")).unwrap().is_none());
        // an upgrade in progress is not copied
        std::fs::write(root.join(".maintenance"), "<?php $upgrading = 1;").unwrap();
        let e = build_and_publish(&root, &wt(), 2).unwrap_err();
        assert!(e.to_string().contains(".maintenance"), "{e}");
        std::fs::remove_file(root.join(".maintenance")).unwrap();
        // symlinks make the tree unmirrorable (nothing published)
        std::os::unix::fs::symlink("/etc", root.join("etc")).unwrap();
        let e = build_and_publish(&root, &wt(), 2).unwrap_err();
        assert!(e.to_string().contains("symlink"), "{e}");
        assert!(!archive_path(&root).exists());
        std::fs::remove_file(root.join("etc")).unwrap();
        // a corrupt archive is an error and leaves no staging directory behind
        build_and_publish(&root, &wt(), 2).unwrap();
        let mut data = std::fs::read(archive_path(&root)).unwrap();
        let n = data.len();
        data.truncate(n / 2);
        std::fs::write(archive_path(&root), &data).unwrap();
        let target = base.join("site");
        assert!(restore_staged(&root, &target).is_err());
        assert!(!staging_dir(&target).exists());
        std::fs::remove_dir_all(&base).unwrap();
    }

    #[test]
    fn archive_with_an_escaping_entry_is_refused() {
        let base = tempdir("escape");
        let root = base.join("efs");
        std::fs::create_dir_all(state_dir(&root)).unwrap();
        let file = std::fs::File::create(archive_path(&root)).unwrap();
        let zst = zstd::stream::write::Encoder::new(file, 3)
            .unwrap()
            .auto_finish();
        let mut tar = tar::Builder::new(zst);
        let m = serde_json::to_vec(&Manifest {
            generation: String::new(),
            files: 1,
            bytes: 1,
            write_through: vec![],
            hooks: false,
            built_ms: 0,
        })
        .unwrap();
        let mut h = tar::Header::new_gnu();
        h.set_size(m.len() as u64);
        h.set_cksum();
        tar.append_data(&mut h, MANIFEST_ENTRY, m.as_slice())
            .unwrap();
        let mut h = tar::Header::new_gnu();
        h.set_size(1);
        h.set_cksum();
        // tar::Builder refuses "..", so write the name into the header by hand
        h.as_old_mut().name[..9].copy_from_slice(b"../x.php\0");
        h.set_cksum();
        tar.append(&h, &b"x"[..]).unwrap();
        drop(tar.into_inner().unwrap());
        let target = base.join("site");
        let e = restore_staged(&root, &target).unwrap_err();
        assert!(e.to_string().contains("refusing"), "{e}");
        assert!(!base.join("x.php").exists());
        std::fs::remove_dir_all(&base).unwrap();
    }
}
