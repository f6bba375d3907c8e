#!/usr/bin/env bash
# Browser suite: wp-admin in a real, headless Chromium (Debian's chromium + chromium-driver, driven by
# Selenium), against real WordPress + MariaDB behind the real bridge and the layer's php-fpm, laid out
# and installed by scripts/local in a state dir of its own (.local/browser, wiped first: every run is a
# fresh install).
#
# What the browser talks to (BROWSER_FRONT):
#   bench (default)  the bench's Function-URL front (`lambda-fpm-bench serve`: each request a payload-v2
#                    event through its Runtime API emulator to two `bootstrap` sandboxes, the debug build
#                    `cargo lambda watch` would run). Not `cargo lambda watch` itself: its emulator answers
#                    some invocations the bridge completed with its own 500 (bench/README.md, "Things that
#                    looked slow or wrong" 2). The e2e suite retries those GETs; a browser cannot, and a
#                    page of wp-admin makes 30-80 requests, so nearly every run failed on one (README,
#                    browser suite).
#   watch            the two instances under `cargo lambda watch` that scripts/local starts (to see that).
# Ports of its own:
#   BROWSER_PORT (9320)         scripts/local's instance for the plain site (cargo lambda watch; the
#                               browser's front in watch mode); BROWSER_SECRET_PORT (9321) the same for
#                               the cloudfront site (table prefix cf_, LAMBDA_FPM_ORIGIN_SECRET)
#   BROWSER_BENCH_PORT (9322)   bench mode: the plain front, http://127.0.0.1:9322
#   BROWSER_BENCH_SECRET_PORT (9323)  bench mode: the front whose bridges have LAMBDA_FPM_ORIGIN_SECRET
#   BROWSER_FRONT_PORT (9443)   tests/browser/front.py, the local CloudFront stand-in (TLS, the
#                               viewer-request function's headers, X-Forwarded-Proto, the origin secret) in
#                               front of the origin-secret instance; the browser maps
#                               https://www.browser-public.example to it (a host-resolver rule)
# Every scenario runs against both (pytest ids [plain] and [cloudfront]). Failures leave a screenshot,
# the page source and the browser's console and network logs in .local/browser/out/ (BROWSER_OUT_DIR).
# Extra arguments go to pytest (e.g. tests/browser/run.sh -k editor). Everything is stopped on exit.
set -euo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
LOCAL="$REPO/scripts/local"
export LOCAL_STATE_DIR="${BROWSER_STATE_DIR:-$REPO/.local/browser}"
# the suite must not be restarted mid-run by someone editing src/
export LOCAL_WATCH_ARGS="${BROWSER_WATCH_ARGS:---ignore-changes}"
P_PLAIN="${BROWSER_PORT:-9320}"
P_SECRET="${BROWSER_SECRET_PORT:-9321}"
P_BENCH="${BROWSER_BENCH_PORT:-9322}"
P_BENCH_SECRET="${BROWSER_BENCH_SECRET_PORT:-9323}"
P_FRONT="${BROWSER_FRONT_PORT:-9443}"
FRONT_KIND="${BROWSER_FRONT:-bench}"
case "$FRONT_KIND" in bench|watch) ;; *) echo "BROWSER_FRONT=$FRONT_KIND: bench or watch expected" >&2; exit 2 ;; esac
PUBLIC_HOST="www.browser-public.example"
OUT="${BROWSER_OUT_DIR:-$LOCAL_STATE_DIR/out}"

log() { printf '[browser] %s\n' "$*" >&2; }
die() { printf '[browser] error: %s\n' "$*" >&2; exit 1; }

# shellcheck source=../../scripts/lib/apt.sh
. "$REPO/scripts/lib/apt.sh"
APT_WHO=browser apt_ensure chromium chromium-driver openssl python3-pip || die "could not install chromium"
if ! python3 -c 'import selenium, pytest, requests' 2>/dev/null; then
    log "pip install selenium pytest requests"
    python3 -m pip install -q --disable-pip-version-check selenium pytest requests >/dev/null 2>&1 \
        || python3 -m pip install -q --disable-pip-version-check --break-system-packages selenium pytest requests
fi

mkdir -p "$LOCAL_STATE_DIR"
"$LOCAL" down >/dev/null 2>&1 || true    # leftovers of an interrupted run
rm -rf "$LOCAL_STATE_DIR"
mkdir -p "$LOCAL_STATE_DIR" "$OUT"

PIDS=()
cleanup() {
    local p
    for p in "${PIDS[@]}"; do kill -TERM -- "-$p" 2>/dev/null || kill -TERM "$p" 2>/dev/null || true; done
    for p in "${PIDS[@]}"; do timeout 20 tail --pid="$p" -f /dev/null 2>/dev/null || true; done
    # quiet: pytest's summary line must stay the last line of the output
    "$LOCAL" down >"$LOCAL_STATE_DIR/down.log" 2>&1 || true
}
trap cleanup EXIT

# As in tests/e2e/run.sh: WP_DEBUG with E_ALL, so PHP's warnings and deprecations reach php-fpm's log
# (the watch logs), which every scenario checks; no calls to the internet (this machine has none).
export WP_TITLE="lambda-fpm browser"
export WP_ADMIN_USER="admin"
WP_ADMIN_PASSWORD="browser-$(python3 -c 'import secrets; print(secrets.token_hex(8))')"
export WP_ADMIN_PASSWORD
SECRET="$(python3 -c 'import secrets; print(secrets.token_urlsafe(24))')"
export WORDPRESS_DEBUG=1 WORDPRESS_HTTP_BLOCK_EXTERNAL=1
export LOCAL_PHP_CONF_D="$LOCAL_STATE_DIR/php-conf.d"
mkdir -p "$LOCAL_PHP_CONF_D"
printf '; tests/browser/run.sh: report everything\nerror_reporting = E_ALL\n' >"$LOCAL_PHP_CONF_D/90-browser.ini"

t0=$(date +%s)
# Two sites in one database (table prefixes wp_ and cf_), one per mode: WordPress writes absolute URLs
# into post content (the editor's image block), so a post written through http://127.0.0.1 shows that
# URL to every later viewer. On AWS the origin secret refuses direct requests (403), so content is only
# ever written through the public name; one shared site here would make the cloudfront mode see the
# plain mode's origin URLs (the guard does: it did, before the sites were split).
PORT="$P_PLAIN" "$LOCAL" up --background
WORDPRESS_TABLE_PREFIX=cf_ ORIGIN_SECRET="$SECRET" PORT="$P_SECRET" "$LOCAL" up --background
LOGS="$LOCAL_STATE_DIR/logs"
if [ "$FRONT_KIND" = watch ]; then
    PLAIN_URL="http://127.0.0.1:$P_PLAIN" ORIGIN="127.0.0.1:$P_SECRET"
    PLAIN_LOGS="$LOGS/watch-$P_PLAIN.log" SECRET_LOGS="$LOGS/watch-$P_SECRET.log"
else
    # scripts/local's instances installed the sites and wrote their settings (run/watch-PORT.env); their
    # watchers are not what the browser uses, so they stop, and the bench fronts serve the same sites.
    for p in "$P_PLAIN" "$P_SECRET"; do
        kill -TERM -- "-$(cat "$LOCAL_STATE_DIR/run/watch-$p.pid")" 2>/dev/null || true
    done
    log "building the bench front (cargo build --manifest-path bench/Cargo.toml)"
    ( cd "$REPO" && cargo build --quiet --bin bootstrap &&
        CARGO_TARGET_DIR="$REPO/target" cargo build --quiet --manifest-path bench/Cargo.toml ) \
        || die "the bridge or the bench front does not build"
    start_front() {  # $1 name, $2 port, $3 scripts/local's port (its env file), $4... extra serve arguments
        local name="$1" port="$2" env_file="$LOCAL_STATE_DIR/run/watch-$3.env"; shift 3
        local work="$LOCAL_STATE_DIR/bench-$name"
        mkdir -p "$work"
        ( cd "$REPO" && exec setsid "$REPO/scripts/with-layer" "$REPO/target/debug/lambda-fpm-bench" serve \
            --bootstrap "$REPO/target/debug/bootstrap" --docroot "$LOCAL_STATE_DIR/efs/wordpress" \
            --env-file "$env_file" --scan-dir "/opt/php/conf.d:$LOCAL_PHP_CONF_D" \
            --work "$work" --listen "127.0.0.1:$port" --sandboxes 2 "$@" ) </dev/null >"$LOGS/bench-$name.log" 2>&1 &
        PIDS+=($!)
        local i
        for i in $(seq 1 300); do
            grep -q '^serving http' "$LOGS/bench-$name.log" 2>/dev/null && return 0
            kill -0 "${PIDS[-1]}" 2>/dev/null || { cat "$LOGS/bench-$name.log" >&2; die "the bench front ($name) exited"; }
            sleep 0.2
        done
        cat "$LOGS/bench-$name.log" >&2; die "the bench front ($name) did not start in 60 s"
    }
    start_front plain "$P_BENCH" "$P_PLAIN"
    start_front secret "$P_BENCH_SECRET" "$P_SECRET" --bridge-env "LAMBDA_FPM_ORIGIN_SECRET=$SECRET"
    PLAIN_URL="http://127.0.0.1:$P_BENCH" ORIGIN="127.0.0.1:$P_BENCH_SECRET"
    PLAIN_LOGS="$LOCAL_STATE_DIR/bench-plain/front-bootstrap-0.log:$LOCAL_STATE_DIR/bench-plain/front-bootstrap-1.log"
    SECRET_LOGS="$LOCAL_STATE_DIR/bench-secret/front-bootstrap-0.log:$LOCAL_STATE_DIR/bench-secret/front-bootstrap-1.log"
fi
log "site up through the $FRONT_KIND front in $(( $(date +%s) - t0 )) s; logs in $LOGS"

# the local CloudFront: a throwaway certificate for the public name, the secret in a file of mode 600
TLS="$LOCAL_STATE_DIR/front"
mkdir -p "$TLS"
openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=$PUBLIC_HOST" \
    -addext "subjectAltName=DNS:$PUBLIC_HOST" -keyout "$TLS/key.pem" -out "$TLS/cert.pem" >/dev/null 2>&1
( umask 077; printf '%s' "$SECRET" >"$TLS/secret" )
# the browser accepts this one certificate besides real ones (--ignore-certificate-errors-spki-list)
BROWSER_SPKI="$(openssl x509 -in "$TLS/cert.pem" -pubkey -noout | openssl pkey -pubin -outform der \
    | openssl dgst -sha256 -binary | base64)"
export BROWSER_SPKI
python3 "$REPO/tests/browser/front.py" --listen "127.0.0.1:$P_FRONT" --origin "$ORIGIN" \
    --secret-file "$TLS/secret" --cert "$TLS/cert.pem" --key "$TLS/key.pem" \
    2>"$LOGS/front.log" &
FRONT_PID=$!
PIDS+=("$FRONT_PID")
for _ in $(seq 1 50); do
    curl -sk -o /dev/null --resolve "$PUBLIC_HOST:443:127.0.0.1" --connect-to "$PUBLIC_HOST:443:127.0.0.1:$P_FRONT" \
        "https://$PUBLIC_HOST/wp-includes/css/dashicons.min.css" && break
    kill -0 "$FRONT_PID" 2>/dev/null || { cat "$LOGS/front.log" >&2; die "front.py exited"; }
    sleep 0.2
done

export BROWSER_PLAIN_URL="$PLAIN_URL"
export BROWSER_PUBLIC_URL="https://$PUBLIC_HOST"
export BROWSER_FRONT_ADDR="127.0.0.1:$P_FRONT"
export BROWSER_PLAIN_PHP_LOGS="$PLAIN_LOGS" BROWSER_SECRET_PHP_LOGS="$SECRET_LOGS" BROWSER_FRONT="$FRONT_KIND"
export BROWSER_EFS_ROOT="$LOCAL_STATE_DIR/efs/wordpress"
export BROWSER_OUT_DIR="$OUT"
export BROWSER_ADMIN_USER="$WP_ADMIN_USER" BROWSER_ADMIN_PASSWORD="$WP_ADMIN_PASSWORD"

cd "$REPO"
rc=0
python3 -m pytest -p no:cacheprovider -v -rfE "$REPO/tests/browser" "$@" || rc=$?
[ $rc -eq 0 ] || log "failure artefacts (screenshots, page sources, browser logs): $OUT"
exit $rc
