"""Extracts ICU's common data package (symbol icudtNN_dat) from Debian's libicudata into OUT as
<package>.dat, and writes OUT/name ("<symbol> <package>"). Used by layer/build.sh.

Usage: icu_extract.py LIBICUDATA OUT
"""
import re, subprocess, sys
lib, out = sys.argv[1], sys.argv[2]
syms = subprocess.run(['readelf', '--dyn-syms', '-W', lib], capture_output=True, text=True, check=True).stdout
m = re.search(r'^\s*\d+:\s+([0-9a-f]+)\s+(0x[0-9a-f]+|\d+)\s+OBJECT\s+GLOBAL\s+\S+\s+(\d+)\s+(icudt\d+_dat)\s*$', syms, re.M)
addr, size, shndx, name = int(m[1], 16), int(m[2], 0), int(m[3]), m[4]
secs = subprocess.run(['readelf', '-S', '-W', lib], capture_output=True, text=True, check=True).stdout
s = re.search(r'^\s*\[\s*%d\]\s+\S+\s+\S+\s+([0-9a-f]+)\s+([0-9a-f]+)' % shndx, secs, re.M)
off = addr - int(s[1], 16) + int(s[2], 16)
data = open(lib, 'rb').read()[off:off + size]
pkg = name[:-4] + 'l'                                    # icudt72_dat -> icudt72l (little-endian)
open(f'{out}/{pkg}.dat', 'wb').write(data)
open(f'{out}/name', 'w').write(f'{name} {pkg}\n')
