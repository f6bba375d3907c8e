//! Test support: the real `bootstrap` binary run against real php-fpm, attached to
//! testkit's Runtime API emulator; the fixture document root; the layer's PHP.

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

use serde_json::Value;

use lambda_fpm_testkit::{Answer, RuntimeApi};

/// Repo root.
pub fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The layer's PHP, where Lambda has it: `scripts/test unit` runs the tests through
/// `scripts/with-layer`, which mounts the built layer at /opt (private mount namespace).
pub const LAYER_PHP_FPM: &str = "/opt/bin/php-fpm";
pub const LAYER_PHP_CLI: &str = "/opt/bin/php";
pub const LAYER_PHP_SCAN_DIR: &str = "/opt/php/conf.d";

/// php-fpm for the tests: the layer's (LAMBDA_FPM_TEST_PHP_FPM overrides it).
pub fn php_fpm_binary() -> String {
    let fpm = std::env::var("LAMBDA_FPM_TEST_PHP_FPM").unwrap_or_else(|_| LAYER_PHP_FPM.into());
    assert!(
        Path::new(&fpm).is_file(),
        "{fpm} not found: the integration tests use the layer's PHP; run them as \
         `scripts/with-layer cargo test` (or `scripts/test unit`)"
    );
    fpm
}

/// The WordPress tree `scripts/wordpress` prepares (Debian trixie's WordPress 6.8), named by
/// LAMBDA_FPM_TEST_WORDPRESS (scripts/test sets it).
pub fn wordpress_tree() -> Option<PathBuf> {
    std::env::var_os("LAMBDA_FPM_TEST_WORDPRESS")
        .map(PathBuf::from)
        .filter(|p| p.join("wp-settings.php").is_file())
}

/// Copies the fixture document root into a fresh temporary directory and adds what git
/// cannot hold (symlinks out of the root).
pub fn fixture_root(tag: &str) -> PathBuf {
    let base = lambda_fpm_testkit::temp::dir(&format!("it-{tag}"));
    let root = base.join("docroot");
    copy_dir(&repo().join("tests/fixtures/docroot"), &root);
    // git cannot hold a .git directory inside the repo, nor symlinks out of the root.
    std::fs::create_dir_all(root.join(".git")).unwrap();
    std::fs::write(
        root.join(".git/config"),
        "SECRET-CONTENT-MARKER git config\n",
    )
    .unwrap();
    let outside = base.join("outside");
    std::fs::create_dir_all(&outside).unwrap();
    std::fs::write(
        outside.join("secret.txt"),
        "SECRET-CONTENT-MARKER outside the root\n",
    )
    .unwrap();
    std::os::unix::fs::symlink(outside.join("secret.txt"), root.join("link-out.txt")).unwrap();
    std::os::unix::fs::symlink(&outside, root.join("dir-out")).unwrap();
    // symlinks inside the root, judged by what they point to (#24 finding 5)
    for (link, target) in [
        ("conf.txt", "wp-config.php"),
        ("source.txt", "die.php"),
        ("alias.php", "wp-content/uploads/2024/shell.php"),
        ("img.php", "wp-content/uploads/2024/x.jpg"),
        ("media", "wp-content/uploads"),
        ("robots-link.txt", "robots.txt"),
        ("status-link.php", "status.php"),
    ] {
        std::os::unix::fs::symlink(target, root.join(link)).unwrap();
    }
    root
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).unwrap();
        }
    }
}

/// A running bootstrap attached to its own emulator.
pub struct Lambda {
    pub api: RuntimeApi,
    pub root: PathBuf,
    pub runtime_dir: PathBuf,
    child: Child,
}

impl Drop for Lambda {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Environment for a bootstrap in tests.
pub fn base_env(api: &RuntimeApi, root: &Path, runtime_dir: &Path) -> Vec<(String, String)> {
    let repo = repo();
    [
        ("AWS_LAMBDA_RUNTIME_API", api.addr.to_string()),
        ("AWS_LAMBDA_FUNCTION_NAME", "wordpress".into()),
        ("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "1024".into()),
        ("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST".into()),
        ("AWS_LAMBDA_LOG_STREAM_NAME", "test".into()),
        ("AWS_LAMBDA_LOG_GROUP_NAME", "/aws/lambda/wordpress".into()),
        ("LAMBDA_FPM_DOCUMENT_ROOT", root.display().to_string()),
        ("LAMBDA_FPM_PHP_FPM", php_fpm_binary()),
        (
            "LAMBDA_FPM_PHP_INI",
            repo.join("php/php.ini").display().to_string(),
        ),
        (
            "LAMBDA_FPM_PHP_FPM_CONF",
            repo.join("php/php-fpm.conf").display().to_string(),
        ),
        (
            "LAMBDA_FPM_PHP_INI_SCAN_DIR",
            std::env::var("LAMBDA_FPM_TEST_PHP_INI_SCAN_DIR")
                .unwrap_or_else(|_| LAYER_PHP_SCAN_DIR.into()),
        ),
        ("LAMBDA_FPM_RUNTIME_DIR", runtime_dir.display().to_string()),
        ("LAMBDA_FPM_LOG_FORMAT", "json".into()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v))
    .collect()
}

impl Lambda {
    /// Starts bootstrap with the fixture root and extra env vars.
    pub async fn start(tag: &str, extra: &[(&str, &str)]) -> Lambda {
        let root = fixture_root(tag);
        Lambda::start_with_root(tag, root, extra).await
    }

    pub async fn start_with_root(tag: &str, root: PathBuf, extra: &[(&str, &str)]) -> Lambda {
        let api = RuntimeApi::start().await;
        let runtime_dir =
            std::env::temp_dir().join(format!("lambda-fpm-rt-{tag}-{}", std::process::id()));
        let log =
            std::fs::File::create(std::env::temp_dir().join(format!("lambda-fpm-it-{tag}.log")))
                .unwrap();
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_bootstrap"));
        // stdout carries the EMF metric lines (src/metrics.rs), stderr the log
        let metrics = std::fs::File::create(Lambda::metrics_path(tag)).unwrap();
        cmd.env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .envs(base_env(&api, &root, &runtime_dir))
            .stdout(metrics)
            .stderr(log);
        for (k, v) in extra {
            cmd.env(k, v);
        }
        let child = cmd.spawn().expect("spawn bootstrap");
        Lambda {
            api,
            root,
            runtime_dir,
            child,
        }
    }

    /// Starts an arbitrary command (e.g. `chroot ROOT /opt/bootstrap`) as the runtime, with
    /// exactly `env` plus the emulator's address.
    pub async fn start_command(
        tag: &str,
        program: &str,
        args: &[&str],
        env: &[(String, String)],
    ) -> Lambda {
        let api = RuntimeApi::start().await;
        let log = std::fs::File::create(Lambda::log_path(tag)).unwrap();
        let child = Command::new(program)
            .args(args)
            .env_clear()
            .envs(env.iter().cloned())
            .env("AWS_LAMBDA_RUNTIME_API", api.addr.to_string())
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .expect("spawn runtime command");
        Lambda {
            api,
            root: PathBuf::new(),
            runtime_dir: PathBuf::new(),
            child,
        }
    }

    /// The bootstrap's stdout: its EMF metric lines.
    pub fn metrics_path(tag: &str) -> PathBuf {
        std::env::temp_dir().join(format!("lambda-fpm-it-{tag}.metrics"))
    }

    pub fn log_path(tag: &str) -> PathBuf {
        std::env::temp_dir().join(format!("lambda-fpm-it-{tag}.log"))
    }

    pub async fn invoke(&self, event: Value) -> Answer {
        self.api.invoke(event).await
    }

    /// Sends a signal (e.g. "KILL", "TERM") to the bootstrap process and reaps it.
    pub fn signal(&mut self, name: &str) {
        let status = Command::new("kill")
            .args([&format!("-{name}"), &self.child.id().to_string()])
            .status()
            .unwrap();
        assert!(status.success());
        let _ = self.child.wait();
    }

    /// The bootstrap process's peak resident memory (VmHWM), in KiB.
    pub fn peak_rss_kib(&self) -> u64 {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id())).unwrap();
        status
            .lines()
            .find_map(|l| l.strip_prefix("VmHWM:"))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
            .unwrap()
    }

    pub fn exited(&mut self) -> Option<std::process::ExitStatus> {
        self.child.try_wait().unwrap()
    }
}
