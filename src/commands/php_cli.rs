//! `php`: run the bundled php CLI in the document root, e.g. a `wp-cli.phar` kept on EFS.
//!
//! `php -c <LAMBDA_FPM_PHP_INI> -d log_errors=On <args…>` with `PHP_INI_SCAN_DIR` like php-fpm's, the function's
//! environment (DB settings; never the origin secret), no stdin, its own process group (a
//! timeout kills PHP and anything it started), and a run time capped by what the invocation
//! has left minus `LAMBDA_FPM_TIMEOUT_MARGIN_MS` (and by `timeout_ms` when given).
//! stdout and stderr are captured up to a limit each: past it, the head and the tail are kept
//! with a marker in between saying how much was left out.

use std::path::Path;
use std::process::Stdio;
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use tokio::io::{AsyncRead, AsyncReadExt};
use tokio::process::Command;

use super::envelope::PhpSpec;
use crate::bridge::Bridge;

/// Env var naming the php CLI binary (read into [`crate::config::Config::php_cli`]).
pub const PHP_CLI_VAR: &str = "LAMBDA_FPM_PHP_CLI";

/// Keeps the first and last `limit / 2` bytes of a stream and counts the rest (pure).
#[derive(Debug, Clone)]
pub struct Capture {
    limit: usize,
    head: Vec<u8>,
    tail: std::collections::VecDeque<u8>,
    total: u64,
}

impl Capture {
    pub fn new(limit: usize) -> Capture {
        Capture {
            limit,
            head: Vec::new(),
            tail: std::collections::VecDeque::new(),
            total: 0,
        }
    }

    pub fn push(&mut self, mut data: &[u8]) {
        self.total += data.len() as u64;
        let head_cap = self.limit - self.limit / 2;
        let tail_cap = self.limit / 2;
        if self.head.len() < head_cap {
            let take = (head_cap - self.head.len()).min(data.len());
            self.head.extend_from_slice(&data[..take]);
            data = &data[take..];
        }
        if tail_cap == 0 {
            return;
        }
        if data.len() >= tail_cap {
            self.tail.clear();
            self.tail.extend(&data[data.len() - tail_cap..]);
        } else {
            let overflow = (self.tail.len() + data.len()).saturating_sub(tail_cap);
            self.tail.drain(..overflow);
            self.tail.extend(data);
        }
    }

    pub fn total(&self) -> u64 {
        self.total
    }

    pub fn truncated(&self) -> bool {
        self.total > (self.head.len() + self.tail.len()) as u64
    }

    /// The captured text (lossy UTF-8), with a marker where bytes were left out.
    pub fn text(&self) -> String {
        let head = String::from_utf8_lossy(&self.head);
        let tail_bytes: Vec<u8> = self.tail.iter().copied().collect();
        let tail = String::from_utf8_lossy(&tail_bytes);
        if self.truncated() {
            let omitted = self.total - (self.head.len() + self.tail.len()) as u64;
            format!(
                "{head}\n[… lambda-fpm: {omitted} bytes omitted; {} bytes in total, the first {} and last {} shown …]\n{tail}",
                self.total,
                self.head.len(),
                self.tail.len()
            )
        } else {
            format!("{head}{tail}")
        }
    }
}

/// Largest serialized result kept as is (Lambda's response limit is 6 MB).
const FIT_BYTES: usize = 5 * 1024 * 1024;

/// Keeps about `keep` bytes of `text` (head and tail, on character boundaries) (pure).
pub fn shrink(text: &str, keep: usize) -> String {
    if text.len() <= keep {
        return text.to_string();
    }
    let mut head = keep / 2;
    while !text.is_char_boundary(head) {
        head -= 1;
    }
    let mut tail = text.len() - keep / 2;
    while !text.is_char_boundary(tail) {
        tail += 1;
    }
    format!(
        "{}\n[… lambda-fpm: shrunk further to fit Lambda's 6 MB response limit; {} bytes left out …]\n{}",
        &text[..head],
        tail - head,
        &text[tail..]
    )
}

async fn drain(mut reader: impl AsyncRead + Unpin, limit: usize) -> Capture {
    let mut capture = Capture::new(limit);
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        match reader.read(&mut buf).await {
            Ok(0) | Err(_) => return capture,
            Ok(n) => capture.push(&buf[..n]),
        }
    }
}

/// Runs the php command; returns (ok, result).
pub async fn run(bridge: &Bridge, spec: &PhpSpec, budget: Duration) -> (bool, Value) {
    // Read and validated once at start-up with the other settings (LAMBDA_FPM_PHP_CLI).
    let binary = bridge.config().php_cli.clone();
    let limit = spec.timeout.map_or(budget, |t| t.min(budget));
    if limit.is_zero() {
        return (
            false,
            json!({"error": "no time left in this invocation to run PHP (raise the function timeout)"}),
        );
    }
    run_php(&binary, bridge.root(), bridge.config(), spec, limit).await
}

async fn run_php(
    binary: &Path,
    root: &Path,
    config: &crate::config::Config,
    spec: &PhpSpec,
    limit: Duration,
) -> (bool, Value) {
    let mut command = Command::new(binary);
    command
        .arg("-c")
        .arg(&config.php_ini)
        // Errors must reach stderr (the result) even when the ini leaves log_errors off;
        // display_errors stays as configured so stdout is not polluted.
        .arg("-d")
        .arg("log_errors=On")
        .args(&spec.args)
        .current_dir(root);
    let vars = crate::php_env::vars(config, crate::php_env::Process::Cli);
    crate::php_env::apply(&mut command, &vars);
    command
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .process_group(0);
    let started = Instant::now();
    let mut child = match command.spawn() {
        Ok(c) => c,
        Err(e) => {
            return (
                false,
                json!({"error": format!("cannot execute {}: {e} (set {PHP_CLI_VAR})", binary.display())}),
            );
        }
    };
    let pid = child.id().unwrap_or(0) as i32;
    let stdout = tokio::spawn(drain(
        child.stdout.take().expect("piped"),
        spec.max_output_bytes,
    ));
    let stderr = tokio::spawn(drain(
        child.stderr.take().expect("piped"),
        spec.max_output_bytes,
    ));
    let (status, timed_out) = match tokio::time::timeout(limit, child.wait()).await {
        Ok(status) => (status.ok(), false),
        Err(_) => {
            crate::php_fpm::kill_group(pid);
            (child.wait().await.ok(), true)
        }
    };
    // Grandchildren that kept the pipes open would block the readers: end the group.
    crate::php_fpm::kill_group(pid);
    let ms = started.elapsed().as_millis() as u64;
    let grab = |h: tokio::task::JoinHandle<Capture>| async move {
        tokio::time::timeout(Duration::from_secs(5), h)
            .await
            .ok()
            .and_then(Result::ok)
            .unwrap_or_else(|| Capture::new(64))
    };
    let (out, err) = (grab(stdout).await, grab(stderr).await);
    use std::os::unix::process::ExitStatusExt;
    let exit_code = status.and_then(|s| s.code());
    let signal = status.and_then(|s| s.signal());
    let ok = !timed_out && exit_code == Some(0);
    let mut result = json!({
        "exit_code": exit_code,
        "stdout": out.text(),
        "stderr": err.text(),
        "stdout_bytes": out.total(),
        "stderr_bytes": err.total(),
        "stdout_truncated": out.truncated(),
        "stderr_truncated": err.truncated(),
        "timed_out": timed_out,
        "php_ms": ms,
        "args": spec.args,
    });
    if let Some(sig) = signal {
        result["signal"] = json!(sig);
    }
    // JSON escaping can grow binary/control output up to 6x: stay under Lambda's 6 MB.
    if result.to_string().len() > FIT_BYTES {
        for key in ["stdout", "stderr"] {
            let text = result[key].as_str().unwrap_or("").to_string();
            result[key] = json!(shrink(&text, 64 * 1024));
            result[format!("{key}_truncated")] = json!(true);
        }
    }
    if timed_out {
        result["error"] = json!(format!(
            "php was still running after {} ms and was killed (limit: the invocation's remaining time minus LAMBDA_FPM_TIMEOUT_MARGIN_MS, or timeout_ms)",
            limit.as_millis()
        ));
    } else if !ok {
        result["error"] = json!(match exit_code {
            Some(code) => format!("php exited with code {code}"),
            None => format!("php was killed by signal {}", signal.unwrap_or(0)),
        });
    }
    (ok, result)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn small_output_is_kept_whole() {
        let mut c = Capture::new(100);
        c.push(b"hello ");
        c.push(b"world");
        assert_eq!(c.text(), "hello world");
        assert!(!c.truncated());
        assert_eq!(c.total(), 11);
    }

    #[test]
    fn exactly_the_limit_is_not_truncated() {
        let mut c = Capture::new(10);
        c.push(b"0123456789");
        assert!(!c.truncated());
        assert_eq!(c.text(), "0123456789");
    }

    #[test]
    fn large_output_keeps_head_and_tail_with_marker() {
        let mut c = Capture::new(10);
        for chunk in [&b"AAAAA"[..], b"bbbbbbbbbbbbbbbbbbbb", b"cc", b"ZZZ"] {
            c.push(chunk);
        }
        assert!(c.truncated());
        assert_eq!(c.total(), 30);
        let text = c.text();
        assert!(
            text.starts_with("AAAAA\n[… lambda-fpm: 20 bytes omitted; 30 bytes in total"),
            "{text}"
        );
        assert!(text.ends_with("…]\nccZZZ"), "{text}");
    }

    #[test]
    fn tail_is_right_across_many_small_pushes() {
        let mut c = Capture::new(8);
        for b in b"abcdefghijklmnopqrstuvwxyz" {
            c.push(&[*b]);
        }
        let text = c.text();
        assert!(
            text.starts_with("abcd\n[… lambda-fpm: 18 bytes omitted"),
            "{text}"
        );
        assert!(text.ends_with("\nwxyz"), "{text}");
    }

    #[test]
    fn one_huge_push() {
        let mut c = Capture::new(6);
        c.push(&[b'x'; 1_000_000]);
        c.push(b"END");
        assert_eq!(c.total(), 1_000_003);
        assert!(c.text().ends_with("\nEND"));
        assert!(
            c.text()
                .starts_with("xxx\n[… lambda-fpm: 999997 bytes omitted")
        );
    }

    #[test]
    fn shrink_keeps_char_boundaries() {
        assert_eq!(shrink("short", 10), "short");
        let text = "é".repeat(100); // 200 bytes
        let out = shrink(&text, 51);
        assert!(out.starts_with("éééé"), "{out}");
        assert!(out.ends_with("éééé"), "{out}");
        assert!(out.contains("bytes left out"));
        let control = "\u{1}".repeat(2_000_000);
        let out = shrink(&control, 1000);
        assert!(out.len() < 1200);
    }
}
