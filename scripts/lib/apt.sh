# scripts/lib/apt.sh: install Debian packages that are missing, the one way every script here does
# it (sourced by scripts/local, scripts/test, bench/run.sh, layer/build.sh, layer/test-portable.sh,
# terraform/test.sh).
#
#   apt_ensure PKG...   returns 0 when every PKG is installed (installing the missing ones first);
#                       otherwise prints the last lines of apt's output and returns non-zero.
#
# Runs as root (or says why it cannot). No init system here: a policy-rc.d of our own, removed
# again, keeps package scripts from starting services (mariadb, nginx, php-fpm). Set APT_LOG to
# keep apt's output in a file (default: a temporary one, removed on success). Progress goes to
# stderr, prefixed with APT_WHO (default: apt).
apt_ensure() {
    local missing=() p
    for p in "$@"; do
        dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
    done
    [ ${#missing[@]} -eq 0 ] && return 0
    local who="${APT_WHO:-apt}"
    if [ "$(id -u)" -ne 0 ]; then
        printf '[%s] error: missing packages (%s); run as root to install them\n' "$who" "${missing[*]}" >&2
        return 1
    fi
    printf '[%s] apt-get install %s\n' "$who" "${missing[*]}" >&2
    local policy=/usr/sbin/policy-rc.d ours=0 rc=0 logf="${APT_LOG:-}" tmp=0
    if [ -z "$logf" ]; then logf="$(mktemp)"; tmp=1; fi
    if [ ! -e "$policy" ]; then printf '#!/bin/sh\nexit 101\n' >"$policy"; chmod 755 "$policy"; ours=1; fi
    {
        DEBIAN_FRONTEND=noninteractive apt-get update -qq -o DPkg::Lock::Timeout=600 &&
            DEBIAN_FRONTEND=noninteractive apt-get install -y -qq -o DPkg::Lock::Timeout=600 \
                --no-install-recommends "${missing[@]}"
    } >"$logf" 2>&1 || rc=$?
    [ $ours -eq 1 ] && rm -f "$policy"
    if [ $rc -ne 0 ]; then
        tail -n 30 "$logf" >&2
        printf '[%s] error: apt-get install %s failed%s\n' "$who" "${missing[*]}" "$([ $tmp -eq 0 ] && echo " (see $logf)")" >&2
    fi
    [ $tmp -eq 1 ] && rm -f "$logf"
    return $rc
}
