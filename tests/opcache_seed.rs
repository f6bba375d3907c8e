//! The pre-compiled opcache seed with real php-fpm: a sandbox publishes its file cache, new
//! sandboxes restore it at init and still run the right code when the seed is stale,
//! corrupted or made by another PHP build.

mod support;

use std::path::{Path, PathBuf};

use lambda_fpm::opcache::seed::{self as opcache_seed, Restore, SEED_FILE};
use lambda_fpm_testkit::{url_event, v2};
use support::Lambda;

/// A conf.d that lets opcache cache files the test just wrote (file_update_protection) and
/// check timestamps on every load.
fn test_ini_dir(tag: &str) -> PathBuf {
    let dir = lambda_fpm_testkit::temp::dir(&format!("ini-{tag}"));
    std::fs::write(
        dir.join("99-test.ini"),
        "opcache.file_update_protection=0\nopcache.revalidate_freq=0\n",
    )
    .unwrap();
    dir
}

fn bins(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).into_iter().flatten().flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
            } else if p.extension().is_some_and(|x| x == "bin") {
                out.push(p);
            }
        }
    }
    out
}

async fn start(tag: &str, root: &Path, seed_dir: &Path, ini: &Path) -> Lambda {
    start_with(tag, root, seed_dir, ini, &[]).await
}

/// `start` with more settings for the bridge.
async fn start_with(
    tag: &str,
    root: &Path,
    seed_dir: &Path,
    ini: &Path,
    extra: &[(&str, &str)],
) -> Lambda {
    let scan = format!("{}:{}", support::LAYER_PHP_SCAN_DIR, ini.display());
    let mut env = vec![
        ("LAMBDA_FPM_OPCACHE_SEED", "copy"),
        ("LAMBDA_FPM_OPCACHE_SEED_DIR", seed_dir.to_str().unwrap()),
        ("LAMBDA_FPM_PHP_INI_SCAN_DIR", &scan),
    ];
    env.extend_from_slice(extra);
    Lambda::start_with_root(tag, root.to_path_buf(), &env).await
}

fn get(path: &str) -> serde_json::Value {
    url_event("GET", path, "", &[], None)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn seed_published_restored_and_safe() {
    let root = support::fixture_root("seed");
    let seed_dir = root.join(".lambda-fpm");
    let ini = test_ini_dir("seed");
    std::fs::write(root.join("seeded.php"), "<?php echo 'version one';").unwrap();

    // sandbox A compiles the scripts, then publishes its file cache
    let a = start("seed-a", &root, &seed_dir, &ini).await;
    assert_eq!(v2(a.invoke(get("/seeded.php")).await).text(), "version one");
    assert_eq!(v2(a.invoke(get("/server.php")).await).status, 200);
    let a_cache = a.runtime_dir.join("opcache");
    let compiled = bins(&a_cache);
    assert!(
        compiled.iter().any(|p| p.ends_with("seeded.php.bin")),
        "{compiled:?}"
    );
    let published = opcache_seed::publish(&a_cache, &seed_dir.join(SEED_FILE), None).unwrap();
    assert!(published.files >= 2);
    drop(a);

    // the seed is never served: it sits in a dot-directory of the document root
    let b = start("seed-b", &root, &seed_dir, &ini).await;
    let denied = v2(b.invoke(get("/.lambda-fpm/opcache-seed.tar.zst")).await);
    assert_eq!(denied.status, 403);
    // sandbox B restored it at init, before its first PHP request
    let restored = bins(&b.runtime_dir.join("opcache"));
    assert!(
        restored.iter().any(|p| p.ends_with("seeded.php.bin")),
        "not restored: {restored:?}"
    );
    assert_eq!(v2(b.invoke(get("/seeded.php")).await).text(), "version one");
    let log = std::fs::read_to_string(Lambda::log_path("seed-b")).unwrap();
    let restored_line: serde_json::Value = serde_json::from_str(
        log.lines()
            .find(|l| l.contains("opcache seed restored"))
            .unwrap_or_else(|| panic!("{log}")),
    )
    .unwrap();
    // init also looked up the seed's scripts (the ones sandbox A ran), all of which exist
    assert!(
        restored_line["prefetched"].as_u64().unwrap() >= 2,
        "{restored_line}"
    );
    assert_eq!(restored_line["missing"], 0, "{restored_line}");
    let first = log
        .lines()
        .find(|l| l.contains("\"path\":\"/.lambda-fpm/"))
        .unwrap();
    assert!(first.contains("\"cold\":true"), "{first}");
    let second = log
        .lines()
        .find(|l| l.contains("\"path\":\"/seeded.php\""))
        .unwrap();
    assert!(second.contains("\"cold\":false"), "{second}");
    drop(b);

    // code changed after the seed was built: the new code runs
    std::thread::sleep(std::time::Duration::from_millis(1100));
    std::fs::write(root.join("seeded.php"), "<?php echo 'version two';").unwrap();
    let c = start("seed-c", &root, &seed_dir, &ini).await;
    assert_eq!(v2(c.invoke(get("/seeded.php")).await).text(), "version two");
    drop(c);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn corrupted_entries_foreign_builds_and_broken_archives_are_ignored() {
    let root = support::fixture_root("seedbad");
    let seed_dir = root.join(".lambda-fpm");
    let ini = test_ini_dir("seedbad");
    std::fs::write(root.join("seeded.php"), "<?php echo 'the real code';").unwrap();

    let a = start("seedbad-a", &root, &seed_dir, &ini).await;
    assert_eq!(
        v2(a.invoke(get("/seeded.php")).await).text(),
        "the real code"
    );
    let a_cache = a.runtime_dir.join("opcache");
    drop(a);
    // corrupt the compiled entry (as a torn write would) and add a foreign build's cache
    let entry = bins(&a_cache)
        .into_iter()
        .find(|p| p.ends_with("seeded.php.bin"))
        .unwrap();
    let mut bytes = std::fs::read(&entry).unwrap();
    let mid = bytes.len() / 2;
    for b in &mut bytes[mid..mid + 16] {
        *b ^= 0x5a;
    }
    std::fs::write(&entry, &bytes).unwrap();
    let relative = entry.strip_prefix(&a_cache).unwrap();
    let mut parts = relative.components();
    parts.next(); // PHP's build id
    let foreign = a_cache
        .join("00000000000000000000000000000000")
        .join(parts.as_path());
    std::fs::create_dir_all(foreign.parent().unwrap()).unwrap();
    std::fs::write(&foreign, b"not opcache at all").unwrap();
    opcache_seed::publish(&a_cache, &seed_dir.join(SEED_FILE), None).unwrap();

    let b = start("seedbad-b", &root, &seed_dir, &ini).await;
    // a static request: init is done once it is answered
    assert_eq!(v2(b.invoke(get("/robots.txt")).await).status, 200);
    assert!(bins(&b.runtime_dir.join("opcache")).len() >= 2);
    assert_eq!(
        v2(b.invoke(get("/seeded.php")).await).text(),
        "the real code"
    );
    assert_eq!(
        v2(b.invoke(get("/seeded.php")).await).text(),
        "the real code"
    );
    drop(b);

    // a broken archive: init still succeeds, with an empty cache and a log line
    std::fs::write(seed_dir.join(SEED_FILE), b"\x1f\x8b broken").unwrap();
    let c = start("seedbad-c", &root, &seed_dir, &ini).await;
    assert_eq!(
        v2(c.invoke(get("/seeded.php")).await).text(),
        "the real code"
    );
    let log = std::fs::read_to_string(Lambda::log_path("seedbad-c")).unwrap();
    assert!(log.contains("opcache seed ignored"), "{log}");
    assert!(matches!(
        opcache_seed::restore(
            &seed_dir.join(SEED_FILE),
            &std::env::temp_dir().join("lambda-fpm-x"),
            None
        ),
        Restore::Ignored(_)
    ));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn warm_command_publishes_the_seed() {
    let root = support::fixture_root("seedwarm");
    let seed_dir = root.join(".lambda-fpm");
    let ini = test_ini_dir("seedwarm");
    let a = start("seedwarm-a", &root, &seed_dir, &ini).await;
    let answer = a
        .invoke(serde_json::json!({"lambda_fpm": {"command": "warm", "paths": ["/server.php", "/status.php?code=200"]}}))
        .await;
    let lambda_fpm_testkit::Answer::Buffered(doc) = answer else {
        panic!("{answer:?}")
    };
    assert_eq!(doc["ok"], true, "{doc}");
    assert_eq!(doc["opcache_seed"]["published"], true, "{doc}");
    assert!(seed_dir.join(SEED_FILE).is_file());
    // nothing new compiled since: a second warm does not rewrite it
    let lambda_fpm_testkit::Answer::Buffered(doc) = a
        .invoke(serde_json::json!({"lambda_fpm": {"command": "warm", "paths": ["/server.php"]}}))
        .await
    else {
        panic!()
    };
    assert_eq!(doc["opcache_seed"]["published"], false, "{doc}");
    drop(a);
    let b = start("seedwarm-b", &root, &seed_dir, &ini).await;
    assert_eq!(v2(b.invoke(get("/robots.txt")).await).status, 200);
    assert!(
        bins(&b.runtime_dir.join("opcache"))
            .iter()
            .any(|p| p.ends_with("server.php.bin"))
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn priming_loads_the_seed_into_shared_memory_during_init() {
    let root = support::fixture_root("prime");
    let seed_dir = root.join(".lambda-fpm");
    let ini = test_ini_dir("prime");
    std::fs::write(
        root.join("lib-a.php"),
        "<?php function lib_a() { return 1; }",
    )
    .unwrap();
    std::fs::write(
        root.join("lib-b.php"),
        "<?php function lib_b() { return 2; }",
    )
    .unwrap();
    // what is in opcache's shared memory (not the file cache) when the first page runs
    std::fs::write(
        root.join("status.php"),
        "<?php echo json_encode([opcache_is_script_cached(__DIR__ . '/lib-a.php'), \
         opcache_is_script_cached(__DIR__ . '/lib-b.php')]);",
    )
    .unwrap();
    let in_shm = |body: String| -> serde_json::Value { serde_json::from_str(&body).unwrap() };

    // priming on, but no seed yet: nothing to load, and the sandbox works
    let prime_on = [("LAMBDA_FPM_OPCACHE_PRIME", "on")];
    let a = start_with("prime-a", &root, &seed_dir, &ini, &prime_on).await;
    assert_eq!(
        in_shm(v2(a.invoke(get("/status.php")).await).text()),
        serde_json::json!([false, false])
    );
    let log = std::fs::read_to_string(Lambda::log_path("prime-a")).unwrap();
    let line = log
        .lines()
        .find(|l| l.contains("opcache primed"))
        .unwrap_or_else(|| panic!("{log}"));
    assert!(line.contains("\"scripts\":0"), "{line}");
    // this sandbox compiles both libraries and publishes its file cache as the seed
    std::fs::write(
        root.join("use.php"),
        "<?php require __DIR__ . '/lib-a.php'; require __DIR__ . '/lib-b.php'; echo lib_a() + lib_b();",
    )
    .unwrap();
    assert_eq!(v2(a.invoke(get("/use.php")).await).text(), "3");
    opcache_seed::publish(
        &a.runtime_dir.join("opcache"),
        &seed_dir.join(SEED_FILE),
        None,
    )
    .unwrap();
    drop(a);

    // without priming, the restored seed stays on disk until a page includes it
    let b = start("prime-b", &root, &seed_dir, &ini).await;
    assert_eq!(
        in_shm(v2(b.invoke(get("/status.php")).await).text()),
        serde_json::json!([false, false])
    );
    drop(b);

    // with priming, both are in shared memory before the first page, and the code still runs
    let c = start_with("prime-c", &root, &seed_dir, &ini, &prime_on).await;
    assert_eq!(
        in_shm(v2(c.invoke(get("/status.php")).await).text()),
        serde_json::json!([true, true])
    );
    assert_eq!(v2(c.invoke(get("/use.php")).await).text(), "3");
    let log = std::fs::read_to_string(Lambda::log_path("prime-c")).unwrap();
    let line = log
        .lines()
        .find(|l| l.contains("opcache primed"))
        .unwrap_or_else(|| panic!("{log}"));
    let scripts: serde_json::Value = serde_json::from_str(line).unwrap();
    assert!(scripts["scripts"].as_u64().unwrap_or(0) >= 3, "{line}");
    // the priming script is outside the document root: a visitor cannot run it
    let r = v2(c.invoke(get("/prime.php")).await);
    assert!(!r.text().contains("out_of_time"), "{}", r.text());
    drop(c);
}
