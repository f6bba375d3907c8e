"""Writes the layer's manifest (dist/*.json): PHP version, extensions, and the Debian binary
package (and version) of every file the layer ships, found through the package root's file lists.

Usage: manifest.py OUT.json ARCH PHP MINOR SUITE PHP_PACKAGE SYSROOT SOURCES REBUILT EXTENSION...
"""
import json, os, sys
out, arch, php, minor, suite, pkg, sysroot, sources, rebuilt, *ext = sys.argv[1:]
versions = dict(l.split() for l in open(f"{sysroot}/.packages"))
owner = {}
for line in open(f"{sysroot}/.files"):
    p, f = line.rstrip("\n").split(" ", 1)
    owner[f] = p
def norm(path):   # a path of the package root as the package lists it (merged /usr or not)
    return "/" + os.path.relpath(os.path.realpath(path), sysroot)
shipped = {}
for src in open(sources).read().split():
    if not src.startswith(sysroot + "/"):
        continue   # the stubs (and 8.2's rebuilt libraries) are not Debian binary packages
    f = norm(src)
    p = owner.get("/" + os.path.relpath(src, sysroot)) or owner.get(f) or owner.get(f.replace("/usr/lib/", "/lib/", 1)) or owner.get(f.replace("/lib/", "/usr/lib/", 1))
    if p is None:
        sys.exit(f"no package owns {f}")
    shipped[p] = versions[p]
json.dump({"architecture": arch, "php": php, "php_minor": minor, "debian": suite, "php_package": pkg, "extensions": ext,
           "packages": shipped, "rebuilt_from_source": dict(x.split("=", 1) for x in rebuilt.split())},
          open(out, "w"), indent=1, sort_keys=True)
