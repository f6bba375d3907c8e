#!/usr/bin/env bash
# layer/updates.sh: which Debian packages in a built layer have newer versions now.
#
#   layer/updates.sh [path/to/lambda-fpm-layer.json]     (default: dist/lambda-fpm-layer.json;
#                                                         dist/lambda-fpm-layer-arm64.json for arm64)
#
# layer/build.sh records every Debian package the layer was made from (PHP, its extensions and each
# library, with versions) in lambda-fpm-layer.json beside the zip. This refreshes the package lists
# of that Debian release (and its -security suite) through the same private apt state the build uses
# and prints each package whose candidate version is newer: rebuild (layer/build.sh) and publish the
# layer (terraform apply) to ship them. Prints "N of M packages have newer versions"; exit status 0
# either way, 1 if the lists cannot be read. Needs the Debian mirror apt is configured with.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
META=${1:-$ROOT/dist/lambda-fpm-layer.json}
[[ -f $META ]] || { echo "layer/updates.sh: $META missing: build the layer first (layer/build.sh)" >&2; exit 1; }
# shellcheck source=../scripts/lib/debian.sh
. "$ROOT/scripts/lib/debian.sh"

suite=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["debian"])' "$META")
# the layer's architecture (manifests from before arm64 builds have none: x86_64); same apt state as the build
arch=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1])).get("architecture", "x86_64"))' "$META")
case $arch in
    x86_64) deb_arch=amd64 suffix= ;;
    arm64) deb_arch=arm64 suffix=-arm64 ;;
    *) echo "layer/updates.sh: $META: unknown architecture $arch" >&2; exit 1 ;;
esac
APT_ARCH=$deb_arch suite_apt "$suite" "$ROOT/.local/cache/apt-$suite$suffix" || exit 1
apt-get "${APT_OPTS[@]}" -qq update || { echo "layer/updates.sh: apt-get update failed" >&2; exit 1; }
total=0 newer=0
while read -r pkg built; do
    total=$((total + 1))
    now=$(apt-cache "${APT_OPTS[@]}" policy "$pkg" 2>/dev/null | awk '/Candidate:/ {print $2}')
    if [[ -z $now || $now == "(none)" ]]; then
        echo "$pkg: built $built, no longer in $suite"
        newer=$((newer + 1))
    elif dpkg --compare-versions "$now" gt "$built"; then
        echo "$pkg: built $built, now $now"
        newer=$((newer + 1))
    fi
done < <(python3 -c 'import json,sys; [print(p, v) for p, v in sorted(json.load(open(sys.argv[1]))["packages"].items())]' "$META")
echo "$newer of $total packages have newer versions in $suite ($deb_arch; layer built from $(basename "$META"))"
