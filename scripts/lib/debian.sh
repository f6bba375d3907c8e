# Debian packages of another release, without touching this machine's apt configuration.
# Sourced by layer/build.sh (PHP for the layer) and scripts/wordpress (WordPress for local runs,
# tests and bench). Packages come from the mirror this machine's apt is configured with, through a
# private sources list and state dir, signature-checked with Debian's archive keyring; they are
# unpacked with dpkg-deb -x (no maintainer scripts run).
#
#   debian_mirror debian|debian-security   the configured mirror URL for that archive
#   private_apt DIR SOURCES-LINE...        sets APT_OPTS: apt options using DIR for everything, for
#                                          Debian architecture APT_ARCH (default amd64; e.g. arm64)
#   suite_apt SUITE DIR                    private_apt for SUITE + SUITE-security (binary packages);
#                                          then: apt-get "${APT_OPTS[@]}" -qq update
#   pkgver ROOT PKG                        the version of PKG unpacked in package root ROOT

DEBIAN_KEYRING=/usr/share/keyrings/debian-archive-keyring.gpg

debian_mirror() {
    local m
    m=$( (grep -rhoE "https?://[^ ]*/$1/?( |\$)" /etc/apt/sources.list /etc/apt/sources.list.d/ 2>/dev/null || true) |
        head -n 1 | tr -d ' ')
    if [[ -z $m && $1 == debian-security ]]; then
        m=$(debian_mirror debian) || return 1
        m=${m%/}-security
    fi
    if [[ -z $m ]]; then
        echo "no Debian mirror in /etc/apt/sources.list{,.d}: configure apt first" >&2
        return 1
    fi
    echo "${m%/}"
}

# (An empty dpkg status: apt then resolves a package's complete dependency closure.)
private_apt() {
    local dir=$1
    shift
    mkdir -p "$dir/lists/partial" "$dir/archives/partial" "$dir/none.d"
    printf '%s\n' "$@" >"$dir/sources.list"
    : >"$dir/status"
    APT_OPTS=(-o Dir::Etc::SourceList="$dir/sources.list" -o Dir::Etc::SourceParts="$dir/none.d"
        -o Dir::Etc::Preferences=/nonexistent -o Dir::Etc::PreferencesParts="$dir/none.d"
        -o Dir::State="$dir" -o Dir::State::Lists="$dir/lists" -o Dir::State::status="$dir/status"
        -o Dir::Cache="$dir" -o Dir::Cache::archives="$dir/archives" -o Dir::Log="$dir"
        -o APT::Architecture="${APT_ARCH:-amd64}" -o APT::Architectures="${APT_ARCH:-amd64}" -o Debug::NoLocking=1 -o APT::Sandbox::User=root)
}

suite_apt() {
    local suite=$1 dir=$2 main security
    [[ -f $DEBIAN_KEYRING ]] || { echo "$DEBIAN_KEYRING missing (package debian-archive-keyring)" >&2; return 1; }
    main=$(debian_mirror debian) && security=$(debian_mirror debian-security) || return 1
    private_apt "$dir" \
        "deb [signed-by=$DEBIAN_KEYRING] $main $suite main" \
        "deb [signed-by=$DEBIAN_KEYRING] $security $suite-security main"
}

pkgver() { awk -v p="$2" '$1==p {print $2}' "$1/.packages"; }
