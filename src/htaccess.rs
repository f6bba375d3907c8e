//! Directories a plugin protects with an Apache `.htaccess` (pure, no IO).
//!
//! Plugins keep private files under the web root and rely on Apache reading a `.htaccess` that
//! refuses every request: WooCommerce's `uploads/wc-logs/` and `uploads/woocommerce_uploads/`,
//! UpdraftPlus's `updraft/` backups, Wordfence's `wflogs/`, many backup and form plugins. nginx
//! and php-fpm never read `.htaccess`, so on a server without Apache those files are public;
//! nginx hardening guides add a `deny all` per known directory. The bridge honours the
//! directive itself, for every directory: a file below a directory whose `.htaccess` denies all
//! requests is neither served nor run.
//!
//! What counts as "denies all": `Deny from all` (Apache 2.2) or `Require all denied` (2.4), at
//! the top level or inside `<IfModule>` / `<IfVersion>` / `<IfDefine>` blocks (how plugins write
//! it for both Apache versions); not inside `<Files>`, `<FilesMatch>`, `<Limit>`, `<Location>` or
//! any other block, which narrow it to some files or methods. Comments and case are ignored.
//! Anything else (rewrite rules, `Options -Indexes`, ...) is not a denial.

/// Whether an `.htaccess` text refuses every request to its directory.
pub fn denies_all(text: &str) -> bool {
    // depth of blocks that narrow what a directive applies to
    let mut narrowed = 0usize;
    for raw in text.lines() {
        let line = raw.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        if let Some(rest) = line.strip_prefix("</") {
            let name = block_name(rest);
            if !is_conditional(&name) {
                narrowed = narrowed.saturating_sub(1);
            }
            continue;
        }
        if let Some(rest) = line.strip_prefix('<') {
            let name = block_name(rest);
            if !is_conditional(&name) {
                narrowed += 1;
            }
            continue;
        }
        if narrowed > 0 {
            continue;
        }
        let words: Vec<String> = line
            .split_whitespace()
            .map(|w| w.to_ascii_lowercase())
            .collect();
        let words: Vec<&str> = words.iter().map(String::as_str).collect();
        if matches!(
            words.as_slice(),
            ["deny", "from", "all"] | ["require", "all", "denied"]
        ) {
            return true;
        }
    }
    false
}

fn block_name(rest: &str) -> String {
    rest.trim_end_matches('>')
        .split(|c: char| c.is_whitespace() || c == '>')
        .next()
        .unwrap_or("")
        .to_ascii_lowercase()
}

/// Blocks that only say *whether* their directives apply, not to what.
fn is_conditional(name: &str) -> bool {
    matches!(
        name,
        "ifmodule" | "ifversion" | "ifdefine" | "ifdirective" | "iffile"
    )
}

/// The directories whose `.htaccess` may protect `relative` (a file below the root): the
/// root itself, then each parent, outermost first (`""`, `"a"`, `"a/b"` for `a/b/c.txt`).
pub fn guarding_dirs(relative: &str) -> Vec<&str> {
    let mut dirs = vec![""];
    for (i, b) in relative.bytes().enumerate() {
        if b == b'/' && i > 0 {
            dirs.push(&relative[..i]);
        }
    }
    dirs
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn what_plugins_write_is_a_denial() {
        // WooCommerce (uploads/wc-logs, woocommerce_uploads), UpdraftPlus (updraft/)
        assert!(denies_all("deny from all"));
        assert!(denies_all("Deny from all\n"));
        // Wordfence (wflogs/): both Apache versions, conditionally
        assert!(denies_all(
            "<IfModule mod_authz_core.c>\n\tRequire all denied\n</IfModule>\n<IfModule !mod_authz_core.c>\n\tOrder deny,allow\n\tDeny from all\n</IfModule>\n"
        ));
        assert!(denies_all(
            "# private\nOptions -Indexes\nRequire   all   DENIED\n"
        ));
        assert!(denies_all(
            "<IfVersion >= 2.4>\nRequire all denied\n</IfVersion>"
        ));
    }

    #[test]
    fn narrowed_or_other_rules_are_not() {
        // WordPress's own root .htaccess
        assert!(!denies_all(
            "# BEGIN WordPress\n<IfModule mod_rewrite.c>\nRewriteEngine On\nRewriteRule ^index\\.php$ - [L]\n</IfModule>\n# END WordPress"
        ));
        // only some files
        assert!(!denies_all("<Files *.php>\nDeny from all\n</Files>"));
        assert!(!denies_all(
            "<FilesMatch \"\\.(log|txt)$\">\nRequire all denied\n</FilesMatch>\nOptions -Indexes"
        ));
        // only some methods
        assert!(!denies_all("<Limit POST>\nDeny from all\n</Limit>"));
        // a narrowing block inside a conditional one, then nothing at the top
        assert!(!denies_all(
            "<IfModule x>\n<Files a>\nDeny from all\n</Files>\n</IfModule>"
        ));
        // All-in-One WP Migration's backups dir relies on names, not a denial
        assert!(!denies_all(
            "<IfModule mod_mime.c>\nAddType application/octet-stream .wpress\n</IfModule>\nOptions -Indexes"
        ));
        assert!(!denies_all("# Deny from all"));
        assert!(!denies_all("Deny from 10.0.0.1"));
        assert!(!denies_all("Require all granted"));
        assert!(!denies_all(""));
        // a block closed early does not undo the narrowing of an outer one forever
        assert!(denies_all(
            "<Files a>\nDeny from all\n</Files>\nDeny from all"
        ));
    }

    #[test]
    fn every_directory_on_the_way_guards() {
        assert_eq!(guarding_dirs("a.txt"), vec![""]);
        assert_eq!(guarding_dirs("a/b/c.txt"), vec!["", "a", "a/b"]);
        assert_eq!(
            guarding_dirs("wp-content/uploads/wc-logs/x.log"),
            vec![
                "",
                "wp-content",
                "wp-content/uploads",
                "wp-content/uploads/wc-logs"
            ]
        );
    }
}
