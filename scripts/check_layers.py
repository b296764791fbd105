#!/usr/bin/env python3
"""check_layers.py - the layers of the server may only point down.

Every layer (a directory of sources, built as one static library
libbasalt_LAYER.a) lists the layers it may use.  Two checks, run by ctest:

  includes  SRC_ROOT       every `#include "X/..."` of a layer's files names
                           the layer itself or one it may use
  symbols   BUILD_DIR      every symbol a layer's library leaves undefined is
                           defined by the library itself, by a layer it may
                           use, or by no project library at all (libc,
                           SQLite, civetweb, ...)

Extra files can be charged to a layer (--extra LAYER=PATH, a source for
`includes`, an object file for `symbols`): the tests use that to show an
upward include or call is caught.  Exits 1 with one line per violation.
"""
import argparse
import os
import re
import subprocess
import sys

# layer -> (source directories, layers it may use).  Keep in step with
# CMakeLists.txt (basalt_layer ... DEPS) and docs/ARCHITECTURE.md.
LAYERS = {
    "core": (["server/core"], []),
    "db": (["server/db"], ["core"]),
    "http": (["server/http"], ["core"]),
    "app": (["server/app"], ["core", "db", "http"]),
    "rules": (["server/rules"], ["core", "db", "app"]),
    "rest": (["server/rest"], ["core", "db", "http", "app", "rules"]),
    "auth": (["auth"], ["core", "db", "http", "app"]),
    "storage": (["storage"], ["core", "db", "http", "app", "rules"]),
    "realtime": (["server/realtime"], ["core", "db", "http", "app", "rules"]),
    "functions": (["functions"], ["core", "db", "http", "app", "rest", "storage"]),
    "console": (["server/console"], ["core", "db", "http", "app", "realtime"]),
    "admin": (["server/admin"], ["core", "db", "http", "app", "rules", "rest", "storage", "realtime",
                                 "functions", "console", "auth"]),
}
# The include prefix each layer's headers are reached by.
PREFIX = {"core": "core", "db": "db", "http": "http", "app": "app", "rules": "rules", "rest": "rest",
          "auth": "auth", "storage": "storage", "realtime": "realtime", "functions": "functions",
          "console": "console", "admin": "admin"}
BY_PREFIX = {v: k for k, v in PREFIX.items()}
# The plugin ABI header is public: anyone may include it.
PUBLIC = {"basalt"}

INCLUDE = re.compile(r'^\s*#\s*include\s+"([^"/]+)/')


def sources(root, layer):
    for d in LAYERS[layer][0]:
        base = os.path.join(root, d)
        for name in sorted(os.listdir(base)):
            if name.endswith((".c", ".h")):
                yield os.path.join(base, name)


def check_includes(root, extra):
    bad = []
    files = [(layer, f) for layer in LAYERS for f in sources(root, layer)]
    files += extra
    for layer, path in files:
        allowed = set(LAYERS[layer][1]) | {layer}
        with open(path, encoding="utf-8", errors="replace") as fh:
            for no, line in enumerate(fh, 1):
                m = INCLUDE.match(line)
                if not m or m.group(1) in PUBLIC:
                    continue
                target = BY_PREFIX.get(m.group(1))
                if target is None:
                    bad.append(f"{path}:{no}: includes \"{m.group(1)}/...\", which is no layer")
                elif target not in allowed:
                    bad.append(f"{path}:{no}: layer {layer} includes {target} ({line.strip()}); "
                               f"{layer} may use {', '.join(LAYERS[layer][1]) or 'nothing'}")
    return bad


def nm(path):
    out = subprocess.run(["nm", "-P", "--no-sort", path], capture_output=True, text=True, check=True).stdout
    defined, undefined = set(), set()
    for line in out.splitlines():
        parts = line.split()
        if len(parts) < 2 or line.endswith(":"):
            continue
        name, kind = parts[0], parts[1]
        if kind == "U":
            undefined.add(name)
        elif kind in "TDBRCVWtdbr" and kind.isupper():
            defined.add(name)
    return defined, undefined


def check_symbols(build, extra):
    defs, undefs = {}, {}
    for layer in LAYERS:
        d, u = nm(os.path.join(build, f"libbasalt_{layer}.a"))
        defs[layer], undefs[layer] = d, u
    owner = {}
    for layer, d in defs.items():
        for name in d:
            owner.setdefault(name, layer)
    bad = []
    checks = [(layer, undefs[layer] - defs[layer], f"libbasalt_{layer}.a") for layer in LAYERS]
    for layer, path in extra:
        d, u = nm(path)
        checks.append((layer, u - d, path))
    for layer, needed, where in checks:
        allowed = set(LAYERS[layer][1]) | {layer}
        for name in sorted(needed):
            o = owner.get(name)
            if o is not None and o not in allowed:
                bad.append(f"{where}: layer {layer} calls {name}, defined in layer {o}; "
                           f"{layer} may use {', '.join(LAYERS[layer][1]) or 'nothing'}")
    return bad


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("what", choices=["includes", "symbols"])
    ap.add_argument("path", help="source root (includes) or build directory (symbols)")
    ap.add_argument("--extra", action="append", default=[], metavar="LAYER=PATH")
    a = ap.parse_args()
    extra = []
    for e in a.extra:
        layer, _, path = e.partition("=")
        if layer not in LAYERS:
            ap.error(f"unknown layer {layer}")
        extra.append((layer, path))
    bad = check_includes(a.path, extra) if a.what == "includes" else check_symbols(a.path, extra)
    for b in bad:
        print(b)
    if bad:
        print(f"{len(bad)} upward reference(s): see docs/ARCHITECTURE.md for the layers")
        return 1
    print(f"layers ok ({a.what})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
