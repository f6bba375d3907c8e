//! php-fpm supervisor: spawn, readiness, kill, restart.
//!
//! php-fpm runs in its own process group (so a kill takes its worker with it), dies with the
//! bridge (`PR_SET_PDEATHSIG`), and has its stderr forwarded line by line to the log; the last
//! lines are kept so a failed start reports php-fpm's own words.

use std::collections::VecDeque;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

use crate::config::Config;

/// Lines of php-fpm stderr kept for error reports.
const STDERR_TAIL_LINES: usize = 40;

/// Why php-fpm could not be (re)started.
#[derive(Debug)]
pub struct StartError {
    pub message: String,
    /// php-fpm's last stderr lines.
    pub stderr: Vec<String>,
}

impl std::fmt::Display for StartError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "php-fpm failed to start: {}", self.message)?;
        if !self.stderr.is_empty() {
            write!(f, "; php-fpm said: {}", self.stderr.join(" | "))?;
        }
        Ok(())
    }
}

impl std::error::Error for StartError {}

/// Paths and settings for spawning php-fpm.
#[derive(Debug, Clone)]
pub struct SpawnConfig {
    pub binary: PathBuf,
    pub fpm_conf: PathBuf,
    pub php_ini: PathBuf,
    pub runtime_dir: PathBuf,
    pub socket: PathBuf,
    pub pid_file: PathBuf,
    pub start_timeout: Duration,
    /// php-fpm's process environment (`php_env`).
    pub env: Vec<(&'static str, String)>,
}

impl SpawnConfig {
    pub fn from_config(c: &Config) -> SpawnConfig {
        SpawnConfig {
            binary: c.php_fpm.clone(),
            fpm_conf: c.php_fpm_conf.clone(),
            php_ini: c.php_ini.clone(),
            runtime_dir: c.runtime_dir.clone(),
            socket: c.php_fpm_socket(),
            pid_file: c.php_fpm_pid_file(),
            start_timeout: c.php_start_timeout,
            env: crate::php_env::vars(c, crate::php_env::Process::Fpm),
        }
    }
}

struct Running {
    child: Child,
    pid: i32,
}

/// The supervised php-fpm.
pub struct PhpFpm {
    cfg: SpawnConfig,
    socket: PathBuf,
    running: tokio::sync::Mutex<Option<Running>>,
    stderr_tail: Arc<Mutex<VecDeque<String>>>,
    /// Number of (re)starts, for logs and tests.
    starts: std::sync::atomic::AtomicU32,
}

impl PhpFpm {
    /// Creates the supervisor without starting php-fpm.
    pub fn new(cfg: SpawnConfig) -> PhpFpm {
        PhpFpm {
            socket: cfg.socket.clone(),
            cfg,
            running: tokio::sync::Mutex::new(None),
            stderr_tail: Arc::new(Mutex::new(VecDeque::new())),
            starts: std::sync::atomic::AtomicU32::new(0),
        }
    }

    pub fn socket(&self) -> &Path {
        &self.socket
    }

    pub fn starts(&self) -> u32 {
        self.starts.load(std::sync::atomic::Ordering::Relaxed)
    }

    /// Starts php-fpm if it is not running (or died), and waits until its socket accepts.
    pub async fn ensure_running(&self) -> Result<(), StartError> {
        let mut guard = self.running.lock().await;
        if let Some(running) = guard.as_mut() {
            match running.child.try_wait() {
                Ok(None) => return Ok(()),
                Ok(Some(status)) => {
                    tracing::warn!(target: "php-fpm", %status, "php-fpm exited; restarting");
                }
                Err(e) => {
                    tracing::warn!(target: "php-fpm", error = %e, "cannot query php-fpm; restarting")
                }
            }
            kill_group(running.pid);
            *guard = None;
        }
        let running = self.spawn_and_wait().await?;
        *guard = Some(running);
        Ok(())
    }

    /// Kills php-fpm and its workers now (a request ran past its deadline, or the worker
    /// died). The next [`ensure_running`](Self::ensure_running) starts a fresh one.
    pub async fn kill(&self) {
        let mut guard = self.running.lock().await;
        if let Some(mut running) = guard.take() {
            kill_group(running.pid);
            let _ = running.child.wait().await;
        }
    }

    async fn spawn_and_wait(&self) -> Result<Running, StartError> {
        let started = Instant::now();
        let fail = |message: String, tail: &Mutex<VecDeque<String>>| StartError {
            message,
            stderr: tail
                .lock()
                .map(|t| t.iter().cloned().collect())
                .unwrap_or_default(),
        };
        std::fs::create_dir_all(self.cfg.runtime_dir.join("opcache")).map_err(|e| {
            fail(
                format!("cannot create {}: {e}", self.cfg.runtime_dir.display()),
                &self.stderr_tail,
            )
        })?;
        clean_stale(&self.cfg);
        self.stderr_tail.lock().map(|mut t| t.clear()).ok();

        let mut command = Command::new(&self.cfg.binary);
        command
            .arg("--nodaemonize")
            .arg("--force-stderr")
            .arg("--fpm-config")
            .arg(&self.cfg.fpm_conf)
            .arg("-c")
            .arg(&self.cfg.php_ini);
        // SAFETY: geteuid has no preconditions.
        if unsafe { libc::geteuid() } == 0 {
            // Locally and in CI we run as root; on Lambda we never are.
            command.arg("--allow-to-run-as-root");
        }
        crate::php_env::apply(&mut command, &self.cfg.env);
        command
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true)
            .process_group(0);
        // If the bridge dies, php-fpm gets SIGTERM: its master then terminates its workers
        // and exits (with SIGKILL the master would die alone and leave workers orphaned).
        // SAFETY: prctl(PR_SET_PDEATHSIG) is async-signal-safe and only affects the child.
        unsafe {
            command.pre_exec(|| {
                libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGTERM);
                Ok(())
            });
        }
        let mut child = command.spawn().map_err(|e| {
            fail(
                format!("cannot execute {}: {e}", self.cfg.binary.display()),
                &self.stderr_tail,
            )
        })?;
        let pid = child.id().unwrap_or(0) as i32;
        if let Some(stderr) = child.stderr.take() {
            forward_lines(stderr, self.stderr_tail.clone());
        }
        if let Some(stdout) = child.stdout.take() {
            forward_lines(stdout, self.stderr_tail.clone());
        }

        loop {
            if let Ok(Some(status)) = child.try_wait() {
                // Let the forwarder drain the last lines before reporting them.
                tokio::time::sleep(Duration::from_millis(50)).await;
                return Err(fail(
                    format!("php-fpm exited during start-up ({status})"),
                    &self.stderr_tail,
                ));
            }
            if tokio::net::UnixStream::connect(&self.socket).await.is_ok() {
                break;
            }
            if started.elapsed() > self.cfg.start_timeout {
                kill_group(pid);
                let _ = child.wait().await;
                return Err(fail(
                    format!(
                        "socket {} not ready after {:?}",
                        self.socket.display(),
                        self.cfg.start_timeout
                    ),
                    &self.stderr_tail,
                ));
            }
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
        let n = self
            .starts
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed)
            + 1;
        tracing::info!(target: "php-fpm", pid, start = n, ready_ms = started.elapsed().as_millis() as u64, "php-fpm ready");
        if n > 1 {
            crate::metrics_log::restart("php-fpm restarted");
        }
        Ok(Running { child, pid })
    }
}

impl Drop for PhpFpm {
    /// The whole group goes with the supervisor (e.g. when init fails after php-fpm started):
    /// `kill_on_drop` alone would kill the master and orphan its worker.
    fn drop(&mut self) {
        if let Some(running) = self.running.get_mut().take() {
            kill_group(running.pid);
        }
    }
}

/// Sends SIGKILL to a whole process group (php-fpm's master and workers, a php CLI run).
pub(crate) fn kill_group(pid: i32) {
    if pid > 0 {
        // SAFETY: plain syscall; a stale pid group at worst yields ESRCH.
        unsafe {
            libc::killpg(pid, libc::SIGKILL);
        }
    }
}

/// Removes a socket and pid file left by a killed sandbox, and kills the php-fpm they name.
fn clean_stale(cfg: &SpawnConfig) {
    let pid_file = &cfg.pid_file;
    if let Ok(text) = std::fs::read_to_string(pid_file) {
        if let Ok(pid) = text.trim().parse::<i32>() {
            let cmdline = std::fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default();
            if String::from_utf8_lossy(&cmdline).contains("php-fpm") {
                tracing::warn!(target: "php-fpm", pid, "killing stale php-fpm left by a previous run");
                kill_group(pid);
            }
        }
        let _ = std::fs::remove_file(pid_file);
    }
    match std::fs::remove_file(&cfg.socket) {
        Ok(()) => tracing::info!(target: "php-fpm", "removed stale socket"),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => tracing::warn!(target: "php-fpm", error = %e, "cannot remove stale socket"),
    }
}

/// Forwards each line to the log and keeps the last ones.
fn forward_lines<R: tokio::io::AsyncRead + Unpin + Send + 'static>(
    reader: R,
    tail: Arc<Mutex<VecDeque<String>>>,
) {
    tokio::spawn(async move {
        let mut lines = BufReader::new(reader).lines();
        while let Ok(Some(line)) = lines.next_line().await {
            if line.trim().is_empty() {
                continue;
            }
            tracing::warn!(target: "php", "{line}");
            if let Ok(mut t) = tail.lock() {
                if t.len() == STDERR_TAIL_LINES {
                    t.pop_front();
                }
                t.push_back(line);
            }
        }
    });
}
