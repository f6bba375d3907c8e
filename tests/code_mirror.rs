//! The code mirror with real php-fpm: two sandboxes (two `bootstrap` processes with their own
//! /tmp) on one shared document root standing in for EFS. Checked: PHP runs against the local
//! copy once one is published; uploads land on the shared root; a code-changing request runs on
//! the shared root, and the other sandbox runs the new code within the check interval, then from
//! its refreshed copy; a tree that cannot be mirrored is served from the shared root, never
//! with an error; `LAMBDA_FPM_CODE_MIRROR=off` never copies anything.

mod support;

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use lambda_fpm_testkit::{url_event, v2};
use serde_json::Value;
use support::Lambda;

const CHECK_MS: u64 = 300;

fn write(root: &Path, rel: &str, text: &str) {
    let f = root.join(rel);
    std::fs::create_dir_all(f.parent().unwrap()).unwrap();
    std::fs::write(f, text).unwrap();
}

/// A tiny site: index.php reports where it runs and what the "plugin" returns; update.php is a
/// stand-in for an installer (it runs where the bridge sends code-changing requests and rewrites
/// the plugin); upload.php writes into wp-content/uploads. wp-config.php defines the shipped
/// hook function the way php/wp-config.php does (same marker file, from the bridge's env).
fn site(tag: &str) -> PathBuf {
    let base = lambda_fpm_testkit::temp::dir(&format!("mirror-{tag}"));
    let root = base.join("efs");
    write(
        &root,
        "wp-config.php",
        r#"<?php
function lambda_fpm_code_changed() {
    $m = getenv('LAMBDA_FPM_CODE_GENERATION_FILE');
    @mkdir(dirname($m), 0755, true);
    file_put_contents($m . '.tmp', uniqid('php', true) . "\n");
    rename($m . '.tmp', $m);
}
"#,
    );
    write(
        &root,
        "index.php",
        r#"<?php
require __DIR__ . '/wp-config.php';
header('Content-Type: application/json');
echo json_encode(['file' => __FILE__, 'plugin' => include __DIR__ . '/wp-content/plugins/p/p.php']);
"#,
    );
    write(
        &root,
        "upload.php",
        r#"<?php
file_put_contents(__DIR__ . '/wp-content/uploads/u.txt', 'uploaded from ' . __FILE__);
echo json_encode(['file' => __FILE__]);
"#,
    );
    write(
        &root,
        "wp-admin/update.php",
        r#"<?php
require dirname(__DIR__) . '/wp-config.php';
file_put_contents(dirname(__DIR__) . '/wp-content/plugins/p/p.php', "<?php return 'v2';");
lambda_fpm_code_changed();
echo json_encode(['file' => __FILE__]);
"#,
    );
    write(&root, "wp-content/plugins/p/p.php", "<?php return 'v1';");
    write(&root, "wp-content/plugins/p/readme.txt", "plugin readme");
    std::fs::create_dir_all(root.join("wp-content/uploads")).unwrap();
    // like a deployed site: older than opcache.file_update_protection
    let old = std::time::SystemTime::now() - Duration::from_secs(120);
    for f in [
        "index.php",
        "upload.php",
        "wp-admin/update.php",
        "wp-content/plugins/p/p.php",
        "wp-config.php",
    ] {
        std::fs::File::options()
            .write(true)
            .open(root.join(f))
            .unwrap()
            .set_modified(old)
            .unwrap();
    }
    root
}

async fn start(tag: &str, root: &Path, extra: &[(&str, &str)]) -> Lambda {
    let check = CHECK_MS.to_string();
    let mut env = vec![
        ("LAMBDA_FPM_CODE_MIRROR_CHECK_MS", check.as_str()),
        ("LAMBDA_FPM_OPCACHE_SEED", "off"),
        ("LAMBDA_FPM_DIRECT_SCHEME", "http"),
    ];
    env.extend_from_slice(extra);
    Lambda::start_with_root(tag, root.to_path_buf(), &env).await
}

async fn get(l: &Lambda, path: &str, query: &str) -> Value {
    let r = v2(l.invoke(url_event("GET", path, query, &[], None)).await);
    assert_eq!(r.status, 200, "{path}: {}", r.text());
    r.json()
}

fn on_mirror(l: &Lambda, v: &Value) -> bool {
    let file = v["file"].as_str().unwrap();
    let mirror = l.runtime_dir.join("site");
    assert!(
        file.starts_with(mirror.to_str().unwrap()) || file.starts_with(l.root.to_str().unwrap()),
        "PHP ran from neither the mirror nor the shared root: {file}"
    );
    file.starts_with(mirror.to_str().unwrap())
}

/// Requests `/` until PHP runs from the sandbox's mirror (the refresh runs in the background).
async fn until_on_mirror(l: &Lambda, within: Duration) -> Value {
    let started = Instant::now();
    loop {
        let v = get(l, "/", "").await;
        if on_mirror(l, &v) {
            return v;
        }
        assert!(
            started.elapsed() < within,
            "still not on the mirror after {within:?}: {v}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_sandboxes_share_code_changes_through_the_marker() {
    let root = site("two");
    // Sandbox A: nothing published yet, so PHP reads the shared root; its first request starts
    // a refresh, which builds and publishes the archive.
    let a = start("mirror-a", &root, &[]).await;
    let first = get(&a, "/", "").await;
    assert!(!on_mirror(&a, &first), "{first}");
    assert_eq!(first["plugin"], "v1");
    let v = until_on_mirror(&a, Duration::from_secs(20)).await;
    assert_eq!(v["plugin"], "v1");
    assert!(root.join(".lambda-fpm/code-mirror.tar.zst").is_file());

    // Sandbox B starts on the published mirror: its very first request runs from its copy.
    let b = start("mirror-b", &root, &[]).await;
    let v = get(&b, "/", "").await;
    assert!(on_mirror(&b, &v), "B's first request: {v}");
    assert_eq!(v["plugin"], "v1");

    // Uploads written by PHP running from the mirror land on the shared root.
    let up = v2(b
        .invoke(url_event("POST", "/upload.php", "", &[], Some(b"x")))
        .await);
    assert_eq!(up.status, 200, "{}", up.text());
    assert!(on_mirror(&b, &up.json()));
    let uploaded = std::fs::read_to_string(root.join("wp-content/uploads/u.txt")).unwrap();
    assert!(
        uploaded.contains(b.runtime_dir.join("site").to_str().unwrap()),
        "{uploaded}"
    );
    // ...and are served as static files from there (routing looks at EFS for write-through
    // paths; the rest it looks up in the copy: a plugin's file, a missing page to index.php)
    let r = v2(b
        .invoke(url_event("GET", "/wp-content/uploads/u.txt", "", &[], None))
        .await);
    assert_eq!((r.status, r.text()), (200, uploaded.clone()));
    let r = v2(b
        .invoke(url_event(
            "GET",
            "/wp-content/plugins/p/readme.txt",
            "",
            &[],
            None,
        ))
        .await);
    assert_eq!((r.status, r.text().as_str()), (200, "plugin readme"));
    let r = v2(b
        .invoke(url_event("GET", "/no-such-page/", "", &[], None))
        .await);
    assert_eq!(r.status, 200, "front controller: {}", r.text());
    assert!(on_mirror(&b, &r.json()));

    // A code-changing request on A runs on the shared root and rewrites the plugin there.
    let marker_before =
        std::fs::read_to_string(root.join(".lambda-fpm/code-generation")).unwrap_or_default();
    let w = get(&a, "/wp-admin/update.php", "action=upgrade-plugin&plugin=p").await;
    assert!(!on_mirror(&a, &w), "the updater must run on EFS: {w}");
    assert_eq!(
        std::fs::read_to_string(root.join("wp-content/plugins/p/p.php")).unwrap(),
        "<?php return 'v2';"
    );
    let marker_after = std::fs::read_to_string(root.join(".lambda-fpm/code-generation")).unwrap();
    assert_ne!(marker_before, marker_after, "the hook rewrote the marker");

    // B runs the new code once the check interval has passed (its next request reads the marker):
    // from the shared root at first, then from its refreshed copy. Never the old code.
    tokio::time::sleep(Duration::from_millis(CHECK_MS + 50)).await;
    let v = get(&b, "/", "").await;
    assert_eq!(v["plugin"], "v2", "B within the check interval: {v}");
    let started = Instant::now();
    loop {
        let v = get(&b, "/", "").await;
        assert_eq!(v["plugin"], "v2", "{v}");
        if on_mirror(&b, &v) {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "B not back on a mirror: {v}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // A too
    tokio::time::sleep(Duration::from_millis(CHECK_MS + 50)).await;
    assert_eq!(get(&a, "/", "").await["plugin"], "v2");
    let v = until_on_mirror(&a, Duration::from_secs(20)).await;
    assert_eq!(v["plugin"], "v2");

    // A change made outside the bridge (another tool writes the files, then the marker) is seen
    // the same way.
    write(&root, "wp-content/plugins/p/p.php", "<?php return 'v3';");
    std::fs::write(root.join(".lambda-fpm/code-generation"), "outside-1\n").unwrap();
    tokio::time::sleep(Duration::from_millis(CHECK_MS + 50)).await;
    assert_eq!(get(&b, "/", "").await["plugin"], "v3");
    let v = until_on_mirror(&b, Duration::from_secs(20)).await;
    assert_eq!(v["plugin"], "v3");
    let log = std::fs::read_to_string(Lambda::log_path("mirror-b")).unwrap();
    assert!(log.contains("code mirror restored"), "{log}");
    assert!(
        log.contains("serving PHP from the refreshed code mirror"),
        "{log}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unmirrorable_tree_and_bad_archive_fall_back_to_efs() {
    let root = site("fallback");
    // a symlink in the tree: the mirror refuses it and PHP keeps reading the shared root
    std::os::unix::fs::symlink("/etc/hostname", root.join("wp-content/linked")).unwrap();
    let a = start("mirror-fallback", &root, &[]).await;
    for _ in 0..5 {
        let v = get(&a, "/", "").await;
        assert!(!on_mirror(&a, &v), "{v}");
        assert_eq!(v["plugin"], "v1");
        tokio::time::sleep(Duration::from_millis(CHECK_MS)).await;
    }
    assert!(!root.join(".lambda-fpm/code-mirror.tar.zst").exists());
    let log = std::fs::read_to_string(Lambda::log_path("mirror-fallback")).unwrap();
    assert!(
        log.contains("refresh failed") && log.contains("symlink"),
        "{log}"
    );

    // a corrupt archive of the current generation: init ignores it and serves from EFS
    std::fs::remove_file(root.join("wp-content/linked")).unwrap();
    std::fs::create_dir_all(root.join(".lambda-fpm")).unwrap();
    std::fs::write(
        root.join(".lambda-fpm/code-mirror.tar.zst"),
        b"not zstd at all",
    )
    .unwrap();
    let b = start("mirror-corrupt", &root, &[]).await;
    let v = get(&b, "/", "").await;
    assert!(!on_mirror(&b, &v), "{v}");
    assert_eq!(v["plugin"], "v1");
    // ...and the refresh replaces it with a good one
    let v = until_on_mirror(&b, Duration::from_secs(20)).await;
    assert_eq!(v["plugin"], "v1");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mirror_off_runs_everything_on_the_root() {
    let root = site("off");
    let a = start("mirror-off", &root, &[("LAMBDA_FPM_CODE_MIRROR", "off")]).await;
    for _ in 0..4 {
        let v = get(&a, "/", "").await;
        assert!(!on_mirror(&a, &v), "{v}");
        tokio::time::sleep(Duration::from_millis(CHECK_MS)).await;
    }
    assert!(!root.join(".lambda-fpm").exists());
    assert!(!a.runtime_dir.join("site").exists());
}
