//! The "physical limit" for PHP pages: the same page rendered by php-fpm through one direct
//! FastCGI request over its unix socket, with no bridge and no Lambda machinery.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use fastcgi_client::{Client, Params, Request};

use crate::scenario::Scenario;
use crate::stats::Recorder;

/// A php-fpm started the way the bridge starts it (same binary, ini, conf, env).
pub struct PhpFpm {
    pub child: std::process::Child,
    pub socket: PathBuf,
}

impl PhpFpm {
    /// Starts `binary` with `env`: the site's variables and the bridge's php-fpm environment
    /// for `runtime_dir` ([`crate::lambda::php_env`]).
    pub fn start(
        binary: &Path,
        ini: &Path,
        conf: &Path,
        runtime_dir: &Path,
        env: &[(String, String)],
        log: &Path,
    ) -> Result<PhpFpm> {
        std::fs::create_dir_all(runtime_dir.join("opcache"))?;
        let socket = runtime_dir.join("php-fpm.sock");
        let _ = std::fs::remove_file(&socket);
        let log = std::fs::File::create(log)?;
        let mut cmd = std::process::Command::new(binary);
        cmd.args(["--nodaemonize", "--force-stderr", "--fpm-config"])
            .arg(conf)
            .arg("-c")
            .arg(ini);
        if unsafe { libc::geteuid() } == 0 {
            cmd.arg("--allow-to-run-as-root");
        }
        cmd.envs(env.iter().map(|(k, v)| (k, v)))
            .stdin(Stdio::null())
            .stdout(log.try_clone()?)
            .stderr(log);
        let child = cmd
            .spawn()
            .with_context(|| format!("spawning {}", binary.display()))?;
        let mut fpm = PhpFpm { child, socket };
        let end = Instant::now() + Duration::from_secs(10);
        while std::os::unix::net::UnixStream::connect(&fpm.socket).is_err() {
            if let Ok(Some(st)) = fpm.child.try_wait() {
                bail!("php-fpm exited: {st}");
            }
            if Instant::now() > end {
                fpm.stop();
                bail!("php-fpm socket did not come up");
            }
            std::thread::sleep(Duration::from_millis(5));
        }
        Ok(fpm)
    }

    pub fn stop(&mut self) {
        unsafe {
            libc::kill(self.child.id() as i32, libc::SIGQUIT);
        }
        for _ in 0..40 {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for PhpFpm {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            self.stop();
        }
    }
}

/// Which script php-fpm runs for a URL path: the .php file itself when it exists, else the
/// front controller (WordPress pretty permalinks), as the bridge's router does.
pub fn script_for(docroot: &Path, path: &str) -> String {
    if path.ends_with(".php") && docroot.join(path.trim_start_matches('/')).is_file() {
        path.to_string()
    } else {
        "/index.php".to_string()
    }
}

/// Parses `Status:` of CGI output (200 when absent) and the body length.
pub fn cgi_status_and_body(stdout: &[u8]) -> (u16, usize) {
    let (head, body_len) = match stdout.windows(4).position(|w| w == b"\r\n\r\n") {
        Some(i) => (&stdout[..i], stdout.len() - i - 4),
        None => match stdout.windows(2).position(|w| w == b"\n\n") {
            Some(i) => (&stdout[..i], stdout.len() - i - 2),
            None => (stdout, 0),
        },
    };
    let status = String::from_utf8_lossy(head)
        .lines()
        .find_map(|l| {
            let (k, v) = l.split_once(':')?;
            if k.eq_ignore_ascii_case("status") {
                v.split_whitespace().next()?.parse().ok()
            } else {
                None
            }
        })
        .unwrap_or(200);
    (status, body_len)
}

/// One direct FastCGI GET.
pub async fn render(
    socket: &Path,
    docroot: &Path,
    sc: &Scenario,
    host: &str,
) -> Result<(u16, usize)> {
    let stream = tokio::net::UnixStream::connect(socket)
        .await
        .with_context(|| format!("connecting {}", socket.display()))?;
    let client = Client::new_tokio(stream);
    let script = script_for(docroot, sc.path_only());
    let root = docroot.to_string_lossy().to_string();
    let (server_name, port) = host.split_once(':').unwrap_or((host, "80"));
    let params = Params::default()
        .request_method("GET")
        .script_name(script.clone())
        .script_filename(format!("{root}{script}"))
        .request_uri(sc.path.clone())
        .document_uri(sc.path_only().to_string())
        .query_string(sc.query().to_string())
        .document_root(root)
        .remote_addr("127.0.0.1")
        .remote_port(40000)
        .server_addr("127.0.0.1")
        .server_port(port.parse().unwrap_or(80))
        .server_name(server_name.to_string())
        .content_length(0)
        .custom("HTTP_HOST", host.to_string())
        .custom("HTTP_USER_AGENT", "lambda-fpm-bench")
        .custom("HTTP_ACCEPT", "*/*");
    let resp = client
        .execute_once(Request::new_tokio(params, tokio::io::empty()))
        .await
        .context("FastCGI request")?;
    Ok(cgi_status_and_body(resp.stdout.as_deref().unwrap_or(b"")))
}

/// Sequential direct renders (php-fpm has one worker, like the bridge's).
pub async fn run(
    socket: &Path,
    docroot: &Path,
    sc: &Scenario,
    host: &str,
    warmup: u64,
    requests: u64,
) -> Result<(Recorder, Duration)> {
    for _ in 0..warmup {
        render(socket, docroot, sc, host).await?;
    }
    let mut rec = Recorder::new();
    let started = Instant::now();
    for _ in 0..requests {
        let t = Instant::now();
        match render(socket, docroot, sc, host).await {
            Ok((status, bytes)) => rec.record(t.elapsed(), status, bytes as u64, sc.expect),
            Err(_) => rec.record_failure(t.elapsed(), "fastcgi"),
        }
    }
    Ok((rec, started.elapsed()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cgi_status() {
        assert_eq!(
            cgi_status_and_body(b"Content-Type: text/html\r\n\r\nabc"),
            (200, 3)
        );
        assert_eq!(
            cgi_status_and_body(b"Status: 404 Not Found\r\nX: y\r\n\r\n"),
            (404, 0)
        );
        assert_eq!(cgi_status_and_body(b"status: 301\n\nxy"), (301, 2));
    }

    #[test]
    fn scripts() {
        let d = std::env::temp_dir().join(format!("lfb-script-{}", std::process::id()));
        std::fs::create_dir_all(&d).unwrap();
        std::fs::write(d.join("wp-login.php"), "<?php").unwrap();
        assert_eq!(script_for(&d, "/wp-login.php"), "/wp-login.php");
        assert_eq!(script_for(&d, "/nope.php"), "/index.php");
        assert_eq!(script_for(&d, "/hello-world/"), "/index.php");
        std::fs::remove_dir_all(&d).unwrap();
    }
}
