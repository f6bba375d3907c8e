"""Runs last (file name): PHP's own log over the whole suite. Every instance runs with WP_DEBUG and
error_reporting = E_ALL (run.sh), so php-fpm's stderr, which the bridge forwards into the watch logs,
carries every error, warning and deprecation PHP raised while the suite drove WordPress. A Fatal
error, a Warning or a Deprecated notice raised in WordPress core (wp-admin/, wp-includes/, the root
scripts) or in the project's own PHP (wp-config.php, wp-salts.php, php/*.php of this repo or the
layer's /opt/php) fails the suite; the same from elsewhere (a theme, a plugin) is listed only."""
import glob
import os

from php_log import PHP_ERROR, findings
from php_log import ours as _ours


def php_log_findings(log_dir, efs_root, repo):
    ours, others = [], []
    for log in sorted(glob.glob(os.path.join(log_dir, "watch-*.log"))):
        with open(log, errors="replace") as f:
            o, t = findings(f, efs_root, repo, where=f"{os.path.basename(log)}: ")
        ours += o
        others += t
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
