//! `lambda-fpm-bench`: see bench/README.md.

use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context, Result, bail};
use clap::{Args, Parser, Subcommand};

use lambda_fpm_bench::load::{self, LoadOpts, ScenarioResult};
use lambda_fpm_bench::plot::{self, Series};
use lambda_fpm_bench::scenario::{self, Amount};
use lambda_fpm_bench::suites::{self, Site};
use lambda_fpm_bench::{efs, report};

#[derive(Parser)]
#[command(
    name = "lambda-fpm-bench",
    about = "Benchmarks for lambda-fpm",
    version
)]
struct Cli {
    #[command(subcommand)]
    cmd: Cmd,
}

#[derive(Subcommand)]
enum Cmd {
    /// HTTP load: scenarios against one or more targets (NAME=URL), e.g. the bridge behind
    /// `cargo lambda watch`, nginx, or a deployed CloudFront URL.
    Load(LoadArgs),
    /// Bridge-added latency: the same PHP pages by direct FastCGI and through the bridge.
    Direct(DirectArgs),
    /// Cold start: bootstrap process start → first home page, empty opcache vs the restored seed.
    Cold(ColdArgs),
    /// Soak: N mixed requests through the bridge, errors and RSS growth.
    Soak(SoakArgs),
    /// WordPress under the EFS latency simulator with three php.ini variants.
    Efs(EfsArgs),
    /// Mount the EFS latency simulator in the foreground (Ctrl-C unmounts and prints counts).
    EfsMount(EfsMountArgs),
    /// HTTP front (Function URL-like) → Runtime API emulator → bootstrap, for `load` runs.
    Serve(ServeArgs),
    /// Markdown tables from a results directory.
    Report {
        #[arg(long, default_value = "bench/results")]
        dir: PathBuf,
    },
}

#[derive(Args)]
struct LoadArgs {
    /// NAME=URL (repeatable), e.g. bridge=http://127.0.0.1:9400
    #[arg(long = "target", required = true)]
    targets: Vec<String>,
    /// Comma list: home,post,api,404,login,css,image,large | all | php | static | name=/path
    #[arg(long, default_value = "all")]
    scenarios: String,
    /// Concurrency levels to run (comma list)
    #[arg(long, default_value = "1")]
    concurrency: String,
    /// Requests per scenario (wins over --duration)
    #[arg(long)]
    requests: Option<u64>,
    /// Duration per scenario: 10s, 500ms, 1m
    #[arg(long)]
    duration: Option<String>,
    /// Unrecorded requests before each scenario
    #[arg(long, default_value_t = 5)]
    warmup: u64,
    /// Request timeout
    #[arg(long, default_value = "30s")]
    timeout: String,
    /// Extra header "Name: value" (repeatable), e.g. the origin secret
    #[arg(long = "header")]
    headers: Vec<String>,
    /// Static scenarios only for targets whose name is in this comma list (e.g. nginx)
    #[arg(long, default_value = "nginx")]
    static_only: String,
    /// Append results to this JSON file (array)
    #[arg(long)]
    out: Option<PathBuf>,
    /// Write a latency-by-percentile PNG
    #[arg(long)]
    plot: Option<PathBuf>,
    #[arg(long)]
    quiet: bool,
}

#[derive(Args, Clone)]
struct SiteArgs {
    /// The bridge binary (a release build)
    #[arg(long, default_value = "target/release/bootstrap")]
    bootstrap: PathBuf,
    /// php-fpm: the layer's, at /opt (bench/run.sh runs under scripts/with-layer)
    #[arg(long, default_value = "/opt/bin/php-fpm")]
    php_fpm: PathBuf,
    #[arg(long, default_value = "php/php.ini")]
    ini: PathBuf,
    #[arg(long, default_value = "php/php-fpm.conf")]
    conf: PathBuf,
    #[arg(long, default_value = "/opt/php/conf.d")]
    scan_dir: String,
    /// WordPress root (scripts/local lays it out in $LOCAL_STATE_DIR/efs/wordpress)
    #[arg(long)]
    docroot: PathBuf,
    /// KEY=VALUE file with the WordPress DB settings (scripts/local's run/watch-PORT.env)
    #[arg(long)]
    env_file: Option<PathBuf>,
    /// A LAMBDA_FPM_* setting (KEY=VALUE) for every bridge the run starts, e.g.
    /// LAMBDA_FPM_CODE_MIRROR=off; repeatable (the suites' own settings still win)
    #[arg(long = "bridge-env", value_name = "KEY=VALUE")]
    bridge_env: Vec<String>,
    /// Host header WordPress sees
    #[arg(long, default_value = "127.0.0.1")]
    host: String,
    /// Scratch directory
    #[arg(long, default_value = "/tmp/lambda-fpm-bench")]
    work: PathBuf,
    /// Where the JSON result goes
    #[arg(long)]
    out: Option<PathBuf>,
    #[arg(long)]
    quiet: bool,
}

#[derive(Args)]
struct DirectArgs {
    #[command(flatten)]
    site: SiteArgs,
    #[arg(long, default_value = "php")]
    scenarios: String,
    #[arg(long, default_value_t = 100)]
    requests: u64,
    #[arg(long, default_value_t = 5)]
    warmup: u64,
}

#[derive(Args)]
struct ColdArgs {
    #[command(flatten)]
    site: SiteArgs,
    #[arg(long, default_value_t = 10)]
    reps: usize,
    /// Warm home pages after each cold one (median = the warm reference)
    #[arg(long, default_value_t = 10)]
    warm: usize,
    /// Also run under the EFS simulator with this delay per operation (µs)
    #[arg(long)]
    efs_delay_us: Option<u64>,
    /// Kernel entry/attribute cache time under the EFS simulator, ms
    #[arg(long, default_value_t = 1000)]
    efs_ttl_ms: u64,
    /// Runs per variant under the EFS simulator (each costs seconds)
    #[arg(long, default_value_t = 3)]
    efs_reps: usize,
}

#[derive(Args)]
struct ServeArgs {
    #[command(flatten)]
    site: SiteArgs,
    #[arg(long, default_value = "127.0.0.1:9402")]
    listen: std::net::SocketAddr,
    /// bootstrap processes (Lambda sandboxes) taking invocations from the one queue
    #[arg(long, default_value_t = 1)]
    sandboxes: usize,
}

#[derive(Args)]
struct SoakArgs {
    #[command(flatten)]
    site: SiteArgs,
    #[arg(long, default_value_t = 10_000)]
    requests: u64,
}

#[derive(Args)]
struct EfsArgs {
    #[command(flatten)]
    site: SiteArgs,
    /// Delay per file-system operation, µs
    #[arg(long, default_value_t = 1000)]
    delay_us: u64,
    /// Warm phase per variant
    #[arg(long, default_value = "6s")]
    warm: String,
    /// Kernel entry/attribute cache times to run (ms, comma list): 0 = every operation
    /// reaches the simulator; 1000 ≈ an NFS client's shortest attribute cache
    #[arg(long, default_value = "0,1000")]
    ttl_ms: String,
    /// Cookies of a logged-in administrator ("name=value; name=value"), to trace wp-admin's
    /// dashboard too (bench/run.sh makes them with WordPress's own wp_generate_auth_cookie)
    #[arg(long)]
    admin_cookies: Option<String>,
}

#[derive(Args)]
struct EfsMountArgs {
    #[arg(long)]
    source: PathBuf,
    #[arg(long)]
    mountpoint: PathBuf,
    #[arg(long, default_value_t = 1000)]
    delay_us: u64,
    /// Kernel entry/attribute cache time, ms (0 = every operation reaches the simulator)
    #[arg(long, default_value_t = 0)]
    ttl_ms: u64,
}

fn site(a: &SiteArgs) -> Result<Site> {
    let abs = |p: &Path| -> Result<PathBuf> {
        if p.is_absolute() {
            Ok(p.to_path_buf())
        } else {
            Ok(std::env::current_dir()?.join(p))
        }
    };
    let env = match &a.env_file {
        Some(f) => suites::read_env_file(f)?,
        None => Vec::new(),
    };
    // keep only what PHP needs from scripts/local's env file (the suites set LAMBDA_FPM_*
    // themselves), plus glibc's MALLOC_* tunables for allocator experiments on the bridge
    let mut env: Vec<(String, String)> = env
        .into_iter()
        .filter(|(k, _)| k.starts_with("WORDPRESS_") || k.starts_with("MALLOC_"))
        .collect();
    for setting in &a.bridge_env {
        match setting.split_once('=') {
            Some((k, v)) if k.starts_with("LAMBDA_FPM_") => env.push((k.into(), v.into())),
            _ => bail!("--bridge-env {setting:?}: LAMBDA_FPM_<NAME>=<value> expected"),
        }
    }
    for (what, p) in [
        ("bootstrap", &a.bootstrap),
        ("php.ini", &a.ini),
        ("php-fpm.conf", &a.conf),
    ] {
        if !p.exists() {
            bail!("{what} not found at {}", p.display());
        }
    }
    std::fs::create_dir_all(&a.work)?;
    Ok(Site {
        bootstrap: abs(&a.bootstrap)?,
        php_fpm: a.php_fpm.clone(),
        ini: abs(&a.ini)?,
        conf: abs(&a.conf)?,
        scan_dir: a.scan_dir.clone(),
        docroot: abs(&a.docroot)?,
        env,
        host: a.host.clone(),
        work: abs(&a.work)?,
    })
}

fn write_json<T: serde::Serialize>(out: &Option<PathBuf>, v: &T) -> Result<()> {
    let text = serde_json::to_string_pretty(v)?;
    match out {
        Some(p) => {
            if let Some(d) = p.parent() {
                std::fs::create_dir_all(d)?;
            }
            std::fs::write(p, text).with_context(|| format!("writing {}", p.display()))
        }
        None => {
            println!("{text}");
            Ok(())
        }
    }
}

async fn cmd_load(a: LoadArgs) -> Result<()> {
    let scenarios = scenario::parse_list(&a.scenarios)?;
    let amount = scenario::amount(a.requests, a.duration.as_deref())?;
    let timeout = scenario::parse_duration(&a.timeout)?;
    let headers = a
        .headers
        .iter()
        .map(|h| {
            h.split_once(':')
                .map(|(k, v)| (k.trim().to_string(), v.trim().to_string()))
                .with_context(|| format!("bad header {h:?}: want \"Name: value\""))
        })
        .collect::<Result<Vec<_>>>()?;
    let levels = a
        .concurrency
        .split(',')
        .map(|c| c.trim().parse::<usize>().context("bad --concurrency"))
        .collect::<Result<Vec<_>>>()?;
    let static_only: Vec<&str> = a.static_only.split(',').map(str::trim).collect();
    let mut results: Vec<ScenarioResult> = match &a.out {
        Some(p) if p.exists() => {
            serde_json::from_str(&std::fs::read_to_string(p)?).unwrap_or_default()
        }
        _ => Vec::new(),
    };
    for t in &a.targets {
        let (name, url) = t
            .split_once('=')
            .with_context(|| format!("bad --target {t:?}: want NAME=URL"))?;
        for &c in &levels {
            let opts = LoadOpts {
                base: url.to_string(),
                concurrency: c,
                amount,
                warmup: a.warmup,
                timeout,
                headers: headers.clone(),
                progress: !a.quiet,
            };
            for sc in &scenarios {
                if static_only.contains(&name) && sc.kind != scenario::Kind::Static {
                    continue;
                }
                let r = load::run_scenario(name, &opts, sc).await?;
                results.retain(|x| {
                    !(x.target == r.target
                        && x.scenario == r.scenario
                        && x.concurrency == r.concurrency)
                });
                results.push(r);
            }
        }
    }
    if let Some(p) = &a.plot {
        let series: Vec<Series> = results
            .iter()
            .filter(|r| !r.summary.curve.is_empty())
            .map(|r| Series {
                label: format!("{} {} c{}", r.target, r.scenario, r.concurrency),
                points: r.summary.curve.clone(),
            })
            .collect();
        plot::latency_png(p, "lambda-fpm-bench: latency by percentile", &series)?;
    }
    if matches!(amount, Amount::Duration(d) if d > Duration::from_secs(3600)) {
        bail!("refusing a run longer than an hour per scenario");
    }
    write_json(&a.out, &results)
}

async fn run(cli: Cli) -> Result<()> {
    match cli.cmd {
        Cmd::Load(a) => cmd_load(a).await,
        Cmd::Direct(a) => {
            let s = site(&a.site)?;
            let sc = scenario::parse_list(&a.scenarios)?;
            let rows =
                suites::direct_vs_bridge(&s, &sc, a.warmup, a.requests, !a.site.quiet).await?;
            write_json(&a.site.out, &rows)
        }
        Cmd::Cold(a) => {
            let s = site(&a.site)?;
            let r = suites::cold(
                &s,
                a.reps.max(1),
                a.warm,
                a.efs_delay_us.map(Duration::from_micros),
                Duration::from_millis(a.efs_ttl_ms),
                a.efs_reps,
                !a.site.quiet,
            )
            .await?;
            write_json(&a.site.out, &r)
        }
        Cmd::Serve(a) => {
            if !a.listen.ip().is_loopback() {
                bail!("serve listens on loopback only");
            }
            let s = site(&a.site)?;
            lambda_fpm_bench::front::serve(&s, a.listen, a.sandboxes).await
        }
        Cmd::Soak(a) => {
            let s = site(&a.site)?;
            let r = suites::soak(&s, a.requests, !a.site.quiet).await?;
            write_json(&a.site.out, &r)
        }
        Cmd::Efs(a) => {
            let s = site(&a.site)?;
            let warm = scenario::parse_duration(&a.warm)?;
            let ttls = a
                .ttl_ms
                .split(',')
                .map(|t| t.trim().parse::<u64>().map(Duration::from_millis))
                .collect::<Result<Vec<_>, _>>()
                .context("bad --ttl-ms")?;
            let cookies: Vec<String> = a
                .admin_cookies
                .as_deref()
                .unwrap_or("")
                .split(';')
                .map(|c| c.trim().to_string())
                .filter(|c| !c.is_empty())
                .collect();
            let r = suites::efs_compare(
                &s,
                Duration::from_micros(a.delay_us),
                &ttls,
                warm,
                &cookies,
                !a.site.quiet,
            )
            .await?;
            write_json(&a.site.out, &r)
        }
        Cmd::EfsMount(a) => {
            let d = Duration::from_micros(a.delay_us);
            let m = efs::mount(
                &a.source,
                &a.mountpoint,
                efs::Delays {
                    metadata: d,
                    read: d,
                    ttl: Duration::from_millis(a.ttl_ms),
                },
                4,
            )?;
            eprintln!(
                "mounted {} at {} ({} µs per operation); Ctrl-C to unmount",
                a.source.display(),
                a.mountpoint.display(),
                a.delay_us
            );
            let mut term =
                tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;
            tokio::select! {
                _ = tokio::signal::ctrl_c() => {}
                _ = term.recv() => {}
            }
            let counts = m.counters.snapshot();
            m.unmount()?;
            println!("{}", serde_json::to_string_pretty(&counts)?);
            Ok(())
        }
        Cmd::Report { dir } => {
            print!("{}", report::markdown(&dir)?);
            Ok(())
        }
    }
}

fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    let rt = match tokio::runtime::Runtime::new() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("lambda-fpm-bench: {e}");
            return std::process::ExitCode::FAILURE;
        }
    };
    match rt.block_on(run(cli)) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("lambda-fpm-bench: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}
