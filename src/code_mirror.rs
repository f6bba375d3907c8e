//! The code mirror's decisions (pure, no IO): which requests must run PHP against EFS itself,
//! which paths stay on EFS inside the mirror, and when a sandbox switches between its local
//! mirror and EFS.
//!
//! The mechanism (`mirror_store` does the file work, `mirror_sync` the per-sandbox state):
//! WordPress touches the file system hundreds of times per page (path walks, `file_exists`
//! probes, `block.json`/`theme.json`/translation reads, directory scans); on EFS each one is a
//! network round trip. So PHP normally runs against a **local copy of the site's code** in the
//! sandbox's `/tmp`, restored at init from one archive on EFS (`.lambda-fpm/code-mirror.tar.zst`,
//! one sequential read), while
//! - the directories PHP writes content into (`wp-content/uploads`, caches, upgrade
//!   scratch) are symlinks back to EFS inside the copy: uploads land on EFS;
//! - requests that can change code (plugin/theme/core installs, updates and deletions, the file
//!   editors, the install command, wp-cron's auto-updates) run against EFS itself, so whatever they
//!   write lands there;
//! - a **generation marker** on EFS (`.lambda-fpm/code-generation`) names the code's version.
//!   It changes when code changes (WordPress's upgrader hooks in the shipped wp-config.php, the
//!   install command, or the bridge after a code-changing request when the hooks are missing).
//!   Each sandbox reads it at most once per interval (one round trip); when it differs from the
//!   mirror's, the sandbox serves from EFS at once and refreshes its mirror in the background
//!   (from a newer archive, or by building and publishing one under a lock).
//!
//! A failed or partial sync is never served: a mirror is used only when complete and labelled
//! with the current generation; anything else means PHP reads EFS as without a mirror.

/// Where the bridge keeps its files on EFS (a dotfile directory: never served).
pub const STATE_DIR: &str = ".lambda-fpm";
/// The generation marker, inside [`STATE_DIR`].
pub const GENERATION_FILE: &str = "code-generation";
/// The published mirror archive, inside [`STATE_DIR`].
pub const ARCHIVE_FILE: &str = "code-mirror.tar.zst";
/// The builders' lock, inside [`STATE_DIR`] (one sandbox builds an archive at a time).
pub const LOCK_FILE: &str = "code-mirror.lock";
/// The manifest entry, first in the archive.
pub const MANIFEST_ENTRY: &str = ".lambda-fpm-mirror.json";
/// What the shipped wp-config.php calls when WordPress changed code (see `php/wp-config.php`);
/// a site whose wp-config.php does not mention it gets the bridge's conservative bumps.
pub const HOOK_FUNCTION: &str = "lambda_fpm_code_changed";

/// Directories (relative to the document root) that stay on EFS inside the mirror: content PHP
/// writes, plus the bridge's own state. `LAMBDA_FPM_CODE_MIRROR_WRITE_THROUGH` replaces the list.
pub const DEFAULT_WRITE_THROUGH: &[&str] = &[
    "wp-content/uploads",
    "wp-content/cache",
    "wp-content/upgrade",
    "wp-content/upgrade-temp-backup",
    "wp-content/wflogs",
];

/// The archive's manifest.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Manifest {
    /// The generation marker's content when the tree was read (before and after: equal).
    pub generation: String,
    pub files: u64,
    pub bytes: u64,
    /// The write-through directories left out (symlinked back to EFS on restore).
    pub write_through: Vec<String>,
    /// Whether the site's wp-config.php calls [`HOOK_FUNCTION`].
    pub hooks: bool,
    /// When it was built (ms since the epoch).
    pub built_ms: u64,
}

/// Whether a relative path (components separated by `/`) is at or below one of `dirs`, or is the
/// bridge's state directory: such paths are not copied into the mirror.
pub fn stays_on_efs(relative: &str, dirs: &[String]) -> bool {
    let relative = relative.trim_matches('/');
    let under = |dir: &str| {
        let dir = dir.trim_matches('/');
        !dir.is_empty()
            && (relative == dir
                || (relative.starts_with(dir) && relative.as_bytes().get(dir.len()) == Some(&b'/')))
    };
    under(STATE_DIR) || dirs.iter().any(|d| under(d))
}

/// A request as far as [`runs_on_efs`] looks at it.
#[derive(Debug, Clone, Copy)]
pub struct RequestFacts<'a> {
    pub method: &'a str,
    /// The PHP script, relative to the document root (e.g. `wp-admin/update.php`).
    pub script: &'a str,
    /// The path as requested (for the REST API's pretty URLs, `/wp-json/...`).
    pub path: &'a str,
    pub query: &'a str,
    /// `application/x-www-form-urlencoded` request body, if it is one.
    pub form: Option<&'a [u8]>,
}

/// admin-ajax.php actions that install, update, delete or edit code.
const AJAX_CODE_ACTIONS: &[&str] = &[
    "install-plugin",
    "update-plugin",
    "delete-plugin",
    "install-theme",
    "update-theme",
    "delete-theme",
    "edit-theme-plugin-file",
    "update-translations",
    "install-language-pack",
    "upload-plugin",
    "upload-theme",
];

/// REST routes (prefixes) whose writes change code.
const REST_CODE_ROUTES: &[&str] = &["/wp/v2/plugins", "/wp/v2/themes", "/wp-site-health/"];

fn param<'a>(pairs: &'a [u8], name: &str) -> Option<std::borrow::Cow<'a, str>> {
    pairs.split(|b| *b == b'&').find_map(|pair| {
        let mut it = pair.splitn(2, |b| *b == b'=');
        let key = it.next()?;
        (key == name.as_bytes()).then(|| {
            let v = it.next().unwrap_or_default();
            percent_decode(v)
        })
    })
}

/// A form value: `+` is a space, then percent-decoding (invalid escapes stay as they are).
fn percent_decode(v: &[u8]) -> std::borrow::Cow<'_, str> {
    if !v.contains(&b'+') {
        return percent_encoding::percent_decode(v).decode_utf8_lossy();
    }
    let spaced: Vec<u8> = v
        .iter()
        .map(|b| if *b == b'+' { b' ' } else { *b })
        .collect();
    std::borrow::Cow::Owned(
        percent_encoding::percent_decode(&spaced)
            .decode_utf8_lossy()
            .into_owned(),
    )
}

/// Whether this PHP request must run against EFS itself because it may write code: WordPress's
/// installers, updaters, deleters and file editors, in every way wp-admin and the REST API reach
/// them. Conservative by design: a request wrongly sent to EFS is only slower; one wrongly kept
/// on the mirror would write into the sandbox's copy (lost). Reads never need EFS.
pub fn runs_on_efs(r: &RequestFacts) -> bool {
    let script = r.script.trim_start_matches('/');
    // wp-cron.php runs automatic core/plugin/theme/translation updates, whatever the method
    if script == "wp-cron.php" {
        return true;
    }
    let read_only = matches!(r.method, "GET" | "HEAD" | "OPTIONS");
    if let Some(admin) = script.strip_prefix("wp-admin/") {
        // The updaters and installers do their work on GET links too
        // (update.php?action=install-plugin&..., update-core.php?action=do-core-upgrade).
        if matches!(
            admin,
            "update.php" | "update-core.php" | "plugin-install.php" | "theme-install.php"
        ) && (!read_only || param(r.query.as_bytes(), "action").is_some())
        {
            return true;
        }
        if read_only {
            // plugins.php/themes.php?action=delete... confirm with a POST; activation is a DB write
            return matches!(admin, "plugins.php" | "themes.php")
                && param(r.query.as_bytes(), "action").is_some_and(|a| a.contains("delete"));
        }
        if admin == "admin-ajax.php" {
            let action = r
                .form
                .and_then(|f| param(f, "action"))
                .or_else(|| param(r.query.as_bytes(), "action"));
            return action.is_some_and(|a| AJAX_CODE_ACTIONS.contains(&a.as_ref()));
        }
        // every other wp-admin form post: plugin/theme editors, network admin updates, ...
        return true;
    }
    if read_only {
        return false;
    }
    // the REST API: /wp-json/<route> or ?rest_route=<route>
    let route = r
        .path
        .strip_prefix("/wp-json")
        .map(std::borrow::Cow::Borrowed)
        .or_else(|| param(r.query.as_bytes(), "rest_route"));
    if let Some(route) = route {
        return REST_CODE_ROUTES.iter().any(|p| route.starts_with(p));
    }
    // xmlrpc.php, wp-login.php, comments and the front end do not touch code
    false
}

/// What one sandbox serves PHP from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Serving {
    /// The local mirror, of this generation.
    Mirror(String),
    /// EFS itself (no usable mirror yet, or the code changed since).
    Efs,
}

/// What a check of the generation marker leads to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Step {
    /// Nothing to do.
    Keep,
    /// The code changed: serve from EFS now and start a refresh.
    LeaveMirror,
    /// Serving from EFS and no refresh for `marker` is running or ready: start one.
    Refresh,
    /// A complete mirror of the current generation is staged: switch to it.
    UseStaged,
}

/// The decision after reading the marker. `staged`: the generation of a complete mirror waiting
/// to be switched to; `refreshing`: a refresh task is running.
pub fn next_step(serving: &Serving, marker: &str, staged: Option<&str>, refreshing: bool) -> Step {
    match serving {
        Serving::Mirror(g) if g == marker => Step::Keep,
        Serving::Mirror(_) => Step::LeaveMirror,
        Serving::Efs if staged == Some(marker) => Step::UseStaged,
        Serving::Efs if refreshing => Step::Keep,
        Serving::Efs => Step::Refresh,
    }
}

/// A fresh generation token: time and process make it unique across sandboxes.
pub fn new_generation(nanos_since_epoch: u128, pid: u32, counter: u64) -> String {
    format!("{nanos_since_epoch:x}-{pid:x}-{counter:x}")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn facts<'a>(method: &'a str, script: &'a str, query: &'a str) -> RequestFacts<'a> {
        RequestFacts {
            method,
            script,
            path: "/",
            query,
            form: None,
        }
    }

    #[test]
    fn reads_stay_on_the_mirror() {
        for (m, s, q) in [
            ("GET", "index.php", ""),
            ("GET", "wp-admin/index.php", ""),
            ("GET", "wp-admin/plugins.php", ""),
            (
                "GET",
                "wp-admin/plugins.php",
                "action=activate&plugin=a%2Fa.php",
            ),
            ("GET", "wp-admin/update-core.php", ""),
            ("GET", "wp-admin/plugin-install.php", ""),
            ("HEAD", "wp-admin/update.php", ""),
            ("GET", "wp-login.php", ""),
            ("POST", "wp-login.php", ""),
            ("POST", "wp-comments-post.php", ""),
            ("POST", "xmlrpc.php", ""),
            ("OPTIONS", "index.php", ""),
        ] {
            assert!(!runs_on_efs(&facts(m, s, q)), "{m} {s}?{q}");
        }
    }

    #[test]
    fn installers_updaters_and_editors_run_on_efs() {
        for (m, s, q) in [
            (
                "GET",
                "wp-admin/update.php",
                "action=install-plugin&plugin=x&_wpnonce=1",
            ),
            ("GET", "wp-admin/update.php", "action=upgrade-theme&theme=x"),
            ("POST", "wp-admin/update.php", "action=upload-plugin"),
            ("GET", "wp-admin/update-core.php", "action=do-core-upgrade"),
            (
                "POST",
                "wp-admin/update-core.php",
                "action=do-plugin-upgrade",
            ),
            (
                "GET",
                "wp-admin/plugins.php",
                "action=delete-selected&checked%5B0%5D=x",
            ),
            ("POST", "wp-admin/plugins.php", "action=delete-selected"),
            ("POST", "wp-admin/theme-editor.php", ""),
            ("POST", "wp-admin/plugin-editor.php", ""),
            ("POST", "wp-admin/options-general.php", ""),
            (
                "POST",
                "wp-admin/network/update-core.php",
                "action=do-core-upgrade",
            ),
            ("POST", "wp-cron.php", "doing_wp_cron=1"),
            ("GET", "wp-cron.php", ""),
        ] {
            assert!(runs_on_efs(&facts(m, s, q)), "{m} {s}?{q}");
        }
    }

    #[test]
    fn admin_ajax_by_action() {
        let ajax = |form: &'static [u8], query: &'static str| RequestFacts {
            method: "POST",
            script: "wp-admin/admin-ajax.php",
            path: "/wp-admin/admin-ajax.php",
            query,
            form: Some(form),
        };
        assert!(!runs_on_efs(&ajax(b"action=heartbeat&data=x", "")));
        assert!(!runs_on_efs(&ajax(b"interval=15&action=heartbeat", "")));
        assert!(runs_on_efs(&ajax(
            b"slug=hello&action=install-plugin&_ajax_nonce=1",
            ""
        )));
        assert!(runs_on_efs(&ajax(b"action=update%2Dplugin&plugin=a", "")));
        assert!(runs_on_efs(&ajax(b"x=1", "action=edit-theme-plugin-file")));
        assert!(runs_on_efs(&ajax(b"action=delete-theme&slug=t", "")));
        assert!(!runs_on_efs(&ajax(b"action=install-pluginX", "")));
    }

    #[test]
    fn rest_writes_to_plugins_and_themes() {
        let rest = |method: &'static str, path: &'static str, query: &'static str| RequestFacts {
            method,
            script: "index.php",
            path,
            query,
            form: None,
        };
        assert!(runs_on_efs(&rest("POST", "/wp-json/wp/v2/plugins", "")));
        assert!(runs_on_efs(&rest(
            "DELETE",
            "/wp-json/wp/v2/plugins/hello/hello",
            ""
        )));
        assert!(runs_on_efs(&rest(
            "POST",
            "/",
            "rest_route=%2Fwp%2Fv2%2Fplugins"
        )));
        assert!(runs_on_efs(&rest(
            "POST",
            "/",
            "rest_route=/wp/v2/plugins/akismet"
        )));
        assert!(!runs_on_efs(&rest("GET", "/wp-json/wp/v2/plugins", "")));
        assert!(!runs_on_efs(&rest("POST", "/wp-json/wp/v2/posts", "")));
        assert!(!runs_on_efs(&rest(
            "POST",
            "/",
            "rest_route=/wp/v2/posts/1"
        )));
        assert!(!runs_on_efs(&rest("POST", "/hello/", "")));
    }

    #[test]
    fn write_through_prefixes_match_whole_components() {
        let dirs: Vec<String> = DEFAULT_WRITE_THROUGH
            .iter()
            .map(|s| s.to_string())
            .collect();
        assert!(stays_on_efs("wp-content/uploads", &dirs));
        assert!(stays_on_efs("wp-content/uploads/2024/x.jpg", &dirs));
        assert!(stays_on_efs("/wp-content/cache/", &dirs));
        assert!(stays_on_efs(".lambda-fpm/code-mirror.tar.zst", &dirs));
        assert!(stays_on_efs(".lambda-fpm", &[]));
        assert!(!stays_on_efs("wp-content/uploads-old/x", &dirs));
        assert!(!stays_on_efs("wp-content/plugins/cache/x.php", &dirs));
        assert!(!stays_on_efs("wp-content", &dirs));
        assert!(!stays_on_efs(".lambda-fpmx", &dirs));
        assert!(!stays_on_efs("index.php", &["".into()]));
    }

    #[test]
    fn marker_checks() {
        let m = Serving::Mirror("g1".into());
        assert_eq!(next_step(&m, "g1", None, false), Step::Keep);
        assert_eq!(next_step(&m, "g2", None, false), Step::LeaveMirror);
        assert_eq!(next_step(&m, "g2", Some("g2"), true), Step::LeaveMirror);
        assert_eq!(next_step(&Serving::Efs, "g2", None, false), Step::Refresh);
        assert_eq!(next_step(&Serving::Efs, "g2", None, true), Step::Keep);
        assert_eq!(
            next_step(&Serving::Efs, "g2", Some("g2"), false),
            Step::UseStaged
        );
        // a staged mirror of an older generation is never used
        assert_eq!(
            next_step(&Serving::Efs, "g3", Some("g2"), false),
            Step::Refresh
        );
        assert_eq!(
            next_step(&Serving::Efs, "", Some(""), false),
            Step::UseStaged
        );
    }

    #[test]
    fn percent_decoding_of_params() {
        assert_eq!(param(b"a=1&action=do%2Dx", "action").unwrap(), "do-x");
        assert_eq!(param(b"action=a+b", "action").unwrap(), "a b");
        assert_eq!(param(b"action=%zz%4", "action").unwrap(), "%zz%4");
        assert_eq!(param(b"action", "action").unwrap(), "");
        assert!(param(b"xaction=1", "action").is_none());
        assert_ne!(new_generation(1, 2, 3), new_generation(1, 2, 4));
    }
}
