#!/usr/bin/env bash
# $1 tag, $2 bootstrap binary. Runs lambda-fpm-bench serve with bootstrap under callgrind.
# The document root (CG_DOCROOT) holds hello.php, page.php, style.css, big.bin as bench/README.md describes.
# CG_VALGRIND_ARGS: more valgrind options (e.g. --collect-systime=nsec to count system calls).
# CG_SERVE_ARGS: more arguments for lambda-fpm-bench serve (e.g. --bridge-env LAMBDA_FPM_CODE_MIRROR=off).
mkdir -p /tmp/cg
set -uo pipefail
tag=$1 bin=$2 port=9402
cat > /tmp/cg/wrap-$tag <<W
#!/bin/sh
exec valgrind --tool=callgrind ${CG_VALGRIND_ARGS:-} --callgrind-out-file=/tmp/cg/$tag.%p.out $bin
W
chmod +x /tmp/cg/wrap-$tag
rm -f /tmp/cg/$tag.*.out*
cd /work/main
./target/release/lambda-fpm-bench serve --bootstrap /tmp/cg/wrap-$tag --docroot ${CG_DOCROOT:-/tmp/cg/docroot} --work /tmp/cg/work-$tag --listen 127.0.0.1:$port ${CG_SERVE_ARGS:-} >/tmp/cg/serve-$tag.log 2>&1 &
srv=$!
for i in $(seq 1 120); do curl -s -o /dev/null -m 60 "http://127.0.0.1:$port/hello.php" && break; sleep 1; done
pid=$(pgrep -f "callgrind-out-file=/tmp/cg/$tag" | head -1)
get() { for i in $(seq 1 "$2"); do curl -s -o /dev/null -m 60 "http://127.0.0.1:$port/$1"; done; }
for f in hello.php page.php style.css big.bin; do get $f 10; done
sleep 2
for spec in hello.php:200 page.php:200 style.css:200 big.bin:10; do
  f=${spec%%:*} n=${spec##*:}
  callgrind_control -z "$pid" >/dev/null
  get "$f" "$n"
  callgrind_control -d "$f" "$pid" >/dev/null
done
kill $srv; sleep 1; pkill -f "callgrind-out-file=/tmp/cg/$tag"; sleep 1
for f in /tmp/cg/$tag.*.out.*; do
  echo "$tag $(grep -m1 '^desc: Trigger' "$f" | sed 's/.*Trigger: //') $(grep -m1 '^summary:' "$f" | awk '{print $2}')"
done
