//! The measurement suites that run the real `bootstrap` under the in-process Runtime API
//! emulator: bridge vs direct FastCGI, cold start, soak, and the EFS simulator comparison.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use indicatif::{ProgressBar, ProgressStyle};
use serde::Serialize;
use serde_json::Value;

use crate::efs::{self, Delays, OpCounts};
use crate::fcgi::{self, PhpFpm};
use crate::lambda::{self, Bridge, BridgeSpec, RuntimeApi, bridge_rss};
use crate::scenario::{self, Kind, Scenario};
use crate::stats::{self, Recorder, Spread, Summary};

const INVOKE_WAIT: Duration = Duration::from_secs(60);

/// Where the site and PHP are, shared by every suite.
#[derive(Clone, Debug)]
pub struct Site {
    pub bootstrap: PathBuf,
    pub php_fpm: PathBuf,
    pub ini: PathBuf,
    pub conf: PathBuf,
    pub scan_dir: String,
    pub docroot: PathBuf,
    /// KEY=VALUE environment for PHP (WordPress DB settings).
    pub env: Vec<(String, String)>,
    /// Host header WordPress sees (its URLs are built from it).
    pub host: String,
    /// Scratch directory (runtime dirs, generated ini files, logs).
    pub work: PathBuf,
}

/// Reads KEY=VALUE lines (blank lines and # comments skipped).
pub fn read_env_file(path: &Path) -> Result<Vec<(String, String)>> {
    let text = std::fs::read_to_string(path).with_context(|| format!("{}", path.display()))?;
    Ok(parse_env(&text))
}

pub fn parse_env(text: &str) -> Vec<(String, String)> {
    text.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .filter_map(|l| l.split_once('='))
        .map(|(k, v)| (k.trim().to_string(), v.to_string()))
        .collect()
}

/// Writes `base` + overrides (later lines win in php.ini) to `out`.
pub fn derived_ini(base: &Path, overrides: &[String], out: &Path) -> Result<PathBuf> {
    let mut s = std::fs::read_to_string(base).with_context(|| format!("{}", base.display()))?;
    s.push_str("\n; ---- lambda-fpm-bench overrides ----\n");
    for o in overrides {
        s.push_str(o);
        s.push('\n');
    }
    std::fs::write(out, s)?;
    Ok(out.to_path_buf())
}

fn fresh_dir(p: &Path) -> Result<()> {
    if p.exists() {
        std::fs::remove_dir_all(p).with_context(|| format!("removing {}", p.display()))?;
    }
    std::fs::create_dir_all(p)?;
    Ok(())
}

/// Each cold life's runtime directory (php-fpm's socket, the opcache file cache the seed is
/// restored into) on a new, empty ext4 file system, as a Lambda sandbox gets its own /tmp.
///
/// Measured why: in one long-lived /tmp, where every life writes and deletes ~700 files, ext4's
/// inode allocator spends its time in `recently_deleted()` (perf: ~25 % of the bridge's samples,
/// all under `ext4_create`) and the restore at init took 250-650 ms, against 75-100 ms for the
/// same archive in a quiet directory; the number depended on what ran just before.
/// Falls back to a plain directory (reported as such) where loop mounts are not allowed.
struct FreshFs {
    mountpoint: PathBuf,
    image: PathBuf,
    mounted: bool,
}

/// An empty directory at `p`, after detaching a file system an interrupted run left mounted
/// there (`umount` fails quietly when there is none).
fn fresh_mountpoint(p: &Path) -> Result<()> {
    let _ = std::process::Command::new("umount")
        .arg("-l")
        .arg(p)
        .stderr(std::process::Stdio::null())
        .status();
    fresh_dir(p)
}

/// Lambda's default ephemeral storage.
const FRESH_FS_BYTES: u64 = 512 << 20;

impl FreshFs {
    fn new(mountpoint: &Path, image: &Path) -> Result<FreshFs> {
        fresh_mountpoint(mountpoint)?;
        let mut fs = FreshFs {
            mountpoint: mountpoint.to_path_buf(),
            image: image.to_path_buf(),
            mounted: false,
        };
        let _ = std::fs::remove_file(image);
        std::fs::File::create(image)?.set_len(FRESH_FS_BYTES)?;
        let quiet = |cmd: &mut std::process::Command| {
            cmd.stdout(std::process::Stdio::null())
                .stderr(std::process::Stdio::null())
                .status()
                .map(|s| s.success())
                .unwrap_or(false)
        };
        // inode tables and journal written now, not by ext4lazyinit during the measurement
        fs.mounted = quiet(
            std::process::Command::new("mkfs.ext4")
                .args(["-q", "-F", "-E", "lazy_itable_init=0,lazy_journal_init=0"])
                .arg(image),
        ) && quiet(
            std::process::Command::new("mount")
                .args(["-o", "loop"])
                .arg(image)
                .arg(mountpoint),
        );
        if !fs.mounted {
            let _ = std::fs::remove_file(image);
        }
        Ok(fs)
    }

    fn kind(&self) -> &'static str {
        if self.mounted {
            "fresh 512 MiB ext4 per life (loop mount)"
        } else {
            "plain directory in the work dir (loop mount not available)"
        }
    }
}

impl Drop for FreshFs {
    fn drop(&mut self) {
        if self.mounted {
            // php-fpm may still be exiting (it follows the bridge on SIGTERM): retry, then detach
            let umount = |lazy: bool| {
                let mut cmd = std::process::Command::new("umount");
                if lazy {
                    cmd.arg("-l");
                }
                cmd.arg(&self.mountpoint)
                    .stderr(std::process::Stdio::null())
                    .status()
                    .is_ok_and(|s| s.success())
            };
            if !(0..40).any(|_| {
                umount(false) || {
                    std::thread::sleep(Duration::from_millis(50));
                    false
                }
            }) {
                umount(true);
            }
            let _ = std::fs::remove_file(&self.image);
        }
    }
}

pub fn copy_dir(from: &Path, to: &Path) -> Result<u64> {
    let mut n = 0;
    std::fs::create_dir_all(to)?;
    for e in std::fs::read_dir(from)? {
        let e = e?;
        let dest = to.join(e.file_name());
        if e.file_type()?.is_dir() {
            n += copy_dir(&e.path(), &dest)?;
        } else {
            std::fs::copy(e.path(), &dest)?;
            n += 1;
        }
    }
    Ok(n)
}

impl Site {
    pub fn bridge_spec(
        &self,
        docroot: &Path,
        ini: &Path,
        runtime: &Path,
        log: &Path,
    ) -> BridgeSpec {
        let mut env = self.env.clone();
        let ours = [
            (
                "LAMBDA_FPM_DOCUMENT_ROOT",
                docroot.to_string_lossy().to_string(),
            ),
            (
                "LAMBDA_FPM_PHP_FPM",
                self.php_fpm.to_string_lossy().to_string(),
            ),
            ("LAMBDA_FPM_PHP_INI", ini.to_string_lossy().to_string()),
            (
                "LAMBDA_FPM_PHP_FPM_CONF",
                self.conf.to_string_lossy().to_string(),
            ),
            ("LAMBDA_FPM_PHP_INI_SCAN_DIR", self.scan_dir.clone()),
            (
                "LAMBDA_FPM_RUNTIME_DIR",
                runtime.to_string_lossy().to_string(),
            ),
            ("LAMBDA_FPM_DIRECT_SCHEME", "http".to_string()),
            ("LAMBDA_FPM_LOG_FORMAT", "json".to_string()),
        ];
        env.retain(|(k, _)| !ours.iter().any(|(o, _)| o == k));
        env.extend(ours.iter().map(|(k, v)| (k.to_string(), v.clone())));
        BridgeSpec {
            bootstrap: self.bootstrap.clone(),
            env,
            log: log.to_path_buf(),
        }
    }

    /// The shipped php.ini with its opcache file cache moved into `runtime/opcache`.
    pub fn ini_with_cache(&self, runtime: &Path, name: &str, extra: &[&str]) -> Result<PathBuf> {
        let mut o = vec![format!(
            "opcache.file_cache = {}",
            runtime.join("opcache").display()
        )];
        o.extend(extra.iter().map(|s| s.to_string()));
        derived_ini(&self.ini, &o, &self.work.join(format!("php-{name}.ini")))
    }
}

async fn invoke(api: &RuntimeApi, sc: &Scenario, host: &str) -> Result<(u16, u64, Duration)> {
    let t = Instant::now();
    let v = api
        .invoke(&lambda::get_event(&sc.path, host), INVOKE_WAIT)
        .await?;
    let (status, bytes) = lambda::response_status_bytes(&v);
    Ok((status, bytes, t.elapsed()))
}

fn bar(len: u64, prefix: &str, show: bool) -> ProgressBar {
    if !show {
        return ProgressBar::hidden();
    }
    let pb = ProgressBar::new(len);
    pb.set_style(
        ProgressStyle::with_template("{prefix:>22} [{bar:30}] {pos}/{len} ({elapsed})")
            .unwrap_or_else(|_| ProgressStyle::default_bar())
            .progress_chars("=> "),
    );
    pb.set_prefix(prefix.to_string());
    pb
}

// ------------------------------------------------------------------------------ bridge vs direct

#[derive(Debug, Serialize, serde::Deserialize)]
pub struct DirectRow {
    pub scenario: String,
    pub direct: Summary,
    pub bridge: Summary,
    /// bridge p50 − direct p50, ms
    pub added_p50_ms: f64,
    /// bridge mean − direct mean, ms
    pub added_mean_ms: f64,
    pub bridge_log_php_ms_median: Option<f64>,
}

/// The same PHP pages, interleaved: direct FastCGI to a php-fpm of our own vs through the
/// bridge (emulator invoke, no HTTP front). Interleaving makes both see the same machine noise.
pub async fn direct_vs_bridge(
    site: &Site,
    scenarios: &[Scenario],
    warmup: u64,
    requests: u64,
    progress: bool,
) -> Result<Vec<DirectRow>> {
    fresh_dir(&site.work.join("direct"))?;
    let rt_direct = site.work.join("direct/fpm");
    let rt_bridge = site.work.join("direct/bridge");
    fresh_dir(&rt_bridge)?;
    let ini_d = site.ini_with_cache(&rt_direct, "direct-fpm", &[])?;
    let ini_b = site.ini_with_cache(&rt_bridge, "direct-bridge", &[])?;
    std::fs::create_dir_all(rt_bridge.join("opcache"))?;
    // php-fpm as the bridge starts it (its environment from `bootstrap --php-env`)
    let spec = site.bridge_spec(
        &site.docroot,
        &ini_d,
        &rt_direct,
        &site.work.join("direct/php-env.log"),
    );
    let mut env = site.env.clone();
    env.extend(lambda::php_env(&spec)?);
    let mut fpm = PhpFpm::start(
        &site.php_fpm,
        &ini_d,
        &site.conf,
        &rt_direct,
        &env,
        &site.work.join("direct/php-fpm.log"),
    )?;
    let api = RuntimeApi::start().await?;
    let mut bridge = Bridge::spawn(
        &site.bridge_spec(
            &site.docroot,
            &ini_b,
            &rt_bridge,
            &site.work.join("direct/bootstrap.log"),
        ),
        &api,
    )?;
    lambda::wait_ready(&api, &mut bridge, Duration::from_secs(20)).await?;
    let mut rows = Vec::new();
    let result: Result<()> = async {
        for sc in scenarios.iter().filter(|s| s.kind == Kind::Php) {
            for _ in 0..warmup {
                fcgi::render(&fpm.socket, &site.docroot, sc, &site.host).await?;
                invoke(&api, sc, &site.host).await?;
            }
            let (mut rd, mut rb) = (Recorder::new(), Recorder::new());
            let (mut td, mut tb) = (Duration::ZERO, Duration::ZERO);
            let mut php_ms = Vec::new();
            let pb = bar(requests, &format!("direct+bridge/{}", sc.name), progress);
            for i in 0..requests {
                // alternate which goes first, so neither always runs right after the other
                for direct_turn in [i % 2 == 0, i % 2 == 1] {
                    if direct_turn {
                        let t = Instant::now();
                        match fcgi::render(&fpm.socket, &site.docroot, sc, &site.host).await {
                            Ok((s, b)) => rd.record(t.elapsed(), s, b as u64, sc.expect),
                            Err(_) => rd.record_failure(t.elapsed(), "fastcgi"),
                        }
                        td += t.elapsed();
                    } else {
                        match invoke(&api, sc, &site.host).await {
                            Ok((s, b, d)) => {
                                rb.record(d, s, b, sc.expect);
                                tb += d;
                            }
                            Err(_) => rb.record_failure(Duration::from_secs(0), "invoke"),
                        }
                        if let Some(p) = bridge.last_log_number("php_ms") {
                            php_ms.push(p);
                        }
                    }
                }
                pb.inc(1);
            }
            pb.finish_and_clear();
            let (d, b) = (rd.summary(td), rb.summary(tb));
            let row = DirectRow {
                scenario: sc.name.clone(),
                added_p50_ms: stats::round(b.p50_ms - d.p50_ms, 3),
                added_mean_ms: stats::round(b.mean_ms - d.mean_ms, 3),
                bridge_log_php_ms_median: (!php_ms.is_empty()).then(|| stats::median(&php_ms)),
                direct: d,
                bridge: b,
            };
            if progress {
                eprintln!(
                    "{:>22}  direct p50 {:.2} ms  bridge p50 {:.2} ms  added {:.2} ms",
                    format!("direct/{}", sc.name),
                    row.direct.p50_ms,
                    row.bridge.p50_ms,
                    row.added_p50_ms
                );
            }
            rows.push(row);
        }
        Ok(())
    }
    .await;
    bridge.stop().await;
    fpm.stop();
    result.map(|_| rows)
}

// ------------------------------------------------------------------------------ cold start

#[derive(Debug, Clone, Serialize, serde::Deserialize, Default)]
pub struct ColdSample {
    /// process start → first GET /next (bridge init incl. php-fpm start)
    pub init_ms: f64,
    /// first GET /next → home page answered
    pub first_request_ms: f64,
    /// process start → home page answered
    pub total_ms: f64,
    pub status: u16,
    /// the bridge's own init_ms / php_ms log fields
    pub log_init_ms: Option<f64>,
    pub log_php_ms: Option<f64>,
    /// median warm home render through the bridge after the cold one
    pub warm_ms: f64,
    pub fs_ops: Option<OpCounts>,
}

#[derive(Debug, Clone, Serialize, serde::Deserialize, Default)]
pub struct ColdVariant {
    pub name: String,
    pub storage: String,
    pub samples: Vec<ColdSample>,
    pub total: Spread,
    pub init: Spread,
    pub first_request: Spread,
    pub warm: Spread,
    /// median total / median warm
    pub cold_over_warm: f64,
    /// median first request / median warm: the first page a new sandbox serves after its init
    #[serde(default)]
    pub first_over_warm: f64,
}

#[derive(Debug, Serialize, serde::Deserialize, Default)]
pub struct ColdReport {
    pub reps: usize,
    /// which php-fpm ran (host Debian package, or the layer's under /opt)
    #[serde(default)]
    pub php_fpm: String,
    pub variants: Vec<ColdVariant>,
    /// what the runtime directory (opcache file cache) of each life was on
    #[serde(default)]
    pub runtime_fs: String,
    /// KiB, right after init (before the first request)
    pub rss_idle_bridge_kib: u64,
    pub rss_idle_php_fpm_kib: u64,
    /// KiB, after the warm requests
    pub rss_after_warm_bridge_kib: u64,
    pub rss_after_warm_php_fpm_kib: u64,
    /// EFS simulator settings of the efs-sim rows
    #[serde(default)]
    pub efs_delay_us: u64,
    #[serde(default)]
    pub efs_ttl_ms: u64,
}

/// What one cold sandbox runs with.
struct Life<'a> {
    docroot: &'a Path,
    ini: &'a Path,
    runtime: &'a Path,
    /// added to the bridge's environment (e.g. LAMBDA_FPM_OPCACHE_PRIME)
    extra_env: &'a [(&'a str, &'a str)],
}

/// One sandbox life: spawn, first home page, `warm` more home pages, stop.
async fn cold_once(
    site: &Site,
    life: Life<'_>,
    warm: usize,
    counters: Option<&efs::Counters>,
    rss: Option<&mut ColdReport>,
) -> Result<ColdSample> {
    let Life {
        docroot,
        ini,
        runtime,
        extra_env,
    } = life;
    let home = &scenario::builtin()[0];
    let api = RuntimeApi::start().await?;
    let before = counters.map(|c| c.snapshot());
    let mut spec = site.bridge_spec(docroot, ini, runtime, &site.work.join("cold-bootstrap.log"));
    spec.env.extend(
        extra_env
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string())),
    );
    let bridge = Bridge::spawn(&spec, &api)?;
    let spawned = bridge.spawned;
    // queue the first event at once: it is handed out as soon as init asks for work
    let first = invoke(&api, home, &site.host);
    let ready_watch = async {
        loop {
            if let Some(t) = api.first_next() {
                return t;
            }
            tokio::time::sleep(Duration::from_micros(200)).await;
        }
    };
    let (first, ready) = tokio::join!(first, ready_watch);
    let done = Instant::now();
    let outcome: Result<ColdSample> = async {
        let (status, _, _) = first?;
        let fs_ops = match (counters, before) {
            (Some(c), Some(b)) => Some(c.snapshot().minus(&b)),
            _ => None,
        };
        let mut s = ColdSample {
            init_ms: stats::round((ready - spawned).as_secs_f64() * 1000.0, 2),
            first_request_ms: stats::round((done - ready).as_secs_f64() * 1000.0, 2),
            total_ms: stats::round((done - spawned).as_secs_f64() * 1000.0, 2),
            status,
            log_init_ms: bridge.last_log_number("init_ms"),
            log_php_ms: bridge.last_log_number("php_ms"),
            warm_ms: 0.0,
            fs_ops,
        };
        let mut warm_ms = Vec::new();
        for i in 0..warm + 2 {
            let (_, _, d) = invoke(&api, home, &site.host).await?;
            if i >= 2 {
                warm_ms.push(d.as_secs_f64() * 1000.0);
            }
        }
        s.warm_ms = stats::round(stats::median(&warm_ms), 2);
        if let Some(r) = rss {
            let (b, f) = bridge_rss(bridge.pid);
            r.rss_after_warm_bridge_kib = b;
            r.rss_after_warm_php_fpm_kib = f;
        }
        Ok(s)
    }
    .await;
    bridge.stop().await;
    outcome
}

/// Measures idle RSS right after init (a separate short life).
async fn idle_rss(site: &Site, ini: &Path, runtime: &Path, r: &mut ColdReport) -> Result<()> {
    let api = RuntimeApi::start().await?;
    let mut bridge = Bridge::spawn(
        &site.bridge_spec(
            &site.docroot,
            ini,
            runtime,
            &site.work.join("cold-bootstrap.log"),
        ),
        &api,
    )?;
    lambda::wait_ready(&api, &mut bridge, Duration::from_secs(20)).await?;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let (b, f) = bridge_rss(bridge.pid);
    r.rss_idle_bridge_kib = b;
    r.rss_idle_php_fpm_kib = f;
    bridge.stop().await;
    Ok(())
}

fn variant_summary(name: &str, storage: &str, samples: Vec<ColdSample>) -> ColdVariant {
    let pick = |f: fn(&ColdSample) -> f64| samples.iter().map(f).collect::<Vec<_>>();
    let total = stats::spread(&pick(|s| s.total_ms));
    let warm = stats::spread(&pick(|s| s.warm_ms));
    let first_request = stats::spread(&pick(|s| s.first_request_ms));
    let ratio = |a: f64, b: f64| if b > 0.0 { stats::round(a / b, 2) } else { 0.0 };
    ColdVariant {
        name: name.into(),
        storage: storage.into(),
        init: stats::spread(&pick(|s| s.init_ms)),
        cold_over_warm: ratio(total.median, warm.median),
        first_over_warm: ratio(first_request.median, warm.median),
        first_request,
        total,
        warm,
        samples,
    }
}

/// Fills a seed opcache file cache: one sandbox serving every PHP scenario once.
/// Also publishes the seed archive into `archive_dir` the way a deployment does: the bridge's
/// own `warm` command (`LAMBDA_FPM_OPCACHE_SEED_DIR` = `archive_dir`); the seeded cold runs
/// restore it at init like a new sandbox.
async fn make_seed(
    site: &Site,
    docroot: &Path,
    seed: &Path,
    archive_dir: &Path,
    tag: &str,
) -> Result<u64> {
    let rt = site.work.join(format!("seed-rt-{tag}"));
    fresh_dir(&rt)?;
    fresh_dir(archive_dir)?;
    std::fs::create_dir_all(rt.join("opcache"))?;
    let ini = site.ini_with_cache(&rt, &format!("seed-{tag}"), &[])?;
    let api = RuntimeApi::start().await?;
    let mut spec = site.bridge_spec(docroot, &ini, &rt, &site.work.join("seed-bootstrap.log"));
    spec.env.push((
        "LAMBDA_FPM_OPCACHE_SEED_DIR".into(),
        archive_dir.display().to_string(),
    ));
    // the cold suite measures the seed without the code mirror (its scripts' paths)
    spec.env
        .push(("LAMBDA_FPM_CODE_MIRROR".into(), "off".into()));
    let mut bridge = Bridge::spawn(&spec, &api)?;
    let r: Result<()> = async {
        lambda::wait_ready(&api, &mut bridge, Duration::from_secs(30)).await?;
        for sc in scenario::builtin().iter().filter(|s| s.kind == Kind::Php) {
            invoke(&api, sc, &site.host).await?;
        }
        let warm = serde_json::json!({"lambda_fpm": {"command": "warm"}});
        let answer = api.invoke(&warm, INVOKE_WAIT).await?;
        if answer["opcache_seed"]["published"] != serde_json::json!(true) {
            anyhow::bail!("warm did not publish the opcache seed: {answer}");
        }
        Ok(())
    }
    .await;
    bridge.stop().await;
    r?;
    fresh_dir(seed)?;
    copy_dir(&rt.join("opcache"), seed)
}

/// Cold start, `reps` times each: empty opcache (file cache enabled, empty, as a new sandbox
/// with the shipped php.ini), and a file cache filled at init from the seed archive the `warm`
/// command published (the bridge's own restore, as on Lambda), also primed.
/// With `efs_delay`, the site is read through the EFS simulator.
pub async fn cold(
    site: &Site,
    reps: usize,
    warm: usize,
    efs_delay: Option<Duration>,
    efs_ttl: Duration,
    efs_reps: usize,
    progress: bool,
) -> Result<ColdReport> {
    let mut report = ColdReport {
        reps,
        php_fpm: site.php_fpm.display().to_string(),
        efs_delay_us: efs_delay.map(|d| d.as_micros() as u64).unwrap_or(0),
        efs_ttl_ms: efs_ttl.as_millis() as u64,
        ..Default::default()
    };
    let rt = site.work.join("cold-rt");
    fresh_mountpoint(&rt)?;
    let ini = site.ini_with_cache(&rt, "cold", &[])?;
    idle_rss(site, &ini, &rt, &mut report).await?;

    let mut storages: Vec<(&str, Option<Duration>)> = vec![("local disk", None)];
    if let Some(d) = efs_delay {
        storages.push(("efs-sim", Some(d)));
    }
    for (storage, delay) in storages {
        let (mounted, docroot) = match delay {
            None => (None, site.docroot.clone()),
            Some(d) => {
                let (m, dr) = mount_site(site, d, efs_ttl)?;
                (Some(m), dr)
            }
        };
        let tag = if mounted.is_some() { "efs" } else { "local" };
        let seed = site.work.join(format!("seed-opcache-{tag}"));
        // The seed archive sits where sandboxes read it: on the (simulated) EFS next to the
        // site, or in the work dir on local disk. The empty runs get an empty seed directory.
        // (Published on the real disk under the simulator's source: it is read-mostly and does
        // not implement creating files; read back through the mount, paying its latency.)
        let (archive_dir, publish_dir) = match &mounted {
            Some(m) => (
                m.mountpoint.join(".lambda-fpm-bench-seed"),
                site.docroot
                    .parent()
                    .context("docroot has no parent")?
                    .join(".lambda-fpm-bench-seed"),
            ),
            None => {
                let d = site.work.join("seed-archive-local");
                (d.clone(), d)
            }
        };
        let no_seed = site.work.join("seed-archive-none");
        fresh_dir(&no_seed)?;
        let files = make_seed(site, &docroot, &seed, &publish_dir, tag).await?;
        let (archive_dir_s, no_seed_s) = (
            archive_dir.display().to_string(),
            no_seed.display().to_string(),
        );
        if progress {
            eprintln!("seed opcache file cache ({storage}): {files} files");
        }
        for (short, prefilled, prime) in [
            ("empty", false, false),
            ("filled", true, false),
            ("primed", true, true),
        ] {
            let name = match short {
                "empty" => "empty opcache",
                "filled" => "seed archive restored at init",
                _ => "seed restored + primed at init (LAMBDA_FPM_OPCACHE_PRIME=on)",
            };
            // under the simulator every page costs seconds: fewer runs, fewer warm pages
            let (n, warm_n) = if mounted.is_some() {
                (efs_reps.max(1), warm.min(2))
            } else {
                (reps, warm)
            };
            let pb = bar(n as u64, &format!("cold/{tag}/{short}"), progress);
            let mut samples = Vec::new();
            for _ in 0..n {
                let fresh = FreshFs::new(&rt, &site.work.join("runtime-fs.img"))?;
                report.runtime_fs = fresh.kind().to_string();
                std::fs::create_dir_all(rt.join("opcache"))?;
                let rss = if !prefilled && samples.is_empty() && tag == "local" {
                    Some(&mut report)
                } else {
                    None
                };
                let c = mounted.as_ref().map(|m| m.counters.as_ref());
                // seeded runs restore the published archive at init, as a new sandbox does
                let seed_dir = if prefilled {
                    &archive_dir_s
                } else {
                    &no_seed_s
                };
                // the code mirror is measured by the efs suite; these are the seed's numbers
                let mut extra = vec![
                    ("LAMBDA_FPM_OPCACHE_SEED_DIR", seed_dir.as_str()),
                    ("LAMBDA_FPM_CODE_MIRROR", "off"),
                ];
                if prime {
                    extra.push(("LAMBDA_FPM_OPCACHE_PRIME", "on"));
                }
                let life = Life {
                    docroot: &docroot,
                    ini: &ini,
                    runtime: &rt,
                    extra_env: &extra,
                };
                samples.push(cold_once(site, life, warm_n, c, rss).await?);
                pb.inc(1);
            }
            pb.finish_and_clear();
            let v = variant_summary(name, storage, samples);
            if progress {
                eprintln!(
                    "{:>22}  cold total median {:.1} ms (init {:.1} + first request {:.1}); warm {:.1} ms; total/warm {:.2}, first/warm {:.2}",
                    format!("cold/{tag}/{short}"),
                    v.total.median,
                    v.init.median,
                    v.first_request.median,
                    v.warm.median,
                    v.cold_over_warm,
                    v.first_over_warm
                );
            }
            report.variants.push(v);
        }
        if let Some(m) = mounted {
            // issue 7's other option: the pre-compiled cache read in place from EFS (next to the
            // site) instead of copied to /tmp first
            let (n, warm_n) = (efs_reps.max(1), warm.min(2));
            let parent = site.docroot.parent().context("docroot has no parent")?;
            let on_efs = parent.join(".lambda-fpm-bench-opcache");
            fresh_dir(&on_efs)?;
            copy_dir(&seed, &on_efs)?;
            let cache_in_mount = m.mountpoint.join(".lambda-fpm-bench-opcache");
            let ini_efs = derived_ini(
                &site.ini,
                &[format!("opcache.file_cache = {}", cache_in_mount.display())],
                &site.work.join("php-cold-cache-on-efs.ini"),
            )?;
            let mut samples = Vec::new();
            for _ in 0..n {
                fresh_dir(&rt)?;
                samples.push(
                    cold_once(
                        site,
                        Life {
                            docroot: &docroot,
                            ini: &ini_efs,
                            runtime: &rt,
                            extra_env: &[
                                ("LAMBDA_FPM_OPCACHE_SEED_DIR", no_seed_s.as_str()),
                                ("LAMBDA_FPM_CODE_MIRROR", "off"),
                            ],
                        },
                        warm_n,
                        Some(&m.counters),
                        None,
                    )
                    .await?,
                );
            }
            let v = variant_summary("pre-filled file cache read from EFS", storage, samples);
            if progress {
                eprintln!(
                    "{:>22}  cold total median {:.1} ms; warm {:.1} ms",
                    "cold/efs/cache-on-efs", v.total.median, v.warm.median
                );
            }
            report.variants.push(v);
            m.unmount()?;
            let _ = std::fs::remove_dir_all(&on_efs);
            let _ = std::fs::remove_dir_all(parent.join(".lambda-fpm-bench-seed"));
        }
    }
    Ok(report)
}

/// Mounts the docroot's parent through the simulator; returns the docroot inside the mount.
fn mount_site(site: &Site, delay: Duration, ttl: Duration) -> Result<(efs::Mounted, PathBuf)> {
    let parent = site.docroot.parent().context("docroot has no parent")?;
    let base = site.docroot.file_name().context("docroot name")?;
    let mnt = site.work.join("efs-mnt");
    let _ = std::process::Command::new("umount")
        .arg("-l")
        .arg(&mnt)
        .status();
    let m = efs::mount(
        parent,
        &mnt,
        Delays {
            metadata: delay,
            read: delay,
            ttl,
        },
        4,
    )?;
    let docroot = mnt.join(base);
    if !docroot.join("wp-settings.php").exists() {
        bail!("{} not visible through the FUSE mount", docroot.display());
    }
    Ok((m, docroot))
}

// ------------------------------------------------------------------------------ soak

#[derive(Debug, Serialize, serde::Deserialize, Default)]
pub struct SoakReport {
    pub requests: u64,
    pub seconds: f64,
    pub errors: u64,
    pub unexpected_status: u64,
    pub status: BTreeMap<String, u64>,
    pub per_scenario: BTreeMap<String, Summary>,
    /// (requests done, bridge KiB, php-fpm KiB)
    pub rss: Vec<(u64, u64, u64)>,
    pub rss_bridge_start_kib: u64,
    pub rss_bridge_end_kib: u64,
    pub rss_bridge_max_kib: u64,
    pub rss_php_fpm_start_kib: u64,
    pub rss_php_fpm_end_kib: u64,
    pub php_fpm_restarts_seen: u64,
}

/// A fixed mix (weights out of 20) of the built-in scenarios.
pub fn soak_mix() -> Vec<Scenario> {
    let all = scenario::builtin();
    let by = |n: &str| all.iter().find(|s| s.name == n).unwrap().clone();
    let weights = [
        ("home", 4),
        ("post", 3),
        ("api", 2),
        ("404", 1),
        ("login", 1),
        ("css", 4),
        ("image", 4),
        ("large", 1),
    ];
    let mut mix = Vec::new();
    for (n, w) in weights {
        for _ in 0..w {
            mix.push(by(n));
        }
    }
    mix
}

pub async fn soak(site: &Site, requests: u64, progress: bool) -> Result<SoakReport> {
    let rt = site.work.join("soak-rt");
    fresh_dir(&rt)?;
    std::fs::create_dir_all(rt.join("opcache"))?;
    let ini = site.ini_with_cache(&rt, "soak", &[])?;
    let api = RuntimeApi::start().await?;
    let log = site.work.join("soak-bootstrap.log");
    let _ = std::fs::remove_file(&log);
    let mut bridge = Bridge::spawn(&site.bridge_spec(&site.docroot, &ini, &rt, &log), &api)?;
    let mix = soak_mix();
    let mut report = SoakReport::default();
    let r: Result<()> = async {
        lambda::wait_ready(&api, &mut bridge, Duration::from_secs(20)).await?;
        for sc in &mix {
            invoke(&api, sc, &site.host).await?;
        }
        let (b0, f0) = bridge_rss(bridge.pid);
        report.rss_bridge_start_kib = b0;
        report.rss_php_fpm_start_kib = f0;
        report.rss.push((0, b0, f0));
        let mut recs: BTreeMap<String, (Recorder, Duration)> = BTreeMap::new();
        let sample_every = (requests / 40).max(1);
        let pb = bar(requests, "soak", progress);
        let started = Instant::now();
        for i in 0..requests {
            let sc = &mix[(i as usize * 7) % mix.len()];
            let entry = recs
                .entry(sc.name.clone())
                .or_insert_with(|| (Recorder::new(), Duration::ZERO));
            match invoke(&api, sc, &site.host).await {
                Ok((s, b, d)) => {
                    entry.0.record(d, s, b, sc.expect);
                    entry.1 += d;
                }
                Err(_) => entry.0.record_failure(Duration::ZERO, "invoke"),
            }
            if (i + 1) % sample_every == 0 {
                let (b, f) = bridge_rss(bridge.pid);
                report.rss.push((i + 1, b, f));
            }
            pb.inc(1);
        }
        pb.finish_and_clear();
        report.seconds = stats::round(started.elapsed().as_secs_f64(), 2);
        let mut all = Recorder::new();
        for (name, (rec, t)) in &recs {
            all.merge(rec);
            report.per_scenario.insert(name.clone(), rec.summary(*t));
        }
        report.requests = all.count();
        report.errors = all.errors;
        report.unexpected_status = all.unexpected;
        report.status = all.status.clone();
        let (b1, f1) = bridge_rss(bridge.pid);
        report.rss_bridge_end_kib = b1;
        report.rss_php_fpm_end_kib = f1;
        report.rss_bridge_max_kib = report.rss.iter().map(|x| x.1).max().unwrap_or(0).max(b1);
        Ok(())
    }
    .await;
    bridge.stop().await;
    let text = std::fs::read_to_string(&log).unwrap_or_default();
    report.php_fpm_restarts_seen = text.matches("restarting").count() as u64;
    r.map(|_| report)
}

// ------------------------------------------------------------------------------ EFS simulator

#[derive(Debug, Serialize, serde::Deserialize, Default, Clone)]
pub struct EfsVariant {
    pub name: String,
    /// kernel entry/attribute cache time of this run
    #[serde(default)]
    pub ttl_ms: u64,
    pub ini_overrides: Vec<String>,
    /// bridge settings of this variant (e.g. LAMBDA_FPM_CODE_MIRROR=off)
    #[serde(default)]
    pub env: Vec<String>,
    pub cold_total_ms: f64,
    /// the first request alone (init excluded)
    #[serde(default)]
    pub cold_first_request_ms: f64,
    pub cold_fs_ops: OpCounts,
    pub warm: Summary,
    /// round trips per warm home request: mean and worst single request
    pub warm_ops_per_request: f64,
    pub warm_ops_max_request: u64,
    pub warm_ops: OpCounts,
    pub static_css: Summary,
    pub static_ops_per_request: f64,
    /// one warm request of each traced page: where its round trips went
    #[serde(default)]
    pub traces: Vec<PageTrace>,
}

/// One warm request's file-system operations, by kind and by path class.
#[derive(Debug, Serialize, serde::Deserialize, Default, Clone)]
pub struct PageTrace {
    pub page: String,
    pub path: String,
    pub status: u16,
    pub ms: f64,
    pub round_trips: u64,
    /// by kind, in `efs::KINDS` order
    pub by_kind: Vec<u64>,
    /// (path class, round trips, by kind), largest first
    pub by_class: Vec<(String, u64, Vec<u64>)>,
}

#[derive(Debug, Serialize, serde::Deserialize, Default)]
pub struct EfsReport {
    pub delay_us: u64,
    pub warm_seconds: f64,
    pub variants: Vec<EfsVariant>,
    /// the home page under the same bridge build on the local disk (no simulator), for the
    /// EFS/local ratios
    #[serde(default)]
    pub local_warm: Option<Summary>,
}

/// One variant under the simulator: (name, php.ini overrides, bridge settings).
pub type EfsVariantSpec = (&'static str, Vec<String>, Vec<(String, String)>);

/// The variants compared under the simulator.
pub fn efs_variants() -> Vec<EfsVariantSpec> {
    vec![
        (
            "without the code mirror (shipped php.ini)",
            vec![],
            vec![
                ("LAMBDA_FPM_CODE_MIRROR".into(), "off".into()),
                // the published seed holds the mirror's scripts; this run starts empty, as the
                // table measured it before the mirror (cold.json has EFS with a matching seed)
                ("LAMBDA_FPM_OPCACHE_SEED".into(), "off".into()),
            ],
        ),
        (
            "code mirror, LAMBDA_FPM_OPCACHE_PRIME=off",
            vec![],
            vec![("LAMBDA_FPM_OPCACHE_PRIME".into(), "off".into())],
        ),
        // the default primes at init when the mirror was restored (LAMBDA_FPM_OPCACHE_PRIME=auto)
        ("code mirror (default: primed at init)", vec![], vec![]),
    ]
}

/// The pages traced per variant: (name, path, needs the admin cookie).
fn traced_pages() -> Vec<(&'static str, &'static str, bool)> {
    vec![
        ("home", "/", false),
        ("post", "/hello-world/", false),
        ("dashboard", "/wp-admin/", true),
        ("REST", "/wp-json/wp/v2/posts", false),
    ]
}

async fn invoke_traced(
    api: &RuntimeApi,
    path: &str,
    host: &str,
    cookies: &[String],
) -> Result<(u16, Duration)> {
    let t = Instant::now();
    let v = api
        .invoke(
            &lambda::get_event_with_cookies(path, host, cookies),
            INVOKE_WAIT,
        )
        .await?;
    Ok((lambda::response_status_bytes(&v).0, t.elapsed()))
}

/// The bridge settings of the efs suite's mirror runs: one mirror path for every (sequential)
/// sandbox, as on Lambda (`/tmp/lambda-fpm/site` everywhere), so the opcache seed fits them.
fn mirror_env(site: &Site) -> (String, String) {
    (
        "LAMBDA_FPM_CODE_MIRROR_DIR".into(),
        site.work.join("code-mirror-site").display().to_string(),
    )
}

/// What a deployment's `warm` schedule does, on the site's own (local) root (the simulator
/// refuses writes): a first sandbox's `warm` publishes the code mirror archive; a second one
/// starts on that mirror, warms the traced pages and publishes the opcache seed of the mirror's
/// scripts. Both land in `<docroot>/.lambda-fpm/`, where the runs under the simulator read them.
pub async fn publish_code_mirror(site: &Site) -> Result<Value> {
    let mut results = Vec::new();
    for (i, paths) in [
        Vec::<&str>::new(),
        traced_pages()
            .iter()
            .filter(|p| !p.2)
            .map(|p| p.1)
            .collect(),
    ]
    .into_iter()
    .enumerate()
    {
        let rt = site.work.join(format!("mirror-publish-rt-{i}"));
        fresh_dir(&rt)?;
        std::fs::create_dir_all(rt.join("opcache"))?;
        let ini = site.ini_with_cache(&rt, &format!("mirror-publish-{i}"), &[])?;
        let api = RuntimeApi::start().await?;
        let log = site.work.join(format!("mirror-publish-{i}.log"));
        let mut spec = site.bridge_spec(&site.docroot, &ini, &rt, &log);
        spec.env.push(mirror_env(site));
        let bridge = Bridge::spawn(&spec, &api)?;
        let r = api
            .invoke(
                &serde_json::json!({"lambda_fpm": {"command": "warm", "paths": paths}}),
                Duration::from_secs(180),
            )
            .await;
        bridge.stop().await;
        let v = r?;
        if v["ok"] != true {
            bail!("warm failed: {v}");
        }
        let mirror = &v["code_mirror"];
        if !(mirror["published"] == true || mirror["reason"].is_string()) {
            bail!("the warm command did not publish the code mirror: {v}");
        }
        results.push(serde_json::json!({"code_mirror": mirror, "opcache_seed": v["opcache_seed"]}));
    }
    Ok(Value::Array(results))
}

pub async fn efs_compare(
    site: &Site,
    delay: Duration,
    ttls: &[Duration],
    warm_for: Duration,
    admin_cookies: &[String],
    progress: bool,
) -> Result<EfsReport> {
    let mut report = EfsReport {
        delay_us: delay.as_micros() as u64,
        warm_seconds: warm_for.as_secs_f64(),
        variants: Vec::new(),
        local_warm: None,
    };
    let home = scenario::builtin()[0].clone();
    let css = scenario::builtin()
        .into_iter()
        .find(|s| s.name == "css")
        .unwrap();
    let published = publish_code_mirror(site).await?;
    if progress {
        eprintln!("{:>22}  {published}", "code mirror");
    }
    let runs: Vec<_> = ttls
        .iter()
        .flat_map(|t| {
            efs_variants()
                .into_iter()
                .map(move |(n, o, e)| (*t, n, o, e))
        })
        .collect();
    for (i, (ttl, name, overrides, env)) in runs.into_iter().enumerate() {
        let (mounted, docroot) = mount_site(site, delay, ttl)?;
        let rt = site.work.join(format!("efs-rt-{i}"));
        fresh_dir(&rt)?;
        std::fs::create_dir_all(rt.join("opcache"))?;
        let extra: Vec<&str> = overrides.iter().map(String::as_str).collect();
        let ini = site.ini_with_cache(&rt, &format!("efs-{i}"), &extra)?;
        let api = RuntimeApi::start().await?;
        let log = site.work.join(format!("efs-bootstrap-{i}.log"));
        let _ = std::fs::remove_file(&log);
        let mut spec = site.bridge_spec(&docroot, &ini, &rt, &log);
        spec.env.retain(|(k, _)| !env.iter().any(|(e, _)| e == k));
        spec.env.extend(env.iter().cloned());
        spec.env.push(mirror_env(site));
        let mut bridge = Bridge::spawn(&spec, &api)?;
        let c = mounted.counters.clone();
        let mut v = EfsVariant {
            name: name.into(),
            ttl_ms: ttl.as_millis() as u64,
            ini_overrides: overrides.clone(),
            env: env.iter().map(|(k, v)| format!("{k}={v}")).collect(),
            ..Default::default()
        };
        let r: Result<()> = async {
            let before = c.snapshot();
            // init first (restores, php-fpm start), then the first request alone
            lambda::wait_ready(&api, &mut bridge, Duration::from_secs(60)).await?;
            let t = Instant::now();
            let (status, _, _) = invoke(&api, &home, &site.host).await?;
            if status != 200 {
                bail!("cold home page answered {status} under the EFS simulator");
            }
            v.cold_first_request_ms = stats::round(t.elapsed().as_secs_f64() * 1000.0, 2);
            v.cold_total_ms = stats::round(bridge.spawned.elapsed().as_secs_f64() * 1000.0, 2);
            v.cold_fs_ops = c.snapshot().minus(&before);
            // two more to leave the cold path
            for _ in 0..2 {
                invoke(&api, &home, &site.host).await?;
            }
            let pb = bar(warm_for.as_millis() as u64, &format!("efs/{i}"), progress);
            let mut rec = Recorder::new();
            let started = Instant::now();
            let w0 = c.snapshot();
            let mut worst = 0;
            let mut busy = Duration::ZERO;
            while started.elapsed() < warm_for || rec.count() < 3 {
                let o0 = c.snapshot().round_trips();
                match invoke(&api, &home, &site.host).await {
                    Ok((s, b, d)) => {
                        rec.record(d, s, b, 200);
                        busy += d;
                    }
                    Err(_) => rec.record_failure(Duration::ZERO, "invoke"),
                }
                worst = worst.max(c.snapshot().round_trips() - o0);
                pb.set_position(started.elapsed().as_millis() as u64);
            }
            pb.finish_and_clear();
            v.warm_ops = c.snapshot().minus(&w0);
            v.warm = rec.summary(busy);
            v.warm_ops_per_request = stats::round(
                v.warm_ops.round_trips() as f64 / rec.count().max(1) as f64,
                2,
            );
            v.warm_ops_max_request = worst;
            let mut srec = Recorder::new();
            let s0 = c.snapshot();
            let mut sbusy = Duration::ZERO;
            for _ in 0..40 {
                let (s, b, d) = invoke(&api, &css, &site.host).await?;
                srec.record(d, s, b, 200);
                sbusy += d;
            }
            v.static_ops_per_request =
                stats::round(c.snapshot().minus(&s0).round_trips() as f64 / 40.0, 2);
            v.static_css = srec.summary(sbusy);
            // where one warm request of each page goes (two warm-up requests first)
            for (page, path, needs_cookie) in traced_pages() {
                if needs_cookie && admin_cookies.is_empty() {
                    continue;
                }
                let cookies = if needs_cookie { admin_cookies } else { &[] };
                for _ in 0..2 {
                    invoke_traced(&api, path, &site.host, cookies).await?;
                }
                let p0 = mounted.paths.snapshot();
                let (status, d) = invoke_traced(&api, path, &site.host, cookies).await?;
                let delta = efs::path_delta(&mounted.paths.snapshot(), &p0);
                let mut by_kind = vec![0u64; 8];
                for k in delta.values() {
                    for (i, n) in k.iter().enumerate() {
                        by_kind[i] += n;
                    }
                }
                v.traces.push(PageTrace {
                    page: page.into(),
                    path: path.into(),
                    status,
                    ms: stats::round(d.as_secs_f64() * 1000.0, 2),
                    round_trips: by_kind.iter().sum(),
                    by_kind,
                    by_class: efs::by_class(&delta)
                        .into_iter()
                        .take(12)
                        .map(|(c, n, k)| (c, n, k.to_vec()))
                        .collect(),
                });
            }
            Ok(())
        }
        .await;
        bridge.stop().await;
        mounted.unmount()?;
        r?;
        if progress {
            eprintln!(
                "{:>22}  {name} ttl {} ms: cold {:.0} ms (first request {:.0} ms, {} round trips); warm p50 {:.2} ms, {:.1} round trips/request (worst {}); css {:.1}; traced {}",
                format!("efs/{i}"),
                ttl.as_millis(),
                v.cold_total_ms,
                v.cold_first_request_ms,
                v.cold_fs_ops.round_trips(),
                v.warm.p50_ms,
                v.warm_ops_per_request,
                v.warm_ops_max_request,
                v.static_ops_per_request,
                v.traces
                    .iter()
                    .map(|t| format!("{} {} rt", t.page, t.round_trips))
                    .collect::<Vec<_>>()
                    .join(", ")
            );
        }
        report.variants.push(v);
    }
    // the same home page on the local disk, same build and settings (mirror on), for the ratio
    {
        let rt = site.work.join("efs-rt-local");
        fresh_dir(&rt)?;
        std::fs::create_dir_all(rt.join("opcache"))?;
        let ini = site.ini_with_cache(&rt, "efs-local", &[])?;
        let api = RuntimeApi::start().await?;
        let log = site.work.join("efs-bootstrap-local.log");
        let bridge = Bridge::spawn(&site.bridge_spec(&site.docroot, &ini, &rt, &log), &api)?;
        let r: Result<Summary> = async {
            for _ in 0..3 {
                invoke(&api, &home, &site.host).await?;
            }
            let mut rec = Recorder::new();
            let started = Instant::now();
            let mut busy = Duration::ZERO;
            while started.elapsed() < warm_for || rec.count() < 3 {
                let (s, b, d) = invoke(&api, &home, &site.host).await?;
                rec.record(d, s, b, 200);
                busy += d;
            }
            Ok(rec.summary(busy))
        }
        .await;
        bridge.stop().await;
        report.local_warm = Some(r?);
    }
    Ok(report)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn env_parsing_and_mix() {
        let e = parse_env("# c\nA=1\n\nB = x=y\nnot a pair\n");
        assert_eq!(
            e,
            vec![("A".into(), "1".into()), ("B".into(), " x=y".into())]
        );
        let mix = soak_mix();
        assert_eq!(mix.len(), 20);
        assert_eq!(mix.iter().filter(|s| s.kind == Kind::Static).count(), 9);
    }

    #[test]
    fn derived_ini_appends() {
        let d = std::env::temp_dir().join(format!("lfb-ini-{}", std::process::id()));
        std::fs::create_dir_all(&d).unwrap();
        std::fs::write(d.join("base.ini"), "a = 1\n").unwrap();
        derived_ini(&d.join("base.ini"), &["a = 2".into()], &d.join("out.ini")).unwrap();
        let s = std::fs::read_to_string(d.join("out.ini")).unwrap();
        assert!(s.starts_with("a = 1\n") && s.trim_end().ends_with("a = 2"));
        std::fs::remove_dir_all(&d).unwrap();
    }
}
