#!/usr/bin/env bash
# Build the lambda-fpm Lambda layer: dist/lambda-fpm-layer.zip, whose contents unpack at /opt,
# and the optional ICU add-on layer dist/lambda-fpm-icu-full.zip (intl data for every language);
# for arm64 (Graviton) the same from the same recipe: dist/lambda-fpm-layer-arm64.zip and
# dist/lambda-fpm-icu-full-arm64.zip.
#
#   layer/build.sh                      both architectures (LAYER_ARCH=all, the default)
#   LAYER_ARCH=x86_64 layer/build.sh    one (x86_64 or arm64)
#
# One command, run from anywhere, as root (it installs its own build dependencies with apt-get
# and pip, idempotently). Result:
#   /opt/bootstrap                  the bridge (cargo lambda build, glibc <= 2.26 symbols)
#   /opt/bin/php-fpm, /opt/bin/php  Debian trixie's php8.4 binaries (or bookworm's php8.2), interpreter + RPATH -> /opt/lib
#   /opt/lib/                       every shared library they load, incl. the loader (ld-linux-x86-64.so.2,
#                                   arm64: ld-linux-aarch64.so.1) and libc
#   /opt/lib/php/20240924/          the PHP extensions WordPress needs (8.2: 20220829/)
#   /opt/lib/gconv/                 iconv charset modules (the bundled libc looks here)
#   /opt/share/zoneinfo/            time zone database (the bundled PHP looks here)
#   /opt/ssl/cert.pem               CA certificates (the release's ca-certificates)
#   /opt/php/php.ini, php-fpm.conf  from php/, and /opt/php/conf.d/00-layer.ini (generated)
# and in the add-on: /opt/share/icu/icudt76l.dat (8.2: icudt72l.dat), the ICU data the main layer
# leaves out. Beside the zip: lambda-fpm-layer.json (PHP version, Debian packages shipped).
#
# Environment (all optional):
#   LAYER_ARCH=x86_64|arm64|all which architectures (default all). arm64 packages are Debian's arm64
#                               builds of the same versions; the bridge is cross-compiled (cargo lambda
#                               + zig), the stubs with Debian's aarch64 cross gcc, and every arm64 program
#                               the build runs (the loader listing libraries, icupkg, the smoke test)
#                               runs under qemu-user-static. arm64 is 8.4 only (8.2 rebuilds libraries
#                               from source for the host)
#   LAMBDA_FPM_BOOTSTRAP=path   use this prebuilt bridge binary instead of running cargo lambda build
#   LAYER_OUT=path              zip to write (default: dist/lambda-fpm-layer.zip, arm64: -arm64.zip)
#   LAYER_STAGE=dir             staging dir (default: .local/layer/stage, arm64: stage-arm64; the zip's root)
#   LAYER_ICU_OUT=path          the ICU add-on layer to write (default: dist/lambda-fpm-icu-full.zip,
#                               arm64: dist/lambda-fpm-icu-full-arm64.zip)
#   LAYER_ICU_LOCALES="en de"   ICU locale data kept in the main layer: these languages (+ root);
#                               default: en; "all" keeps every language (+15 MB). What is left out
#                               is in the ICU add-on layer (layer/README.md)
#   LAYER_PHP=8.4|8.2           PHP to ship (default 8.4): Debian 13 trixie's php8.4 packages
#                               (trixie + trixie-security), or Debian 12 bookworm's php8.2
#
# PHP and every library it loads are Debian's own binary packages of the chosen release, downloaded
# with apt (signature-checked) from the mirror this machine's apt is configured with, through a
# private sources list and state dir (the machine's apt configuration is untouched), and unpacked
# with dpkg-deb into a package root under .local/cache/ (no maintainer scripts run). Nothing of PHP
# is compiled here. Slow, rarely-changing pieces are cached under .local/cache/ with a key in the
# directory name (package root: the downloaded package versions; 8.2's lean libgd/libcurl: Debian's
# source version). See layer/README.md.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
ARCH=${LAYER_ARCH:-all}
case $ARCH in
  all)
    for v in LAYER_OUT LAYER_STAGE LAYER_ICU_OUT LAMBDA_FPM_BOOTSTRAP; do
      [[ -z ${!v:-} ]] || { echo "layer/build.sh: error: $v names one layer's file: set LAYER_ARCH=x86_64 or arm64 with it" >&2; exit 1; }
    done
    for a in x86_64 arm64; do LAYER_ARCH=$a "${BASH_SOURCE[0]}" || exit; done
    exit 0 ;;
  # DEB_ARCH: Debian's name; GNU: the multiarch triplet (library dirs); LDSO: the dynamic loader
  x86_64) DEB_ARCH=amd64 GNU=x86_64-linux-gnu LDSO=ld-linux-x86-64.so.2 SUFFIX= ;;
  arm64) DEB_ARCH=arm64 GNU=aarch64-linux-gnu LDSO=ld-linux-aarch64.so.1 SUFFIX=-arm64 ;;
  *) echo "layer/build.sh: error: LAYER_ARCH=$ARCH: x86_64, arm64 or all" >&2; exit 1 ;;
esac
OUT=${LAYER_OUT:-$ROOT/dist/lambda-fpm-layer$SUFFIX.zip}
ICU_OUT=${LAYER_ICU_OUT:-$ROOT/dist/lambda-fpm-icu-full$SUFFIX.zip}
STAGE=${LAYER_STAGE:-$ROOT/.local/layer/stage$SUFFIX}
CACHE=$ROOT/.local/cache
LOGDIR=$ROOT/.local/layer/logs$SUFFIX
PHPV=${LAYER_PHP:-8.4}
case $PHPV in
  8.4) SUITE=trixie PHPAPI=20240924 ;;
  8.2) SUITE=bookworm PHPAPI=20220829 ;;
  *) echo "layer/build.sh: error: LAYER_PHP=$PHPV: supported are 8.4 (default, Debian trixie) and 8.2 (Debian bookworm)" >&2; exit 1 ;;
esac
[[ $ARCH == x86_64 || $PHPV == 8.4 ]] || { echo "layer/build.sh: error: LAYER_ARCH=$ARCH needs LAYER_PHP=8.4 (8.2 rebuilds libgd/libcurl for the host)" >&2; exit 1; }
OPT=$STAGE   # the zip's root is /opt

# Extensions shipped (shared .so files from Debian's php$PHPV-* packages), in load order.
# Compiled into Debian's php binary already: Core date filter hash json libxml openssl pcntl pcre
# random Reflection session sodium SPL standard zlib.
ZEND_EXTENSIONS=(opcache)
EXTENSIONS=(mysqlnd pdo xml   # must precede mysqli/pdo_mysql and dom/simplexml/xmlreader/xmlwriter
  mysqli pdo_mysql dom simplexml xmlreader xmlwriter
  gd intl mbstring zip curl exif fileinfo iconv ctype tokenizer phar posix)
# Dropped (WordPress does not use them): calendar ffi ftp gettext readline shmop sockets sysvmsg
# sysvsem sysvshm xsl.
# PHP's own packages (their dependency closure is resolved by apt), per release; 8.4 adds the
# object-cache extensions redis (phpredis, for a Redis/Valkey/ElastiCache object cache) and
# igbinary (its compact serializer; must load first).
PHP_PACKAGES=(php$PHPV-fpm php$PHPV-cli php$PHPV-mysql php$PHPV-gd php$PHPV-curl php$PHPV-mbstring
  php$PHPV-xml php$PHPV-zip php$PHPV-intl php$PHPV-opcache ca-certificates tzdata
  icu-devtools)   # icupkg of the same ICU version, for the ICU data split
# trixie moved old time zone names (US/Eastern, Asia/Calcutta, ...) to tzdata-legacy; a site's
# saved timezone_string may be one of them
if [[ $PHPV == 8.4 ]]; then
  EXTENSIONS+=(igbinary redis)
  PHP_PACKAGES+=(php$PHPV-igbinary php$PHPV-redis tzdata-legacy)
fi
# Host tools (this machine's own packages). 8.2 also rebuilds libgd/libcurl from Debian's sources.
APT_PACKAGES=(patchelf zip unzip binutils file python3 gcc dpkg-dev)
# arm64: the cross compiler and binutils for the stubs, qemu to run the arm64 loader and programs
[[ $ARCH == arm64 ]] && APT_PACKAGES+=(gcc-aarch64-linux-gnu libc6-dev-arm64-cross binutils-aarch64-linux-gnu qemu-user-static)
[[ $PHPV == 8.2 ]] && APT_PACKAGES+=(make pkg-config libpng-dev libjpeg62-turbo-dev libwebp-dev
  libfreetype-dev zlib1g-dev libssl-dev libnghttp2-dev libbrotli-dev)
# iconv charsets shipped (glibc has UTF-8/UTF-16/UTF-32/UCS-2/UCS-4/ASCII built in): western and
# central European, Cyrillic, Greek, Turkish, Hebrew, Arabic, Baltic, Thai, and the common CJK ones.
GCONV_MODULES=(ISO8859-{1,2,3,4,5,6,7,8,9,10,11,13,14,15,16} CP125{0,1,2,3,4,5,6,7,8} KOI8-R KOI8-U
  UTF-16 UTF-32 UTF-7 UNICODE MACINTOSH IBM850 IBM437 TIS-620
  EUC-JP EUC-JP-MS SJIS CP932 ISO-2022-JP libJIS EUC-KR ISO-2022-KR libKSC UHC JOHAB
  EUC-CN GBK GB18030 libGB BIG5 BIG5HKSCS EUC-TW libCNS ISO-2022-CN ISO-2022-CN-EXT)

# ---------------------------------------------------------------- progress display
STEP=0
STEPS=9
T0=$SECONDS
mkdir -p "$LOGDIR"
step() { STEP=$((STEP + 1)); printf '[%d/%d] %s\n' "$STEP" "$STEPS" "$*"; }
note() { printf '      %s\n' "$*"; }
die() { printf 'layer/build.sh: error: %s\n' "$*" >&2; exit 1; }

# run LABEL LOGNAME CMD...: run a long command with its output in a log file, showing a spinner,
# the elapsed time and the log's last line (on a terminal) or a line every 20 s (in CI).
run() {
  local label=$1 log=$LOGDIR/$2.log; shift 2
  local start=$SECONDS
  ( "$@" ) >"$log" 2>&1 &
  local pid=$! spin='|/-\' i=0 last=0 line
  while kill -0 "$pid" 2>/dev/null; do
    if [[ -t 1 ]]; then
      line=$(tail -c 2000 "$log" 2>/dev/null | tr '\r' '\n' | grep -v '^[[:space:]]*$' | tail -n 1 | cut -c1-60 || true)
      printf '\r\033[K      %s %s %3ds  %s' "${spin:i++%4:1}" "$label" $((SECONDS - start)) "$line"
    elif (( SECONDS - last >= 20 )); then
      last=$SECONDS; printf '      ... %s (%ds)\n' "$label" $((SECONDS - start))
    fi
    sleep 0.5
  done
  local rc=0; wait "$pid" || rc=$?
  [[ -t 1 ]] && printf '\r\033[K'
  if (( rc != 0 )); then
    printf '      FAILED: %s (exit %d); last lines of %s:\n' "$label" "$rc" "$log" >&2
    tail -n 40 "$log" >&2
    exit "$rc"
  fi
  note "$label: done in $((SECONDS - start))s"
}

# ---------------------------------------------------------------- 1. build dependencies
step "Build dependencies (apt: host tools; Debian $SUITE $DEB_ARCH packages of PHP $PHPV; pip: cargo-lambda, ziglang)"
[[ $(uname -m) == x86_64 ]] || die "runs on x86_64 Debian (it builds both architectures there)"
command -v apt-get >/dev/null && command -v dpkg-deb >/dev/null || die "needs apt-get and dpkg-deb (Debian)"
if [[ $PHPV == 8.2 ]]; then
  grep -q 'VERSION_CODENAME=bookworm' /etc/os-release || die "LAYER_PHP=8.2 rebuilds libgd/libcurl against bookworm's headers: run on Debian bookworm"
fi
# shellcheck source=../scripts/lib/apt.sh
. "$ROOT/scripts/lib/apt.sh"
APT_WHO=layer APT_LOG=$LOGDIR/apt-install.log apt_ensure "${APT_PACKAGES[@]}" ||
  die "apt-get install failed (see $LOGDIR/apt-install.log)"
# CC/STRIP/OBJDUMP for the layer's architecture; target_run CMD...: run a program of the layer's
# architecture (arm64: under qemu-user-static, given explicitly: no binfmt registration needed)
if [[ $ARCH == arm64 ]]; then
  CC=aarch64-linux-gnu-gcc STRIP=aarch64-linux-gnu-strip OBJDUMP=aarch64-linux-gnu-objdump
  target_run() { qemu-aarch64-static "$@"; }
else
  CC=gcc STRIP=strip OBJDUMP=objdump
  target_run() { "$@"; }
fi
if [[ -z ${LAMBDA_FPM_BOOTSTRAP:-} ]]; then
  command -v cargo >/dev/null || die "cargo not found (install Rust: https://rustup.rs)"
  if [[ $ARCH == arm64 ]] && ! rustup target list --installed 2>/dev/null | grep -qx aarch64-unknown-linux-gnu; then
    run "rustup target add aarch64-unknown-linux-gnu" rustup-target rustup target add aarch64-unknown-linux-gnu
  fi
  if ! cargo lambda --version >/dev/null 2>&1 || ! python3 -c 'import ziglang' 2>/dev/null; then
    run "pip install cargo-lambda ziglang" pip python3 -m pip install -q cargo-lambda ziglang
  fi
fi

# shellcheck source=../scripts/lib/debian.sh
. "$ROOT/scripts/lib/debian.sh"   # debian_mirror, private_apt, suite_apt, pkgver
KEYRING=$DEBIAN_KEYRING
MIRROR=$(debian_mirror debian) || die "no Debian mirror configured"

# The package root: PHP's packages and their whole runtime dependency closure for $SUITE,
# downloaded by apt and unpacked with dpkg-deb -x (no maintainer scripts), keyed by the versions.
APTDIR=$CACHE/apt-$SUITE$SUFFIX
APT_ARCH=$DEB_ARCH suite_apt "$SUITE" "$APTDIR" || die "no Debian mirror configured"
run "apt-get update ($SUITE, $SUITE-security, $DEB_ARCH; private lists)" apt-$SUITE-update apt-get "${APT_OPTS[@]}" -qq update
run "apt-get download PHP $PHPV ($DEB_ARCH) + dependency closure" apt-$SUITE-download \
  apt-get "${APT_OPTS[@]}" -y -qq --no-install-recommends install --download-only "${PHP_PACKAGES[@]}"
# exactly the packages of this resolution (the archive cache may hold older versions too)
apt-get "${APT_OPTS[@]}" -s --no-install-recommends install "${PHP_PACKAGES[@]}" 2>/dev/null |
  awk '$1=="Inst" {v=$3; gsub(/[()]/,"",v); print $2, v}' | sort >"$LOGDIR/packages-$SUITE.txt"
[[ -s $LOGDIR/packages-$SUITE.txt ]] || die "apt resolved no packages for ${PHP_PACKAGES[*]}"
SYS=$CACHE/pkgroot-$SUITE$SUFFIX-$(md5sum <"$LOGDIR/packages-$SUITE.txt" | cut -c1-10)-v2
if [[ ! -f $SYS/.complete ]]; then
  rm -rf "$SYS.tmp" "$SYS" && mkdir -p "$SYS.tmp"
  while read -r pkg ver; do
    deb=$( (ls "$APTDIR/archives/${pkg}_${ver//:/%3a}_"*.deb 2>/dev/null || true) | head -n 1)
    [[ -n $deb ]] || die "downloaded package missing: $pkg $ver"
    dpkg-deb -x "$deb" "$SYS.tmp"
    dpkg-deb -c "$deb" | awk -v p="$pkg" '{f=$6; sub(/^\./, "", f); if (f != "/" && f !~ /\/$/) print p, f}'
  done <"$LOGDIR/packages-$SUITE.txt" >"$SYS.tmp/.files"
  cp "$LOGDIR/packages-$SUITE.txt" "$SYS.tmp/.packages"
  touch "$SYS.tmp/.complete" && mv "$SYS.tmp" "$SYS"
fi
PHPVERSION=$(pkgver "$SYS" php$PHPV-fpm)
# library dirs of the package root (bookworm's packages still install into /lib, trixie's into /usr/lib)
SYSLIB=$SYS/lib/$GNU:$SYS/usr/lib/$GNU
SYSLD=$( (ls "$SYS"/{usr/,}lib/$GNU/$LDSO 2>/dev/null || true) | head -n 1)
[[ -n $SYSLD ]] || die "no dynamic loader in ${SYS#$ROOT/}"
# sysrun CMD...: run one of the package root's programs with its own loader and libraries
sysrun() { target_run "$SYSLD" --library-path "$SYSLIB" "$@"; }
SYS_FPM=$SYS/usr/sbin/php-fpm$PHPV
SYS_CLI=$SYS/usr/bin/php$PHPV
SYS_EXT=$SYS/usr/lib/php/$PHPAPI
[[ -x $SYS_FPM && -x $SYS_CLI && -d $SYS_EXT ]] || die "php$PHPV binaries or $SYS_EXT missing from the package root"
note "${SYS#$ROOT/}: $(wc -l <"$SYS/.packages") packages, php$PHPV-fpm $PHPVERSION, libc6 $(pkgver "$SYS" libc6)"

# ---------------------------------------------------------------- 2. the bridge
step "Bridge binary /opt/bootstrap"
if [[ -n ${LAMBDA_FPM_BOOTSTRAP:-} ]]; then
  BOOTSTRAP=$LAMBDA_FPM_BOOTSTRAP
  note "using prebuilt $BOOTSTRAP"
else
  # zig links against glibc 2.26 symbol versions: runs on provided.al2023 (2.34) and older.
  # (cargo lambda writes target/lambda/bootstrap/bootstrap for either target: copied right away)
  run "cargo lambda build --release ($ARCH, glibc 2.26)" cargo-lambda \
    cargo lambda build --release --target "${ARCH/arm64/aarch64}-unknown-linux-gnu.2.26" --bin bootstrap
  mkdir -p "$LOGDIR" && cp "$ROOT/target/lambda/bootstrap/bootstrap" "$LOGDIR/bootstrap"
  BOOTSTRAP=$LOGDIR/bootstrap
fi
[[ -x $BOOTSTRAP ]] || die "bridge binary not found: $BOOTSTRAP"
file -b "$BOOTSTRAP" | grep -q "$([[ $ARCH == arm64 ]] && echo 'ARM aarch64' || echo 'x86-64')" ||
  die "$BOOTSTRAP is not an $ARCH program: $(file -b "$BOOTSTRAP")"
maxglibc=$($OBJDUMP -T "$BOOTSTRAP" 2>/dev/null | grep -o "GLIBC_[0-9.]*" | sort -uV | tail -n 1 || true)
note "$(basename "$BOOTSTRAP"): $(du -h "$BOOTSTRAP" | cut -f1), newest glibc symbol: ${maxglibc:-none}"

# ---------------------------------------------------------------- 3. lean libgd, libcurl, stubs
step "Stubs (libsystemd, libapparmor); for 8.2 lean libgd + libcurl from Debian's sources"
# debian_source PKG DIR LOGNAME: fetch and unpack the newest bookworm source of PKG that the mirror
# serves into DIR (emptied first) with apt (signature-checked, Debian's patches applied by
# dpkg-source), through a private deb-src list (the system's apt configuration is untouched). Sets
# src to the unpacked source tree. (bookworm-security's and trixie's sources are not served here.)
debian_source() {
  local pkg=$1 dir=$2 log=$3
  rm -rf "$dir" && mkdir -p "$dir"
  run "apt-get source $pkg" "$log" bash -c "cd '$dir' && apt-get ${SRC_APT[*]} -qq source $pkg=$(source_version "$pkg")"
  src=$(find "$dir" -mindepth 1 -maxdepth 1 -type d -name "$pkg-*" | head -n 1)
  [[ -n $src ]] || die "$pkg source not unpacked"
}
# source_version PKG: the newest source version of PKG on the private deb-src list
source_version() {
  apt-cache "${SRC_APT[@]}" showsrc "$1" 2>/dev/null | awk '/^Version:/ {print $2}' | sort -V | tail -n 1
}
# check_abi LIB OBJ PATTERN: every symbol matching PATTERN that OBJ imports (with its symbol
# version) must be exported by LIB
check_abi() {
  local lib=$1 obj=$2 pat=$3 name; name=$(basename "$lib")
  readelf --dyn-syms -W "$obj" | awk '$7=="UND"{print $8}' | grep "$pat" | sort >"$LOGDIR/$name.need" || true
  readelf --dyn-syms -W "$lib" | awk '$7!="UND"{print $8}' | sed 's/@@/@/' | sort >"$LOGDIR/$name.have"
  [[ -s $LOGDIR/$name.need && -z $(comm -23 "$LOGDIR/$name.need" "$LOGDIR/$name.have") ]] ||
    die "$name lacks symbols $(basename "$obj") needs: $(comm -23 "$LOGDIR/$name.need" "$LOGDIR/$name.have" | tr '\n' ' ')"
  note "$name: $(du -h "$lib" | cut -f1), has the $(wc -l <"$LOGDIR/$name.need") ${pat#^}* symbols $(basename "$obj") imports; needs: $(readelf -d "$lib" | sed -n 's/.*NEEDED.*\[\(.*\)\]/\1/p' | tr '\n' ' ')"
}

if [[ $PHPV == 8.2 ]]; then
private_apt "$CACHE/apt-src-bookworm" "deb-src [signed-by=$KEYRING] $MIRROR bookworm main"
SRC_APT=("${APT_OPTS[@]}")
run "apt-get update (bookworm sources; private lists)" apt-src-update apt-get "${SRC_APT[@]}" -qq update
GDVER=$(source_version libgd2)
GDKEY=libgd2-$GDVER-lean-v1
GDDIR=$CACHE/$GDKEY
if [[ -f $GDDIR/libgd.so.3 ]]; then
  note "cached: .local/cache/$GDKEY"
else
  debian_source libgd2 "$GDDIR.tmp" gd-source
  # Same ABI (soname libgd.so.3, every gd* symbol): without a format, libgd compiles its own
  # stubs that return an error, so PHP's gd.so (built against Debian's libgd) loads unchanged.
  run "configure + make libgd" gd-build nice -n 10 bash -c "cd '$src' && ./configure -q --prefix=/usr --disable-static --disable-rpath \
      --with-zlib --with-png --with-jpeg --with-webp --with-freetype \
      --without-fontconfig --without-raqm --without-liq --without-xpm --without-tiff --without-heif --without-avif --without-x \
      CFLAGS='-O2 -g0' && make -j\$(nproc) -C src libgd.la"
  "$STRIP" --strip-unneeded "$src/src/.libs/libgd.so.3."*[0-9] -o "$GDDIR.tmp/libgd.so.3"
  mkdir -p "$GDDIR" && mv "$GDDIR.tmp/libgd.so.3" "$GDDIR/" && rm -rf "$GDDIR.tmp"
fi
check_abi "$GDDIR/libgd.so.3" "$SYS_EXT/gd.so" '^gd'

# libcurl: Debian's libcurl4 (OpenSSL flavour) also links GnuTLS (through librtmp and OpenLDAP),
# nettle/hogweed/gmp, p11-kit/libffi/libtasn1, libidn2/libunistring, libpsl, Kerberos (gssapi,
# krb5, k5crypto, keyutils, com_err), OpenLDAP + SASL, libssh2 and libzstd (~8 MB with their
# dependencies). Rebuilt from Debian's curl source (all Debian patches except the GnuTLS/NSS
# flavour ones, i.e. exactly the libcurl4 sources) with OpenSSL + nghttp2 (HTTP/2) + zlib + brotli
# only: same soname libcurl.so.4, same CURL_OPENSSL_4 symbol version, every curl_* symbol PHP's
# curl.so imports (checked below). Not built in: IDN (WordPress's Requests converts IDNs itself;
# plain curl callers can use idn_to_ascii()), the public suffix list (only used by libcurl's own
# cookie engine), GSS-API/Kerberos, LDAP, RTMP, SCP/SFTP, zstd content encoding. The default CA
# bundle is the layer's /opt/ssl/cert.pem (no CA directory), so HTTPS verifies even without
# curl.cainfo.
CURLVER=$(source_version curl)
CURLKEY=curl-$CURLVER-lean-v1
CURLDIR=$CACHE/$CURLKEY
if [[ -f $CURLDIR/libcurl.so.4 ]]; then
  note "cached: .local/cache/$CURLKEY"
else
  debian_source curl "$CURLDIR.tmp" curl-source
  # Debian's series ends with the patches that turn the tree into the GnuTLS and NSS flavours
  # (debian/rules pops them for libcurl4): undo them. The other patches that touch configure.ac
  # only concern GSS-API and LDAP (disabled here), so the shipped configure script is used as is.
  for p in 99_nss.patch 90_gnutls.patch; do
    patch -R -p1 -s -d "$src" <"$src/debian/patches/$p" || die "could not revert curl's $p"
  done
  run "configure + make libcurl" curl-build nice -n 10 bash -c "cd '$src' && ./configure -q --prefix=/usr --disable-static \
      --disable-dependency-tracking --enable-versioned-symbols --enable-threaded-resolver \
      --with-openssl --with-nghttp2 --with-zlib --with-brotli --without-zstd \
      --without-libidn2 --without-libpsl --without-librtmp --without-libssh2 --without-libssh --without-gssapi \
      --disable-ldap --disable-ldaps --without-hyper --without-libgsasl --disable-manual \
      --with-ca-bundle=/opt/ssl/cert.pem --without-ca-path --without-ca-fallback \
      CFLAGS='-O2 -g0' && make -j\$(nproc) -C lib libcurl.la"
  "$STRIP" --strip-unneeded "$src/lib/.libs/libcurl.so.4."*[0-9] -o "$CURLDIR.tmp/libcurl.so.4"
  mkdir -p "$CURLDIR" && mv "$CURLDIR.tmp/libcurl.so.4" "$CURLDIR/" && rm -rf "$CURLDIR.tmp"
fi
check_abi "$CURLDIR/libcurl.so.4" "$SYS_EXT/curl.so" '^curl_'
readelf -d "$CURLDIR/libcurl.so.4" | grep -q 'SONAME.*\[libcurl\.so\.4\]' || die "lean libcurl: wrong soname"
fi

# php-fpm links libsystemd only for sd_notifyf() (readiness notification to systemd). On Lambda
# there is no NOTIFY_SOCKET, where the real one returns 0 too; a 1-symbol stub avoids bundling
# libsystemd + libgcrypt + libgpg-error + liblz4 + libcap (~2.5 MB).
SDDIR=$CACHE/libsystemd-stub$SUFFIX-v1
if [[ ! -f $SDDIR/libsystemd.so.0 ]]; then
  mkdir -p "$SDDIR.tmp"
  printf 'int sd_notifyf(int unset_environment, const char *format, ...) { (void)unset_environment; (void)format; return 0; }\n' >"$SDDIR.tmp/sd.c"
  printf 'LIBSYSTEMD_209 { global: sd_notifyf; local: *; };\n' >"$SDDIR.tmp/sd.map"
  "$CC" -O2 -shared -fPIC -Wl,-soname,libsystemd.so.0 -Wl,--version-script="$SDDIR.tmp/sd.map" \
    -o "$SDDIR.tmp/libsystemd.so.0" "$SDDIR.tmp/sd.c"
  "$STRIP" --strip-unneeded "$SDDIR.tmp/libsystemd.so.0"
  rm -rf "$SDDIR" && mv "$SDDIR.tmp" "$SDDIR"
fi
[[ $(readelf --dyn-syms -W "$SYS_FPM" | grep -c 'UND.*@LIBSYSTEMD') == 1 ]] ||
  die "php-fpm imports more than sd_notifyf from libsystemd: extend the stub"
# Likewise libapparmor: php-fpm calls aa_getcon()/aa_change_profile() only for a pool with
# apparmor_hat set; Lambda has no AppArmor (the real functions fail there too): the stubs fail
# with ENOSYS.
AADIR=$CACHE/libapparmor-stub$SUFFIX-v1
if [[ ! -f $AADIR/libapparmor.so.1 ]]; then
  mkdir -p "$AADIR.tmp"
  printf '%s\n' '#include <errno.h>' \
    'int aa_change_profile(const char *p) { (void)p; errno = ENOSYS; return -1; }' \
    'int aa_getcon(char **label, char **mode) { if (label) *label = 0; if (mode) *mode = 0; errno = ENOSYS; return -1; }' >"$AADIR.tmp/aa.c"
  printf 'APPARMOR_1.1 { global: aa_change_profile; aa_getcon; local: *; };\n' >"$AADIR.tmp/aa.map"
  "$CC" -O2 -shared -fPIC -Wl,-soname,libapparmor.so.1 -Wl,--version-script="$AADIR.tmp/aa.map" \
    -o "$AADIR.tmp/libapparmor.so.1" "$AADIR.tmp/aa.c"
  "$STRIP" --strip-unneeded "$AADIR.tmp/libapparmor.so.1"
  rm -rf "$AADIR" && mv "$AADIR.tmp" "$AADIR"
fi
check_abi "$AADIR/libapparmor.so.1" "$SYS_FPM" '^aa_'
[[ $(readelf --dyn-syms -W "$SYS_FPM" | grep -c 'UND.*@APPARMOR') == $(wc -l <"$LOGDIR/libapparmor.so.1.need") ]] ||
  die "php-fpm imports more than aa_* from libapparmor: extend the stub"
OVERRIDE_LIBS=("$SDDIR/libsystemd.so.0" "$AADIR/libapparmor.so.1")
[[ $PHPV == 8.2 ]] && OVERRIDE_LIBS+=("$GDDIR/libgd.so.3" "$CURLDIR/libcurl.so.4")

# 8.4: trixie's libgd3 is used as shipped (its 2026 security fixes are in no source this mirror
# serves), but it links libheif (HEIF), libtiff (TIFF) and libXpm (XPM, which pulls libX11 and
# libxcb): 5.5 MB that PHP cannot use. PHP's gd has no HEIF or TIFF function, and
# imagecreatefromstring() does not detect either, so those are unreachable: their stubs abort with
# a message naming the call. imagecreatefromxpm() is reachable: the stub's XpmReadFileToXpmImage
# fails with XpmOpenFailed, which libgd reports as "not a valid XPM file" (PHP returns false).
# stub_lib SONAME IMPORTER PREFIX [C-BODY...]: a stub of SONAME exporting exactly the symbols (with
# their symbol versions) IMPORTER imports from it, each aborting, unless C-BODY defines it; PREFIX
# matches them all (checked).
stub_lib() {
  local soname=$1 importer=$2 prefix=$3; shift 3
  local dir=$CACHE/stub-${soname%%.so*}$SUFFIX-$(printf '%s\n' "$@" | md5sum | cut -c1-8)-v1 real
  real=$(IFS=:; for d in $SYSLIB; do [[ -e $d/$soname ]] && echo "$d/$soname" && break; done)
  [[ -n $real ]] || die "$soname not in the package root"
  if [[ ! -f $dir/$soname ]]; then
    rm -rf "$dir.tmp" && mkdir -p "$dir.tmp"
    readelf --dyn-syms -W "$importer" | awk '$7=="UND" {print $8}' | sed 's/ .*//' | sort -u >"$dir.tmp/und"
    # defined symbols of the real library: TYPE NAME[@VERSION]
    readelf --dyn-syms -W "$real" | awk '$7!="UND" && $8!="" && ($4=="FUNC" || $4=="OBJECT") {print $4, $8}' |
      sed 's/@@/@/' | awk 'NR==FNR {u[$1]=1; next} ($2 in u)' "$dir.tmp/und" - >"$dir.tmp/syms"
    [[ -s $dir.tmp/syms ]] || die "$(basename "$importer") imports nothing from $soname"
    ! grep -q '^OBJECT' "$dir.tmp/syms" || die "$soname: $(basename "$importer") imports data objects: write that stub by hand"
    python3 "$ROOT/layer/py/stub_lib.py" "$soname" "$dir.tmp" "$@"
    "$CC" -O2 -shared -fPIC -Wl,-soname,"$soname" -Wl,--version-script="$dir.tmp/stub.map" \
      -o "$dir.tmp/$soname" "$dir.tmp/stub.c" || die "stub $soname does not build"
    "$STRIP" --strip-unneeded "$dir.tmp/$soname"
    rm -rf "$dir" && mv "$dir.tmp" "$dir"
  fi
  [[ $(grep -vc " $prefix" "$dir/syms") == 0 ]] || die "$soname stub: not every symbol starts with $prefix"
  check_abi "$dir/$soname" "$importer" "^$prefix"
  OVERRIDE_LIBS+=("$dir/$soname")
}
if [[ $PHPV == 8.4 ]]; then
  GDLIB=$(IFS=:; for d in $SYSLIB; do [[ -e $d/libgd.so.3 ]] && echo "$d/libgd.so.3" && break; done)
  stub_lib libheif.so.1 "$GDLIB" heif_
  stub_lib libtiff.so.6 "$GDLIB" TIFF
  stub_lib libXpm.so.4 "$GDLIB" Xpm \
    'int XpmReadFileToXpmImage(const char *f, void *image, void *info) { (void)f; (void)image; (void)info; return -1; /* XpmOpenFailed */ }' \
    'void XpmFreeXpmImage(void *image) { (void)image; }' \
    'void XpmFreeXpmInfo(void *info) { (void)info; }'
fi

# ---------------------------------------------------------------- 4. PHP binaries + extensions
step "PHP $PHPV binaries and extensions (Debian $SUITE php$PHPV $PHPVERSION)"
rm -rf "$STAGE" && mkdir -p "$OPT"/{bin,lib/php/$PHPAPI,php/conf.d,ssl,share}
install -m 0755 "$BOOTSTRAP" "$OPT/bootstrap"
install -m 0755 "$SYS_FPM" "$OPT/bin/php-fpm"
install -m 0755 "$SYS_CLI" "$OPT/bin/php"
for e in "${ZEND_EXTENSIONS[@]}" "${EXTENSIONS[@]}"; do
  install -m 0644 "$SYS_EXT/$e.so" "$OPT/lib/php/$PHPAPI/$e.so"
done
# Debian's PHP has built-in paths; rewrite them in place with strings of the same length so the
# binaries find the layer's files with no env vars and no wrapper script (there may be no shell):
#   /usr/share/zoneinfo     -> /opt/share/zoneinfo   (Debian reads the system tz database;
#                                                     missing = fatal "Timezone database is corrupt")
#   /usr/lib/php/$PHPAPI    -> /opt/lib/php/$PHPAPI   (default extension_dir)
#   /etc/php/$PHPV/{cli,fpm} -> /opt/////////php      (php.ini + php-fpm.conf search dir)
#   /etc/php/$PHPV/*/conf.d  -> /opt/php////////conf.d (default PHP_INI_SCAN_DIR)
# (Repeated slashes are legal in paths.) The bridge passes -c, --fpm-config and PHP_INI_SCAN_DIR
# explicitly anyway; the defaults make `/opt/bin/php` work on its own.
binpatch() { # file old=new... : "\0" means a NUL byte; "+" in new is filled with "/" to old's length
  python3 "$ROOT/layer/py/binpatch.py" "$@"
}
for b in php-fpm php; do
  sapi=$([[ $b == php ]] && echo cli || echo fpm)
  binpatch "$OPT/bin/$b" \
    '/usr/share/zoneinfo=/opt/share/zoneinfo' \
    "/usr/lib/php/$PHPAPI\\0=/opt/lib/php/$PHPAPI\\0" \
    "/etc/php/$PHPV/$sapi/conf.d\\0=/opt/php/+conf.d\\0" \
    "/etc/php/$PHPV/$sapi\\0=/opt/+php\\0"
done

# ---------------------------------------------------------------- 5. shared libraries
step "Shared libraries (ldd closure incl. ld-linux + libc) -> /opt/lib, patchelf"
# Resolved by the package root's own loader (ld.so --list), with the stubs (and 8.2's lean
# libgd/libcurl) in front of the package root's libraries.
OVERRIDE=$LOGDIR/override-libs
rm -rf "$OVERRIDE" && mkdir -p "$OVERRIDE"
cp "${OVERRIDE_LIBS[@]}" "$OVERRIDE/"
# The bridge too: with the layer's loader it runs in a root with no libc at all.
objs=("$OPT/bootstrap" "$OPT/bin/php-fpm" "$OPT/bin/php" "$OPT"/lib/php/$PHPAPI/*.so "$OVERRIDE"/*.so*)
for o in "${objs[@]}"; do
  echo "$o:"
  target_run "$SYSLD" --library-path "$OVERRIDE:$SYSLIB" --list "$o" || die "ld.so --list $o failed"
done >"$LOGDIR/ldd.txt" 2>&1
if grep -q 'not found' "$LOGDIR/ldd.txt"; then grep 'not found' "$LOGDIR/ldd.txt" >&2; die "unresolved libraries"; fi
# "libfoo.so.1 => /path/libfoo.so.1 (0x...)"; the loader is the package root's own
awk '$2=="=>" && $3 ~ /^\// && $1 !~ /ld-linux/ {print $1, $3}' "$LOGDIR/ldd.txt" | sort -u >"$LOGDIR/libs.txt"
echo "$LDSO $SYSLD" >>"$LOGDIR/libs.txt"
while read -r name path; do
  case $path in "$SYS"/*|"$OVERRIDE"/*) ;; *) die "$name resolved outside the package root: $path" ;; esac
  cp -L "$path" "$OPT/lib/$name"
  chmod 0755 "$OPT/lib/$name"
done <"$LOGDIR/libs.txt"
note "$(wc -l <"$LOGDIR/libs.txt") libraries, $(du -sh "$OPT/lib" | cut -f1) with extensions"
[[ -f $OPT/lib/$LDSO && -f $OPT/lib/libc.so.6 ]] || die "loader/libc missing from closure"
# ICU's data library (libicudata, 30 MB: the largest file) trimmed with ICU's own icupkg, keeping
# the same soname and data symbol. Left out of the main layer (measured in layer/README.md):
# - the locale data (main, coll, curr, lang, region, zone, rbnf, brkitr trees) of every language but
#   LAYER_ICU_LOCALES (default: en; root always stays): WordPress formats and translates with its
#   own .mo files, not with intl; 15 of the remaining 20 MB;
# - table-based converters (*.cnv, 5 MB: UConverter then only knows UTF-*/ASCII/Latin-1; libxml2 and
#   PHP convert other charsets with iconv/mbstring), dictionary word-break data for CJK/Thai/Khmer/
#   Lao/Burmese (*.dict, 3 MB: IntlBreakIterator falls back to rules), unit display names (unit/,
#   3 MB: PHP has no MeasureFormat API), StringPrep profiles (*.spp: only ICU's IDNA2003/usprep).
# Kept: root, the kept languages, transliteration, normalization, IDNA, time zones, confusables.
# Everything left out goes, byte for byte, into the ICU add-on layer: one common data file,
# /opt/share/icu/icudt72l.dat. ICU reads it by itself when an item is not in the linked data and
# ICU_DATA names its directory (the bridge sets ICU_DATA=/opt/share/icu for php-fpm and php), so
# main layer + add-on = Debian's complete ICU data.
ICU_LOCALES=$(tr ', ' '\n\n' <<<"${LAYER_ICU_LOCALES:-en}" | grep . | sort -u | tr '\n' ' ' || true)
[[ $ICU_LOCALES == "all " ]] && ICU_LOCALES=
for l in $ICU_LOCALES; do [[ $l =~ ^[a-z]{2,3}$ ]] || die "LAYER_ICU_LOCALES: '$l' is not a language code (2-3 lowercase letters) nor 'all'"; done
icu=$(cd "$OPT/lib" && ls libicudata.so.* | head -n 1)
icupkg() { sysrun "$(ls "$SYS"/usr/{s,}bin/icupkg 2>/dev/null | head -n 1)" "$@"; }   # the package root's, same ICU version
icuver=$(pkgver "$SYS" "$(awk '$1 ~ /^libicu[0-9]+$/ {print $1}' "$SYS/.packages")")   # libicuNN's version
ICUDIR=$CACHE/icudata-$icuver$SUFFIX-split-v3-$( [[ -n $ICU_LOCALES ]] && echo "locales-$(md5sum <<<"$ICU_LOCALES" | cut -c1-8)" || echo all)
if [[ ! -f $ICUDIR/$icu || ! -f $ICUDIR/name ]]; then
  rm -rf "$ICUDIR.tmp" && mkdir -p "$ICUDIR.tmp"
  # extract the common data package (symbol icudtNN_dat) from the Debian library
  python3 "$ROOT/layer/py/icu_extract.py" "$OPT/lib/$icu" "$ICUDIR.tmp"
  read -r icusym icupkgname <"$ICUDIR.tmp/name"
  icupkg -l "$ICUDIR.tmp/$icupkgname.dat" >"$ICUDIR.tmp/all.txt"
  grep -E '\.cnv$|\.dict$|\.spp$|^unit/' "$ICUDIR.tmp/all.txt" >"$ICUDIR.tmp/remove.txt"
  if [[ -n $ICU_LOCALES ]]; then
    # locale items: [tree/]ll[_Script][_RR...].res (ll = 2-3 letters; res_index/root/pool are not locales)
    keep=$(tr ' ' '|' <<<"${ICU_LOCALES% }")
    grep -E '^((coll|curr|lang|region|zone|rbnf|brkitr)/)?[a-z]{2,3}(_[A-Za-z0-9]+)*\.res$' "$ICUDIR.tmp/all.txt" |
      grep -vE '(^|/)res_index\.res$' | grep -vE "(^|/)($keep)(_[A-Za-z0-9]+)*\.res\$" >>"$ICUDIR.tmp/remove.txt" || true
  fi
  mkdir -p "$ICUDIR.tmp/out" "$ICUDIR.tmp/items" "$ICUDIR.tmp/addon"
  # --ignore-deps: brkitr/root.res names the removed dictionaries, and the add-on's locales use the
  # pool bundles (pool.res) that stay in the main data (both cut from the same Debian package)
  {
    icupkg --ignore-deps -r "$ICUDIR.tmp/remove.txt" "$ICUDIR.tmp/$icupkgname.dat" "$ICUDIR.tmp/out/$icupkgname.dat"
    icupkg -x "$ICUDIR.tmp/remove.txt" -d "$ICUDIR.tmp/items" "$ICUDIR.tmp/$icupkgname.dat"
    icupkg --ignore-deps -s "$ICUDIR.tmp/items" -a "$ICUDIR.tmp/remove.txt" new "$ICUDIR.tmp/addon/$icupkgname.dat"
  } >"$LOGDIR/icupkg.log" 2>&1 || die "icupkg failed (see $LOGDIR/icupkg.log)"
  # the split loses nothing: every item of Debian's package is in exactly one of the two
  sort "$ICUDIR.tmp/all.txt" >"$ICUDIR.tmp/all.sorted"
  { icupkg --ignore-deps -l "$ICUDIR.tmp/out/$icupkgname.dat"; icupkg --ignore-deps -l "$ICUDIR.tmp/addon/$icupkgname.dat"; } | sort >"$ICUDIR.tmp/split.sorted"
  cmp -s "$ICUDIR.tmp/all.sorted" "$ICUDIR.tmp/split.sorted" || die "ICU split: main + add-on items differ from Debian's package"
  printf '\t.section .rodata\n\t.globl %s\n\t.type %s, @object\n\t.balign 16\n%s:\n\t.incbin "%s"\n\t.size %s, . - %s\n\t.section .note.GNU-stack,"",@progbits\n' \
    "$icusym" "$icusym" "$icusym" "$ICUDIR.tmp/out/$icupkgname.dat" "$icusym" "$icusym" >"$ICUDIR.tmp/data.S"
  "$CC" -shared -nostdlib -Wl,-soname,"$icu" -o "$ICUDIR.tmp/$icu" "$ICUDIR.tmp/data.S"
  "$STRIP" --strip-unneeded "$ICUDIR.tmp/$icu"
  rm -rf "$ICUDIR" && mkdir -p "$ICUDIR/addon"
  mv "$ICUDIR.tmp/$icu" "$ICUDIR.tmp/remove.txt" "$ICUDIR/"
  mv "$ICUDIR.tmp/addon/$icupkgname.dat" "$ICUDIR/addon/"
  mv "$ICUDIR.tmp/name" "$ICUDIR/name"   # last: marks the cache entry complete
  rm -rf "$ICUDIR.tmp"
fi
read -r _ ICU_PKG <"$ICUDIR/name"
note "$icu: $(du -h "$OPT/lib/$icu" | cut -f1) -> $(du -h "$ICUDIR/$icu" | cut -f1) (locales: root ${ICU_LOCALES:-all}); add-on $ICU_PKG.dat: $(du -h "$ICUDIR/addon/$ICU_PKG.dat" | cut -f1), $(wc -l <"$ICUDIR/remove.txt") items"
install -m 0755 "$ICUDIR/$icu" "$OPT/lib/$icu"
# The bundled libc has Debian's gconv path compiled in; point it at /opt/lib/gconv (same length).
binpatch "$OPT/lib/libc.so.6" "/usr/lib/$GNU/gconv=/opt/lib/+gconv"
# RPATH (not RUNPATH: --force-rpath) so /opt/lib wins over LD_LIBRARY_PATH, which Lambda sets to
# /var/lang/lib:/lib64:/usr/lib64:...:/opt/lib -- with RUNPATH, Amazon Linux's own libc (2.34)
# would be mixed with our loader (2.36) and crash.
# Only the two executables get one: the loader searches the executable's DT_RPATH for every
# library of the process (dlopen()ed extensions and their dependencies too) unless the requesting
# object has a DT_RUNPATH, and none of the bundled objects has one (checked here). patchelf on every
# library added ~1.7 MB (it appends a grown copy of .dynstr: 0.6 MB for libicui18n alone).
# test-portable.sh checks that every library mapped into php and php-fpm comes from /opt/lib.
for f in "$OPT/bin/php-fpm" "$OPT/bin/php"; do
  patchelf --set-interpreter "/opt/lib/$LDSO" --force-rpath --set-rpath /opt/lib "$f"
done
for f in "$OPT"/lib/php/$PHPAPI/*.so "$OPT"/lib/*.so*; do
  # ($ORIGIN, i.e. /opt/lib itself, is harmless: Debian's abseil libraries have it)
  if readelf -d "$f" | grep -E '\((RUNPATH|RPATH)\)' | grep -vqF '[$ORIGIN]'; then
    die "${f#$OPT/} has its own RPATH/RUNPATH: the executables' RPATH would not cover its dependencies"
  fi
done

# ---------------------------------------------------------------- 6. data files
step "Data: iconv modules, zoneinfo, CA certificates"
mkdir -p "$OPT/lib/gconv"
G=$( (ls -d "$SYS"/{usr/,}lib/$GNU/gconv 2>/dev/null || true) | head -n 1)
cp "$G/gconv-modules" "$OPT/lib/gconv/"
[[ -d $G/gconv-modules.d ]] && cp -r "$G/gconv-modules.d" "$OPT/lib/gconv/"
for m in "${GCONV_MODULES[@]}"; do cp "$G/$m.so" "$OPT/lib/gconv/"; done
# (no gconv-modules.cache: it embeds Debian's directory; glibc reads the text config instead;
#  charsets whose module is not shipped fail in iconv_open() like unknown ones.)
# zoneinfo: the zones PHP lists (zone.tab/tzdata.zi + files), without the posix/ and right/ copies;
# symlinked aliases are stored as files (-h), so nothing depends on how the zip is unpacked.
mkdir -p "$OPT/share/zoneinfo"
# (Relative symlinks only in Debian's tzdata: -h resolves them inside the package root.)
(cd "$SYS/usr/share/zoneinfo" && tar -h --exclude=./posix --exclude=./right --exclude=./localtime -cf - .) | tar -C "$OPT/share/zoneinfo" -xf -
# CA bundle: the package root's ca-certificates (Mozilla's roots), concatenated as
# update-ca-certificates does
cat "$SYS"/usr/share/ca-certificates/mozilla/*.crt >"$OPT/ssl/cert.pem"
chmod 0644 "$OPT/ssl/cert.pem"
note "gconv $(du -sh "$OPT/lib/gconv" | cut -f1), zoneinfo $(du -sh "$OPT/share/zoneinfo" | cut -f1), CA $(grep -c 'BEGIN CERT' "$OPT/ssl/cert.pem") certificates"

# ---------------------------------------------------------------- 7. configs
step "Configs: /opt/php/php.ini, php-fpm.conf, conf.d/00-layer.ini"
install -m 0644 php/php.ini "$OPT/php/php.ini"
install -m 0644 php/php-fpm.conf "$OPT/php/php-fpm.conf"
{
  echo "; Generated by layer/build.sh: the layer-specific part of PHP's configuration (php.ini has"
  echo "; no /opt paths so it also works with Debian's PHP locally). Later files in PHP_INI_SCAN_DIR,"
  echo "; e.g. /var/task/php/conf.d/*.ini in the function package, can override these."
  echo
  echo "; The layer's extensions (Debian $SUITE php$PHPV-* packages)."
  echo "extension_dir = /opt/lib/php/$PHPAPI"
  for e in "${ZEND_EXTENSIONS[@]}"; do echo "zend_extension = $e"; done
  for e in "${EXTENSIONS[@]}"; do echo "extension = $e"; done
  echo
  echo "; CA certificates for outbound HTTPS (Debian's ca-certificates): Amazon Linux keeps its bundle"
  echo "; elsewhere than the paths compiled into Debian's OpenSSL and libcurl."
  echo "openssl.cafile = /opt/ssl/cert.pem"
  echo "curl.cainfo = /opt/ssl/cert.pem"
} >"$OPT/php/conf.d/00-layer.ini"
for f in php/conf.d/*.ini; do [[ -e $f ]] && install -m 0644 "$f" "$OPT/php/conf.d/"; done

# ---------------------------------------------------------------- 8. smoke test on this machine
step "Smoke test: /opt/bin/php -m from the staging dir (via its own loader)"
# The binaries' interpreter/RPATH say /opt/...: run them through the staged loader instead.
smoke=$(PHP_INI_SCAN_DIR="$OPT/php/conf.d" target_run "$OPT/lib/$LDSO" --library-path "$OPT/lib" "$OPT/bin/php" \
  -c "$OPT/php/php.ini" -d extension_dir="$OPT/lib/php/$PHPAPI" -m 2>&1) || { echo "$smoke" >&2; die "php -m failed"; }
for e in "${ZEND_EXTENSIONS[@]}" "${EXTENSIONS[@]}"; do
  grep -qix "$e\|zend $e" <<<"$smoke" || { echo "$smoke" >&2; die "extension $e not loaded"; }
done
target_run "$OPT/lib/$LDSO" --library-path "$OPT/lib" "$OPT/bin/php-fpm" -n -v >/dev/null
note "$(( ${#ZEND_EXTENSIONS[@]} + ${#EXTENSIONS[@]} )) extensions load"

# ---------------------------------------------------------------- 9. zip
step "Zip -> ${OUT#$ROOT/}"
mkdir -p "$(dirname "$OUT")"
rm -f "$OUT"
# -X: no extra attributes, -y: store symlinks as symlinks; sorted for a stable file order.
run "zip -9" zip bash -c "cd '$STAGE' && find . -mindepth 1 | sort | sed 's|^\./||' | zip -q -9 -X -y '$OUT' -@"
# zip_sizes TITLE ZIP [NOTE]: zipped size and the sum of the files' sizes as Lambda counts them
# (du would count zoneinfo's hard links once)
zip_sizes() {
  awk -v t="$1" -v o="${2#$ROOT/}" -v z="$(stat -c %s "$2")" -v u="$(unzip -l "$2" | tail -n 1 | awk '{print $1}')" -v n="${3:-}" 'BEGIN {
    printf "%s: %s\n  zipped   %d bytes (%.1f MiB)\n  unzipped %d bytes (%.1f MiB%s)\n", t, o, z, z/1048576, u, u/1048576, n }'
}
echo
# What the layer carries, for Terraform (php_version is checked against it) and for people:
# ${OUT%.zip}.json beside the zip.
PHPFULL=$(sysrun "$SYS_CLI" -n -r 'echo PHP_VERSION;') || die "the package root's php does not run"
# "packages": the Debian packages whose files the layer ships (layer/updates.sh checks them).
{
  for f in "$SYS_FPM" "$SYS_CLI"; do echo "$f"; done
  for e in "${ZEND_EXTENSIONS[@]}" "${EXTENSIONS[@]}"; do echo "$SYS_EXT/$e.so"; done
  awk '{print $2}' "$LOGDIR/libs.txt"
  for m in "${GCONV_MODULES[@]}"; do echo "$G/$m.so"; done
  cas=("$SYS"/usr/share/ca-certificates/mozilla/*.crt)
  echo "$SYS/usr/share/zoneinfo/zone.tab"; echo "${cas[0]}"
  [[ $PHPV == 8.4 ]] && echo "$SYS/usr/share/zoneinfo/US/Eastern"
} >"$LOGDIR/shipped-sources.txt"
REBUILT=$([[ $PHPV == 8.2 ]] && echo "libgd2=$GDVER curl=$CURLVER" || true)
python3 "$ROOT/layer/py/manifest.py" "${OUT%.zip}.json" "$ARCH" "$PHPFULL" "$PHPV" "$SUITE" "$PHPVERSION" "$SYS" "$LOGDIR/shipped-sources.txt" "$REBUILT" "${ZEND_EXTENSIONS[@]}" "${EXTENSIONS[@]}"
zip_sizes "layer ($ARCH)" "$OUT" "; Lambda limit: 250 MB with the function"
printf '  largest files: %s\n' "$(cd "$STAGE" && find . -type f -printf '%s %P\n' | sort -rn | head -n 6 | awk '{printf "%s %.1fM  ", $2, $1/1048576}')"
# The ICU add-on layer: the ICU data left out above, as /opt/share/icu/<package>.dat. Optional;
# attach it after the main layer (Terraform: icu_full_data = true) for intl in every language.
ICU_STAGE=$STAGE.icu
rm -rf "$ICU_STAGE" && mkdir -p "$ICU_STAGE/share/icu" "$(dirname "$ICU_OUT")"
install -m 0644 "$ICUDIR/addon/$ICU_PKG.dat" "$ICU_STAGE/share/icu/$ICU_PKG.dat"
rm -f "$ICU_OUT"
(cd "$ICU_STAGE" && zip -q -9 -X -r "$ICU_OUT" share)
zip_sizes "ICU add-on layer ($ARCH, optional)" "$ICU_OUT"
printf '%s layer built in %ds\n' "$ARCH" $((SECONDS - T0))
