//! The process environment PHP runs with, defined once (pure): php-fpm's (its master, and its
//! workers, which inherit it: `clear_env = no`, since wp-config.php reads the database
//! settings from the function's environment) and the php CLI's (the `php` command).
//!
//! Both start from the function's own environment and get:
//! - `PHP_INI_SCAN_DIR`, `ICU_DATA`: the layer's ini directories and ICU data;
//! - `LAMBDA_FPM_RUNTIME_DIR`, `LAMBDA_FPM_CODE_GENERATION_FILE`: read by the shipped php.ini and
//!   wp-config.php (the code mirror's marker);
//! - php-fpm also `LAMBDA_FPM_SOCKET`, `LAMBDA_FPM_PID` and `LAMBDA_FPM_OPCACHE_DIR`, which the
//!   shipped php-fpm.conf and php.ini expand.
//!
//! and lose [`REMOVED`]: PHP shows its environment in `$_SERVER`, and the origin secret and the
//! opcache seed key are the bridge's alone.
//!
//! `bootstrap --php-env [fpm|cli]` prints the same variables for the configuration in the
//! environment, so bench's direct-FastCGI baseline and the layer's shell tests start PHP exactly
//! as the bridge does.

use crate::config::Config;

/// Which PHP process.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Process {
    Fpm,
    Cli,
}

/// Variables removed from PHP's environment.
pub const REMOVED: &[&str] = &["LAMBDA_FPM_ORIGIN_SECRET", "LAMBDA_FPM_OPCACHE_SEED_KEY"];

/// The variables set for `process`, in a fixed order.
pub fn vars(config: &Config, process: Process) -> Vec<(&'static str, String)> {
    let path = |p: &std::path::Path| p.to_string_lossy().into_owned();
    let mut vars = Vec::with_capacity(7);
    if process == Process::Fpm {
        vars.push(("LAMBDA_FPM_SOCKET", path(&config.php_fpm_socket())));
        vars.push(("LAMBDA_FPM_PID", path(&config.php_fpm_pid_file())));
        vars.push(("LAMBDA_FPM_OPCACHE_DIR", path(&config.opcache_dir())));
    }
    vars.push(("LAMBDA_FPM_RUNTIME_DIR", path(&config.runtime_dir)));
    vars.push(("PHP_INI_SCAN_DIR", config.php_ini_scan_dir.clone()));
    vars.push(("ICU_DATA", config.icu_data.clone()));
    vars.push((
        "LAMBDA_FPM_CODE_GENERATION_FILE",
        config.code_generation_file(),
    ));
    vars
}

/// Gives a command about to start PHP these variables, and removes [`REMOVED`].
pub fn apply(command: &mut tokio::process::Command, vars: &[(&'static str, String)]) {
    command.envs(vars.iter().map(|(k, v)| (k, v)));
    for name in REMOVED {
        command.env_remove(name);
    }
}

/// `KEY=VALUE` lines of [`vars`] (`bootstrap --php-env`).
pub fn lines(config: &Config, process: Process) -> String {
    vars(config, process)
        .into_iter()
        .map(|(k, v)| format!("{k}={v}\n"))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn config(extra: &[(&str, &str)]) -> Config {
        let mut env: HashMap<String, String> = [
            ("LAMBDA_FPM_RUNTIME_DIR", "/tmp/rt"),
            ("LAMBDA_FPM_PHP_INI_SCAN_DIR", "/opt/php/conf.d:/x"),
        ]
        .into_iter()
        .chain(extra.iter().copied())
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
        env.entry("LAMBDA_FPM_DOCUMENT_ROOT".into())
            .or_insert_with(|| "/mnt/wordpress".into());
        Config::from_lookup(|k| env.get(k).cloned()).unwrap()
    }

    #[test]
    fn php_fpm_gets_its_socket_pid_and_file_cache() {
        let v: HashMap<_, _> = vars(&config(&[]), Process::Fpm).into_iter().collect();
        assert_eq!(v["LAMBDA_FPM_SOCKET"], "/tmp/rt/php-fpm.sock");
        assert_eq!(v["LAMBDA_FPM_PID"], "/tmp/rt/php-fpm.pid");
        assert_eq!(v["LAMBDA_FPM_OPCACHE_DIR"], "/tmp/rt/opcache");
        assert_eq!(v["LAMBDA_FPM_RUNTIME_DIR"], "/tmp/rt");
        assert_eq!(v["PHP_INI_SCAN_DIR"], "/opt/php/conf.d:/x");
        assert_eq!(v["ICU_DATA"], "/opt/share/icu");
        // the code mirror (on by default) follows the marker on EFS; off, there is none
        assert_eq!(
            v["LAMBDA_FPM_CODE_GENERATION_FILE"],
            "/mnt/wordpress/.lambda-fpm/code-generation"
        );
        let off = vars(&config(&[("LAMBDA_FPM_CODE_MIRROR", "off")]), Process::Fpm);
        assert!(off.contains(&("LAMBDA_FPM_CODE_GENERATION_FILE", String::new())));
    }

    #[test]
    fn the_cli_gets_the_shared_part_only() {
        let v: HashMap<_, _> = vars(&config(&[]), Process::Cli).into_iter().collect();
        assert!(!v.contains_key("LAMBDA_FPM_SOCKET") && !v.contains_key("LAMBDA_FPM_PID"));
        assert_eq!(v["PHP_INI_SCAN_DIR"], "/opt/php/conf.d:/x");
        assert_eq!(v["LAMBDA_FPM_RUNTIME_DIR"], "/tmp/rt");
    }

    #[test]
    fn the_origin_secret_is_never_set_and_always_removed() {
        let c = config(&[("LAMBDA_FPM_ORIGIN_SECRET", "s3cret-value-long-enough")]);
        for p in [Process::Fpm, Process::Cli] {
            assert!(!lines(&c, p).contains("s3cret"));
        }
        assert!(REMOVED.contains(&"LAMBDA_FPM_ORIGIN_SECRET"));
    }

    #[test]
    fn lines_are_key_value_pairs() {
        let text = lines(&config(&[]), Process::Fpm);
        assert!(text.lines().all(|l| l.split_once('=').is_some()), "{text}");
        assert!(
            text.starts_with("LAMBDA_FPM_SOCKET=/tmp/rt/php-fpm.sock\n"),
            "{text}"
        );
    }
}
