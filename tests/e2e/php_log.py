"""PHP's own complaints in php-fpm's log, as the bridge forwards it into the watch logs: shared by the e2e
suite's last test (test_99_php_log.py) and the browser suite (tests/browser), which checks the lines each
scenario added."""
import os
import re

# "PHP Deprecated:  message in /path/file.php on line 12" (php-fpm's error_log format); the bridge
# may wrap the line in its own log record, so search anywhere in the line.
PHP_ERROR = re.compile(r"PHP (Fatal error|Parse error|Warning|Deprecated):\s+(.*?) in (/\S+\.php)(?: on line (\d+))?")
FAILING = {"Fatal error", "Parse error", "Warning", "Deprecated"}
# WordPress reports an unreachable api.wordpress.org (update checks, the translation list) with
# wp_trigger_error(), a Warning under WP_DEBUG: that is this machine having no internet (and the
# instances blocking it on purpose, as a function without NAT would), not a defect.
NO_INTERNET = "Something may be wrong with WordPress.org or this server"


def ours(path, efs_root, repo):
    """WordPress core (wp-admin/, wp-includes/, the root scripts) or the project's own PHP."""
    if path.startswith(efs_root + "/"):
        rel = path[len(efs_root) + 1:]
        return rel.startswith(("wp-admin/", "wp-includes/")) or "/" not in rel
    return path.startswith((os.path.join(repo, "php") + "/", "/opt/php/"))


def findings(lines, efs_root, repo, where=""):
    """(ours, others): the failing complaints in `lines`, split by who raised them."""
    mine, others = [], []
    for line in lines:
        m = PHP_ERROR.search(line)
        if not m or m.group(1) not in FAILING or NO_INTERNET in m.group(2):
            continue
        entry = f"{where}PHP {m.group(1)}: {m.group(2)} in {m.group(3)}:{m.group(4)}"
        (mine if ours(m.group(3), efs_root, repo) else others).append(entry)
    return mine, others
