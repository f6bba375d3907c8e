//! Request routing, decided without IO: what a URL path maps to.
//!
//! It reproduces nginx's usual WordPress configuration,
//!
//! ```nginx
//! location / { try_files $uri $uri/ /index.php?$args; }
//! location ~ [^/]\.php(/|$) {
//!     fastcgi_split_path_info ^(.+?\.php)(/.*)$;
//!     if (!-f $document_root$fastcgi_script_name) { return 404; }
//! }
//! ```
//!
//! plus the deny rules a hardened WordPress server adds. The file system is asked through
//! the [`FileProbe`] trait, so every rule is unit-tested with an in-memory tree.
//!
//! ## What counts as PHP
//! A path segment is a PHP script only when it ends in exactly `.php` (ASCII, lower case) and
//! has a name before it. Segments that *look* like PHP but are not exactly that — `.PHP`,
//! `.pHp`, `x.php.bak`, `x.php~`, `x.php.` , `x.phtml`, `x.phar`, or any extension with
//! non-ASCII letters (Unicode look-alikes such as `x.ｐｈｐ`) — are denied outright: they are
//! neither executed (php-fpm would refuse or, worse, run them) nor served (that would leak
//! source code).

use std::fmt;

use percent_encoding::{AsciiSet, CONTROLS, NON_ALPHANUMERIC, utf8_percent_encode};

/// What the file system holds at a path below the document root.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Probe {
    File,
    Dir,
    Missing,
    /// The path resolves (through a symlink) to somewhere outside the document root.
    Outside,
}

/// Answers [`Probe`] questions for a decoded path relative to the document root
/// (no leading slash, segments joined by `/`, already validated: no `.`/`..`, no NUL).
pub trait FileProbe {
    fn probe(&self, relative: &str) -> Probe;

    /// Where `relative` really is, relative to the root, when symlinks make that differ from
    /// `relative` (`None`: it is `relative` itself, or it does not resolve inside the root).
    /// The deny rules judge this path too ([`judge_real_target`]).
    fn real_path(&self, _relative: &str) -> Option<String> {
        None
    }
}

/// What a routed file is used for, for [`judge_real_target`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Use {
    /// Read and sent as it is.
    Served,
    /// Run by php-fpm.
    Run,
}

/// The rules for the file a symlinked target really is (`real`, relative to the root, symlinks
/// resolved): the same deny rules as a URL naming it, and a script runs only when it really is
/// a `*.php` file outside uploads, a served file never when it is PHP source. So a link named
/// `notes.txt` does not show `wp-config.php` or `index.php`, `alias.php` does not run an upload,
/// and `x.php` does not run a JPEG as PHP.
pub fn judge_real_target(real: &str, used: Use) -> Option<DenyReason> {
    let segments: Vec<String> = real
        .split('/')
        .filter(|s| !s.is_empty())
        .map(str::to_string)
        .collect();
    if let Some(reason) = deny_by_name(&segments) {
        return Some(reason);
    }
    let name = segments.last().map(String::as_str).unwrap_or("");
    match used {
        Use::Run if !is_php_name(name) => Some(DenyReason::SymlinkTarget),
        Use::Served if is_php_name(name) => Some(DenyReason::SymlinkTarget),
        _ => None,
    }
}

/// Why a request was denied.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DenyReason {
    /// Not a path at all (no leading slash, bad percent-encoding, invalid UTF-8).
    Malformed,
    /// `..`, `.`, encoded slashes or backslashes: an attempt to leave the document root.
    Traversal,
    /// A NUL byte, raw or encoded.
    NulByte,
    /// A dotfile or dot-directory (`.htaccess`, `.git/`, `.env`).
    Dotfile,
    /// `wp-config.php` holds the database password; so do its copies (`wp-config.bak`,
    /// `wp-config.old`, `wp-config.txt`, `wp-config-backup.php`, ...).
    WpConfig,
    /// A file no site means to publish, kept next to the code by tools and habits: database
    /// dumps (`*.sql`, also compressed), logs (`*.log`, PHP's `error_log`, WordPress's
    /// `wp-content/debug.log`, which WP_DEBUG_LOG fills with paths and queries), and backup or
    /// editor copies (`*.bak`, `*.old`, `*.orig`, `*.save`, `*.swp`, `*~`) whatever they copy.
    SensitiveFile,
    /// A name that looks like PHP but is not exactly `*.php` (backups, editor copies,
    /// `.PHP`, `.phtml`, non-ASCII extensions).
    PhpLookalike,
    /// PHP under `wp-content/uploads` (uploaded files must never run).
    PhpInUploads,
    /// A symlink that points outside the document root.
    OutsideRoot,
    /// A symlink inside the root whose target the rules refuse: PHP source under another
    /// name, a non-PHP file run as PHP, an upload run through an alias.
    SymlinkTarget,
    /// Below a directory whose `.htaccess` denies every request (a plugin's logs or backups;
    /// see `htaccess`). Decided by the bridge after routing, from the disk.
    Htaccess,
    /// A directory with no index file (no listings).
    DirectoryListing,
    /// A `*.php` path whose script does not exist (nginx: `return 404`).
    NoSuchScript,
}

impl DenyReason {
    /// The HTTP status for this denial.
    pub fn status(self) -> u16 {
        match self {
            DenyReason::Malformed | DenyReason::Traversal | DenyReason::NulByte => 400,
            DenyReason::NoSuchScript => 404,
            _ => 403,
        }
    }

    /// A short machine-friendly name for logs.
    pub fn as_str(self) -> &'static str {
        match self {
            DenyReason::Malformed => "malformed_path",
            DenyReason::Traversal => "path_traversal",
            DenyReason::NulByte => "nul_byte",
            DenyReason::Dotfile => "dotfile",
            DenyReason::WpConfig => "wp_config",
            DenyReason::SensitiveFile => "sensitive_file",
            DenyReason::PhpLookalike => "php_lookalike",
            DenyReason::PhpInUploads => "php_in_uploads",
            DenyReason::OutsideRoot => "outside_document_root",
            DenyReason::SymlinkTarget => "symlink_target",
            DenyReason::Htaccess => "htaccess_denied",
            DenyReason::DirectoryListing => "directory_listing",
            DenyReason::NoSuchScript => "no_such_script",
        }
    }
}

impl fmt::Display for DenyReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Where a request goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Route {
    /// A file served by the bridge itself. `relative` is below the document root.
    Static { relative: String },
    /// A PHP script run by php-fpm.
    Php(PhpTarget),
    /// A directory requested without its trailing slash: redirect like nginx does.
    Redirect { location: String },
    /// Refused.
    Deny(DenyReason),
}

/// The script php-fpm runs and the CGI path variables that go with it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PhpTarget {
    /// Script path relative to the document root (no leading slash).
    pub relative: String,
    /// URL path of the script (`SCRIPT_NAME`), e.g. `/wp-admin/index.php`.
    pub script_name: String,
    /// Extra path after the script (`PATH_INFO`), empty or starting with `/`.
    pub path_info: String,
    /// True when this is the front controller handling a URL that is not a file.
    pub front_controller: bool,
}

impl Route {
    /// Short name for the request log: static / php / redirect / denied.
    pub fn kind(&self) -> &'static str {
        match self {
            Route::Static { .. } => "static",
            Route::Php(_) => "php",
            Route::Redirect { .. } => "redirect",
            Route::Deny(_) => "denied",
        }
    }
}

/// Decodes and validates a raw (percent-encoded) URL path into its segments.
///
/// Empty segments are dropped (`//` is `/`, like nginx's `merge_slashes`). The returned
/// flag says whether the path ended with a slash.
pub fn decode_path(raw: &str) -> Result<(Vec<String>, bool), DenyReason> {
    if !raw.starts_with('/') {
        return Err(DenyReason::Malformed);
    }
    let bytes = raw.as_bytes();
    let mut decoded = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes[i];
        if b == b'%' {
            let hex = bytes.get(i + 1..i + 3).ok_or(DenyReason::Malformed)?;
            let hex = std::str::from_utf8(hex).map_err(|_| DenyReason::Malformed)?;
            let value = u8::from_str_radix(hex, 16).map_err(|_| DenyReason::Malformed)?;
            match value {
                // An encoded slash or backslash only makes sense to smuggle a separator
                // past a naive check.
                b'/' | b'\\' => return Err(DenyReason::Traversal),
                0 => return Err(DenyReason::NulByte),
                _ => decoded.push(value),
            }
            i += 3;
        } else {
            match b {
                0 => return Err(DenyReason::NulByte),
                b'\\' => return Err(DenyReason::Traversal),
                _ => decoded.push(b),
            }
            i += 1;
        }
    }
    let text = String::from_utf8(decoded).map_err(|_| DenyReason::Malformed)?;
    if text.chars().any(|c| c.is_control()) {
        return Err(DenyReason::Malformed);
    }
    let trailing_slash = text.ends_with('/');
    let mut segments = Vec::new();
    for segment in text.split('/') {
        match segment {
            "" => continue,
            "." | ".." => return Err(DenyReason::Traversal),
            s => segments.push(s.to_string()),
        }
    }
    Ok((segments, trailing_slash))
}

/// Whether a file name is exactly a PHP script name: `<something>.php`, ASCII lower case.
pub fn is_php_name(name: &str) -> bool {
    name.len() > 4 && name.ends_with(".php")
}

/// Whether a name looks like PHP without being exactly `*.php`: such names are never run
/// and never served.
pub fn is_php_lookalike(name: &str) -> bool {
    if is_php_name(name) {
        return false;
    }
    // Any extension with non-ASCII characters: Unicode look-alikes of "php".
    if let Some((_, ext)) = name.rsplit_once('.')
        && !ext.is_ascii()
    {
        return true;
    }
    let lower = name.to_ascii_lowercase();
    [".php", ".phtml", ".phar", ".pht", ".phps"]
        .iter()
        .any(|needle| lower.contains(needle))
}

/// Routes a decoded request path. `query` is the raw query string (kept for redirects).
///
/// The deny rules judge the URL's names and then, again, whatever the URL resolved to: a
/// directory's `index.php` or `index.html` and the front controller are held to the same rules
/// as a URL naming them (`/wp-content/uploads/2024/` must not run the `index.php` that
/// `/wp-content/uploads/2024/index.php` may not).
pub fn route(raw_path: &str, query: &str, front_controller: &str, fs: &impl FileProbe) -> Route {
    let decided = resolve(raw_path, query, front_controller, fs);
    let (resolved, used) = match &decided {
        Route::Php(target) => (&target.relative, Use::Run),
        Route::Static { relative } => (relative, Use::Served),
        Route::Redirect { .. } | Route::Deny(_) => return decided,
    };
    let segments: Vec<String> = resolved
        .split('/')
        .filter(|s| !s.is_empty())
        .map(str::to_string)
        .collect();
    if let Some(reason) = deny_by_name(&segments) {
        return Route::Deny(reason);
    }
    // and, through a symlink, the file it really is
    if let Some(real) = fs.real_path(resolved)
        && let Some(reason) = judge_real_target(&real, used)
    {
        return Route::Deny(reason);
    }
    decided
}

/// `route` before the resolved target is judged.
fn resolve(raw_path: &str, query: &str, front_controller: &str, fs: &impl FileProbe) -> Route {
    let (segments, trailing_slash) = match decode_path(raw_path) {
        Ok(v) => v,
        Err(reason) => return Route::Deny(reason),
    };
    if let Some(reason) = deny_by_name(&segments) {
        return Route::Deny(reason);
    }

    // `location ~ [^/]\.php(/|$)` with a non-greedy split: the first `*.php` segment is the
    // script, the rest is PATH_INFO, and the script must be a regular file.
    if let Some(index) = segments.iter().position(|s| is_php_name(s)) {
        let relative = segments[..=index].join("/");
        return match fs.probe(&relative) {
            Probe::File => {
                let mut path_info = String::new();
                for s in &segments[index + 1..] {
                    path_info.push('/');
                    path_info.push_str(s);
                }
                if trailing_slash && index + 1 < segments.len() {
                    path_info.push('/');
                }
                Route::Php(PhpTarget {
                    script_name: format!("/{relative}"),
                    relative,
                    path_info,
                    front_controller: false,
                })
            }
            Probe::Outside => Route::Deny(DenyReason::OutsideRoot),
            Probe::Dir | Probe::Missing => Route::Deny(DenyReason::NoSuchScript),
        };
    }

    // try_files $uri $uri/ /index.php?$args
    let relative = segments.join("/");
    match fs.probe(&relative) {
        Probe::File if !trailing_slash => return Route::Static { relative },
        Probe::Dir | Probe::File if relative.is_empty() => {}
        Probe::Dir if !trailing_slash => {
            return Route::Redirect {
                location: directory_location(&segments, query),
            };
        }
        Probe::Dir => {}
        Probe::Outside => return Route::Deny(DenyReason::OutsideRoot),
        // "file/" is not a file: fall through to the front controller, as nginx does.
        Probe::File | Probe::Missing => return front(front_controller, fs),
    }

    // A directory with a trailing slash: its index.php, else index.html, else 403.
    let prefix = if relative.is_empty() {
        String::new()
    } else {
        format!("{relative}/")
    };
    let index_php = format!("{prefix}index.php");
    match fs.probe(&index_php) {
        Probe::File => {
            return Route::Php(PhpTarget {
                script_name: format!("/{index_php}"),
                relative: index_php,
                path_info: String::new(),
                front_controller: false,
            });
        }
        Probe::Outside => return Route::Deny(DenyReason::OutsideRoot),
        _ => {}
    }
    let index_html = format!("{prefix}index.html");
    match fs.probe(&index_html) {
        Probe::File => Route::Static {
            relative: index_html,
        },
        Probe::Outside => Route::Deny(DenyReason::OutsideRoot),
        _ => Route::Deny(DenyReason::DirectoryListing),
    }
}

/// What a path segment keeps as is in a `Location`: unreserved characters and the sub-delims
/// that mean nothing special in a path; everything else (controls, space, non-ASCII, `%`,
/// `?`, `#`, ...) is percent-encoded.
const SEGMENT: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~')
    .remove(b'!')
    .remove(b'$')
    .remove(b'&')
    .remove(b'\'')
    .remove(b'(')
    .remove(b')')
    .remove(b'*')
    .remove(b'+')
    .remove(b',')
    .remove(b';')
    .remove(b'=')
    .remove(b':')
    .remove(b'@');

/// What the query keeps as is: everything but controls, space, non-ASCII and the characters
/// no query may carry raw (`"`, `#`, `<`, `>`, `` ` ``); `%` stays, escapes are the client's.
const QUERY: &AsciiSet = &CONTROLS
    .add(b' ')
    .add(b'"')
    .add(b'#')
    .add(b'<')
    .add(b'>')
    .add(b'`');

/// `Location` of the redirect from a directory to its trailing-slash form: the decoded
/// segments encoded again (so `/d%69r` and `/dir` redirect alike and a directory named
/// `a?b` or `été` keeps its name), and the query without a byte that could end the header.
pub fn directory_location(segments: &[String], query: &str) -> String {
    let mut location = String::new();
    for s in segments {
        location.push('/');
        location.extend(utf8_percent_encode(s, SEGMENT));
    }
    location.push('/');
    if !query.is_empty() {
        location.push('?');
        location.extend(utf8_percent_encode(query, QUERY));
    }
    location
}

/// The front controller for URLs that are not files (pretty permalinks).
fn front(front_controller: &str, fs: &impl FileProbe) -> Route {
    let relative = front_controller.trim_start_matches('/').to_string();
    match fs.probe(&relative) {
        Probe::File => Route::Php(PhpTarget {
            script_name: format!("/{relative}"),
            relative,
            path_info: String::new(),
            front_controller: true,
        }),
        Probe::Outside => Route::Deny(DenyReason::OutsideRoot),
        Probe::Dir | Probe::Missing => Route::Deny(DenyReason::NoSuchScript),
    }
}

/// Names of files a site does not mean to publish ([`DenyReason::SensitiveFile`]).
pub fn is_sensitive_name(name: &str) -> bool {
    let lower = name.to_ascii_lowercase();
    if lower == "error_log" || lower.ends_with('~') {
        return true;
    }
    // a dump stays a dump when compressed: judge the extension under .gz/.bz2/.xz/.zst/.zip
    let mut stem = lower.as_str();
    for packed in [".gz", ".bz2", ".xz", ".zst", ".zip"] {
        if let Some(s) = stem.strip_suffix(packed) {
            stem = s;
            break;
        }
    }
    if stem.ends_with(".sql") {
        return true;
    }
    [".log", ".bak", ".old", ".orig", ".save", ".swp", ".swo"]
        .iter()
        .any(|ext| lower.ends_with(ext))
}

/// Deny rules that depend only on the names in the path.
fn deny_by_name(segments: &[String]) -> Option<DenyReason> {
    for (i, segment) in segments.iter().enumerate() {
        // /.well-known/ (ACME, security.txt …) is the one dot-directory a site serves.
        if segment.starts_with('.') && !(i == 0 && segment == ".well-known") {
            return Some(DenyReason::Dotfile);
        }
        if segment.to_ascii_lowercase().starts_with("wp-config") {
            return Some(DenyReason::WpConfig);
        }
        if is_php_lookalike(segment) {
            return Some(DenyReason::PhpLookalike);
        }
        if is_sensitive_name(segment) {
            return Some(DenyReason::SensitiveFile);
        }
    }
    let in_uploads = segments.len() >= 2
        && segments[0] == "wp-content"
        && segments[1].eq_ignore_ascii_case("uploads");
    if in_uploads && segments.iter().any(|s| is_php_name(s)) {
        return Some(DenyReason::PhpInUploads);
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    /// An in-memory tree: paths of files and directories.
    struct Tree(HashMap<String, Probe>);

    impl Tree {
        fn wordpress() -> Tree {
            let mut map = HashMap::new();
            for dir in [
                "",
                "wp-admin",
                "wp-admin/css",
                "wp-includes",
                "wp-includes/css",
                "wp-content",
                "wp-content/uploads",
                "wp-content/uploads/2024",
                "wp-content/themes",
                "wp-content/themes/twentytwentythree",
                "docs",
                "static-site",
                ".well-known",
            ] {
                map.insert(dir.to_string(), Probe::Dir);
            }
            for file in [
                "index.php",
                "wp-login.php",
                "wp-cron.php",
                "xmlrpc.php",
                "wp-config.php",
                "wp-admin/index.php",
                "wp-admin/post.php",
                "wp-admin/async-upload.php",
                "wp-admin/css/login.min.css",
                "wp-includes/css/dashicons.min.css",
                "wp-content/uploads/2024/photo.jpg",
                "wp-content/uploads/2024/shell.php",
                "wp-content/themes/twentytwentythree/style.css",
                "wp-content/themes/twentytwentythree/functions.php",
                "static-site/index.html",
                "robots.txt",
                ".htaccess",
                ".env",
                ".well-known/security.txt",
                "café.txt",
                "x.PHP",
            ] {
                map.insert(file.to_string(), Probe::File);
            }
            map.insert("escape".to_string(), Probe::Outside);
            map.insert("escape.css".to_string(), Probe::Outside);
            map.insert("evil.php".to_string(), Probe::Outside);
            Tree(map)
        }
    }

    impl FileProbe for Tree {
        fn probe(&self, relative: &str) -> Probe {
            self.0.get(relative).copied().unwrap_or(Probe::Missing)
        }
    }

    /// The WordPress tree plus symlinks inside the root (name -> real path).
    struct Linked(Tree, Vec<(&'static str, &'static str)>);

    impl Linked {
        fn real(&self, relative: &str) -> Option<String> {
            crate::fuzz::through_links(&self.1, relative)
        }
    }

    impl FileProbe for Linked {
        fn probe(&self, relative: &str) -> Probe {
            self.0
                .probe(&self.real(relative).unwrap_or_else(|| relative.to_string()))
        }
        fn real_path(&self, relative: &str) -> Option<String> {
            self.real(relative)
        }
    }

    /// Finding 5 of #24: a symlink is judged by what it points to, not by its name.
    #[test]
    fn symlinks_are_judged_by_their_target() {
        let mut tree = Tree::wordpress();
        tree.0
            .insert("wp-content/uploads/2024/shell.php".into(), Probe::File);
        tree.0
            .insert("wp-content/uploads/2024/photo.jpg".into(), Probe::File);
        tree.0.insert("wp-content/uploads".into(), Probe::Dir);
        let fs = Linked(
            tree,
            vec![
                ("notes.txt", "index.php"),
                ("config.txt", "wp-config.php"),
                ("alias.php", "wp-content/uploads/2024/shell.php"),
                ("img.php", "wp-content/uploads/2024/photo.jpg"),
                ("media", "wp-content/uploads"),
                ("env.txt", ".env"),
                (
                    "latest.css",
                    "wp-content/themes/twentytwentythree/style.css",
                ),
                ("login.php", "wp-login.php"),
            ],
        );
        let at = |p: &str| route(p, "", "/index.php", &fs);
        let denied = Route::Deny(DenyReason::SymlinkTarget);
        assert_eq!(at("/notes.txt"), denied, "PHP source under a .txt name");
        assert_eq!(at("/config.txt"), Route::Deny(DenyReason::WpConfig));
        assert_eq!(at("/env.txt"), Route::Deny(DenyReason::Dotfile));
        assert_eq!(at("/alias.php"), Route::Deny(DenyReason::PhpInUploads));
        assert_eq!(at("/img.php"), denied, "a JPEG run as PHP");
        assert_eq!(
            at("/media/2024/shell.php"),
            Route::Deny(DenyReason::PhpInUploads)
        );
        // links to what a URL may read or run are fine
        assert_eq!(at("/latest.css"), stat("latest.css"));
        assert_eq!(at("/media/2024/photo.jpg"), stat("media/2024/photo.jpg"));
        assert_eq!(at("/login.php"), php("/login.php", "", false));
    }

    fn r(path: &str) -> Route {
        route(path, "", "/index.php", &Tree::wordpress())
    }

    fn php(script_name: &str, path_info: &str, front_controller: bool) -> Route {
        Route::Php(PhpTarget {
            relative: script_name.trim_start_matches('/').to_string(),
            script_name: script_name.to_string(),
            path_info: path_info.to_string(),
            front_controller,
        })
    }

    fn stat(relative: &str) -> Route {
        Route::Static {
            relative: relative.to_string(),
        }
    }

    #[test]
    fn existing_files_are_static() {
        assert_eq!(r("/robots.txt"), stat("robots.txt"));
        assert_eq!(
            r("/wp-admin/css/login.min.css"),
            stat("wp-admin/css/login.min.css")
        );
        assert_eq!(
            r("/wp-includes/css/dashicons.min.css"),
            stat("wp-includes/css/dashicons.min.css")
        );
        assert_eq!(
            r("/wp-content/uploads/2024/photo.jpg"),
            stat("wp-content/uploads/2024/photo.jpg")
        );
        assert_eq!(
            r("/wp-content/themes/twentytwentythree/style.css"),
            stat("wp-content/themes/twentytwentythree/style.css")
        );
    }

    #[test]
    fn percent_encoded_names_are_decoded() {
        assert_eq!(r("/caf%C3%A9.txt"), stat("café.txt"));
        assert_eq!(r("/rob%6fts.txt"), stat("robots.txt"));
    }

    #[test]
    fn merged_slashes() {
        assert_eq!(r("//robots.txt"), stat("robots.txt"));
        assert_eq!(
            r("/wp-admin//css///login.min.css"),
            stat("wp-admin/css/login.min.css")
        );
    }

    #[test]
    fn php_scripts_run_as_themselves() {
        assert_eq!(r("/wp-login.php"), php("/wp-login.php", "", false));
        assert_eq!(r("/wp-cron.php"), php("/wp-cron.php", "", false));
        assert_eq!(r("/xmlrpc.php"), php("/xmlrpc.php", "", false));
        assert_eq!(
            r("/wp-admin/post.php"),
            php("/wp-admin/post.php", "", false)
        );
        assert_eq!(
            r("/wp-admin/async-upload.php"),
            php("/wp-admin/async-upload.php", "", false)
        );
        assert_eq!(r("/index.php"), php("/index.php", "", false));
    }

    #[test]
    fn path_info_after_script() {
        assert_eq!(
            r("/index.php/2024/hello"),
            php("/index.php", "/2024/hello", false)
        );
        assert_eq!(
            r("/index.php/2024/hello/"),
            php("/index.php", "/2024/hello/", false)
        );
        assert_eq!(
            r("/wp-admin/post.php/x"),
            php("/wp-admin/post.php", "/x", false)
        );
        // the first .php segment is the script (non-greedy split)
        assert_eq!(r("/index.php/a.php"), php("/index.php", "/a.php", false));
    }

    #[test]
    fn directories_get_their_index() {
        assert_eq!(r("/"), php("/index.php", "", false));
        assert_eq!(r("/wp-admin/"), php("/wp-admin/index.php", "", false));
        assert_eq!(r("/static-site/"), stat("static-site/index.html"));
    }

    #[test]
    fn directory_without_slash_redirects_keeping_query() {
        assert_eq!(
            r("/wp-admin"),
            Route::Redirect {
                location: "/wp-admin/".into()
            }
        );
        assert_eq!(
            route("/wp-admin", "a=1&b=2", "/index.php", &Tree::wordpress()),
            Route::Redirect {
                location: "/wp-admin/?a=1&b=2".into()
            }
        );
    }

    /// Found by the `routing` fuzz target: the redirect repeated the query verbatim (a CR/LF
    /// from an event would have split the Location header) and the decoded path unencoded.
    #[test]
    fn directory_redirects_encode_the_path_and_neutralise_the_query() {
        let seg = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert_eq!(
            directory_location(&seg(&["wp-admin"]), "a=1&b=%41"),
            "/wp-admin/?a=1&b=%41"
        );
        assert_eq!(directory_location(&seg(&["été"]), ""), "/%C3%A9t%C3%A9/");
        assert_eq!(
            directory_location(&seg(&["a?b", "c#d", "e f", "100%", "x;y=z@w"]), ""),
            "/a%3Fb/c%23d/e%20f/100%25/x;y=z@w/"
        );
        assert_eq!(
            directory_location(&seg(&["d"]), "q=\r\nSet-Cookie: x<"),
            "/d/?q=%0D%0ASet-Cookie:%20x%3C"
        );
        let tree = Tree::wordpress();
        assert_eq!(
            route("/wp-%61dmin", "x", "/index.php", &tree),
            route("/wp-admin", "x", "/index.php", &tree)
        );
    }

    #[test]
    fn directory_without_index_is_forbidden() {
        assert_eq!(r("/docs/"), Route::Deny(DenyReason::DirectoryListing));
        assert_eq!(
            r("/wp-content/uploads/"),
            Route::Deny(DenyReason::DirectoryListing)
        );
    }

    #[test]
    fn everything_else_goes_to_front_controller() {
        for path in [
            "/hello-world/",
            "/2024/01/02/a-post/",
            "/category/news",
            "/feed/",
            "/wp-json/wp/v2/posts",
            "/robots.txt/",
            "/no-such-file.css",
            "/sitemap.xml",
        ] {
            assert_eq!(r(path), php("/index.php", "", true), "{path}");
        }
    }

    #[test]
    fn missing_php_is_404_not_front_controller() {
        assert_eq!(r("/nope.php"), Route::Deny(DenyReason::NoSuchScript));
        assert_eq!(
            r("/wp-admin/nope.php"),
            Route::Deny(DenyReason::NoSuchScript)
        );
        assert_eq!(r("/nope.php/extra"), Route::Deny(DenyReason::NoSuchScript));
    }

    #[test]
    fn fix_pathinfo_trap_never_runs_the_image() {
        // /uploads/x.jpg/y.php must never execute x.jpg
        assert_eq!(
            r("/wp-content/uploads/2024/photo.jpg/y.php"),
            Route::Deny(DenyReason::PhpInUploads)
        );
        assert_eq!(
            r("/robots.txt/y.php"),
            Route::Deny(DenyReason::NoSuchScript)
        );
        assert_eq!(
            r("/robots.txt/y.php/z"),
            Route::Deny(DenyReason::NoSuchScript)
        );
    }

    #[test]
    fn custom_front_controller() {
        let tree = Tree::wordpress();
        assert_eq!(
            route("/anything", "", "/wp-login.php", &tree),
            php("/wp-login.php", "", true)
        );
        assert_eq!(
            route("/anything", "", "/missing.php", &tree),
            Route::Deny(DenyReason::NoSuchScript)
        );
    }

    #[test]
    fn symlinks_out_of_root_are_denied() {
        assert_eq!(r("/escape"), Route::Deny(DenyReason::OutsideRoot));
        assert_eq!(r("/escape.css"), Route::Deny(DenyReason::OutsideRoot));
        assert_eq!(r("/evil.php"), Route::Deny(DenyReason::OutsideRoot));
    }

    #[test]
    fn route_kind_names() {
        assert_eq!(r("/robots.txt").kind(), "static");
        assert_eq!(r("/").kind(), "php");
        assert_eq!(r("/wp-admin").kind(), "redirect");
        assert_eq!(r("/.env").kind(), "denied");
    }

    /// The table-driven deny suite: every rule, with its status.
    #[test]
    fn deny_table() {
        let cases: &[(&str, DenyReason)] = &[
            // dotfiles and dot-directories
            ("/.htaccess", DenyReason::Dotfile),
            ("/.env", DenyReason::Dotfile),
            ("/.git/config", DenyReason::Dotfile),
            ("/.git/", DenyReason::Dotfile),
            ("/wp-content/.env", DenyReason::Dotfile),
            ("/%2egit/HEAD", DenyReason::Dotfile),
            ("/.well-known/../.env", DenyReason::Traversal),
            ("/a/.well-known/x", DenyReason::Dotfile),
            ("/.user.ini", DenyReason::Dotfile),
            // wp-config
            ("/wp-config.php", DenyReason::WpConfig),
            ("/WP-CONFIG.PHP", DenyReason::WpConfig),
            ("/wp-config.php.bak", DenyReason::WpConfig),
            ("/wp-config.php~", DenyReason::WpConfig),
            ("/wp-config.php/x", DenyReason::WpConfig),
            ("/wp-config%2ephp", DenyReason::WpConfig),
            ("/sub/wp-config.php", DenyReason::WpConfig),
            // backups, editor copies, case and Unicode look-alikes
            ("/index.php.bak", DenyReason::PhpLookalike),
            ("/index.php~", DenyReason::PhpLookalike),
            ("/index.php.swp", DenyReason::PhpLookalike),
            ("/index.php.orig", DenyReason::PhpLookalike),
            ("/index.php.save", DenyReason::PhpLookalike),
            ("/index.php.old", DenyReason::PhpLookalike),
            ("/index.php.txt", DenyReason::PhpLookalike),
            ("/%23index.php%23", DenyReason::PhpLookalike),
            ("/index.php.", DenyReason::PhpLookalike),
            ("/index.php%20", DenyReason::PhpLookalike),
            ("/x.PHP", DenyReason::PhpLookalike),
            ("/x.pHp", DenyReason::PhpLookalike),
            ("/x.Php/extra", DenyReason::PhpLookalike),
            ("/x.phtml", DenyReason::PhpLookalike),
            ("/x.phar", DenyReason::PhpLookalike),
            ("/x.phps", DenyReason::PhpLookalike),
            ("/x.php5.php7", DenyReason::PhpLookalike),
            ("/x.%EF%BD%90%EF%BD%88%EF%BD%90", DenyReason::PhpLookalike), // fullwidth ｐｈｐ
            ("/x.%D1%80h%D1%80", DenyReason::PhpLookalike),               // Cyrillic р
            ("/x.ph%C6%BF", DenyReason::PhpLookalike),
            // PHP in uploads, including the fix_pathinfo trap
            (
                "/wp-content/uploads/2024/shell.php",
                DenyReason::PhpInUploads,
            ),
            (
                "/wp-content/uploads/2024/photo.jpg/y.php",
                DenyReason::PhpInUploads,
            ),
            (
                "/wp-content/UPLOADS/2024/shell.php",
                DenyReason::PhpInUploads,
            ),
            (
                "/wp-content//uploads/2024/shell.php",
                DenyReason::PhpInUploads,
            ),
            ("/wp-content/uploads/shell.php/x", DenyReason::PhpInUploads),
            // traversal
            ("/../etc/passwd", DenyReason::Traversal),
            ("/wp-admin/../../etc/passwd", DenyReason::Traversal),
            ("/%2e%2e/etc/passwd", DenyReason::Traversal),
            ("/%2E%2E/%2E%2E/etc/passwd", DenyReason::Traversal),
            ("/.%2e/x", DenyReason::Traversal),
            ("/x/%2e", DenyReason::Traversal),
            ("/./robots.txt", DenyReason::Traversal),
            ("/..%2fetc%2fpasswd", DenyReason::Traversal),
            ("/a%2Fb", DenyReason::Traversal),
            ("/a%5cb", DenyReason::Traversal),
            ("/a\\..\\b", DenyReason::Traversal),
            ("/..\\etc", DenyReason::Traversal),
            // NUL
            ("/index.php%00.jpg", DenyReason::NulByte),
            ("/robots.txt\0", DenyReason::NulByte),
            // malformed
            ("relative", DenyReason::Malformed),
            ("", DenyReason::Malformed),
            ("/%", DenyReason::Malformed),
            ("/%zz", DenyReason::Malformed),
            ("/%c3", DenyReason::Malformed),
            ("/%ff%fe", DenyReason::Malformed),
            ("/a%0d%0ab", DenyReason::Malformed),
            ("/a%7fb", DenyReason::Malformed),
            // symlinks out
            ("/escape", DenyReason::OutsideRoot),
            // listings
            ("/docs/", DenyReason::DirectoryListing),
            // missing scripts
            ("/nope.php", DenyReason::NoSuchScript),
        ];
        for (path, reason) in cases {
            assert_eq!(r(path), Route::Deny(*reason), "{path:?}");
        }
    }

    #[test]
    fn deny_statuses() {
        assert_eq!(DenyReason::Traversal.status(), 400);
        assert_eq!(DenyReason::Malformed.status(), 400);
        assert_eq!(DenyReason::NulByte.status(), 400);
        assert_eq!(DenyReason::Dotfile.status(), 403);
        assert_eq!(DenyReason::WpConfig.status(), 403);
        assert_eq!(DenyReason::PhpLookalike.status(), 403);
        assert_eq!(DenyReason::PhpInUploads.status(), 403);
        assert_eq!(DenyReason::OutsideRoot.status(), 403);
        assert_eq!(DenyReason::DirectoryListing.status(), 403);
        assert_eq!(DenyReason::NoSuchScript.status(), 404);
    }

    #[test]
    fn well_known_is_served() {
        assert_eq!(
            r("/.well-known/security.txt"),
            stat(".well-known/security.txt")
        );
    }

    #[test]
    fn php_name_rules() {
        assert!(is_php_name("a.php"));
        assert!(!is_php_name(".php"));
        assert!(!is_php_name("a.PHP"));
        assert!(!is_php_name("a.php "));
        assert!(is_php_lookalike("a.PHP"));
        assert!(is_php_lookalike("a.php.bak"));
        assert!(!is_php_lookalike("a.php"));
        assert!(!is_php_lookalike("photo.jpg"));
        assert!(!is_php_lookalike("café.txt"));
        assert!(!is_php_lookalike("graph.png"));
        assert!(!is_php_lookalike("phpinfo-notes.txt"));
        assert!(is_php_lookalike("résumé.dоc")); // Cyrillic о in the extension
    }

    #[test]
    fn decode_path_reports_trailing_slash() {
        assert_eq!(
            decode_path("/a/b/").unwrap(),
            (vec!["a".into(), "b".into()], true)
        );
        assert_eq!(
            decode_path("/a/b").unwrap(),
            (vec!["a".into(), "b".into()], false)
        );
        assert_eq!(decode_path("/").unwrap(), (vec![], true));
    }

    /// A tree where a directory's index, or the front controller, is a script the deny rules
    /// refuse by name.
    fn tree_with(extra_dirs: &[&str], extra_files: &[&str]) -> Tree {
        let mut t = Tree::wordpress();
        for d in extra_dirs {
            t.0.insert(d.to_string(), Probe::Dir);
        }
        for f in extra_files {
            t.0.insert(f.to_string(), Probe::File);
        }
        t
    }

    #[test]
    fn a_directory_index_is_judged_like_the_url_naming_it() {
        let t = tree_with(
            &["wp-content/uploads/2024/evil"],
            &[
                "wp-content/uploads/2024/index.php",
                "wp-content/uploads/2024/evil/index.html",
            ],
        );
        // the script itself is refused by name ...
        assert_eq!(
            route("/wp-content/uploads/2024/index.php", "", "/index.php", &t),
            Route::Deny(DenyReason::PhpInUploads)
        );
        // ... and so is the directory that resolves to it, in any spelling
        for path in [
            "/wp-content/uploads/2024/",
            "/wp-content/uploads/2024//",
            "/wp-content/uploads/2%3024/",
            "/wp-content/%75ploads/2024/",
        ] {
            let decided = route(path, "", "/index.php", &t);
            assert!(
                matches!(decided, Route::Deny(_)),
                "{path} ran the uploads index: {decided:?}"
            );
        }
        // a static index in uploads is still served
        assert_eq!(
            route("/wp-content/uploads/2024/evil/", "", "/index.php", &t),
            stat("wp-content/uploads/2024/evil/index.html")
        );
    }

    #[test]
    fn a_front_controller_the_rules_refuse_is_refused() {
        let t = tree_with(&[], &["wp-content/uploads/front.php"]);
        assert_eq!(
            route("/2024/hello/", "", "/wp-content/uploads/front.php", &t),
            Route::Deny(DenyReason::PhpInUploads)
        );
        let t = tree_with(&[".hidden"], &[".hidden/front.php"]);
        assert_eq!(
            route("/2024/hello/", "", "/.hidden/front.php", &t),
            Route::Deny(DenyReason::Dotfile)
        );
    }

    #[test]
    fn files_no_site_means_to_publish_are_refused() {
        for name in [
            "backup.sql",
            "db.SQL.gz",
            "site-2024.sql.zip",
            "dump.sql.zst",
            "debug.log",
            "access.LOG",
            "error_log",
            "style.css.bak",
            "robots.txt.old",
            "main.js.orig",
            "notes.txt~",
            "x.swp",
            ".htaccess.save",
        ] {
            assert!(is_sensitive_name(name) || name.starts_with('.'), "{name}");
        }
        for name in [
            "style.css",
            "photo.jpg",
            "wordpress.zip",
            "archive.tar.gz",
            "catalog.log.html",
            "sql.txt",
            "blog",
            "logo.svg",
        ] {
            assert!(!is_sensitive_name(name), "{name}");
        }
        let mut t = Tree::wordpress();
        for f in [
            "wp-content/debug.log",
            "backup.sql",
            "wp-config.bak",
            "wp-config.txt",
        ] {
            t.0.insert(f.to_string(), Probe::File);
        }
        for (path, reason) in [
            ("/wp-content/debug.log", DenyReason::SensitiveFile),
            ("/backup.sql", DenyReason::SensitiveFile),
            ("/backup%2Esql", DenyReason::SensitiveFile),
            ("/wp-config.bak", DenyReason::WpConfig),
            ("/WP-Config.txt", DenyReason::WpConfig),
            ("/wp-config-sample.php", DenyReason::WpConfig),
        ] {
            assert_eq!(
                route(path, "", "/index.php", &t),
                Route::Deny(reason),
                "{path}"
            );
            assert_eq!(reason.status(), 403);
        }
    }
}
