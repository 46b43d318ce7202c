#!/usr/bin/env bash
# Installs the build into a temporary prefix and uses it the ways a user would: the CMake
# package, pkg-config, the installed tools and plugins, and the Python module.
# Environment (set by CMakeLists.txt): OM_BUILD_DIR OM_SOURCE_DIR OM_CMAKE OM_GENERATOR OM_CC
# OM_BUILD_PYTHON OM_PYTHON_INSTALL_DIR OM_LIBDIR.
set -euo pipefail

prefix=$(mktemp -d /tmp/orbitmesh-install.XXXXXX)
trap 'rm -rf "$prefix"' EXIT
unset OM_PLUGIN_PATH # the installed tree must find its own plugins
lib="$prefix/$OM_LIBDIR"

step() { printf '\n==> %s\n' "$*"; }
fail() { printf 'FAILED: %s\n' "$*" >&2; exit 1; }

step "cmake --install into $prefix"
"$OM_CMAKE" --install "$OM_BUILD_DIR" --prefix "$prefix"

step "liborbitmesh has the SONAME liborbitmesh.so.1"
soname=$(readelf -d "$lib/liborbitmesh.so" | sed -n 's/.*(SONAME).*\[\(.*\)\]/\1/p')
echo "SONAME: $soname"
[ "$soname" = "liborbitmesh.so.1" ] || fail "SONAME is '$soname'"
[ -e "$lib/liborbitmesh.so.1" ] || fail "$lib/liborbitmesh.so.1 is missing"

step "consumer built with find_package(OrbitMesh)"
"$OM_CMAKE" -S "$OM_SOURCE_DIR/samples/consumer" -B "$prefix/consumer-build" -G "$OM_GENERATOR" \
    -DCMAKE_PREFIX_PATH="$prefix" -DCMAKE_C_COMPILER="$OM_CC"
"$OM_CMAKE" --build "$prefix/consumer-build"
out=$("$prefix/consumer-build/consumer")
echo "$out"
[[ "$out" == "OrbitMesh "[0-9]* ]] || fail "consumer printed '$out'"

step "consumer compiled with pkg-config orbitmesh"
export PKG_CONFIG_PATH="$lib/pkgconfig"
# The .pc file is relocatable: no --define-prefix needed.
flags=$(pkg-config --cflags --libs orbitmesh)
echo "pkg-config: $flags"
# shellcheck disable=SC2086
"$OM_CC" -std=c11 -Wall -Werror -o "$prefix/consumer-pc" "$OM_SOURCE_DIR/samples/consumer/main.c" $flags
out=$(LD_LIBRARY_PATH="$lib" "$prefix/consumer-pc")
echo "$out"
[[ "$out" == "OrbitMesh "[0-9]* ]] || fail "pkg-config consumer printed '$out'"

step "installed plugins, each with its manifest"
plugin_dir="$lib/orbitmesh/plugins"
count=0
for library in "$plugin_dir"/*.so; do
    [ -e "$library" ] || fail "no plugin installed in $plugin_dir"
    manifest="${library%.so}.om.json"
    [ -f "$manifest" ] || fail "$library has no manifest $manifest"
    echo "--- $(basename "$library") ($(basename "$manifest")):"
    cat "$manifest"
    count=$((count + 1))
done
echo "$count plugins"

step "installed orbitmesh-agent finds the installed library and plugins"
"$prefix/bin/orbitmesh-agent" version
listing=$("$prefix/bin/orbitmesh-agent" plugins)
echo "$listing"
[[ "$listing" == *'"transport-udp"'* ]] || fail "the installed agent does not list transport-udp"
"$prefix/bin/orbitmesh-agent" --bind 127.0.0.1 --count 5 datagram-demo
"$prefix/bin/orbitmesh-server" --help >/dev/null

step "Python module"
if [ "${OM_BUILD_PYTHON}" != "ON" ]; then
    echo "!!! OM_BUILD_PYTHON=${OM_BUILD_PYTHON}: the installed Python module is NOT tested !!!"
    exit 0
fi
python_dir="$prefix/$OM_PYTHON_INSTALL_DIR"
[ -d "$python_dir" ] || fail "$python_dir does not exist"
ls "$python_dir"
for python in /usr/bin/python3 "$(command -v python3)"; do
    echo "--- $python ($("$python" --version 2>&1))"
    PYTHONPATH="$python_dir" "$python" -c 'import orbitmesh; print(orbitmesh.version())'
done

step "install test passed"
