"""Writes a stub shared library for SONAME into DIR: stub.c defines every symbol DIR/syms lists
(the ones the importer uses) as a function that aborts with a clear message, except the BODIES
given (C definitions); stub.map keeps the symbol versions. Used by layer/build.sh (stub_lib).

Usage: stub_lib.py SONAME DIR [BODY...]
"""
import sys
soname, d, bodies = sys.argv[1], sys.argv[2], sys.argv[3:]
defined = {b.split('(')[0].split()[-1].lstrip('*') for b in bodies}
syms = [l.split()[1] for l in open(f'{d}/syms')]
versions = {}
c = ['#include <stdio.h>', '#include <stdlib.h>',
     'static void left_out(const char *fn) {',
     f'  fprintf(stderr, "lambda-fpm layer: {soname} is not in the layer (stub; %s called)\\n", fn);',
     '  abort();', '}']
c += bodies
for s in syms:
    name, _, ver = s.partition('@')
    versions.setdefault(ver, []).append(name)
    if name not in defined:
        c.append(f'void {name}(void) {{ left_out("{name}"); }}')
open(f'{d}/stub.c', 'w').write('\n'.join(c) + '\n')
m = []
for ver, names in versions.items():
    # unversioned symbols: an anonymous node (just the export list)
    m.append((ver + ' ' if ver else '') + '{ global: ' + ' '.join(n + ';' for n in names) + ' local: *; };')
open(f'{d}/stub.map', 'w').write('\n'.join(m) + '\n')
