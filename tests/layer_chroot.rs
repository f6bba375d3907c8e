//! The Lambda layer, alone: `/opt/bootstrap` from the unzipped layer, under chroot in a root
//! file system that holds nothing else of ours, serving a PHP page and a static file.
//!
//! Run by `layer/test-portable.sh` (which builds the root and sets LAMBDA_FPM_CHROOT); ignored
//! in a plain `cargo test`, where no such root exists.

mod support;

use lambda_fpm_testkit::{url_event, v2};
use serde_json::Value;
use support::Lambda;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs a layer root file system: run by layer/test-portable.sh"]
async fn bootstrap_serves_php_and_static_from_the_layer_alone() {
    let root = std::env::var("LAMBDA_FPM_CHROOT")
        .expect("LAMBDA_FPM_CHROOT: root file system with the layer at /opt");
    // With LAMBDA_FPM_CHROOT_LOADER=1 (a root with no libc at all) the bridge runs through the
    // layer's own loader; on a root with a system glibc it runs as Lambda runs it.
    let via_loader = std::env::var("LAMBDA_FPM_CHROOT_LOADER").as_deref() == Ok("1");
    // The layer's architecture (LAMBDA_FPM_CHROOT_ARCH, default x86_64): an arm64 root runs under
    // qemu-user-static through the kernel's binfmt registration, with arm64's loader and the
    // multiarch directory Lambda's LD_LIBRARY_PATH names for it.
    let arch = std::env::var("LAMBDA_FPM_CHROOT_ARCH").unwrap_or_else(|_| "x86_64".into());
    let (loader, ld_library_path) = match arch.as_str() {
        "x86_64" => (
            "/opt/lib/ld-linux-x86-64.so.2",
            "/var/lang/lib:/lib64:/usr/lib64:/lib/x86_64-linux-gnu:/var/runtime:/var/runtime/lib:/var/task:/var/task/lib:/opt/lib",
        ),
        "arm64" => (
            "/opt/lib/ld-linux-aarch64.so.1",
            "/var/lang/lib:/lib64:/usr/lib64:/lib/aarch64-linux-gnu:/var/runtime:/var/runtime/lib:/var/task:/var/task/lib:/opt/lib",
        ),
        other => panic!("LAMBDA_FPM_CHROOT_ARCH={other}: x86_64 or arm64"),
    };
    let mut args: Vec<&str> = vec![&root];
    if via_loader {
        args.extend([loader, "--library-path", "/opt/lib"]);
    }
    args.push("/opt/bootstrap");
    let env: Vec<(String, String)> = [
        ("PATH", "/usr/local/bin:/usr/bin/:/bin:/opt/bin"),
        ("LANG", "en_US.UTF-8"),
        ("TZ", ":UTC"),
        ("LD_LIBRARY_PATH", ld_library_path),
        ("LAMBDA_TASK_ROOT", "/var/task"),
        ("AWS_REGION", "us-east-1"),
        ("AWS_LAMBDA_FUNCTION_NAME", "lambda-fpm-layer-test"),
        ("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "1024"),
        ("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST"),
        ("_HANDLER", "bootstrap"),
        ("HOME", "/tmp"),
        // every LAMBDA_FPM_* setting at its default: the layer's paths
    ]
    .iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect();
    let lambda = Lambda::start_command("layer-chroot", "/usr/sbin/chroot", &args, &env).await;

    let r = v2(lambda
        .invoke(url_event("GET", "/test.php", "", &[], None))
        .await);
    let log = || std::fs::read_to_string(Lambda::log_path("layer-chroot")).unwrap_or_default();
    assert_eq!(r.status, 200, "{} / log: {}", r.text(), log());
    assert!(r.text().contains("sapi=fpm-fcgi"), "{}", r.text());
    assert!(!r.text().contains("=FAIL"), "{}", r.text());
    // The bridge gives php-fpm ICU_DATA: with the ICU add-on layer in /opt, intl has every
    // language; without it, English and root only (test-portable.sh says which to expect).
    if let Ok(want) = std::env::var("LAMBDA_FPM_CHROOT_INTL") {
        assert!(
            r.text().lines().any(|l| l == format!("intl data={want}")),
            "want intl data={want}: {}",
            r.text()
        );
    }
    assert!(
        r.text().contains("libraries from /opt only=ok"),
        "{}",
        r.text()
    );

    let r = v2(lambda
        .invoke(url_event("GET", "/static.txt", "", &[], None))
        .await);
    assert_eq!(r.status, 200, "{}", log());
    assert!(
        r.text().contains("static file from the document root"),
        "{}",
        r.text()
    );
    assert_eq!(r.header("cache-control"), Some("public, max-age=3600"));

    // and a denial, through the same binary
    let r = v2(lambda
        .invoke(url_event("GET", "/.env", "", &[], None))
        .await);
    assert_eq!(r.status, 403);
    let _: Value = r.raw;
}
