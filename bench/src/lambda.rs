//! testkit's Lambda Runtime API emulator (the AWS side) and a handle on a `bootstrap` process
//! attached to it, for cold-start, soak and EFS-simulator runs. One invocation at a time, as
//! Lambda does within one sandbox.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, anyhow, bail};
use lambda_fpm_testkit::{Answer, V2Event};
use serde_json::Value;
use tokio::io::AsyncBufReadExt;

/// The Runtime API on 127.0.0.1:<ephemeral>: testkit's emulator (the one the tests use), as
/// bench calls it.
#[derive(Clone)]
pub struct RuntimeApi {
    pub addr: SocketAddr,
    inner: lambda_fpm_testkit::RuntimeApi,
}

impl RuntimeApi {
    pub async fn start() -> Result<RuntimeApi> {
        let inner = lambda_fpm_testkit::RuntimeApi::start().await;
        Ok(RuntimeApi {
            addr: inner.addr,
            inner,
        })
    }

    /// Queues an event (deadline 30 s away) and waits for the runtime's buffered answer.
    pub async fn invoke(&self, event: &Value, wait: Duration) -> Result<Value> {
        let id = self.inner.enqueue(event.clone(), 30_000);
        match self.inner.answer(&id, wait).await {
            Some(Answer::Buffered(v)) => Ok(v),
            Some(Answer::Error(e)) => Err(anyhow!("invocation error: {e}")),
            Some(Answer::Streamed { .. }) => Err(anyhow!(
                "a streamed answer: bench runs the bridge in buffered mode"
            )),
            None => match self.inner.init_error() {
                Some(e) => Err(anyhow!("init error: {e}")),
                None => Err(anyhow!("no answer within {wait:?}")),
            },
        }
    }

    /// When the runtime first asked for work (its init was over).
    pub fn first_next(&self) -> Option<Instant> {
        self.inner.first_next()
    }

    pub fn reset_first_next(&self) {
        self.inner.reset_first_next()
    }
}

/// [`get_event`] with request cookies (payload v2's `cookies`).
pub fn get_event_with_cookies(path: &str, host: &str, cookies: &[String]) -> Value {
    bench_event(path, host).cookies(cookies).build()
}

/// A Function URL (payload v2) GET event for `path` (may carry `?query`).
pub fn get_event(path: &str, host: &str) -> Value {
    bench_event(path, host).build()
}

fn bench_event(path: &str, host: &str) -> V2Event {
    let (p, q) = path.split_once('?').unwrap_or((path, ""));
    V2Event::bare("GET", p, q)
        .header("host", host)
        .header("user-agent", "lambda-fpm-bench")
        .header("accept", "*/*")
        .header("x-forwarded-proto", "http")
        .header("x-forwarded-for", "127.0.0.1")
}

/// Status code and body size of a buffered HTTP response document.
pub fn response_status_bytes(v: &Value) -> (u16, u64) {
    let status = v.get("statusCode").and_then(Value::as_u64).unwrap_or(0) as u16;
    let body = v.get("body").and_then(Value::as_str).unwrap_or("");
    let b64 = v
        .get("isBase64Encoded")
        .and_then(Value::as_bool)
        .unwrap_or(false);
    let len = if b64 {
        (body.len() as u64 / 4) * 3 - body.bytes().rev().take_while(|&c| c == b'=').count() as u64
    } else {
        body.len() as u64
    };
    (status, len)
}

/// How to start the bridge.
#[derive(Clone, Debug)]
pub struct BridgeSpec {
    pub bootstrap: PathBuf,
    pub env: Vec<(String, String)>,
    pub log: PathBuf,
}

/// The environment the bridge would give php-fpm for `spec` (`bootstrap --php-env`), so the
/// direct-FastCGI baseline starts php-fpm exactly as the bridge does.
pub fn php_env(spec: &BridgeSpec) -> Result<Vec<(String, String)>> {
    let out = std::process::Command::new(&spec.bootstrap)
        .arg("--php-env")
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .envs(spec.env.iter().map(|(k, v)| (k, v)))
        .output()
        .with_context(|| format!("running {} --php-env", spec.bootstrap.display()))?;
    if !out.status.success() {
        bail!(
            "{} --php-env: {}",
            spec.bootstrap.display(),
            String::from_utf8_lossy(&out.stderr).trim()
        );
    }
    Ok(String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| l.split_once('='))
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect())
}

/// A running `bootstrap`, attached to a [`RuntimeApi`].
pub struct Bridge {
    pub child: tokio::process::Child,
    pub pid: u32,
    pub spawned: Instant,
    /// Parsed JSON log lines seen so far.
    pub log_lines: Arc<Mutex<Vec<Value>>>,
}

impl Bridge {
    pub fn spawn(spec: &BridgeSpec, api: &RuntimeApi) -> Result<Bridge> {
        let mut cmd = tokio::process::Command::new(&spec.bootstrap);
        cmd.env_clear();
        for k in ["PATH", "HOME", "LANG"] {
            if let Ok(v) = std::env::var(k) {
                cmd.env(k, v);
            }
        }
        cmd.env("AWS_LAMBDA_RUNTIME_API", api.addr.to_string())
            .env("AWS_LAMBDA_FUNCTION_NAME", "wordpress")
            .env("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "1024")
            .env("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
            .env("AWS_LAMBDA_LOG_STREAM_NAME", "bench")
            .env("AWS_LAMBDA_LOG_GROUP_NAME", "/aws/lambda/wordpress")
            .env("LAMBDA_FPM_LOG_FORMAT", "json");
        for (k, v) in &spec.env {
            cmd.env(k, v);
        }
        cmd.stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true);
        let spawned = Instant::now();
        let mut child = cmd
            .spawn()
            .with_context(|| format!("spawning {}", spec.bootstrap.display()))?;
        let pid = child.id().context("bootstrap pid")?;
        let log_lines = Arc::new(Mutex::new(Vec::new()));
        let logfile = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&spec.log)
            .with_context(|| format!("opening {}", spec.log.display()))?;
        let logfile = Arc::new(Mutex::new(logfile));
        let out = child
            .stdout
            .take()
            .map(|s| Box::new(s) as Box<dyn tokio::io::AsyncRead + Unpin + Send>);
        let err = child
            .stderr
            .take()
            .map(|s| Box::new(s) as Box<dyn tokio::io::AsyncRead + Unpin + Send>);
        for stream in [out, err].into_iter().flatten() {
            let (lines, logfile) = (log_lines.clone(), logfile.clone());
            tokio::spawn(async move {
                let mut rd = tokio::io::BufReader::new(stream).lines();
                while let Ok(Some(line)) = rd.next_line().await {
                    use std::io::Write;
                    let _ = writeln!(logfile.lock().unwrap(), "{line}");
                    if let Ok(v) = serde_json::from_str::<Value>(&line) {
                        lines.lock().unwrap().push(v);
                    }
                }
            });
        }
        Ok(Bridge {
            child,
            pid,
            spawned,
            log_lines,
        })
    }

    /// The last value of a numeric field (searched in the line and its `fields`) in the log.
    pub fn last_log_number(&self, key: &str) -> Option<f64> {
        let lines = self.log_lines.lock().unwrap();
        lines.iter().rev().find_map(|l| {
            l.get(key)
                .or_else(|| l.get("fields").and_then(|f| f.get(key)))
                .and_then(Value::as_f64)
        })
    }

    /// Stops the bridge (SIGTERM, then SIGKILL) and its php-fpm.
    pub async fn stop(mut self) {
        let fpm = descendants(self.pid);
        unsafe {
            libc::kill(self.pid as i32, libc::SIGTERM);
        }
        if tokio::time::timeout(Duration::from_secs(3), self.child.wait())
            .await
            .is_err()
        {
            let _ = self.child.kill().await;
        }
        // php-fpm dies with the bridge (PR_SET_PDEATHSIG); make sure, by pid
        tokio::time::sleep(Duration::from_millis(50)).await;
        for p in fpm {
            if Path::new(&format!("/proc/{p}")).exists() {
                unsafe {
                    libc::kill(p as i32, libc::SIGKILL);
                }
            }
        }
    }
}

/// Resident set size of one process in KiB (0 when gone).
pub fn rss_kib(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmRSS:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|v| v.parse().ok())
        })
        .unwrap_or(0)
}

/// Every descendant pid of `pid` (php-fpm master and workers under the bridge).
pub fn descendants(pid: u32) -> Vec<u32> {
    let mut parent_of = Vec::new();
    if let Ok(rd) = std::fs::read_dir("/proc") {
        for e in rd.flatten() {
            let Ok(p) = e.file_name().to_string_lossy().parse::<u32>() else {
                continue;
            };
            if let Ok(stat) = std::fs::read_to_string(format!("/proc/{p}/stat"))
                && let Some(after) = stat.rsplit_once(')').map(|x| x.1)
                && let Some(ppid) = after
                    .split_whitespace()
                    .nth(1)
                    .and_then(|v| v.parse::<u32>().ok())
            {
                parent_of.push((p, ppid));
            }
        }
    }
    let mut out = Vec::new();
    let mut frontier = vec![pid];
    while let Some(p) = frontier.pop() {
        for (c, pp) in &parent_of {
            if *pp == p && !out.contains(c) {
                out.push(*c);
                frontier.push(*c);
            }
        }
    }
    out
}

/// RSS of the bridge alone, and of its php-fpm processes together (KiB).
pub fn bridge_rss(pid: u32) -> (u64, u64) {
    let fpm: u64 = descendants(pid).into_iter().map(rss_kib).sum();
    (rss_kib(pid), fpm)
}

/// Waits for `bootstrap`'s first GET /next (init done); errors if the process exits first.
pub async fn wait_ready(api: &RuntimeApi, bridge: &mut Bridge, limit: Duration) -> Result<Instant> {
    let end = Instant::now() + limit;
    loop {
        if let Some(t) = api.first_next() {
            return Ok(t);
        }
        if let Ok(Some(status)) = bridge.child.try_wait() {
            bail!("bootstrap exited during init: {status}");
        }
        if Instant::now() > end {
            bail!("bootstrap not ready within {limit:?}");
        }
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn event_and_response_parsing() {
        let e = get_event("/wp-json/wp/v2/posts?per_page=2", "127.0.0.1:1");
        assert_eq!(e["rawPath"], "/wp-json/wp/v2/posts");
        assert_eq!(e["rawQueryString"], "per_page=2");
        assert_eq!(e["requestContext"]["http"]["method"], "GET");
        let r = json!({"statusCode": 200, "body": "aGVsbG8=", "isBase64Encoded": true});
        assert_eq!(response_status_bytes(&r), (200, 5));
        let r = json!({"statusCode": 404, "body": "nope"});
        assert_eq!(response_status_bytes(&r), (404, 4));
    }
}
