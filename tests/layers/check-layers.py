#!/usr/bin/env python3
"""Which folder of handler/ (and include/) may include which.

The build already refuses most upward includes (a target sees only the
headers of its own folder and of the targets it links, handler/
CMakeLists.txt); this checks the whole rule, for every file:

  plugin     -> metrics, engine's API, config, base   (+ tcmu-runner's)
  metrics    -> engine's API, base
  engine     -> io, open, transport, xdr, config, base (include/ is its API)
  io, open   -> transport, xdr, config, base            (not each other)
  transport  -> xdr, base
  xdr        -> base
  config     -> base
  base       -> nothing

and that tcmu-runner's headers appear only in plugin/, libnfs's only in
open/.  Usage: check-layers.py [TREE]; exit 1 with one line per broken
rule.
"""
import os
import re
import sys

MAY = {
    'base': set(),
    'config': {'base'},
    'xdr': {'base'},
    'transport': {'xdr', 'base'},
    'io': {'transport', 'xdr', 'config', 'base'},
    'open': {'transport', 'xdr', 'config', 'base'},
    'engine': {'io', 'open', 'transport', 'xdr', 'config', 'base'},
    'metrics': {'engine', 'base'},
    'plugin': {'metrics', 'engine', 'config', 'base'},
}
# headers the engine's API (include/tnfs_engine.h) is made of: whoever
# may include the API may include these too
API_PARTS = {'tnfs_req.h', 'tnfs_stats.h', 'tnfs_status.h',
             'tnfs_config.h', 'tnfs_base.h'}
TCMU = re.compile(r'^(tcmu-runner|tcmur_|libtcmu|scsi_defs|alua|ccan/)')
INCLUDE = re.compile(r'^\s*#\s*include\s*([<"])([^>"]+)[>"]')


def room_of(rel):
    parts = rel.split('/')
    if parts[0] == 'include':
        return 'engine'
    if parts[0] != 'handler' or len(parts) < 3:
        return None
    if parts[1] == 'engine':
        return parts[2] if len(parts) > 3 else 'engine'
    return parts[1]


def main():
    top = sys.argv[1] if len(sys.argv) > 1 else '.'
    rooms = {}
    for base in ('handler', 'include'):
        for d, _, files in os.walk(os.path.join(top, base)):
            for f in files:
                if f.endswith(('.c', '.h')):
                    rel = os.path.relpath(os.path.join(d, f), top)
                    rooms[rel] = room_of(rel)
    where = {}
    for rel, room in rooms.items():
        if rel.endswith('.h'):
            name = os.path.basename(rel)
            if name in where:
                print(f'{rel}: header name also used by {where[name][0]}')
                return 1
            where[name] = (rel, room)
    bad = 0
    for rel, room in sorted(rooms.items()):
        if room not in MAY:
            print(f'{rel}: in no known layer folder')
            bad += 1
            continue
        with open(os.path.join(top, rel)) as f:
            for n, line in enumerate(f, 1):
                m = INCLUDE.match(line)
                if not m:
                    continue
                kind, name = m.groups()
                if TCMU.match(name) and room != 'plugin':
                    print(f'{rel}:{n}: tcmu-runner header {name} outside '
                          f'plugin/')
                    bad += 1
                if name.startswith('nfsc/') and room != 'open':
                    print(f'{rel}:{n}: libnfs header {name} outside open/')
                    bad += 1
                if kind != '"' or name not in where:
                    continue
                to = where[name][1]
                if to == room:
                    continue
                if to in MAY[room]:
                    continue
                if 'engine' in MAY[room] and name in API_PARTS:
                    continue
                print(f'{rel}:{n}: {room}/ includes {name} of {to}/, '
                      f'which it may not')
                bad += 1
    return 1 if bad else 0


if __name__ == '__main__':
    sys.exit(main())
