"""Runs last (file name): PHP's own log over the whole suite. Every instance runs with WP_DEBUG and
error_reporting = E_ALL (run.sh), so php-fpm's stderr, which the bridge forwards into the watch logs,
carries every error, warning and deprecation PHP raised while the suite drove WordPress. A Fatal
error, a Warning or a Deprecated notice raised in WordPress core (wp-admin/, wp-includes/, the root
scripts) or in the project's own PHP (wp-config.php, wp-salts.php, php/*.php of this repo or the
layer's /opt/php) fails the suite; the same from elsewhere (a theme, a plugin) is listed only."""
import glob
import os
import re

# "PHP Deprecated:  message in /path/file.php on line 12" (php-fpm's error_log format); the bridge
# may wrap the line in its own log record, so search anywhere in the line.
PHP_ERROR = re.compile(r"PHP (Fatal error|Parse error|Warning|Deprecated):\s+(.*?) in (/\S+\.php)(?: on line (\d+))?")
FAILING = {"Fatal error", "Parse error", "Warning", "Deprecated"}
# WordPress reports an unreachable api.wordpress.org (update checks, the translation list) with
# wp_trigger_error(), a Warning under WP_DEBUG: that is this machine having no internet (and the
# plain instance blocking it on purpose, as a function without NAT would), not a defect.
NO_INTERNET = "Something may be wrong with WordPress.org or this server"


def _ours(path, efs_root, repo):
    if path.startswith(efs_root + "/"):
        rel = path[len(efs_root) + 1:]
        return (rel.startswith(("wp-admin/", "wp-includes/")) or "/" not in rel)
    return path.startswith((os.path.join(repo, "php") + "/", "/opt/php/"))


def php_log_findings(log_dir, efs_root, repo):
    ours, others = [], []
    for log in sorted(glob.glob(os.path.join(log_dir, "watch-*.log"))):
        with open(log, errors="replace") as f:
            for line in f:
                m = PHP_ERROR.search(line)
                if not m or m.group(1) not in FAILING or NO_INTERNET in m.group(2):
                    continue
                entry = f"{os.path.basename(log)}: PHP {m.group(1)}: {m.group(2)} in {m.group(3)}:{m.group(4)}"
                (ours if _ours(m.group(3), efs_root, repo) else others).append(entry)
    return ours, others


def test_classifier_knows_core_and_project_files():
    # the check below would pass vacuously if the pattern or the attribution were wrong
    efs, repo = "/srv/efs/wordpress", "/repo"
    line = ("PHP Deprecated:  Creation of dynamic property X::$y is deprecated in "
            "/srv/efs/wordpress/wp-includes/class-wp.php on line 7")
    m = PHP_ERROR.search('{"level":"WARN","target":"php-fpm","message":"' + line + '"}')
    assert m and m.group(1) == "Deprecated" and m.group(3).endswith("class-wp.php") and m.group(4) == "7"
    assert _ours("/srv/efs/wordpress/wp-includes/class-wp.php", efs, repo)
    assert _ours("/srv/efs/wordpress/wp-config.php", efs, repo)
    assert _ours("/opt/php/prime.php", efs, repo)
    assert not _ours("/srv/efs/wordpress/wp-content/plugins/x/x.php", efs, repo)
    assert not PHP_ERROR.search("PHP Notice:  Function x was called incorrectly in /a/b.php on line 1")


def test_no_php_errors_warnings_or_deprecations_from_core_or_project():
    log_dir, efs_root = os.environ["E2E_LOG_DIR"], os.environ["E2E_EFS_ROOT"]
    repo = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    logs = glob.glob(os.path.join(log_dir, "watch-*.log"))
    assert len(logs) >= 3, f"expected the three instances' watch logs in {log_dir}: {logs}"
    assert any(os.path.getsize(p) > 0 for p in logs)
    ours, others = php_log_findings(log_dir, efs_root, repo)
    if others:
        print("PHP complaints outside core and the project (not failing):\n  " + "\n  ".join(others[:50]))
    assert not ours, f"{len(ours)} PHP errors/warnings/deprecations from core or the project:\n  " + \
        "\n  ".join(sorted(set(ours))[:50])
