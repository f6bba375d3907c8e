#!/usr/bin/env bash
# Portability proof for the Lambda layer (run by CI): the layer must work with NO host libraries.
#
#   layer/test-portable.sh [path/to/lambda-fpm-layer.zip [path/to/lambda-fpm-icu-full.zip]]
#   LAYER_ARCH=arm64 layer/test-portable.sh     the arm64 layer (x86_64 is the default)
#
# Without arguments it uses dist/lambda-fpm-layer.zip and dist/lambda-fpm-icu-full.zip (the ICU
# add-on layer; arm64: dist/lambda-fpm-layer-arm64.zip, dist/lambda-fpm-icu-full-arm64.zip),
# building them with layer/build.sh if absent. The arm64 layer runs under qemu-user-static: the
# kernel's binfmt_misc registration for aarch64 (with the F flag: the emulator is opened at
# registration, so a root needs no copy of it), which this script sets up if it is missing; the
# roots are arm64 roots (the bullseye one is debootstrap --arch=arm64), every check the same.
# For each root file system it unzips the layer at <root>/opt, adds a minimal /dev, /proc, /tmp and a
# document root (/mnt/wordpress: a PHP script using mysqli/gd/intl/curl + a static file), then under
# chroot:
#   - /opt/bin/php -m lists every extension WordPress needs; a PHP script exercises them;
#   - /opt/bin/php-fpm starts with the layer's configs the way the bridge spawns it, and answers
#     FastCGI requests (cgi-fcgi from the host, through the socket in <root>/tmp);
#   - bridge_test <root>: /opt/bootstrap against a Runtime API emulator (see that function).
# Roots (LAYER_TEST_ROOTS, default "empty bullseye"):
#   empty     nothing but the main layer: no libc, no shell, no /etc; intl has English + root
#             locale data only (other languages fall back to root)
#   bullseye  debootstrap --variant=minbase bullseye (glibc 2.31, older than the layer's 2.41),
#             with LD_LIBRARY_PATH pointing at its libc as Lambda's does at Amazon Linux's
#             (cached in .local/cache/rootfs/, key = suite + variant + mirror + recipe version);
#             the main layer plus the ICU add-on layer: intl in every language
# Also: the bridge binary's glibc symbol versions are all <= 2.34 (provided.al2023).
# Last line: "layer (ARCH): N passed, M failed" (exit status 1 if M > 0).
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
ARCH=${LAYER_ARCH:-x86_64}
case $ARCH in
  x86_64) DEB_ARCH=amd64 GNU=x86_64-linux-gnu LDSO=ld-linux-x86-64.so.2 SUFFIX= ELF_MACHINE='X86-64' ;;
  arm64) DEB_ARCH=arm64 GNU=aarch64-linux-gnu LDSO=ld-linux-aarch64.so.1 SUFFIX=-arm64 ELF_MACHINE='AArch64' ;;
  *) echo "layer/test-portable.sh: LAYER_ARCH=$ARCH: x86_64 or arm64" >&2; exit 2 ;;
esac
ZIP=${1:-$ROOT/dist/lambda-fpm-layer$SUFFIX.zip}
ICU_ZIP=${2:-$(dirname "$ZIP")/lambda-fpm-icu-full$SUFFIX.zip}
ROOTS=${LAYER_TEST_ROOTS:-empty bullseye}
WORK=$ROOT/.local/test-portable$SUFFIX
CACHE=$ROOT/.local/cache/rootfs
MAX_GLIBC=2.34
# Every extension the layer promises (names as `php -m` prints them, case-insensitive).
EXPECTED_EXTENSIONS=(Core date filter hash json libxml openssl pcre random Reflection session sodium SPL
  standard zlib mysqlnd mysqli pdo pdo_mysql "Zend OPcache" gd intl mbstring xml dom SimpleXML xmlreader
  xmlwriter zip curl exif fileinfo iconv ctype tokenizer Phar posix)
# The environment Lambda gives a provided.al2023 function (LD_LIBRARY_PATH puts system dirs before /opt/lib).
LAMBDA_ENV=(PATH=/usr/local/bin:/usr/bin/:/bin:/opt/bin LANG=en_US.UTF-8 TZ=:UTC
  LD_LIBRARY_PATH=/var/lang/lib:/lib64:/usr/lib64:/lib/$GNU:/var/runtime:/var/runtime/lib:/var/task:/var/task/lib:/opt/lib
  LAMBDA_TASK_ROOT=/var/task LAMBDA_RUNTIME_DIR=/var/runtime AWS_REGION=us-east-1 AWS_DEFAULT_REGION=us-east-1
  AWS_LAMBDA_FUNCTION_NAME=lambda-fpm-test AWS_LAMBDA_FUNCTION_MEMORY_SIZE=1024 AWS_LAMBDA_FUNCTION_VERSION='$LATEST'
  _HANDLER=bootstrap HOME=/tmp)
# php_env ROOT fpm|cli: sets PHP_ENV to what the bridge adds to PHP's environment, as the layer's
# own bootstrap prints it inside ROOT (`bootstrap --php-env`, defined once in src/php_env.rs), run
# through the layer's loader so a root with no libc at all works too.
php_env() {
  mapfile -t PHP_ENV < <(env -i "${LAMBDA_ENV[@]}" "$CHROOT" "$1" "/opt/lib/$LDSO" --library-path /opt/lib \
    /opt/bootstrap --php-env "$2" 2>&1)
  if [[ ${#PHP_ENV[@]} -lt 4 || ${PHP_ENV[0]} != *=* ]]; then
    fail "bootstrap --php-env $2 runs in the root (got: ${PHP_ENV[*]})"; PHP_ENV=(); return 1
  fi
}
# The roots that get the ICU add-on layer as well, and what test.php must then report.
with_icu_addon() { [[ $1 == bullseye ]]; }
intl_expected() { if with_icu_addon "$1"; then echo 'all languages'; else echo 'en only'; fi; }

CHROOT=$(command -v chroot)   # absolute: the env -i below has Lambda's PATH, without /usr/sbin
PASSED=0
FAILED=0
pass() { PASSED=$((PASSED + 1)); printf '  ok   %s\n' "$*"; }
fail() { FAILED=$((FAILED + 1)); printf '  FAIL %s\n' "$*"; }
info() { printf '%s\n' "$*"; }
# check "description" cmd...: pass if cmd succeeds; on failure show its output
check() {
  local desc=$1 out; shift
  if out=$("$@" 2>&1); then pass "$desc"; else fail "$desc"; printf '%s\n' "$out" | tail -n 20 | sed 's/^/       | /'; fi
}

# ------------------------------------------------------------------ dependencies (idempotent)
# shellcheck source=../scripts/lib/apt.sh
. "$ROOT/scripts/lib/apt.sh"
APT_WHO=test-portable apt_ensure debootstrap unzip libfcgi-bin binutils openssl python3 || exit 2
CGI_FCGI=$(command -v cgi-fcgi)   # libfcgi-bin, installed just above
# SLOW: how much longer things may take than natively (arm64 programs run under emulation)
SLOW=1
if [[ $ARCH == arm64 ]]; then
  SLOW=5
  APT_WHO=test-portable apt_ensure qemu-user-static binfmt-support || exit 2
  # Without systemd nothing mounted binfmt_misc or enabled the registration the package installed.
  BINFMT=/proc/sys/fs/binfmt_misc
  [[ -e $BINFMT/register ]] || mount -t binfmt_misc binfmt_misc "$BINFMT" ||
    { echo "cannot mount binfmt_misc on $BINFMT: arm64 programs cannot run here" >&2; exit 2; }
  if ! grep -qx enabled "$BINFMT/qemu-aarch64" 2>/dev/null; then
    update-binfmts --enable qemu-aarch64 >/dev/null 2>&1 || update-binfmts --import qemu-aarch64 >/dev/null 2>&1 || true
  fi
  grep -qx enabled "$BINFMT/qemu-aarch64" 2>/dev/null && grep -q '^flags: .*F' "$BINFMT/qemu-aarch64" ||
    { echo "no enabled qemu-aarch64 binfmt registration with the F flag in $BINFMT:" >&2; cat "$BINFMT/qemu-aarch64" >&2 2>/dev/null; exit 2; }
fi
if [[ ! -f $ZIP || ! -f $ICU_ZIP ]]; then
  [[ $# -eq 0 ]] || { echo "no such layer zip: $ZIP or $ICU_ZIP" >&2; exit 2; }
  info "${ZIP#$ROOT/} or ${ICU_ZIP#$ROOT/} missing: building them (LAYER_ARCH=$ARCH layer/build.sh)"
  LAYER_ARCH=$ARCH "$ROOT/layer/build.sh"
fi
# The layer's PHP (its extension API directory); the 8.4 layer also ships redis and igbinary.
PHPAPI=$(unzip -Z1 "$ZIP" | sed -n 's|^lib/php/\([0-9]\{8\}\)/.*|\1|p' | head -n 1)
[[ -n $PHPAPI ]] || { echo "$ZIP has no lib/php/<api>/ directory" >&2; exit 2; }
(( PHPAPI >= 20240924 )) && EXPECTED_EXTENSIONS+=(igbinary redis)
info "layer: $ARCH, PHP extension API $PHPAPI"

# ------------------------------------------------------------------ cleanup: only what we started/mounted
MOUNTS=()
PIDS=()
cleanup() {
  local p m
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null || true; done
  for m in "${MOUNTS[@]}"; do umount "$m" 2>/dev/null || umount -l "$m" 2>/dev/null || true; done
}
trap cleanup EXIT

# ------------------------------------------------------------------ root file systems
# shellcheck source=../scripts/lib/debian.sh
. "$ROOT/scripts/lib/debian.sh"   # debian_mirror: the Debian mirror apt is configured with

# bullseye_tarball: path of the cached debootstrap tarball, creating it if needed (~40 s, 60 MB)
bullseye_tarball() {
  local mirror key tar tmp
  mirror=$(debian_mirror debian)
  key=bullseye-minbase-$DEB_ARCH-$(printf '%s' "$mirror" | md5sum | cut -c1-8)-v1
  tar=$CACHE/$key.tar.gz
  if [[ ! -f $tar ]]; then
    mkdir -p "$CACHE"; tmp=$CACHE/$key.tmp; rm -rf "$tmp"
    info "  debootstrap --variant=minbase bullseye from $mirror (cached afterwards as .local/cache/rootfs/$key.tar.gz)" >&2
    # (arm64: debootstrap's second stage runs the root's arm64 programs through binfmt)
    if ! debootstrap --arch="$DEB_ARCH" --variant=minbase bullseye "$tmp" "$mirror" >"$CACHE/$key.log" 2>&1; then
      tail -n 20 "$CACHE/$key.log" >&2; rm -rf "$tmp"; return 1
    fi
    tar -C "$tmp" -czf "$tar.part" . && mv "$tar.part" "$tar" && rm -rf "$tmp"
  fi
  echo "$tar"
}

# start_https_server: a TLS server on 127.0.0.1 (random port, never anything but loopback) with a
# self-signed certificate (CA:TRUE, SAN IP:127.0.0.1), serving $WORK/https/www/hello.txt. The chroots
# share the network: test.php GETs it with curl (trusting the certificate via CURLOPT_CAINFO, and
# refused with the layer's CA bundle) and with an https:// stream. Sets HTTPS_DIR.
HTTPS_DIR=
start_https_server() {
  local d=$WORK/https pid i
  rm -rf "$d" && mkdir -p "$d/www"
  printf 'hello over TLS\n' >"$d/www/hello.txt"
  openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=lambda-fpm-layer-test \
    -addext subjectAltName=IP:127.0.0.1 -addext basicConstraints=critical,CA:TRUE \
    -keyout "$d/key.pem" -out "$d/cert.pem" >"$d/openssl.log" 2>&1 || { cat "$d/openssl.log"; return 1; }
  python3 - "$d" >"$d/server.log" 2>&1 <<'EOF' &
import functools, http.server, os, ssl, sys
d = sys.argv[1]
ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
ctx.load_cert_chain(d + '/cert.pem', d + '/key.pem')
class H(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *a): pass
s = http.server.ThreadingHTTPServer(('127.0.0.1', 0), functools.partial(H, directory=d + '/www'))
s.socket = ctx.wrap_socket(s.socket, server_side=True)
open(d + '/port.tmp', 'w').write(str(s.server_address[1]))
os.rename(d + '/port.tmp', d + '/port')
s.serve_forever()
EOF
  pid=$!; PIDS+=("$pid")
  for i in $(seq 1 50); do [[ -f $d/port ]] && break; kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  [[ -f $d/port ]] || { cat "$d/server.log"; return 1; }
  HTTPS_DIR=$d
}

# prepare_root NAME: a fresh root at $WORK/NAME with the layer at /opt; prints its path
prepare_root() {
  local name=$1 r=$WORK/$1 tar
  umount "$r/proc" 2>/dev/null || true
  rm -rf --one-file-system "$r" && mkdir -p "$r"
  case $name in
    empty) ;;
    bullseye) tar=$(bullseye_tarball) || return 1; tar -C "$r" -xzf "$tar" ;;
    *) echo "unknown root $name" >&2; return 1 ;;
  esac
  rm -rf "$r/opt" && mkdir -p "$r/opt" && unzip -q "$ZIP" -d "$r/opt"
  # a second layer unpacks into the same /opt, as Lambda does (the add-on only adds files)
  if with_icu_addon "$name"; then unzip -q -n "$ICU_ZIP" -d "$r/opt"; fi
  # minimal /dev, and /proc (mounted by the caller; Lambda has both; php-fpm.conf logs to /proc/self/fd/2)
  mkdir -p "$r/dev" "$r/proc" "$r/tmp" "$r/var/task/php/conf.d" "$r/mnt/wordpress"
  chmod 1777 "$r/tmp"
  local d
  for d in "null c 1 3" "zero c 1 5" "random c 1 8" "urandom c 1 9"; do
    set -- $d; rm -f "$r/dev/$1"; mknod -m 0666 "$r/dev/$1" "$2" "$3" "$4"
  done
  ln -sfn /proc/self/fd "$r/dev/fd"; ln -sfn /proc/self/fd/0 "$r/dev/stdin"
  ln -sfn /proc/self/fd/1 "$r/dev/stdout"; ln -sfn /proc/self/fd/2 "$r/dev/stderr"
  # the bridge creates its runtime dir (and the opcache file cache dir) before spawning php-fpm
  mkdir -p "$r/tmp/lambda-fpm/opcache"
  if [[ -n $HTTPS_DIR ]]; then cp "$HTTPS_DIR/cert.pem" "$r/tmp/test-ca.pem"; cp "$HTTPS_DIR/port" "$r/tmp/test-https-port"; fi
  write_docroot "$r/mnt/wordpress"
  echo "$r"
}

write_docroot() {
  local dr=$1
  cat >"$dr/test.php" <<'PHP'
<?php
// Exercises the extensions WordPress needs, from the layer alone.
header('Content-Type: text/plain; charset=utf-8');
header('X-Test: layer');
$r = [];
$r['php'] = PHP_VERSION;
$r['sapi'] = PHP_SAPI;
$m = mysqli_init();                                       // mysqli + mysqlnd (no server needed)
$r['mysqli'] = ($m instanceof mysqli) && class_exists('mysqli_result') && function_exists('mysqli_connect');
$r['mysqlnd'] = str_contains(mysqli_get_client_info(), 'mysqlnd');
$r['pdo_mysql'] = in_array('mysql', PDO::getAvailableDrivers(), true);
$img = imagecreatetruecolor(16, 16);                      // gd: draw, encode PNG/JPEG/WebP, decode
imagefilledrectangle($img, 0, 0, 15, 15, imagecolorallocate($img, 255, 0, 0));
ob_start(); imagepng($img); $png = ob_get_clean();
ob_start(); imagejpeg($img); $jpg = ob_get_clean();
ob_start(); imagewebp($img); $webp = ob_get_clean();
$back = imagecreatefromstring($png);
$gi = gd_info();
$r['gd'] = str_starts_with($png, "\x89PNG") && str_starts_with($jpg, "\xFF\xD8") && str_starts_with($webp, 'RIFF')
    && imagesx($back) === 16 && imagecolorat($back, 3, 3) === 0xFF0000 && $gi['FreeType Support'];
if (PHP_VERSION_ID >= 80400) {                           // the 8.4 layer: AVIF (libavif) round trip,
    ob_start(); $ok = imageavif($img, null, 80, 10); $avif = ob_get_clean();   // XPM refused by the stub
    $av = $ok ? @imagecreatefromstring($avif) : false;
    $xpm = sys_get_temp_dir() . '/t' . getmypid() . '.xpm';
    file_put_contents($xpm, "/* XPM */\nstatic char *x[] = {\"1 1 1 1\", \"a c #FF0000\", \"a\"};\n");
    $r['gd avif + xpm'] = substr($avif, 4, 8) === 'ftypavif' && $av !== false && imagesx($av) === 16
        && (imagecolorat($av, 8, 8) >> 16) > 200 && @imagecreatefromxpm($xpm) === false;
    @unlink($xpm);
    $r['redis + igbinary'] = class_exists('Redis') && defined('Redis::SERIALIZER_IGBINARY')
        && igbinary_unserialize(igbinary_serialize(['a' => 1, 'b' => [true, 1.5]])) === ['a' => 1, 'b' => [true, 1.5]];
    $r['legacy time zone names (tzdata-legacy)'] = (new DateTimeZone('US/Eastern'))->getName() === 'US/Eastern';
}
$r['intl'] = Normalizer::normalize("e\u{301}", Normalizer::FORM_C) === "\u{e9}"   // intl + the main layer's ICU data
    && (new NumberFormatter('en_US', NumberFormatter::DECIMAL))->format(1234.5) === '1,234.5'
    && (new IntlDateFormatter('en_GB', IntlDateFormatter::LONG, IntlDateFormatter::NONE, 'UTC'))->format(0) === '1 January 1970'
    && (new NumberFormatter('en_US', NumberFormatter::CURRENCY))->formatCurrency(1234.5, 'EUR') === '€1,234.50'
    && idn_to_ascii('bücher.example') === 'xn--bcher-kva.example'
    && transliterator_transliterate('Any-Latin; Latin-ASCII', 'Привет') === 'Privet'
    && (new Collator('en_US'))->compare('a', 'B') === -1 && IntlChar::charName('€') === 'EURO SIGN';
// The ICU data the main layer leaves out (the ICU add-on layer): other languages' locale data,
// converters, dictionaries. Either all of it works (add-on present) or none (main layer alone,
// where other locales fall back to root); a mix means the split is broken.
$th = IntlBreakIterator::createWordInstance('th'); $th->setText('สวัสดีครับ');
$cv = new UConverter('UTF-8', 'ibm-943_P15A-2003');       // Shift_JIS table (*.cnv)
$full = [
    'de number' => (new NumberFormatter('de_DE', NumberFormatter::DECIMAL))->format(1234.5) === '1.234,5',
    'fr date' => (new IntlDateFormatter('fr_FR', IntlDateFormatter::LONG, IntlDateFormatter::NONE, 'UTC'))->format(0) === '1 janvier 1970',
    'sv collation' => (new Collator('sv_SE'))->compare('ä', 'z') === 1,
    'de display names' => Locale::getDisplayLanguage('fr', 'de') === 'Französisch',
    'de currency' => (new NumberFormatter('de_DE', NumberFormatter::CURRENCY))->formatCurrency(1234.5, 'EUR') === "1.234,50\u{a0}€",
    'ja currency' => (new NumberFormatter('ja_JP', NumberFormatter::CURRENCY))->formatCurrency(1234, 'JPY') === '￥1,234',
    'th dictionary' => count(iterator_to_array($th)) === 3,
    'sjis converter' => @$cv->convert("\x82\xa0") === "\u{3042}",
];
// without its data a locale falls back to the default locale (Lambda: LANG=en_US.UTF-8) or root
$fallback = in_array((new NumberFormatter('de_DE', NumberFormatter::DECIMAL))->format(1234.5), ['1,234.5', '1234.5'], true);
$n = count(array_filter($full));
$r['intl data'] = $n === count($full) ? 'all languages' : ($n === 0 && $fallback ? 'en only'
    : 'FAIL (' . implode(', ', array_keys(array_filter($full, fn($ok) => !$ok))) . ' missing)');
// every shared object mapped into this process comes from the layer (the executables' RPATH
// covers all libraries and extensions, before Lambda's LD_LIBRARY_PATH)
$foreign = [];
foreach (file('/proc/self/maps') as $line) {
    $f = preg_split('/\s+/', trim($line))[5] ?? '';
    if (preg_match('/\.so(\.|$)/', $f) && !str_starts_with($f, '/opt/')) { $foreign[$f] = true; }
}
$r['libraries from /opt only'] = $foreign === [] ? true : 'FAIL: ' . implode(' ', array_keys($foreign));
$cv = curl_version();                                     // curl with TLS and the layer's CA bundle
$r['curl'] = curl_init() instanceof CurlHandle && str_contains($cv['ssl_version'], 'OpenSSL')
    && ($cv['features'] & CURL_VERSION_HTTP2) && ($cv['features'] & CURL_VERSION_LIBZ) && in_array('https', $cv['protocols'], true)
    && ini_get('curl.cainfo') !== '' && is_readable(ini_get('curl.cainfo'));
if (is_readable('/tmp/test-https-port')) {                // a local HTTPS server (test-portable.sh)
    $url = 'https://127.0.0.1:' . trim(file_get_contents('/tmp/test-https-port')) . '/hello.txt';
    $ch = curl_init($url);                                // trusted through CURLOPT_CAINFO: verified GET
    curl_setopt_array($ch, [CURLOPT_RETURNTRANSFER => true, CURLOPT_CAINFO => '/tmp/test-ca.pem',
        CURLOPT_SSL_VERIFYPEER => true, CURLOPT_SSL_VERIFYHOST => 2, CURLOPT_TIMEOUT => 10, CURLOPT_ENCODING => '']);
    $body = curl_exec($ch);
    $good = $body === "hello over TLS\n" && curl_getinfo($ch, CURLINFO_RESPONSE_CODE) === 200;
    $ch = curl_init($url);                                // the layer's CA bundle only: refused
    curl_setopt_array($ch, [CURLOPT_RETURNTRANSFER => true, CURLOPT_TIMEOUT => 10]);
    $refused = curl_exec($ch) === false && curl_errno($ch) === 60;  // CURLE_PEER_FAILED_VERIFICATION
    $r['curl https GET (CA verified; unknown CA refused)'] = $good && $refused;
    $ctx = stream_context_create(['ssl' => ['cafile' => '/tmp/test-ca.pem', 'verify_peer' => true, 'verify_peer_name' => true]]);
    $r['https stream (openssl)'] = @file_get_contents($url, false, $ctx) === "hello over TLS\n";
}
$cas = openssl_x509_read(explode("-----END CERTIFICATE-----", file_get_contents(ini_get('openssl.cafile')))[0] . "-----END CERTIFICATE-----\n");
$r['openssl'] = $cas !== false && substr_count(file_get_contents(ini_get('openssl.cafile')), 'BEGIN CERTIFICATE') > 100;
$r['mbstring'] = mb_strtoupper('ärger') === 'ÄRGER' && mb_strlen('日本語') === 3;
$r['iconv'] = iconv('UTF-8', 'ISO-8859-15', '€') === "\xA4" && iconv('UTF-8', 'SHIFT_JIS', 'あ') === "\x82\xA0";
$r['xml'] = simplexml_load_string('<a><b>1</b></a>')->b == '1' && (new DOMDocument())->loadXML('<x/>')
    && class_exists('XMLReader') && class_exists('XMLWriter') && function_exists('xml_parser_create');
$z = new ZipArchive(); $zf = sys_get_temp_dir() . '/t' . getmypid() . '.zip';
$r['xml charsets (libxml2 via iconv)'] = (string) simplexml_load_string("<?xml version=\"1.0\" encoding=\"windows-1252\"?><a>\xE9</a>") === 'é'
    && (string) simplexml_load_string("<?xml version=\"1.0\" encoding=\"Shift_JIS\"?><a>\x82\xA0</a>") === 'あ';
$r['zip'] = $z->open($zf, ZipArchive::CREATE) === true && $z->addFromString('a.txt', 'hi') && $z->close()
    && (new ZipArchive())->open($zf) === true; @unlink($zf);
$r['exif'] = function_exists('exif_read_data');
$r['fileinfo'] = (new finfo(FILEINFO_MIME_TYPE))->buffer($png) === 'image/png';
$r['sodium'] = strlen(sodium_crypto_secretbox_keygen()) === SODIUM_CRYPTO_SECRETBOX_KEYBYTES;
$r['timezone'] = (new DateTime('2024-07-01 12:00', new DateTimeZone('Europe/Paris')))->format('T P') === 'CEST +02:00'
    && date_default_timezone_get() === 'UTC' && count(DateTimeZone::listIdentifiers()) > 300;
$r['hash'] = hash('sha256', 'abc') === 'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad'
    && password_verify('pw', password_hash('pw', PASSWORD_ARGON2ID));
$r['ctype+tokenizer+posix+phar'] = ctype_digit('123') && count(token_get_all('<?php 1;')) > 1
    && function_exists('posix_getpid') && class_exists('Phar');
$r['fastcgi_finish_request disabled'] = !function_exists('fastcgi_finish_request');
if (PHP_SAPI === 'fpm-fcgi') {
    $st = opcache_get_status(false);
    $r['opcache'] = is_array($st) && $st['opcache_enabled'] && ini_get('opcache.file_cache') !== '';
    $r['post'] = $_SERVER['REQUEST_METHOD'] !== 'POST' || ($_POST['name'] ?? null) === 'wp';
    error_log('layer-test: hello from the php-fpm worker');   // must reach php-fpm's stderr
}
foreach ($r as $k => $v) { echo $k, '=', is_bool($v) ? ($v ? 'ok' : 'FAIL') : $v, "\n"; }
PHP
  printf 'body { color: #123456; }\n' >"$dr/style.css"
  printf 'static file from the document root\n' >"$dr/static.txt"
  # Like a deployed site, the code is older than opcache.file_update_protection (2 s): files
  # modified within the last 2 s are deliberately never cached, which would make the file
  # cache check below depend on how fast the machine is.
  find "$dr" -type f -exec touch -d '-1 minute' {} +
}

# in_root ROOT CMD...: run CMD under chroot with Lambda's environment and nothing else
in_root() { local r=$1; shift; env -i "${LAMBDA_ENV[@]}" "$CHROOT" "$r" "$@"; }

# ------------------------------------------------------------------ tests
test_php_cli() {
  local r=$1 out missing=() e
  out=$(in_root "$r" /opt/bin/php -m 2>&1) || { fail "php -m runs in the root"; echo "$out" | sed 's/^/       | /' | tail -n 20; return; }
  for e in "${EXPECTED_EXTENSIONS[@]}"; do grep -qix "$e" <<<"$out" || missing+=("$e"); done
  if (( ${#missing[@]} == 0 )); then pass "php -m lists all ${#EXPECTED_EXTENSIONS[@]} extensions"
  else fail "php -m lists all extensions; missing: ${missing[*]}"; fi
  out=$(in_root "$r" /opt/bin/php -r 'echo php_ini_loaded_file(), " ", php_ini_scanned_files() ? "scanned" : "-", " ", ini_get("extension_dir");' 2>&1) || true
  [[ $out == "/opt/php/php.ini scanned /opt/lib/php/$PHPAPI" ]] && pass "php finds /opt/php/php.ini + conf.d with no options" ||
    fail "php finds /opt/php/php.ini + conf.d with no options (got: $out)"
  php_env "$r" cli || return
  out=$(env -i "${LAMBDA_ENV[@]}" "${PHP_ENV[@]}" "$CHROOT" "$r" /opt/bin/php /mnt/wordpress/test.php 2>&1) || true
  if grep -q '=FAIL' <<<"$out" || ! grep -q '^iconv=ok' <<<"$out" || ! grep -q '^curl https GET.*=ok' <<<"$out"; then fail "php CLI: extension checks in test.php"; echo "$out" | sed 's/^/       | /'
  else pass "php CLI: mysqli/gd/intl/curl+https/openssl/mbstring/iconv/xml/zip/exif/fileinfo/sodium/tz checks ($(grep -c '=ok' <<<"$out") ok)"; fi
  check_intl_and_libraries "php CLI" "$r" "$out"
}

# check_intl_and_libraries WHO ROOT OUTPUT: test.php's output (from the CLI, a php-fpm worker)
# reports the intl data this root must have (main layer alone, or with the ICU add-on) and that
# every mapped library is under /opt
check_intl_and_libraries() {
  local who=$1 want got; want=$(intl_expected "$(basename "$2")")
  got=$(sed -n 's/^intl data=//p' <<<"$3")
  [[ $got == "$want" ]] && pass "$who: intl data: $want" || fail "$who: intl data: want '$want', got '$got'"
  got=$(sed -n 's/^libraries from \/opt only=//p' <<<"$3")
  [[ $got == ok ]] && pass "$who: every mapped library is under /opt" || fail "$who: every mapped library is under /opt ($got)"
}

# fcgi ROOT METHOD SCRIPT [BODY]: one FastCGI request to the php-fpm socket inside ROOT
fcgi() {
  local r=$1 method=$2 script=$3 body=${4:-}
  env -i REQUEST_METHOD="$method" SCRIPT_FILENAME="/mnt/wordpress/$script" SCRIPT_NAME="/$script" \
    REQUEST_URI="/$script" DOCUMENT_ROOT=/mnt/wordpress SERVER_NAME=test.example HTTP_HOST=test.example \
    SERVER_PROTOCOL=HTTP/1.1 GATEWAY_INTERFACE=CGI/1.1 REMOTE_ADDR=203.0.113.7 SERVER_PORT=443 HTTPS=on \
    CONTENT_TYPE=application/x-www-form-urlencoded CONTENT_LENGTH=${#body} \
    "$CGI_FCGI" -bind -connect "$r/tmp/lambda-fpm/php-fpm.sock" <<<"$body"
}

test_php_fpm() {
  local r=$1 log=$WORK/$(basename "$1")-php-fpm.log out pid i
  # spawned exactly as the bridge does (contract): env + flags; --allow-to-run-as-root since we are root
  php_env "$r" fpm || return
  env -i "${LAMBDA_ENV[@]}" "${PHP_ENV[@]}" "$CHROOT" "$r" /opt/bin/php-fpm --nodaemonize --force-stderr --fpm-config /opt/php/php-fpm.conf -c /opt/php/php.ini \
    --allow-to-run-as-root >"$log" 2>&1 &
  pid=$!; PIDS+=("$pid")
  for i in $(seq 1 $((100 * SLOW))); do [[ -S $r/tmp/lambda-fpm/php-fpm.sock ]] && break; kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  if [[ ! -S $r/tmp/lambda-fpm/php-fpm.sock ]]; then fail "php-fpm starts in the root"; sed 's/^/       | /' "$log"; return; fi
  pass "php-fpm starts in the root (socket up after ~$((i * 100)) ms)"

  out=$(fcgi "$r" GET test.php 2>&1) || true
  if grep -q '^X-Test: layer' <<<"$out" && grep -q '^sapi=fpm-fcgi' <<<"$out" && grep -q '^opcache=ok' <<<"$out" &&
     grep -q '^curl https GET.*=ok' <<<"$out" && ! grep -q '=FAIL' <<<"$out"; then
    pass "php-fpm serves test.php over FastCGI, all extension checks ok, opcache on"
  else fail "php-fpm serves test.php over FastCGI"; echo "$out" | sed 's/^/       | /' | head -n 40; fi
  check_intl_and_libraries "php-fpm worker" "$r" "$out"
  out=$(fcgi "$r" POST test.php 'name=wp&x=1' 2>&1) || true
  grep -q '^post=ok' <<<"$out" && pass "POST body reaches PHP (\$_POST)" || { fail "POST body reaches PHP"; echo "$out" | sed 's/^/       | /' | head; }
  out=$(fcgi "$r" GET style.css 2>&1) || true
  grep -q 'Access denied' <<<"$out" && pass "php-fpm refuses to execute a static file (security.limit_extensions)" ||
    { fail "php-fpm refuses static files"; echo "$out" | sed 's/^/       | /' | head; }
  [[ -n $(find "$r/tmp/lambda-fpm/opcache" -type f -name '*.bin' | head -n 1) ]] &&
    pass "opcache file cache written under /tmp/lambda-fpm/opcache" || fail "opcache file cache written under /tmp/lambda-fpm/opcache"
  sleep $((SLOW > 1 ? 1 : 0)).3
  grep -q 'layer-test: hello from the php-fpm worker' "$log" && pass "PHP error_log reaches php-fpm's stderr" ||
    { fail "PHP error_log reaches php-fpm's stderr"; sed 's/^/       | /' "$log" | tail; }
  kill -QUIT "$pid" 2>/dev/null || true
  for i in $(seq 1 $((50 * SLOW))); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  kill -0 "$pid" 2>/dev/null && { kill -KILL "$pid" 2>/dev/null || true; fail "php-fpm stops on SIGQUIT"; } || pass "php-fpm stops on SIGQUIT"
  wait "$pid" 2>/dev/null || true
  if grep -qiE 'error|warning' "$log"; then fail "php-fpm log has no errors/warnings"; sed 's/^/       | /' "$log" | grep -iE 'error|warning' | head
  else pass "php-fpm log has no errors/warnings"; fi
}

# bridge_test ROOTFS [loader]: /opt/bootstrap, under chroot with Lambda's environment and every
# LAMBDA_FPM_* setting at its default, against the Runtime API emulator of tests/support (the chroot
# shares the network): it must serve /test.php (PHP page) and /static.txt (static file) from
# /mnt/wordpress. The test is tests/layer_chroot.rs. With "loader", the bridge runs through the
# layer's own dynamic loader (a root with no libc at all); otherwise directly, as Lambda runs it.
bridge_test() {
  local r=$1 loader=${2:-}
  local out
  if out=$(LAMBDA_FPM_CHROOT="$r" LAMBDA_FPM_CHROOT_ARCH="$ARCH" LAMBDA_FPM_CHROOT_LOADER=$([[ $loader == loader ]] && echo 1 || echo 0) \
      LAMBDA_FPM_CHROOT_INTL="$(intl_expected "$(basename "$r")")" \
      cargo test -q --test layer_chroot -- --ignored --test-threads=1 2>&1) \
      && grep -q "1 passed" <<<"$out"; then
    pass "bootstrap in $(basename "$r") root serves a PHP page, a static file and a denial${loader:+ (layer loader)}"
  else
    fail "bootstrap in $(basename "$r") root${loader:+ (layer loader)}"
    printf '%s\n' "$out" | tail -n 30 | sed 's/^/       | /'
  fi
}

# ------------------------------------------------------------------ main
info "layer: ${ZIP#$ROOT/} ($(stat -c %s "$ZIP") bytes zipped)"
mkdir -p "$WORK"
tmpx=$(mktemp -d)
unzip -q -o "$ZIP" bootstrap bin/php bin/php-fpm "lib/$LDSO" -d "$tmpx"
bad=
for f in bootstrap bin/php bin/php-fpm "lib/$LDSO"; do
  readelf -h "$tmpx/$f" | grep -q "Machine:.*$ELF_MACHINE" || bad+=" $f"
done
[[ -z $bad ]] && pass "the layer's programs and loader are $ARCH ($ELF_MACHINE) binaries" || fail "not $ARCH binaries:$bad"
# (readelf reads every architecture's ELF; symbol versions of the imported glibc functions)
maxv=$( (readelf --dyn-syms -W "$tmpx/bootstrap" | awk '$7=="UND"' | grep -o 'GLIBC_[0-9][0-9.]*' || true) | sed 's/GLIBC_//' | sort -uV | tail -n 1)
if [[ -n $maxv && $(printf '%s\n%s\n' "$maxv" "$MAX_GLIBC" | sort -V | tail -n 1) == "$MAX_GLIBC" ]]; then
  pass "/opt/bootstrap needs glibc <= $MAX_GLIBC (newest symbol version: GLIBC_$maxv)"
else
  fail "/opt/bootstrap needs glibc <= $MAX_GLIBC (newest symbol version: ${maxv:-none found})"
fi
interp=$(readelf -l "$tmpx/bootstrap" | sed -n 's/.*Requesting program interpreter: \(.*\)]/\1/p')
want_interp=$([[ $ARCH == arm64 ]] && echo /lib/ld-linux-aarch64.so.1 || echo /lib64/ld-linux-x86-64.so.2)
[[ $interp == "$want_interp" ]] && pass "/opt/bootstrap uses the system loader ($interp)" || fail "/opt/bootstrap interpreter: $interp"
rm -rf "$tmpx"

if start_https_server; then pass "local HTTPS server on 127.0.0.1:$(cat "$HTTPS_DIR/port") (self-signed test CA)"
else fail "local HTTPS server for the curl/openssl checks"; fi

for name in $ROOTS; do
  info "root: $name"
  t=$SECONDS
  if ! r=$(prepare_root "$name"); then fail "prepare root $name"; continue; fi
  mount -t proc proc "$r/proc" && MOUNTS+=("$r/proc")
  if [[ $name == empty ]]; then
    n=$(find "$r" \( -path "$r/opt" -o -path "$r/proc" -o -path "$r/mnt/wordpress" -o -path "$r/tmp/test-*" \) -prune -o -type f -print | wc -l)
    [[ $n == 0 ]] && pass "empty root has no files outside /opt, /dev, /proc, the document root and the test CA" || fail "empty root has $n stray files"
  else
    v=$(chroot "$r" /usr/bin/ldd --version 2>/dev/null | head -n 1 | grep -o '[0-9.]*$' || true)
    info "  root glibc: ${v:-?}"
  fi
  test_php_cli "$r"
  test_php_fpm "$r"
  if [[ $name == empty ]]; then bridge_test "$r" loader; else bridge_test "$r"; fi
  umount "$r/proc" 2>/dev/null || true
  info "  ($name: $((SECONDS - t)) s)"
done

echo "layer ($ARCH): $PASSED passed, $FAILED failed"
(( FAILED == 0 ))
