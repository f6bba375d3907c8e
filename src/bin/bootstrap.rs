//! `bootstrap`: the executable Lambda's custom runtime starts.

use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use lambda_fpm::bridge::Bridge;
use lambda_fpm::config::Config;
use lambda_fpm::runtime_restart::{Next, RestartPolicy};
use lambda_http::lambda_runtime::{self, service_fn};

#[tokio::main]
async fn main() -> ExitCode {
    let init_started = Instant::now();
    bound_allocator_retention();
    let config = match Config::from_env() {
        Ok(c) => c,
        Err(e) if std::env::args().nth(1).is_some() => {
            eprintln!("bootstrap: {e}");
            return ExitCode::FAILURE;
        }
        Err(e) => return init_failed(&e.to_string()).await,
    };
    scrub_secrets();
    // `bootstrap --php-env [fpm|cli]`: the environment PHP gets from this configuration
    // (lambda_fpm::php_env), for tools that start PHP themselves (bench, layer tests).
    if let Some(arg) = std::env::args().nth(1) {
        return print_php_env(&config, &arg, std::env::args().nth(2).as_deref());
    }
    lambda_fpm::logging::init(config.log_format, config.log_secrets);
    let bridge = match Bridge::init(config).await {
        Ok(b) => Arc::new(b),
        Err(e) => return init_failed(&e.to_string()).await,
    };
    tracing::info!(
        target: "init",
        init_ms = init_started.elapsed().as_millis() as u64,
        document_root = %bridge.root().display(),
        "lambda-fpm ready"
    );
    // SIGTERM (Lambda's shutdown, a local watcher restarting us): take php-fpm and its
    // workers down with us instead of leaving them behind.
    let on_term = bridge.clone();
    tokio::spawn(async move {
        if let Ok(mut term) =
            tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        {
            term.recv().await;
            on_term.fpm().kill().await;
            std::process::exit(0);
        }
    });
    // The runtime loop ends on the first transport error talking to the Runtime API (a reset
    // connection, say); that costs at most the invocation in flight, never the sandbox: poll
    // `/next` again, and exit only when the API keeps failing with no invocation in between.
    let invocations = Arc::new(AtomicU64::new(0));
    let counted = invocations.clone();
    let handler = service_fn(move |event| {
        counted.fetch_add(1, Ordering::Relaxed);
        lambda_fpm::invocation::handle(bridge.clone(), event)
    });
    let mut restarts = RestartPolicy::default();
    loop {
        let error = match lambda_runtime::run(handler.clone()).await {
            Ok(()) => return ExitCode::SUCCESS,
            Err(e) => e,
        };
        match restarts.after_error(invocations.load(Ordering::Relaxed)) {
            Next::Retry { pause, failures } => {
                tracing::warn!(
                    target: "runtime",
                    error = %error,
                    failures,
                    retry_in_ms = pause.as_millis() as u64,
                    "Runtime API failed; polling for the next invocation again (the one in flight, if any, is lost)"
                );
                tokio::time::sleep(pause).await;
            }
            Next::GiveUp { failures } => {
                tracing::error!(
                    target: "runtime",
                    error = %error,
                    failures,
                    "Runtime API failed {failures} times in a row with no invocation in between; giving up"
                );
                eprintln!(
                    "lambda-fpm: runtime error: {error} (giving up after {failures} attempts)"
                );
                return ExitCode::FAILURE;
            }
        }
    }
}

/// Reports an init failure to the Runtime API (so it shows as the invocation's error) and
/// to stderr (so it is in the log), then exits non-zero.
async fn init_failed(message: &str) -> ExitCode {
    eprintln!("lambda-fpm: init failed: {message}");
    if std::env::var_os("AWS_LAMBDA_RUNTIME_API").is_some() {
        let body = serde_json::json!({"errorType": "LambdaFpmInitError", "errorMessage": message})
            .to_string();
        let request = http::Request::builder()
            .method("POST")
            .uri("/2018-06-01/runtime/init/error")
            .header(
                "Lambda-Runtime-Function-Error-Type",
                "Runtime.LambdaFpmInitError",
            )
            .header("content-type", "application/json")
            .body(lambda_runtime_api_client::body::Body::from(body));
        match (
            lambda_runtime_api_client::PooledClient::builder().build(),
            request,
        ) {
            (client, Ok(request)) => {
                if let Err(e) = client.call(request).await {
                    eprintln!("lambda-fpm: could not report init error: {e}");
                }
            }
            (_, Err(e)) => eprintln!("lambda-fpm: could not build init error report: {e}"),
        }
    }
    ExitCode::FAILURE
}

/// Buffers of 1 MiB and more (a large response's body, its base64 and the JSON around it) get
/// their own mappings, returned to the kernel when freed. glibc's default raises that threshold
/// after such a buffer is freed and then keeps later ones in its heaps: over a 10,000-request
/// soak with 3 MiB responses the bridge grew from 11 to 24-46 MiB (bench/README.md, finding 1);
/// with the fixed threshold it stayed at 7-8 MiB, for ~6 ms more on a 3 MiB response. A
/// `MALLOC_MMAP_THRESHOLD_` in the environment (glibc's own tunable) takes precedence.
/// Settings nothing after start-up may read from the environment: the configuration holds them.
const SCRUBBED: &[&str] = &["LAMBDA_FPM_ORIGIN_SECRET", "LAMBDA_FPM_OPCACHE_SEED_KEY"];

/// Wipes [`SCRUBBED`] from this process's environment once the configuration is read. Removing
/// the variable is not enough: `/proc/<pid>/environ` shows the environment block the process
/// started with, and PHP (same user) can read that file of the bridge. So the value is
/// overwritten in place first, then the variable removed (php-fpm and the CLI never get it
/// either way: php_env::REMOVED).
fn scrub_secrets() {
    unsafe extern "C" {
        static mut environ: *mut *mut libc::c_char;
    }
    // SAFETY: runs once at start-up, before anything spawns processes or reads these variables
    // again; each entry is a NUL-terminated string in the environment block, and only the
    // value's bytes (before the terminator) are overwritten.
    unsafe {
        let mut entry = environ;
        while !entry.is_null() && !(*entry).is_null() {
            let text = std::ffi::CStr::from_ptr(*entry).to_bytes();
            for name in SCRUBBED {
                let name = name.as_bytes();
                if text.len() > name.len() && text.starts_with(name) && text[name.len()] == b'=' {
                    let value_len = text.len() - name.len() - 1;
                    std::ptr::write_bytes((*entry).add(name.len() + 1), 0, value_len);
                }
            }
            entry = entry.add(1);
        }
        for name in SCRUBBED {
            std::env::remove_var(name);
        }
    }
}

fn bound_allocator_retention() {
    if std::env::var_os("MALLOC_MMAP_THRESHOLD_").is_none() {
        // SAFETY: mallopt only sets allocator parameters; no memory is touched.
        unsafe {
            libc::mallopt(libc::M_MMAP_THRESHOLD, 1 << 20);
        }
    }
}

fn print_php_env(config: &Config, flag: &str, process: Option<&str>) -> ExitCode {
    use lambda_fpm::php_env::{Process, lines};
    let process = match (flag, process) {
        ("--php-env", None | Some("fpm")) => Process::Fpm,
        ("--php-env", Some("cli")) => Process::Cli,
        _ => {
            eprintln!(
                "usage: bootstrap (no arguments: the Lambda runtime) | bootstrap --php-env [fpm|cli]"
            );
            return ExitCode::from(2);
        }
    };
    print!("{}", lines(config, process));
    ExitCode::SUCCESS
}
