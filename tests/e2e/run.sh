#!/usr/bin/env bash
# End-to-end suite: real WordPress + MariaDB behind the real `cargo lambda watch`, started by scripts/local
# in a state dir of its own (.local/e2e, wiped first: every run is a fresh install), on ports of its own:
#   E2E_PORT (9310)         the plain instance
#   E2E_SECRET_PORT (9311)  the same site, bridge started with LAMBDA_FPM_ORIGIN_SECRET (CloudFront tests)
#   E2E_FRESH_PORT (9312)   same database, table prefix fresh_, not installed: the suite installs it
# Extra arguments go to pytest (e.g. tests/e2e/run.sh -k cloudfront). Everything is stopped on exit.
set -euo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
LOCAL="$REPO/scripts/local"
export LOCAL_STATE_DIR="${E2E_STATE_DIR:-$REPO/.local/e2e}"
# the suite must not be restarted mid-run by someone editing src/
export LOCAL_WATCH_ARGS="${E2E_WATCH_ARGS:---ignore-changes}"
P_PLAIN="${E2E_PORT:-9310}"
P_SECRET="${E2E_SECRET_PORT:-9311}"
P_FRESH="${E2E_FRESH_PORT:-9312}"

log() { printf '[e2e] %s\n' "$*" >&2; }

if ! python3 -c 'import pytest, requests' 2>/dev/null; then
    log "pip install pytest requests"
    python3 -m pip --version >/dev/null 2>&1 || DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-pip >/dev/null
    python3 -m pip install -q --disable-pip-version-check pytest requests >/dev/null 2>&1 \
        || python3 -m pip install -q --disable-pip-version-check --break-system-packages pytest requests
fi

mkdir -p "$LOCAL_STATE_DIR"
"$LOCAL" down >/dev/null 2>&1 || true    # leftovers of an interrupted run
rm -rf "$LOCAL_STATE_DIR"
mkdir -p "$REPO/.local"

cleanup() {
    # quiet: pytest's summary line must stay the last line of the output
    "$LOCAL" down >"$REPO/.local/e2e-down.log" 2>&1 || true
}
trap cleanup EXIT

# The plain instance runs as a function without internet access would be configured (CI has none):
# WordPress's external calls fail at once (test_outbound_http_blocked_when_configured). The other two keep
# WordPress's default; nothing they test calls out.
export WP_TITLE="lambda-fpm e2e"
export WP_ADMIN_USER="admin"
WP_ADMIN_PASSWORD="e2e-$(python3 -c 'import secrets; print(secrets.token_hex(8))')"
export WP_ADMIN_PASSWORD
SECRET="$(python3 -c 'import secrets; print(secrets.token_urlsafe(24))')"

# PHP's own complaints are part of the suite: every instance runs with WP_DEBUG (errors, warnings
# and deprecations go to php-fpm's stderr, i.e. the watch logs; never into pages) and E_ALL from
# the first line of PHP on; test_99_php_log.py fails on any Fatal error, Warning or Deprecated
# notice from WordPress core or the project's own PHP.
export WORDPRESS_DEBUG=1
export LOCAL_PHP_CONF_D="$LOCAL_STATE_DIR/php-conf.d"
mkdir -p "$LOCAL_PHP_CONF_D"
printf '; tests/e2e/run.sh: report everything\nerror_reporting = E_ALL\n' >"$LOCAL_PHP_CONF_D/90-e2e.ini"

t0=$(date +%s)
WORDPRESS_HTTP_BLOCK_EXTERNAL=1 PORT="$P_PLAIN" "$LOCAL" up --background
ORIGIN_SECRET="$SECRET" PORT="$P_SECRET" "$LOCAL" up --background
WORDPRESS_TABLE_PREFIX=fresh_ LOCAL_SKIP_INSTALL=1 PORT="$P_FRESH" "$LOCAL" up --background
log "three instances up in $(( $(date +%s) - t0 )) s; logs in $LOCAL_STATE_DIR/logs"

export E2E_BASE_URL="http://127.0.0.1:$P_PLAIN"
export E2E_SECRET_URL="http://127.0.0.1:$P_SECRET"
export E2E_FRESH_URL="http://127.0.0.1:$P_FRESH"
export E2E_ORIGIN_SECRET="$SECRET"
export E2E_EFS_ROOT="$LOCAL_STATE_DIR/efs/wordpress"
export E2E_LOG_DIR="$LOCAL_STATE_DIR/logs"
export E2E_ADMIN_USER="$WP_ADMIN_USER" E2E_ADMIN_PASSWORD="$WP_ADMIN_PASSWORD" E2E_SITE_TITLE="$WP_TITLE"

cd "$REPO"
rc=0
python3 -m pytest -p no:cacheprovider -v -rfE "$REPO/tests/e2e" "$@" || rc=$?
exit $rc
