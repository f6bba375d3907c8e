//! The one way a PHP request is run: a visitor's page, `cron`, `warm`, opcache priming. Each
//! caller builds its CGI environment with `cgi_env` and hands it here with a deadline; this
//! module owns what happens next, the same for all of them:
//!
//! - php-fpm is started first if it is not running (or died);
//! - PHP's stderr is logged line by line (WARN, target `php`, with the request id) and the first
//!   [`STDERR_KEPT`] lines are kept for the caller;
//! - **past the deadline, or when the connection to the worker fails, php-fpm is killed** (its
//!   process group: the stuck worker with it) and the next request starts a fresh one. A worker
//!   that ran past the invocation's deadline would otherwise still hold the only PHP slot when
//!   the next invocation arrives;
//! - PHP's CGI head (status and headers) is parsed; an unreadable one is an error.
//!
//! [`Read::Whole`] returns the whole answer; [`Read::Streaming`] returns as soon as the head
//! is complete, with the rest as a [`Rest`] that keeps the same deadline and kill policy.

use std::sync::Arc;
use std::time::Instant;

use crate::server_timing::PhpTimes;

use bytes::{Bytes, BytesMut};
use tokio::time::timeout_at;

use crate::cgi_response::{
    CgiHead, HeadError, MAX_HEAD_BYTES, find_head_end, parse_head, split_output,
};
use crate::fastcgi_transport::{Chunk, PhpOutput, TransportError, execute};
use crate::php_fpm::{PhpFpm, StartError};

/// Most stderr lines kept for the caller (all are logged).
pub const STDERR_KEPT: usize = 20;

/// One PHP request.
pub struct PhpCall<'a> {
    /// The CGI environment (`cgi_env::build_env` or `cgi_env::internal_get`).
    pub env: Vec<(String, String)>,
    pub body: Bytes,
    /// Past this, php-fpm is killed.
    pub deadline: tokio::time::Instant,
    /// With [`Read::Whole`], the most stdout bytes read: past it the request ends with
    /// [`PhpError::TooLarge`] (`payload_fit::output_limit`; `usize::MAX` for no limit).
    pub max_output: usize,
    /// For the stderr log lines ("" for the bridge's own requests).
    pub request_id: &'a str,
}

/// How much to read before returning.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Read {
    /// The whole answer.
    Whole,
    /// Until the CGI head is complete (`LAMBDA_FPM_INVOKE_MODE=response_stream`).
    Streaming,
}

/// Why a PHP request gave no usable answer.
#[derive(Debug, thiserror::Error)]
pub enum PhpError {
    /// php-fpm would not start.
    #[error(transparent)]
    NotRunning(#[from] StartError),
    /// The deadline passed; php-fpm was killed.
    #[error("PHP still running at the deadline; php-fpm killed and will restart")]
    TimedOut,
    /// The connection to the worker failed; php-fpm was killed.
    #[error(transparent)]
    Transport(#[from] TransportError),
    /// PHP's output passed [`PhpCall::max_output`]: the connection is dropped there (PHP stops
    /// at its next write) instead of holding the rest in memory.
    #[error("PHP's output passed {0} bytes, more than a buffered Lambda response can carry")]
    TooLarge(usize),
    /// PHP's output did not start with a readable CGI head.
    #[error(transparent)]
    BadHead(#[from] HeadError),
}

/// PHP's answer.
pub enum Answer {
    /// Read to the end.
    Whole {
        head: CgiHead,
        /// The response body: a slice of the output, no copy.
        body: Bytes,
    },
    /// The head, the body bytes read with it, and the rest still coming.
    Streaming {
        head: CgiHead,
        first: Bytes,
        /// Boxed: the FastCGI stream is large and only stream mode has one.
        rest: Box<Rest>,
    },
}

/// What running one request gave.
pub struct Ran {
    pub answer: Result<Answer, PhpError>,
    /// Time from sending the request to the answer (to the head, when streaming).
    pub php_ms: u64,
    /// Connected, first byte, whole (for Server-Timing and the log).
    pub times: PhpTimes,
    /// The first [`STDERR_KEPT`] non-empty stderr lines read so far.
    pub stderr: Vec<String>,
}

/// The rest of a streamed answer, under the same deadline and kill policy.
pub struct Rest {
    output: PhpOutput,
    fpm: Arc<PhpFpm>,
    deadline: tokio::time::Instant,
    request_id: String,
    done: bool,
}

impl Rest {
    /// The next body bytes; `None` once PHP finished properly. After an error (php-fpm already
    /// killed) it returns `None`.
    pub async fn next(&mut self) -> Option<Result<Bytes, PhpError>> {
        if self.done {
            return None;
        }
        loop {
            let failed = match timeout_at(self.deadline, self.output.next()).await {
                Ok(Ok(Some(Chunk::Stdout(b)))) if b.is_empty() => continue,
                Ok(Ok(Some(Chunk::Stdout(b)))) => return Some(Ok(b)),
                Ok(Ok(Some(Chunk::Stderr(b)))) => {
                    log_stderr(&self.request_id, &b, &mut Vec::new());
                    continue;
                }
                Ok(Ok(None)) => {
                    self.done = true;
                    return None;
                }
                Ok(Err(e)) => PhpError::Transport(e),
                Err(_) => PhpError::TimedOut,
            };
            self.done = true;
            self.fpm.kill().await;
            return Some(Err(failed));
        }
    }
}

/// How long PHP may run in an invocation whose Lambda deadline is `deadline_ms` (epoch ms, from
/// the invocation's context): up to the deadline minus `LAMBDA_FPM_TIMEOUT_MARGIN_MS`
/// (`deadline::php_budget`), so the bridge still answers before Lambda ends the invocation.
pub fn deadline(config: &crate::config::Config, deadline_ms: u64) -> tokio::time::Instant {
    tokio::time::Instant::now() + budget(config, deadline_ms)
}

/// The same as a duration from now (for the `php` command, which runs the CLI).
pub fn budget(config: &crate::config::Config, deadline_ms: u64) -> std::time::Duration {
    let now_ms = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0);
    crate::deadline::php_budget(
        deadline_ms,
        now_ms,
        config.timeout_margin,
        config.fallback_timeout,
    )
}

/// Runs one request through php-fpm (see the module docs for the policy).
pub async fn run(fpm: &Arc<PhpFpm>, call: PhpCall<'_>, read: Read) -> Ran {
    let mut stderr = Vec::new();
    if let Err(e) = fpm.ensure_running().await {
        return Ran {
            answer: Err(e.into()),
            php_ms: 0,
            times: PhpTimes::default(),
            stderr,
        };
    }
    let started = Instant::now();
    let PhpCall {
        env,
        body,
        deadline,
        request_id,
        max_output,
    } = call;
    let ms = |at: Instant| at.duration_since(started).as_secs_f64() * 1000.0;
    let mut times = PhpTimes::default();
    let work = async {
        let mut output = execute(fpm.socket(), env, body)
            .await
            .map_err(PhpError::Transport)?;
        times.connect_ms = ms(Instant::now());
        let mut stdout = BytesMut::new();
        loop {
            match output.next().await.map_err(PhpError::Transport)? {
                Some(Chunk::Stdout(b)) => {
                    if times.first_byte_ms.is_none() && !b.is_empty() {
                        times.first_byte_ms = Some(ms(Instant::now()));
                    }
                    stdout.extend_from_slice(&b);
                    if read == Read::Whole && stdout.len() > max_output {
                        return Err(PhpError::TooLarge(max_output));
                    }
                    if read == Read::Streaming {
                        if let Some(end) = find_head_end(&stdout) {
                            return Ok((stdout.freeze(), Some((output, end))));
                        }
                        if stdout.len() > MAX_HEAD_BYTES {
                            return Ok((stdout.freeze(), None));
                        }
                    }
                }
                Some(Chunk::Stderr(b)) => log_stderr(request_id, &b, &mut stderr),
                None => return Ok((stdout.freeze(), None)),
            }
        }
    };
    let result: Result<Result<_, PhpError>, _> = timeout_at(deadline, work).await;
    let php_ms = started.elapsed().as_millis() as u64;
    let streaming = matches!(result, Ok(Ok((_, Some(_)))));
    // a streamed answer's whole time is not known yet when its head goes out
    times.total_ms = (!streaming).then(|| ms(Instant::now()));
    let answer = match result {
        Err(_) => {
            fpm.kill().await;
            Err(PhpError::TimedOut)
        }
        Ok(Err(PhpError::Transport(e))) => {
            // a dead worker or an unreachable socket: start clean on the next request
            fpm.kill().await;
            Err(PhpError::Transport(e))
        }
        // dropping the connection ends the request (PHP aborts at its next write)
        Ok(Err(e)) => Err(e),
        Ok(Ok((stdout, Some((output, (head_end, body_start)))))) => parse_head(&stdout[..head_end])
            .map(|head| Answer::Streaming {
                head,
                first: stdout.slice(body_start..),
                rest: Box::new(Rest {
                    output,
                    fpm: fpm.clone(),
                    deadline,
                    request_id: request_id.to_string(),
                    done: false,
                }),
            })
            .map_err(PhpError::from),
        Ok(Ok((stdout, None))) => split_output(&stdout)
            .map(|(head, body)| {
                let body = stdout.slice_ref(body);
                Answer::Whole { head, body }
            })
            .map_err(PhpError::from),
    };
    Ran {
        answer,
        php_ms,
        times,
        stderr,
    }
}

/// Logs each non-empty stderr line and keeps the first [`STDERR_KEPT`].
fn log_stderr(request_id: &str, bytes: &[u8], kept: &mut Vec<String>) {
    for line in String::from_utf8_lossy(bytes)
        .lines()
        .filter(|l| !l.trim().is_empty())
    {
        tracing::warn!(target: "php", request_id, "{line}");
        if kept.len() < STDERR_KEPT {
            kept.push(line.to_string());
        }
    }
}
