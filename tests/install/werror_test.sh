#!/usr/bin/env bash
# A user's or packager's plain configure never turns warnings into errors (OM_WERROR is OFF by
# default; scripts/ and CI turn it on), and with OM_WERROR=ON a Release (-O3) build of the
# sources GCC 12 used to misjudge (-Wrestrict in std::string operator+) stays warning-free.
# Environment (set by CMakeLists.txt): OM_SOURCE_DIR OM_CMAKE OM_GENERATOR.
set -euo pipefail

build=$(mktemp -d /tmp/orbitmesh-werror.XXXXXX)
trap 'rm -rf "$build"' EXIT

step() { printf '\n==> %s\n' "$*"; }
fail() { printf 'FAILED: %s\n' "$*" >&2; exit 1; }
configure() {
    "$OM_CMAKE" -S "$OM_SOURCE_DIR" -B "$build" -G "$OM_GENERATOR" -DCMAKE_BUILD_TYPE=Release \
        -DOM_BUILD_TESTS=OFF -DOM_BUILD_PYTHON=OFF "$@" >/dev/null
}

step "plain Release configure: no -Werror anywhere"
configure
[ -f "$build/compile_commands.json" ] || fail "no compile_commands.json"
if grep -q -- '-Werror' "$build/compile_commands.json"; then
    grep -m3 -o '"file": "[^"]*"' "$build/compile_commands.json" >&2 || true
    fail "a plain configure compiles with -Werror"
fi

step "-DOM_WERROR=ON: -Werror on our code"
configure -DOM_WERROR=ON
grep -q -- '-Werror' "$build/compile_commands.json" || fail "OM_WERROR=ON does not add -Werror"

step "Release -O3 with -Werror: the string building GCC 12 misjudged compiles cleanly"
"$OM_CMAKE" --build "$build" --target \
    libs/CMakeFiles/om_proto.dir/proto/address.cpp.o \
    libs/CMakeFiles/om_proto.dir/proto/candidate.cpp.o \
    kernel/CMakeFiles/om_kernel_objects.dir/plugin_host/host_api.cpp.o \
    bench/connect/CMakeFiles/connect_bench.dir/connect_bench.cpp.o
echo "ok"
