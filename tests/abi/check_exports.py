#!/usr/bin/python3
"""exports: the exported symbols of liborbitmesh are exactly the OM_API functions the public
headers declare, and exactly the names in abi/orbitmesh.map (ABI-RULES R23); the library's
SONAME is the expected one; every plugin exports exactly om_plugin_negotiate (R10).

usage: check_exports.py --headers DIR --map FILE --library FILE --soname NAME
                        [--plugin-dir DIR]... [--require-plugins]
"""
import argparse
import glob
import os
import re
import subprocess
import sys

PLUGIN_ENTRY = "om_plugin_negotiate"


def strip_c_comments(text):
    text = re.sub(r"/\*.*?\*/", " ", text, flags=re.S)
    return re.sub(r"//[^\n]*", " ", text)


def header_functions(include_dir):
    """Names of every function declared with OM_API in the public headers."""
    names = set()
    for path in sorted(glob.glob(os.path.join(include_dir, "*.h"))):
        text = strip_c_comments(open(path, encoding="utf-8").read())
        # Drop preprocessor lines (the OM_API definition itself), keeping declarations.
        text = "\n".join(line for line in text.splitlines() if not line.lstrip().startswith("#"))
        for match in re.finditer(r"\bOM_API\b([^;{]*?)\b([A-Za-z_]\w*)\s*\(", text):
            names.add(match.group(2))
    return names


def map_globals(map_path):
    """Names listed under global: in the linker version script."""
    text = strip_c_comments(open(map_path, encoding="utf-8").read())
    names, in_global = set(), False
    for token in re.findall(r"[A-Za-z_][\w*]*:|[{};]|[^\s{};]+", text):
        if token == "global:":
            in_global = True
        elif token in ("local:", "{", "}"):
            in_global = False
        elif in_global and token != ";":
            names.add(token)
    return names


def dynamic_exports(library):
    """Defined dynamic symbols, without version-node names (absolute 'A' symbols)."""
    out = subprocess.run(["nm", "-D", "--defined-only", library], check=True,
                         capture_output=True, text=True).stdout
    names = set()
    for line in out.splitlines():
        fields = line.split()
        if len(fields) >= 3 and fields[1] != "A":
            names.add(fields[2].split("@")[0])
    return names


def soname(library):
    out = subprocess.run(["readelf", "-d", library], check=True, capture_output=True,
                         text=True).stdout
    match = re.search(r"\(SONAME\)\s+Library soname: \[([^\]]+)\]", out)
    return match.group(1) if match else None


def report_difference(label_a, a, label_b, b):
    ok = True
    for name in sorted(a - b):
        print(f"  in {label_a} but not in {label_b}: {name}")
        ok = False
    for name in sorted(b - a):
        print(f"  in {label_b} but not in {label_a}: {name}")
        ok = False
    return ok


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--headers", required=True)
    parser.add_argument("--map", required=True)
    parser.add_argument("--library", required=True)
    parser.add_argument("--soname", required=True)
    parser.add_argument("--plugin-dir", action="append", default=[])
    parser.add_argument("--require-plugins", action="store_true",
                        help="fail when the plugin directories hold no plugin")
    args = parser.parse_args()
    ok = True

    declared = header_functions(args.headers)
    listed = map_globals(args.map)
    exported = dynamic_exports(args.library)
    print(f"headers declare {len(declared)} OM_API functions, the map lists {len(listed)}, "
          f"{os.path.basename(args.library)} exports {len(exported)}")
    if not declared:
        print("  no OM_API declaration found: the header parser is broken")
        ok = False
    ok &= report_difference("headers", declared, "orbitmesh.map", listed)
    ok &= report_difference("orbitmesh.map", listed, "nm -D", exported)

    found_soname = soname(args.library)
    print(f"SONAME {found_soname}")
    if found_soname != args.soname:
        print(f"  expected SONAME {args.soname}")
        ok = False

    plugins = sorted(p for d in args.plugin_dir for p in glob.glob(os.path.join(d, "*.so")))
    for plugin in plugins:
        symbols = dynamic_exports(plugin)
        if symbols != {PLUGIN_ENTRY}:
            print(f"  {plugin} exports {sorted(symbols)}, expected only {PLUGIN_ENTRY}")
            ok = False
    print(f"checked {len(plugins)} plugins")
    if args.require_plugins and not plugins:
        print(f"  no plugin found in {args.plugin_dir}")
        ok = False

    print("exports: OK" if ok else "exports: FAILED")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
