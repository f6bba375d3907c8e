//! HTTP load runner: one scenario at a time, `concurrency` workers each with its own keep-alive
//! connection, a warm-up, then a fixed number of requests or a fixed duration.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use indicatif::{ProgressBar, ProgressStyle};
use serde::Serialize;

use crate::scenario::{Amount, Scenario};
use crate::stats::{Recorder, Summary};

/// Settings shared by every scenario of one target.
#[derive(Clone, Debug)]
pub struct LoadOpts {
    /// Base URL without trailing slash, e.g. `http://127.0.0.1:9000`.
    pub base: String,
    pub concurrency: usize,
    pub amount: Amount,
    pub warmup: u64,
    pub timeout: Duration,
    /// Extra request headers (e.g. the CloudFront origin secret).
    pub headers: Vec<(String, String)>,
    pub progress: bool,
}

#[derive(Debug, Clone, Serialize, serde::Deserialize)]
pub struct ScenarioResult {
    pub target: String,
    pub scenario: String,
    pub url: String,
    pub concurrency: usize,
    #[serde(flatten)]
    pub summary: Summary,
}

fn client(opts: &LoadOpts) -> Result<reqwest::Client> {
    let mut headers = reqwest::header::HeaderMap::new();
    for (k, v) in &opts.headers {
        headers.insert(
            reqwest::header::HeaderName::from_bytes(k.as_bytes()).context("header name")?,
            reqwest::header::HeaderValue::from_str(v).context("header value")?,
        );
    }
    reqwest::Client::builder()
        .no_proxy()
        .pool_max_idle_per_host(1)
        .redirect(reqwest::redirect::Policy::none())
        .timeout(opts.timeout)
        .default_headers(headers)
        .user_agent("lambda-fpm-bench")
        .build()
        .context("HTTP client")
}

async fn one(client: &reqwest::Client, url: &str, expect: u16, rec: &mut Recorder) {
    let started = Instant::now();
    match client.get(url).send().await {
        Ok(resp) => {
            let status = resp.status().as_u16();
            match resp.bytes().await {
                Ok(body) => rec.record(started.elapsed(), status, body.len() as u64, expect),
                Err(e) => rec.record_failure(started.elapsed(), kind_of(&e)),
            }
        }
        Err(e) => rec.record_failure(started.elapsed(), kind_of(&e)),
    }
}

fn kind_of(e: &reqwest::Error) -> &'static str {
    if e.is_timeout() {
        "timeout"
    } else if e.is_connect() {
        "connect"
    } else if e.is_body() || e.is_decode() {
        "body"
    } else {
        "request"
    }
}

/// Runs one scenario against one target.
pub async fn run_scenario(target: &str, opts: &LoadOpts, sc: &Scenario) -> Result<ScenarioResult> {
    let url = format!("{}{}", opts.base.trim_end_matches('/'), sc.path);
    let conc = opts.concurrency.max(1);
    let clients: Vec<reqwest::Client> = (0..conc).map(|_| client(opts)).collect::<Result<_>>()?;
    // warm-up: spread over the workers' connections, not recorded
    let mut scratch = Recorder::new();
    for i in 0..opts.warmup {
        one(&clients[i as usize % conc], &url, sc.expect, &mut scratch).await;
    }
    let pb = if opts.progress {
        let pb = match opts.amount {
            Amount::Requests(n) => ProgressBar::new(n),
            Amount::Duration(d) => ProgressBar::new(d.as_millis() as u64),
        };
        pb.set_style(
            ProgressStyle::with_template("{prefix:>22} [{bar:30}] {pos}/{len} {msg} ({elapsed})")
                .unwrap_or_else(|_| ProgressStyle::default_bar())
                .progress_chars("=> "),
        );
        pb.set_prefix(format!("{target}/{}", sc.name));
        pb
    } else {
        ProgressBar::hidden()
    };
    let issued = Arc::new(AtomicU64::new(0));
    let started = Instant::now();
    let mut tasks = Vec::new();
    for c in clients {
        let (url, issued, pb, amount, expect) = (
            url.clone(),
            issued.clone(),
            pb.clone(),
            opts.amount,
            sc.expect,
        );
        tasks.push(tokio::spawn(async move {
            let mut rec = Recorder::new();
            loop {
                match amount {
                    Amount::Requests(n) => {
                        if issued.fetch_add(1, Ordering::Relaxed) >= n {
                            break;
                        }
                    }
                    Amount::Duration(d) => {
                        if started.elapsed() >= d {
                            break;
                        }
                    }
                }
                one(&c, &url, expect, &mut rec).await;
                match amount {
                    Amount::Requests(_) => pb.inc(1),
                    Amount::Duration(_) => pb.set_position(started.elapsed().as_millis() as u64),
                }
            }
            rec
        }));
    }
    let mut total = Recorder::new();
    for t in tasks {
        total.merge(&t.await.context("worker panicked")?);
    }
    let elapsed = started.elapsed();
    pb.finish_and_clear();
    let summary = total.summary(elapsed);
    if opts.progress {
        eprintln!(
            "{:>22}  {:>8.1} req/s  p50 {:>8.3} ms  p99 {:>8.3} ms  max {:>8.3}  status {:?}",
            format!("{target}/{}", sc.name),
            summary.rps,
            summary.p50_ms,
            summary.p99_ms,
            summary.max_ms,
            summary.status
        );
    }
    Ok(ScenarioResult {
        target: target.to_string(),
        scenario: sc.name.clone(),
        url,
        concurrency: conc,
        summary,
    })
}
