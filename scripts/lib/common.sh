# Shared by scripts/demo and scripts/test (sourced, not run): where things are, the Debian
# packages the build needs, and the one configure + incremental build of build/.

OM_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
OM_BUILD_DIR="${OM_BUILD_DIR:-$OM_ROOT/build}"
OM_PYTHON=/usr/bin/python3
OM_PACKAGES=(cmake ninja-build g++ pkg-config ccache libpoco-dev libmsgpack-cxx-dev libffi-dev
             catch2 pybind11-dev python3-dev python3-pytest
             libngtcp2-dev libngtcp2-crypto-gnutls-dev libgnutls28-dev
             iptables ipset iproute2 conntrack coturn stun-client)

om_say() { printf '==> %s\n' "$*"; }
om_die() { printf 'error: %s\n' "$*" >&2; exit 1; }

# Prints the packages of OM_PACKAGES that dpkg does not have installed, one a line.
om_missing_packages() {
    local package
    for package in "${OM_PACKAGES[@]}"; do
        dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q 'install ok installed' ||
            echo "$package"
    done
}

# Installs what is missing; refreshes the package lists only when an install fails.
om_install_packages() {
    local missing
    mapfile -t missing < <(om_missing_packages)
    [ "${#missing[@]}" -eq 0 ] && return 0
    [ "$(id -u)" -eq 0 ] || om_die "missing Debian packages: ${missing[*]} (installing them needs root)"
    om_say "installing ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    if ! apt-get install -y --no-install-recommends "${missing[@]}" </dev/null; then
        om_say "apt-get install failed; updating the package lists and trying again"
        apt-get update </dev/null
        apt-get install -y --no-install-recommends "${missing[@]}" </dev/null
    fi
}

# Configures build/ with Ninja. Every run states the options, so a build dir configured by hand
# with other options (no Python, no tests) is brought back to what the scripts promise; when
# nothing changed CMake only re-checks.
om_configure() {
    om_say "configuring $OM_BUILD_DIR"
    cmake -S "$OM_ROOT" -B "$OM_BUILD_DIR" -G Ninja -DPython3_EXECUTABLE="$OM_PYTHON" \
        -DOM_BUILD_TESTS=ON -DOM_BUILD_PYTHON=ON -DOM_WERROR=ON >/dev/null
}

om_build() {
    om_say "building $OM_BUILD_DIR"
    cmake --build "$OM_BUILD_DIR"
}

# Everything a script needs before it runs anything: packages, configure, build.
om_prepare() {
    om_install_packages
    om_configure
    om_build
}
