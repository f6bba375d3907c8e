//! Start-up configuration: every setting is read once from `LAMBDA_FPM_*` environment
//! variables into one typed [`Config`]. A bad value fails init with a message that names the
//! variable, so a misconfigured function never serves a single request.
//!
//! Parsing is pure: [`Config::from_lookup`] takes a lookup function, so tests pass a map and
//! the binary passes `std::env::var`.

use std::fmt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::cache_policy::CachePolicy;

/// How new sandboxes get a filled opcache file cache (`opcache::seed`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SeedMode {
    Off,
    Copy,
    Direct,
}

/// Name of the archive inside the seed directory.
/// Zstandard rather than gzip: the same WordPress cache (17.5 MB in 340 files) is 3.7 MB instead
/// of 4.2 MB and unpacks in 20-40 ms instead of ~110 ms here; on a fraction of a vCPU that time
/// adds to init, since it runs beside php-fpm's start.
pub const SEED_FILE: &str = "opcache-seed.tar.zst";
/// Name of the shared file cache directory inside the seed directory (direct mode).
pub const SHARED_OPCACHE_DIR: &str = "opcache";

/// The directory php-fpm's `opcache.file_cache` points at (exported as
/// `LAMBDA_FPM_OPCACHE_DIR`).
pub fn file_cache_dir(mode: SeedMode, runtime_dir: &Path, seed_dir: &Path) -> PathBuf {
    match mode {
        SeedMode::Direct => seed_dir.join(SHARED_OPCACHE_DIR),
        SeedMode::Off | SeedMode::Copy => runtime_dir.join("opcache"),
    }
}

/// Limits of the in-memory cache of small static files (`static_files`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CacheLimits {
    /// Total bytes kept (0 disables the cache).
    pub total_bytes: usize,
    /// Files larger than this are never cached.
    pub max_file_bytes: usize,
    /// How long an entry is used without re-checking the file.
    pub ttl: Duration,
}

/// How the function answers HTTP invocations.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InvokeMode {
    /// One JSON response per invocation (API Gateway, ALB, Function URL `BUFFERED`).
    Buffered,
    /// Function URL `RESPONSE_STREAM`: PHP output is streamed as php-fpm produces it.
    ResponseStream,
}

/// Log line format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogFormat {
    /// One JSON object per line (CloudWatch Logs Insights can query the fields).
    Json,
    /// Human-readable lines for local runs.
    Text,
}

/// Where the `Server-Timing` entries go (`server_timing`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ServerTiming {
    /// Nowhere: not measured into the log, not sent; PHP's own header is dropped too.
    Off,
    /// Into the request log only; PHP's own `Server-Timing` is not sent to viewers either.
    Log,
    /// The request log and the response (browsers' dev tools show it).
    On,
}

/// The scheme a request is assumed to have used when no trusted proxy says otherwise.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scheme {
    Http,
    Https,
}

impl Scheme {
    pub fn as_str(self) -> &'static str {
        match self {
            Scheme::Http => "http",
            Scheme::Https => "https",
        }
    }
    pub fn default_port(self) -> u16 {
        match self {
            Scheme::Http => 80,
            Scheme::Https => 443,
        }
    }
}

/// Every setting of the bridge. Built once at start-up.
#[derive(Debug, Clone)]
pub struct Config {
    /// Site root (the EFS mount). `LAMBDA_FPM_DOCUMENT_ROOT`.
    pub document_root: PathBuf,
    /// php-fpm binary. `LAMBDA_FPM_PHP_FPM`.
    pub php_fpm: PathBuf,
    /// php CLI for the `php` command. `LAMBDA_FPM_PHP_CLI`.
    pub php_cli: PathBuf,
    /// php.ini passed with `-c`. `LAMBDA_FPM_PHP_INI`.
    pub php_ini: PathBuf,
    /// php-fpm.conf passed with `--fpm-config`. `LAMBDA_FPM_PHP_FPM_CONF`.
    pub php_fpm_conf: PathBuf,
    /// Exported to php-fpm as `PHP_INI_SCAN_DIR`. `LAMBDA_FPM_PHP_INI_SCAN_DIR`.
    pub php_ini_scan_dir: String,
    /// Exported to php-fpm and the php CLI as `ICU_DATA`: where ICU looks for data the linked
    /// library lacks (the ICU add-on layer's `icudt72l.dat`). `LAMBDA_FPM_ICU_DATA`.
    pub icu_data: String,
    /// Socket, pid file and opcache file cache live here. `LAMBDA_FPM_RUNTIME_DIR`.
    pub runtime_dir: PathBuf,
    /// How long php-fpm may take to open its socket. `LAMBDA_FPM_PHP_START_TIMEOUT_MS`.
    pub php_start_timeout: Duration,
    /// Shared secret CloudFront adds as an origin header. `LAMBDA_FPM_ORIGIN_SECRET`.
    pub origin_secret: Option<String>,
    /// Lower-case name of the header carrying the secret. `LAMBDA_FPM_ORIGIN_SECRET_HEADER`.
    pub origin_secret_header: String,
    /// `LAMBDA_FPM_INVOKE_MODE`.
    pub invoke_mode: InvokeMode,
    /// `LAMBDA_FPM_LOG_FORMAT`.
    pub log_format: LogFormat,
    /// The host names the site answers to (lower case; `*.example.com` matches any subdomain);
    /// empty: any. A request for another host is refused before PHP runs, so WordPress never
    /// builds a link (a password-reset URL, say) on a Host an attacker chose. Needed wherever
    /// Host is not vouched for by the origin secret (ALB, a Function URL without CloudFront).
    /// `LAMBDA_FPM_ALLOWED_HOSTS`: comma-separated.
    pub allowed_hosts: Vec<String>,
    /// Let dependencies log what carries secrets (FastCGI parameters, raw events, HTTP headers)
    /// when the log level asks for it. Off: those targets are capped (`logging`) whatever
    /// `RUST_LOG`/`AWS_LAMBDA_LOG_LEVEL` says. `LAMBDA_FPM_LOG_SECRETS`: `off` | `on`.
    pub log_secrets: bool,
    /// Honour `.htaccess` files that deny every request to their directory (what plugins rely
    /// on for logs and backups; see `htaccess`). `LAMBDA_FPM_HTACCESS_DENY`: `on` | `off`.
    pub htaccess_deny: bool,
    /// `LAMBDA_FPM_SERVER_TIMING`: `log` (default) | `on` | `off`.
    pub server_timing: ServerTiming,
    /// CloudWatch metrics as EMF lines on stdout (`metrics`). `LAMBDA_FPM_METRICS`: `on` | `off`.
    pub metrics: bool,
    /// Their namespace. `LAMBDA_FPM_METRICS_NAMESPACE` (default `lambda-fpm`).
    pub metrics_namespace: String,
    /// The function's name, the `function` dimension (`AWS_LAMBDA_FUNCTION_NAME`, set by Lambda).
    pub function_name: String,
    /// Request bodies above this get 413. `LAMBDA_FPM_MAX_BODY_BYTES`.
    pub max_body_bytes: usize,
    /// Buffered responses whose Lambda payload would exceed this get a clear 502.
    /// `LAMBDA_FPM_MAX_RESPONSE_BYTES`.
    pub max_response_bytes: usize,
    /// PHP still running this long before the invocation deadline → 504.
    /// `LAMBDA_FPM_TIMEOUT_MARGIN_MS`.
    pub timeout_margin: Duration,
    /// Used when the invocation's deadline is missing or nonsensical (local emulators).
    /// `LAMBDA_FPM_FALLBACK_TIMEOUT_MS`.
    pub fallback_timeout: Duration,
    /// Scheme assumed for requests that reach the function directly (no trusted proxy).
    /// `LAMBDA_FPM_DIRECT_SCHEME`.
    pub direct_scheme: Scheme,
    /// Script that handles every URL that is not a file (pretty permalinks).
    /// `LAMBDA_FPM_FRONT_CONTROLLER`.
    pub front_controller: String,
    /// Cache-Control for static files.
    pub cache_policy: CachePolicy,
    /// In-memory cache of small static files. `LAMBDA_FPM_STATIC_CACHE_BYTES`,
    /// `LAMBDA_FPM_STATIC_CACHE_MAX_FILE_BYTES`, `LAMBDA_FPM_STATIC_CACHE_TTL_MS`.
    pub static_cache: CacheLimits,
    /// How new sandboxes get a pre-compiled opcache. `LAMBDA_FPM_OPCACHE_SEED`.
    pub opcache_seed: SeedMode,
    /// The key seeds are signed with (HMAC-SHA256), so a sandbox restores only a seed a sandbox of
    /// this function published, never one PHP wrote. `LAMBDA_FPM_OPCACHE_SEED_KEY` (at least 32
    /// characters), else the origin secret; neither: seeds are unsigned. Never visible to PHP.
    pub opcache_seed_key: Option<String>,
    /// Where the seed lives (on EFS, next to the site). `LAMBDA_FPM_OPCACHE_SEED_DIR`.
    pub opcache_seed_dir: PathBuf,
    /// Load the whole file cache into opcache's shared memory during init.
    /// `LAMBDA_FPM_OPCACHE_PRIME`: `auto` (default: when the code mirror was restored at init,
    /// so priming reads local files only) | `on` (always; provisioned concurrency) | `off`.
    pub opcache_prime: PrimeMode,
    /// PHP runs against a local copy of the site's code (see `code_mirror`).
    pub code_mirror: CodeMirror,
}

/// When init primes opcache.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PrimeMode {
    Off,
    On,
    /// When the code mirror was restored at init.
    Auto,
}

impl PrimeMode {
    /// Whether to prime, given whether the code mirror was restored at init.
    pub fn primes(self, mirror_restored: bool) -> bool {
        match self {
            PrimeMode::Off => false,
            PrimeMode::On => true,
            PrimeMode::Auto => mirror_restored,
        }
    }
}

/// The code mirror's settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CodeMirror {
    /// `LAMBDA_FPM_CODE_MIRROR`: `on` (default) | `off`.
    pub enabled: bool,
    /// How often a sandbox reads the generation marker on EFS (at most once per this, when a
    /// request comes): the bound on seeing another sandbox's code change.
    /// `LAMBDA_FPM_CODE_MIRROR_CHECK_MS` (default 1000).
    pub check_interval: Duration,
    /// Directories that stay on EFS inside the mirror (relative to the document root).
    /// `LAMBDA_FPM_CODE_MIRROR_WRITE_THROUGH`: comma-separated, replaces the default list.
    pub write_through: Vec<String>,
    /// Where the local copy lives. `LAMBDA_FPM_CODE_MIRROR_DIR` (default `<runtime dir>/site`).
    /// PHP's compiled scripts are keyed by this path, so every sandbox uses the same one and
    /// the opcache seed fits all of them.
    pub dir: PathBuf,
}

/// A setting that could not be used; names the variable.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError {
    pub var: &'static str,
    pub message: String,
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "invalid {}: {}", self.var, self.message)
    }
}

impl std::error::Error for ConfigError {}

fn err(var: &'static str, message: impl Into<String>) -> ConfigError {
    ConfigError {
        var,
        message: message.into(),
    }
}

/// Reads one variable; an empty value counts as unset.
struct Vars<F: Fn(&str) -> Option<String>>(F);

impl<F: Fn(&str) -> Option<String>> Vars<F> {
    fn get(&self, var: &'static str) -> Option<String> {
        (self.0)(var).filter(|v| !v.trim().is_empty())
    }

    fn string(&self, var: &'static str, default: &str) -> String {
        self.get(var).unwrap_or_else(|| default.to_string())
    }

    fn absolute_path(&self, var: &'static str, default: &str) -> Result<PathBuf, ConfigError> {
        let value = self.string(var, default);
        let path = PathBuf::from(&value);
        if !path.is_absolute() {
            return Err(err(var, format!("must be an absolute path, got {value:?}")));
        }
        Ok(path)
    }

    fn number(
        &self,
        var: &'static str,
        default: u64,
        min: u64,
        max: u64,
    ) -> Result<u64, ConfigError> {
        let Some(raw) = self.get(var) else {
            return Ok(default);
        };
        let n: u64 = raw
            .trim()
            .parse()
            .map_err(|_| err(var, format!("must be a whole number, got {raw:?}")))?;
        if n < min || n > max {
            return Err(err(
                var,
                format!("must be between {min} and {max}, got {n}"),
            ));
        }
        Ok(n)
    }

    fn choice<T: Copy>(
        &self,
        var: &'static str,
        default: T,
        options: &[(&str, T)],
    ) -> Result<T, ConfigError> {
        let Some(raw) = self.get(var) else {
            return Ok(default);
        };
        let wanted = raw.trim().to_ascii_lowercase();
        options
            .iter()
            .find(|(name, _)| *name == wanted)
            .map(|(_, v)| *v)
            .ok_or_else(|| {
                let names: Vec<&str> = options.iter().map(|(n, _)| *n).collect();
                err(
                    var,
                    format!("must be one of {}, got {raw:?}", names.join(" | ")),
                )
            })
    }

    fn header_value(&self, var: &'static str, default: &str) -> Result<String, ConfigError> {
        let value = self.string(var, default);
        http::HeaderValue::from_str(&value)
            .map_err(|_| err(var, "must be a valid HTTP header value (printable ASCII)"))?;
        Ok(value)
    }
}

/// Defaults point at the Lambda layer's paths, so a function needs no variables to find PHP.
pub mod defaults {
    pub const DOCUMENT_ROOT: &str = "/mnt/wordpress";
    pub const PHP_FPM: &str = "/opt/bin/php-fpm";
    pub const PHP_CLI: &str = "/opt/bin/php";
    pub const PHP_INI: &str = "/opt/php/php.ini";
    pub const PHP_FPM_CONF: &str = "/opt/php/php-fpm.conf";
    pub const PHP_INI_SCAN_DIR: &str = "/opt/php/conf.d:/var/task/php/conf.d";
    /// Where the ICU add-on layer puts its data (nothing there without it: ICU then uses only
    /// the data linked into the main layer's libicudata).
    pub const ICU_DATA: &str = "/opt/share/icu";
    pub const RUNTIME_DIR: &str = "/tmp/lambda-fpm";
    pub const ORIGIN_SECRET_HEADER: &str = "x-origin-secret";
    /// Lambda's request and buffered response payload limit.
    pub const LAMBDA_PAYLOAD_BYTES: u64 = 6 * 1024 * 1024;
}

impl Config {
    /// The directory php-fpm's opcache.file_cache uses (depends on the seed mode).
    pub fn opcache_dir(&self) -> PathBuf {
        file_cache_dir(self.opcache_seed, &self.runtime_dir, &self.opcache_seed_dir)
    }

    /// php-fpm's socket in the runtime directory.
    pub fn php_fpm_socket(&self) -> PathBuf {
        self.runtime_dir.join("php-fpm.sock")
    }

    /// php-fpm's pid file in the runtime directory.
    pub fn php_fpm_pid_file(&self) -> PathBuf {
        self.runtime_dir.join("php-fpm.pid")
    }

    /// The seed archive new sandboxes restore (copy mode).
    /// The code mirror's generation marker on EFS ("" when the mirror is off).
    pub fn code_generation_file(&self) -> String {
        if !self.code_mirror.enabled {
            return String::new();
        }
        self.document_root
            .join(crate::code_mirror::STATE_DIR)
            .join(crate::code_mirror::GENERATION_FILE)
            .to_string_lossy()
            .into_owned()
    }

    pub fn opcache_seed_file(&self) -> PathBuf {
        self.opcache_seed_dir.join(SEED_FILE)
    }

    /// Reads the configuration from the process environment.
    pub fn from_env() -> Result<Config, ConfigError> {
        Config::from_lookup(|name| std::env::var(name).ok())
    }

    /// Reads the configuration through `lookup` (a map in tests, the environment in the binary).
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Config, ConfigError> {
        let v = Vars(lookup);

        let origin_secret = v.get("LAMBDA_FPM_ORIGIN_SECRET");
        let opcache_seed_key = match v.get("LAMBDA_FPM_OPCACHE_SEED_KEY") {
            Some(key) if key.len() < 32 => {
                return Err(err(
                    "LAMBDA_FPM_OPCACHE_SEED_KEY",
                    "must be at least 32 characters",
                ));
            }
            Some(key) => Some(key),
            None => origin_secret.clone(),
        };
        if let Some(secret) = &origin_secret {
            if secret.len() < 16 {
                return Err(err(
                    "LAMBDA_FPM_ORIGIN_SECRET",
                    "must be at least 16 characters (it is the only thing keeping the Function URL private)",
                ));
            }
            http::HeaderValue::from_str(secret).map_err(|_| {
                err(
                    "LAMBDA_FPM_ORIGIN_SECRET",
                    "must be a valid HTTP header value (printable ASCII)",
                )
            })?;
        }
        let origin_secret_header = v
            .string(
                "LAMBDA_FPM_ORIGIN_SECRET_HEADER",
                defaults::ORIGIN_SECRET_HEADER,
            )
            .to_ascii_lowercase();
        http::HeaderName::from_bytes(origin_secret_header.as_bytes()).map_err(|_| {
            err(
                "LAMBDA_FPM_ORIGIN_SECRET_HEADER",
                format!("{origin_secret_header:?} is not a valid header name"),
            )
        })?;

        let front_controller = v.string("LAMBDA_FPM_FRONT_CONTROLLER", "/index.php");
        if !front_controller.starts_with('/')
            || !front_controller.ends_with(".php")
            || front_controller.split('/').any(|s| s == ".." || s == ".")
        {
            return Err(err(
                "LAMBDA_FPM_FRONT_CONTROLLER",
                format!("must be an absolute URL path ending in .php, got {front_controller:?}"),
            ));
        }

        // ICU_DATA is a list like PATH; a relative entry would depend on php-fpm's working dir.
        let icu_data = v.string("LAMBDA_FPM_ICU_DATA", defaults::ICU_DATA);
        if icu_data.split(':').any(|d| !d.starts_with('/')) {
            return Err(err(
                "LAMBDA_FPM_ICU_DATA",
                format!("must be absolute directories separated by ':', got {icu_data:?}"),
            ));
        }

        let write_through: Vec<String> = match v.get("LAMBDA_FPM_CODE_MIRROR_WRITE_THROUGH") {
            None => crate::code_mirror::DEFAULT_WRITE_THROUGH
                .iter()
                .map(|d| d.to_string())
                .collect(),
            Some(list) => list
                .split(',')
                .map(|d| d.trim().trim_matches('/').to_string())
                .filter(|d| !d.is_empty())
                .collect(),
        };
        if let Some(bad) = write_through
            .iter()
            .find(|d| d.split('/').any(|c| c.is_empty() || c == "." || c == ".."))
        {
            return Err(err(
                "LAMBDA_FPM_CODE_MIRROR_WRITE_THROUGH",
                format!(
                    "directories must be relative to the document root without . or .., got {bad:?}"
                ),
            ));
        }
        let allowed_hosts: Vec<String> = v
            .get("LAMBDA_FPM_ALLOWED_HOSTS")
            .map(|list| {
                list.split(',')
                    .map(|h| h.trim().to_ascii_lowercase())
                    .filter(|h| !h.is_empty())
                    .collect()
            })
            .unwrap_or_default();
        if let Some(bad) = allowed_hosts.iter().find(|h| {
            let name = h.strip_prefix("*.").unwrap_or(h);
            name.is_empty()
                || !name
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'.')
                || name.starts_with('.')
                || name.ends_with('.')
        }) {
            return Err(err(
                "LAMBDA_FPM_ALLOWED_HOSTS",
                format!("host names (or *.domain) separated by commas expected, got {bad:?}"),
            ));
        }
        let code_mirror = CodeMirror {
            enabled: v.choice(
                "LAMBDA_FPM_CODE_MIRROR",
                true,
                &[("on", true), ("off", false)],
            )?,
            check_interval: Duration::from_millis(v.number(
                "LAMBDA_FPM_CODE_MIRROR_CHECK_MS",
                1000,
                0,
                3_600_000,
            )?),
            write_through,
            dir: PathBuf::new(), // below, once the runtime dir is known
        };

        let max_payload = defaults::LAMBDA_PAYLOAD_BYTES;
        let document_root = v.absolute_path("LAMBDA_FPM_DOCUMENT_ROOT", defaults::DOCUMENT_ROOT)?;
        let runtime_dir = v.absolute_path("LAMBDA_FPM_RUNTIME_DIR", defaults::RUNTIME_DIR)?;
        let mut code_mirror = code_mirror;
        code_mirror.dir = v.absolute_path(
            "LAMBDA_FPM_CODE_MIRROR_DIR",
            &runtime_dir.join("site").to_string_lossy(),
        )?;
        if code_mirror.dir.starts_with(&document_root) {
            return Err(err(
                "LAMBDA_FPM_CODE_MIRROR_DIR",
                "must be outside the document root (it is a local copy of it)",
            ));
        }
        let default_seed_dir = document_root.join(".lambda-fpm");
        Ok(Config {
            opcache_seed: v.choice(
                "LAMBDA_FPM_OPCACHE_SEED",
                SeedMode::Copy,
                &[
                    ("copy", SeedMode::Copy),
                    ("direct", SeedMode::Direct),
                    ("off", SeedMode::Off),
                ],
            )?,
            opcache_seed_dir: v.absolute_path(
                "LAMBDA_FPM_OPCACHE_SEED_DIR",
                &default_seed_dir.to_string_lossy(),
            )?,
            opcache_prime: v.choice(
                "LAMBDA_FPM_OPCACHE_PRIME",
                PrimeMode::Auto,
                &[
                    ("auto", PrimeMode::Auto),
                    ("on", PrimeMode::On),
                    ("off", PrimeMode::Off),
                ],
            )?,
            code_mirror,
            document_root,
            php_fpm: v.absolute_path("LAMBDA_FPM_PHP_FPM", defaults::PHP_FPM)?,
            php_cli: v.absolute_path("LAMBDA_FPM_PHP_CLI", defaults::PHP_CLI)?,
            php_ini: v.absolute_path("LAMBDA_FPM_PHP_INI", defaults::PHP_INI)?,
            php_fpm_conf: v.absolute_path("LAMBDA_FPM_PHP_FPM_CONF", defaults::PHP_FPM_CONF)?,
            php_ini_scan_dir: v.string("LAMBDA_FPM_PHP_INI_SCAN_DIR", defaults::PHP_INI_SCAN_DIR),
            icu_data,
            runtime_dir,
            php_start_timeout: Duration::from_millis(v.number(
                "LAMBDA_FPM_PHP_START_TIMEOUT_MS",
                5_000,
                100,
                60_000,
            )?),
            origin_secret,
            opcache_seed_key,
            origin_secret_header,
            invoke_mode: v.choice(
                "LAMBDA_FPM_INVOKE_MODE",
                InvokeMode::Buffered,
                &[
                    ("buffered", InvokeMode::Buffered),
                    ("response_stream", InvokeMode::ResponseStream),
                ],
            )?,
            log_format: v.choice(
                "LAMBDA_FPM_LOG_FORMAT",
                LogFormat::Json,
                &[("json", LogFormat::Json), ("text", LogFormat::Text)],
            )?,
            allowed_hosts,
            log_secrets: v.choice(
                "LAMBDA_FPM_LOG_SECRETS",
                false,
                &[("off", false), ("on", true)],
            )?,
            htaccess_deny: v.choice(
                "LAMBDA_FPM_HTACCESS_DENY",
                true,
                &[("on", true), ("off", false)],
            )?,
            server_timing: v.choice(
                "LAMBDA_FPM_SERVER_TIMING",
                ServerTiming::Log,
                &[
                    ("log", ServerTiming::Log),
                    ("on", ServerTiming::On),
                    ("off", ServerTiming::Off),
                ],
            )?,
            metrics: v.choice("LAMBDA_FPM_METRICS", true, &[("on", true), ("off", false)])?,
            metrics_namespace: {
                let ns = v.string("LAMBDA_FPM_METRICS_NAMESPACE", "lambda-fpm");
                let charset = ns
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"._-/#:".contains(&b));
                if ns.len() > 255 || !charset || ns.starts_with("AWS/") {
                    return Err(err(
                        "LAMBDA_FPM_METRICS_NAMESPACE",
                        format!(
                            "must be up to 255 letters, digits and . _ - / # : and not start with AWS/, got {ns:?}"
                        ),
                    ));
                }
                ns
            },
            function_name: v.string("AWS_LAMBDA_FUNCTION_NAME", "lambda-fpm"),
            max_body_bytes: v.number("LAMBDA_FPM_MAX_BODY_BYTES", max_payload, 0, 1 << 30)?
                as usize,
            max_response_bytes: v.number(
                "LAMBDA_FPM_MAX_RESPONSE_BYTES",
                max_payload,
                1024,
                max_payload,
            )? as usize,
            timeout_margin: Duration::from_millis(v.number(
                "LAMBDA_FPM_TIMEOUT_MARGIN_MS",
                1_000,
                0,
                60_000,
            )?),
            fallback_timeout: Duration::from_millis(v.number(
                "LAMBDA_FPM_FALLBACK_TIMEOUT_MS",
                30_000,
                100,
                900_000,
            )?),
            direct_scheme: v.choice(
                "LAMBDA_FPM_DIRECT_SCHEME",
                Scheme::Https,
                &[("https", Scheme::Https), ("http", Scheme::Http)],
            )?,
            front_controller,
            static_cache: CacheLimits {
                total_bytes: v.number("LAMBDA_FPM_STATIC_CACHE_BYTES", 32 << 20, 0, 4 << 30)?
                    as usize,
                max_file_bytes: v.number(
                    "LAMBDA_FPM_STATIC_CACHE_MAX_FILE_BYTES",
                    1 << 20,
                    0,
                    1 << 30,
                )? as usize,
                ttl: Duration::from_millis(v.number(
                    "LAMBDA_FPM_STATIC_CACHE_TTL_MS",
                    2_000,
                    0,
                    86_400_000,
                )?),
            },
            cache_policy: CachePolicy {
                versioned: v.header_value(
                    "LAMBDA_FPM_CACHE_CONTROL_VERSIONED",
                    crate::cache_policy::DEFAULT_VERSIONED,
                )?,
                media: v.header_value(
                    "LAMBDA_FPM_CACHE_CONTROL_MEDIA",
                    crate::cache_policy::DEFAULT_MEDIA,
                )?,
                other: v.header_value(
                    "LAMBDA_FPM_CACHE_CONTROL_OTHER",
                    crate::cache_policy::DEFAULT_OTHER,
                )?,
            },
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn parse(pairs: &[(&str, &str)]) -> Result<Config, ConfigError> {
        let map: HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        Config::from_lookup(|k| map.get(k).cloned())
    }

    #[test]
    fn defaults_point_at_the_layer() {
        let c = parse(&[]).unwrap();
        assert_eq!(c.document_root, PathBuf::from("/mnt/wordpress"));
        assert_eq!(c.php_fpm, PathBuf::from("/opt/bin/php-fpm"));
        assert_eq!(c.php_ini, PathBuf::from("/opt/php/php.ini"));
        assert_eq!(c.php_cli, PathBuf::from("/opt/bin/php"));
        assert_eq!(c.php_fpm_conf, PathBuf::from("/opt/php/php-fpm.conf"));
        assert_eq!(c.icu_data, "/opt/share/icu");
        assert_eq!(c.invoke_mode, InvokeMode::Buffered);
        assert_eq!(c.log_format, LogFormat::Json);
        assert!(c.htaccess_deny, ".htaccess denials are honoured by default");
        assert_eq!(c.server_timing, ServerTiming::Log);
        assert!(c.metrics);
        assert_eq!(c.metrics_namespace, "lambda-fpm");
        assert!(
            !c.log_secrets,
            "secret-bearing log targets are capped by default"
        );
        assert_eq!(c.max_body_bytes, 6 * 1024 * 1024);
        assert_eq!(c.origin_secret, None);
        assert_eq!(c.origin_secret_header, "x-origin-secret");
        assert_eq!(c.direct_scheme, Scheme::Https);
        assert_eq!(c.front_controller, "/index.php");
        assert_eq!(c.timeout_margin, Duration::from_millis(1000));
        assert_eq!(c.static_cache.total_bytes, 32 << 20);
        assert_eq!(c.static_cache.max_file_bytes, 1 << 20);
        assert_eq!(c.static_cache.ttl, Duration::from_millis(2000));
        assert_eq!(c.opcache_seed, SeedMode::Copy);
        assert_eq!(c.opcache_prime, PrimeMode::Auto);
        assert_eq!(
            c.opcache_seed_dir,
            PathBuf::from("/mnt/wordpress/.lambda-fpm")
        );
    }

    #[test]
    fn reads_every_variable() {
        let c = parse(&[
            ("LAMBDA_FPM_DOCUMENT_ROOT", "/srv/site"),
            ("LAMBDA_FPM_PHP_FPM", "/usr/sbin/php-fpm8.2"),
            ("LAMBDA_FPM_PHP_INI", "/etc/php.ini"),
            ("LAMBDA_FPM_PHP_FPM_CONF", "/etc/fpm.conf"),
            ("LAMBDA_FPM_PHP_INI_SCAN_DIR", "/a:/b"),
            ("LAMBDA_FPM_ICU_DATA", "/srv/icu:/opt/share/icu"),
            ("LAMBDA_FPM_RUNTIME_DIR", "/tmp/x"),
            ("LAMBDA_FPM_ORIGIN_SECRET", "0123456789abcdef0123"),
            ("LAMBDA_FPM_ORIGIN_SECRET_HEADER", "X-My-Secret"),
            ("LAMBDA_FPM_INVOKE_MODE", "RESPONSE_STREAM"),
            ("LAMBDA_FPM_LOG_FORMAT", "text"),
            ("LAMBDA_FPM_MAX_BODY_BYTES", "1000"),
            ("LAMBDA_FPM_TIMEOUT_MARGIN_MS", "250"),
            ("LAMBDA_FPM_DIRECT_SCHEME", "http"),
            ("LAMBDA_FPM_FRONT_CONTROLLER", "/app.php"),
            ("LAMBDA_FPM_CACHE_CONTROL_OTHER", "public, max-age=60"),
        ])
        .unwrap();
        assert_eq!(c.document_root, PathBuf::from("/srv/site"));
        assert_eq!(c.php_fpm, PathBuf::from("/usr/sbin/php-fpm8.2"));
        assert_eq!(c.php_ini_scan_dir, "/a:/b");
        assert_eq!(c.icu_data, "/srv/icu:/opt/share/icu");
        assert_eq!(c.runtime_dir, PathBuf::from("/tmp/x"));
        assert_eq!(c.origin_secret.as_deref(), Some("0123456789abcdef0123"));
        assert_eq!(c.origin_secret_header, "x-my-secret");
        assert_eq!(c.invoke_mode, InvokeMode::ResponseStream);
        assert_eq!(c.log_format, LogFormat::Text);
        assert_eq!(c.max_body_bytes, 1000);
        assert_eq!(c.timeout_margin, Duration::from_millis(250));
        assert_eq!(c.direct_scheme, Scheme::Http);
        assert_eq!(c.front_controller, "/app.php");
        assert_eq!(c.cache_policy.other, "public, max-age=60");
    }

    #[test]
    fn empty_values_mean_default() {
        let c = parse(&[
            ("LAMBDA_FPM_DOCUMENT_ROOT", ""),
            ("LAMBDA_FPM_ORIGIN_SECRET", " "),
        ])
        .unwrap();
        assert_eq!(c.document_root, PathBuf::from("/mnt/wordpress"));
        assert_eq!(c.origin_secret, None);
    }

    fn var_of(pairs: &[(&str, &str)]) -> &'static str {
        parse(pairs).unwrap_err().var
    }

    #[test]
    fn bad_values_name_the_variable() {
        let cases: &[(&str, &str)] = &[
            ("LAMBDA_FPM_DOCUMENT_ROOT", "relative/path"),
            ("LAMBDA_FPM_PHP_FPM", "php-fpm"),
            ("LAMBDA_FPM_PHP_INI", "php.ini"),
            ("LAMBDA_FPM_PHP_CLI", "php"),
            ("LAMBDA_FPM_PHP_FPM_CONF", "./fpm.conf"),
            ("LAMBDA_FPM_RUNTIME_DIR", "tmp"),
            ("LAMBDA_FPM_INVOKE_MODE", "streaming"),
            ("LAMBDA_FPM_LOG_FORMAT", "xml"),
            ("LAMBDA_FPM_LOG_SECRETS", "yes"),
            ("LAMBDA_FPM_HTACCESS_DENY", "true"),
            ("LAMBDA_FPM_SERVER_TIMING", "viewers"),
            ("LAMBDA_FPM_METRICS", "emf"),
            ("LAMBDA_FPM_METRICS_NAMESPACE", "AWS/Lambda"),
            ("LAMBDA_FPM_METRICS_NAMESPACE", "has space"),
            ("LAMBDA_FPM_OPCACHE_SEED_KEY", "short"),
            ("LAMBDA_FPM_ALLOWED_HOSTS", "example.com,exa mple.com"),
            ("LAMBDA_FPM_ALLOWED_HOSTS", "*."),
            ("LAMBDA_FPM_ALLOWED_HOSTS", "example.com:443"),
            ("LAMBDA_FPM_MAX_BODY_BYTES", "-1"),
            ("LAMBDA_FPM_MAX_BODY_BYTES", "10MB"),
            ("LAMBDA_FPM_MAX_RESPONSE_BYTES", "99999999"),
            ("LAMBDA_FPM_TIMEOUT_MARGIN_MS", "1.5"),
            ("LAMBDA_FPM_TIMEOUT_MARGIN_MS", "600000"),
            ("LAMBDA_FPM_PHP_START_TIMEOUT_MS", "5"),
            ("LAMBDA_FPM_FALLBACK_TIMEOUT_MS", "abc"),
            ("LAMBDA_FPM_ORIGIN_SECRET", "short"),
            ("LAMBDA_FPM_ORIGIN_SECRET", "0123456789abcdef\u{7f}"),
            ("LAMBDA_FPM_ORIGIN_SECRET_HEADER", "bad header"),
            ("LAMBDA_FPM_DIRECT_SCHEME", "ftp"),
            ("LAMBDA_FPM_FRONT_CONTROLLER", "index.php"),
            ("LAMBDA_FPM_FRONT_CONTROLLER", "/index.html"),
            ("LAMBDA_FPM_FRONT_CONTROLLER", "/../x.php"),
            ("LAMBDA_FPM_CACHE_CONTROL_VERSIONED", "a\u{1}b"),
            ("LAMBDA_FPM_STATIC_CACHE_BYTES", "lots"),
            ("LAMBDA_FPM_STATIC_CACHE_TTL_MS", "-5"),
            ("LAMBDA_FPM_OPCACHE_SEED", "yes"),
            ("LAMBDA_FPM_OPCACHE_SEED_DIR", "seed"),
            ("LAMBDA_FPM_OPCACHE_PRIME", "yes"),
            ("LAMBDA_FPM_ICU_DATA", "share/icu"),
            ("LAMBDA_FPM_ICU_DATA", "/opt/share/icu:icu"),
            ("LAMBDA_FPM_ICU_DATA", "/opt/share/icu::/x"),
        ];
        for (var, value) in cases {
            assert_eq!(var_of(&[(var, value)]), *var, "{var}={value:?}");
        }
    }

    #[test]
    fn code_mirror_settings() {
        let c = Config::from_lookup(|_| None).unwrap();
        assert!(c.code_mirror.enabled);
        assert_eq!(c.code_mirror.check_interval, Duration::from_millis(1000));
        assert!(
            c.code_mirror
                .write_through
                .contains(&"wp-content/uploads".to_string())
        );
        assert_eq!(c.code_mirror.dir, PathBuf::from("/tmp/lambda-fpm/site"));
        assert_eq!(
            Config::from_lookup(
                |n| (n == "LAMBDA_FPM_CODE_MIRROR_DIR").then(|| "/mnt/wordpress/copy".into())
            )
            .unwrap_err()
            .var,
            "LAMBDA_FPM_CODE_MIRROR_DIR"
        );
        let with = |k: &'static str, val: &'static str| {
            Config::from_lookup(move |n| (n == k).then(|| val.to_string()))
        };
        assert!(
            !with("LAMBDA_FPM_CODE_MIRROR", "off")
                .unwrap()
                .code_mirror
                .enabled
        );
        assert_eq!(
            with(
                "LAMBDA_FPM_CODE_MIRROR_WRITE_THROUGH",
                " /wp-content/uploads/ , data,"
            )
            .unwrap()
            .code_mirror
            .write_through,
            vec!["wp-content/uploads".to_string(), "data".to_string()]
        );
        for (k, val) in [
            ("LAMBDA_FPM_CODE_MIRROR", "yes"),
            ("LAMBDA_FPM_CODE_MIRROR_CHECK_MS", "soon"),
            ("LAMBDA_FPM_CODE_MIRROR_WRITE_THROUGH", "wp-content/../etc"),
            ("LAMBDA_FPM_CODE_MIRROR_WRITE_THROUGH", "a//b"),
        ] {
            assert_eq!(with(k, val).unwrap_err().var, k, "{k}={val}");
        }
    }

    #[test]
    fn opcache_prime_modes() {
        let mode = |v: &str| {
            parse(&[("LAMBDA_FPM_OPCACHE_PRIME", v)])
                .unwrap()
                .opcache_prime
        };
        assert_eq!(mode("on"), PrimeMode::On);
        assert_eq!(mode("OFF"), PrimeMode::Off);
        assert_eq!(mode("auto"), PrimeMode::Auto);
        assert!(PrimeMode::On.primes(false) && PrimeMode::Auto.primes(true));
        assert!(!PrimeMode::Auto.primes(false) && !PrimeMode::Off.primes(true));
        assert_eq!(
            parse(&[("LAMBDA_FPM_OPCACHE_PRIME", "yes")])
                .unwrap_err()
                .var,
            "LAMBDA_FPM_OPCACHE_PRIME"
        );
    }

    #[test]
    fn error_message_names_variable_and_value() {
        let e = parse(&[("LAMBDA_FPM_INVOKE_MODE", "streaming")]).unwrap_err();
        let text = e.to_string();
        assert!(text.contains("LAMBDA_FPM_INVOKE_MODE"), "{text}");
        assert!(text.contains("streaming"), "{text}");
        assert!(text.contains("buffered | response_stream"), "{text}");
    }

    #[test]
    fn file_cache_dir_by_mode() {
        let rt = Path::new("/tmp/lambda-fpm");
        let seed = Path::new("/mnt/wordpress/.lambda-fpm");
        assert_eq!(
            file_cache_dir(SeedMode::Copy, rt, seed),
            Path::new("/tmp/lambda-fpm/opcache")
        );
        assert_eq!(
            file_cache_dir(SeedMode::Off, rt, seed),
            Path::new("/tmp/lambda-fpm/opcache")
        );
        assert_eq!(
            file_cache_dir(SeedMode::Direct, rt, seed),
            Path::new("/mnt/wordpress/.lambda-fpm/opcache")
        );
    }
}
