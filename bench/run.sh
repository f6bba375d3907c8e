#!/usr/bin/env bash
# bench/run.sh: the whole benchmark in one command (see bench/README.md).
#
#   bench/run.sh            full run (~15 min on 2 cores)
#   bench/run.sh --quick    a few minutes: fewer requests, repetitions and seconds
#
# Installs what it needs (apt, pip via scripts/local, cargo build), brings up its own WordPress through
# `scripts/local up --background` (own port and state dir), nginx on loopback with a generated config,
# the EFS simulator (FUSE) as needed; runs every suite; tears everything down; writes JSON, a PNG and
# report.md into $BENCH_OUT (default bench/results). All traffic goes to 127.0.0.1.
#
# Knobs: BENCH_PORT=9400 (cargo lambda watch), BENCH_NGINX_PORT=9401, BENCH_STATE_DIR=.local/bench,
#        BENCH_OUT=bench/results, BENCH_WORK=/tmp/lambda-fpm-bench, BENCH_EFS_DELAY_US=1000,
#        BENCH_SKIP_BUILD=1 (use existing binaries), BENCH_KEEP_UP=1 (leave WordPress running),
#        BENCH_LAYER_ZIP=dist/lambda-fpm-layer.zip (the layer whose PHP every suite runs)
# PHP is the layer's own everywhere (php-fpm, the php CLI, their libraries and extensions), mounted at
# /opt by scripts/with-layer as on Lambda; WordPress is scripts/wordpress's (Debian trixie's 6.8).
set -euo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$REPO"
QUICK=0
for a in "$@"; do
    case "$a" in
        --quick) QUICK=1 ;;
        *) echo "usage: bench/run.sh [--quick]" >&2; exit 2 ;;
    esac
done
PORT="${BENCH_PORT:-9400}"
NGINX_PORT="${BENCH_NGINX_PORT:-9401}"
FRONT_PORT="${BENCH_FRONT_PORT:-9402}"
STATE="${BENCH_STATE_DIR:-.local/bench}"
case "$STATE" in /*) ;; *) STATE="$REPO/$STATE" ;; esac
OUT="${BENCH_OUT:-$REPO/bench/results}"
WORK="${BENCH_WORK:-/tmp/lambda-fpm-bench}"
DELAY_US="${BENCH_EFS_DELAY_US:-1000}"
EFS="$STATE/efs/wordpress"
BENCH_BIN="$REPO/target/release/lambda-fpm-bench"
WITH_LAYER="$REPO/scripts/with-layer"
export LAYER_ZIP="${BENCH_LAYER_ZIP:-$REPO/dist/lambda-fpm-layer.zip}"
BOOTSTRAP="$REPO/target/release/bootstrap"
NGINX_DIR="$WORK/nginx"
STARTED_AT=$(date +%s)

if [ $QUICK -eq 1 ]; then
    LOAD_DURATION=3s; CONC=1; DIRECT_N=40; COLD_REPS=3; COLD_EFS_REPS=1; SOAK_N=1000; EFS_WARM=3s; CL_N=30
else
    LOAD_DURATION=10s; CONC=1,4; DIRECT_N=200; COLD_REPS=10; COLD_EFS_REPS=3; SOAK_N=10000; EFS_WARM=6s; CL_N=200
fi

log() { printf '\n[bench] %s\n' "$*" >&2; }
die() { printf '[bench] error: %s\n' "$*" >&2; exit 1; }

# shellcheck source=../scripts/lib/apt.sh
. "$REPO/scripts/lib/apt.sh"
APT_WHO=bench

NGINX_PID=""
FRONT_PID=""
cleanup() {
    local rc=$?
    if [ -n "$FRONT_PID" ] && kill -0 "$FRONT_PID" 2>/dev/null; then
        kill -TERM "$FRONT_PID" 2>/dev/null || true
        for _ in $(seq 1 30); do kill -0 "$FRONT_PID" 2>/dev/null || break; sleep 0.2; done
    fi
    if [ -n "$NGINX_PID" ] && kill -0 "$NGINX_PID" 2>/dev/null; then kill -QUIT "$NGINX_PID" 2>/dev/null || true; fi
    if mountpoint -q "$WORK/efs-mnt" 2>/dev/null; then umount -l "$WORK/efs-mnt" 2>/dev/null || true; fi
    if [ "${BENCH_KEEP_UP:-0}" != 1 ]; then
        PORT="$PORT" LOCAL_STATE_DIR="$STATE" scripts/local down >/dev/null 2>&1 || true
    fi
    log "done in $(( $(date +%s) - STARTED_AT )) s (exit $rc); results in $OUT"
}
trap cleanup EXIT

# ------------------------------------------------------------------------------------------ install, build
apt_ensure nginx-light fuse3 curl ca-certificates util-linux unzip
[ -e /dev/fuse ] || die "/dev/fuse is missing: the EFS simulator needs FUSE"
command -v cargo >/dev/null || die "cargo not found"
if [ "${BENCH_SKIP_BUILD:-0}" != 1 ]; then
    log "building bootstrap (release) and lambda-fpm-bench"
    nice cargo build --release --quiet --bin bootstrap
    CARGO_TARGET_DIR="$REPO/target" nice cargo build --release --quiet --manifest-path bench/Cargo.toml
fi
[ -x "$BOOTSTRAP" ] && [ -x "$BENCH_BIN" ] || die "binaries missing (build failed?)"

# ------------------------------------------------------------------------------------------ WordPress
log "WordPress through cargo lambda watch on 127.0.0.1:$PORT (state $STATE)"
# No internet here: WordPress's calls to api.wordpress.org (wp-login.php's translation list on every view)
# would measure DNS timeouts, not PHP. A function without a NAT route is configured the same way.
WORDPRESS_HTTP_BLOCK_EXTERNAL=1 PORT="$PORT" LOCAL_STATE_DIR="$STATE" LOCAL_WATCH_ARGS="--release --ignore-changes" nice scripts/local up --background
ENV_FILE="$STATE/run/watch-$PORT.env"
[ -f "$EFS/wp-settings.php" ] && [ -f "$ENV_FILE" ] || die "scripts/local did not lay out $EFS"

# Content like the field notes' measurements: 21 posts on the home page's query.
( set -a; . "$ENV_FILE"; set +a; export BENCH_HOST="127.0.0.1:$PORT"
"$WITH_LAYER" /opt/bin/php -d error_reporting='E_ALL&~E_DEPRECATED' -r '
    $_SERVER["HTTP_HOST"] = getenv("BENCH_HOST"); $_SERVER["REQUEST_URI"] = "/";
    require $argv[1] . "/wp-load.php";
    $have = (int) wp_count_posts()->publish;
    for ($i = $have; $i < 21; $i++) {
        wp_insert_post(["post_title" => "Benchmark post $i", "post_status" => "publish",
            "post_content" => str_repeat("<!-- wp:paragraph --><p>Lorem ipsum dolor sit amet, consectetur adipiscing elit, sed do eiusmod tempor incididunt ut labore et dolore magna aliqua.</p><!-- /wp:paragraph -->\n", 6)]);
    }
    fwrite(STDERR, "[bench] posts: " . wp_count_posts()->publish . "\n");
' "$EFS" )
mkdir -p "$EFS/wp-content/uploads/lambda-fpm-bench"
[ -s "$EFS/wp-content/uploads/lambda-fpm-bench/large.bin" ] || head -c 3145728 /dev/urandom > "$EFS/wp-content/uploads/lambda-fpm-bench/large.bin"
[ -s "$EFS/wp-content/uploads/lambda-fpm-bench/oversize.bin" ] || head -c 8388608 /dev/urandom > "$EFS/wp-content/uploads/lambda-fpm-bench/oversize.bin"

# ------------------------------------------------------------------------------------------ nginx
mkdir -p "$NGINX_DIR/logs" "$OUT"
rm -f "$OUT"/*.json "$OUT"/*.png "$OUT"/report.md "$OUT"/*.txt
cat > "$NGINX_DIR/nginx.conf" <<NGINX
# generated by bench/run.sh: the same static files as the bridge, on loopback only
worker_processes 1;
pid $NGINX_DIR/nginx.pid;
error_log $NGINX_DIR/logs/error.log warn;
events { worker_connections 256; }
http {
    include /etc/nginx/mime.types;
    access_log off;
    sendfile on;
    tcp_nopush on;
    keepalive_requests 100000;
    server {
        listen 127.0.0.1:$NGINX_PORT;
        root $EFS;
        location / { try_files \$uri =404; }
        location ~ \.php$ { return 403; }
    }
}
NGINX
if curl -s -o /dev/null -m 1 "http://127.0.0.1:$NGINX_PORT/" 2>/dev/null; then die "port $NGINX_PORT is in use"; fi
nginx -c "$NGINX_DIR/nginx.conf" -p "$NGINX_DIR" -g 'daemon on;'
for _ in $(seq 1 50); do [ -s "$NGINX_DIR/nginx.pid" ] && break; sleep 0.1; done
NGINX_PID="$(cat "$NGINX_DIR/nginx.pid")"
log "nginx $(nginx -v 2>&1 | sed 's/.*\///') on 127.0.0.1:$NGINX_PORT (pid $NGINX_PID)"

SITE_ARGS=(--bootstrap "$BOOTSTRAP" --docroot "$EFS" --env-file "$ENV_FILE" --host "127.0.0.1:$PORT" --work "$WORK")

# The bridge's HTTP target: our Function-URL-like front → Runtime API emulator → one bootstrap sandbox
# (release build). `cargo lambda watch` is measured too, briefly: it stalls/500s now and then (README).
if curl -s -o /dev/null -m 1 "http://127.0.0.1:$FRONT_PORT/" 2>/dev/null; then die "port $FRONT_PORT is in use"; fi
"$WITH_LAYER" "$BENCH_BIN" serve "${SITE_ARGS[@]}" --quiet --listen "127.0.0.1:$FRONT_PORT" > "$WORK/front.log" 2>&1 &
FRONT_PID=$!
for _ in $(seq 1 150); do
    curl -s -o /dev/null -m 2 "http://127.0.0.1:$FRONT_PORT/wp-includes/images/w-logo-blue.png" 2>/dev/null && break
    kill -0 "$FRONT_PID" 2>/dev/null || { cat "$WORK/front.log" >&2; die "lambda-fpm-bench serve exited"; }
    sleep 0.2
done

# ------------------------------------------------------------------------------------------ suites
log "HTTP load: bridge (front + emulator) and nginx, $LOAD_DURATION per scenario, concurrency $CONC"
nice "$BENCH_BIN" load --target "bridge=http://127.0.0.1:$FRONT_PORT" --target "nginx=http://127.0.0.1:$NGINX_PORT" \
    --scenarios all --concurrency "$CONC" --duration "$LOAD_DURATION" --warmup 10 \
    --out "$OUT/load.json" --plot "$OUT/latency.png"
log "HTTP load through cargo lambda watch (reference): $CL_N requests of home and css"
nice "$BENCH_BIN" load --target "cargo-lambda=http://127.0.0.1:$PORT" --scenarios home,css --concurrency 1 \
    --requests "$CL_N" --warmup 5 --timeout 10s --out "$OUT/load.json"

log "over the 6 MB payload limit: an 8 MiB static file through the bridge (buffered mode)"
curl -s -o /dev/null -m 60 -w 'status %{http_code}, %{size_download} bytes, %{time_total} s\n' \
    "http://127.0.0.1:$FRONT_PORT/wp-content/uploads/lambda-fpm-bench/oversize.bin" | tee "$OUT/oversize.txt"

log "bridge-added latency: direct FastCGI vs bridge, $DIRECT_N interleaved requests per PHP scenario"
nice "$WITH_LAYER" "$BENCH_BIN" direct "${SITE_ARGS[@]}" --requests "$DIRECT_N" --out "$OUT/direct.json"

log "cold start: $COLD_REPS runs each, local disk and EFS simulator ($DELAY_US µs/op)"
nice "$WITH_LAYER" "$BENCH_BIN" cold "${SITE_ARGS[@]}" --reps "$COLD_REPS" --efs-reps "$COLD_EFS_REPS" --efs-delay-us "$DELAY_US" --out "$OUT/cold.json"

log "soak: $SOAK_N mixed requests"
nice "$WITH_LAYER" "$BENCH_BIN" soak "${SITE_ARGS[@]}" --requests "$SOAK_N" --out "$OUT/soak.json"

# A logged-in administrator's cookies (WordPress's own wp_generate_auth_cookie), so the EFS suite
# can trace wp-admin's dashboard as well.
ADMIN_COOKIES=$( set -a; . "$ENV_FILE"; set +a; export BENCH_HOST="127.0.0.1:$PORT"
"$WITH_LAYER" /opt/bin/php -d error_reporting='E_ALL&~E_DEPRECATED' -r '
    $_SERVER["HTTP_HOST"] = getenv("BENCH_HOST"); $_SERVER["REQUEST_URI"] = "/";
    require $argv[1] . "/wp-load.php";
    $exp = time() + 86400;
    echo AUTH_COOKIE, "=", wp_generate_auth_cookie(1, $exp, "auth"), "; ",
         LOGGED_IN_COOKIE, "=", wp_generate_auth_cookie(1, $exp, "logged_in");
' "$EFS" )
log "EFS simulator: without and with the code mirror ($DELAY_US µs/op, warm $EFS_WARM)"
nice "$WITH_LAYER" "$BENCH_BIN" efs "${SITE_ARGS[@]}" --delay-us "$DELAY_US" --warm "$EFS_WARM" \
    --admin-cookies "$ADMIN_COOKIES" --out "$OUT/efs.json"

# ------------------------------------------------------------------------------------------ report
cat > "$OUT/meta.json" <<META
{"date": "$(date -u +%Y-%m-%dT%H:%M:%SZ)", "mode": "$([ $QUICK -eq 1 ] && echo quick || echo full)",
 "git": "$(git rev-parse --short HEAD)", "cpu": "$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//')",
 "cores": $(nproc), "mem_gib": $(( $(grep MemTotal /proc/meminfo | awk '{print $2}') / 1048576 )),
 "kernel": "$(uname -r)", "php": "$("$WITH_LAYER" /opt/bin/php -r 'echo PHP_VERSION;')", "wordpress": "$(sed -n "s/^\$wp_version = '\(.*\)';/\1/p" "$EFS/wp-includes/version.php")", "nginx": "$(nginx -v 2>&1 | sed 's/.*\///')",
 "loadavg_at_end": "$(cut -d' ' -f1-3 /proc/loadavg)", "efs_delay_us": $DELAY_US}
META
"$BENCH_BIN" report --dir "$OUT" > "$OUT/report.md"
cat "$OUT/report.md"
