"""Rewrites built-in paths in a binary with strings of the same length (layer/build.sh binpatch).

Usage: binpatch.py FILE OLD=NEW...   ("\\0" is a NUL byte; "+" in NEW is filled with "/" to OLD's length)
"""
import sys
path, pairs = sys.argv[1], sys.argv[2:]
data = open(path, 'rb').read()
for pair in pairs:
    old, new = (s.encode().replace(b'\\0', b'\0') for s in pair.split('=', 1))
    new = new.replace(b'+', b'/' * (len(old) - len(new) + 1))
    assert len(old) == len(new), (old, new)
    n = data.count(old)
    if n == 0:
        sys.exit(f"{path}: {old!r} not found")
    data = data.replace(old, new)
    show = lambda b: b.rstrip(b'\0').decode()
    print(f"      patched {path.rsplit('/', 1)[-1]}: {show(old)} -> {show(new)} ({n}x)")
open(path, 'wb').write(data)
