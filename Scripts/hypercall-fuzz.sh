#!/usr/bin/env bash
# Opt-in fuzz loop of the binary hypercall endpoint (issue 17 item 3): sends
# COUNT random and mutated request bodies, spread over every op with a layout
# that xsmd serves (flask.* and xsmid.identity in policy/ops/layouts/*.ops), to a running xsmd's
# /v1/hypercall/<module>/<op> as dom0, and reports per ret how many answered
# it. Each body starts as a valid request (version set, "ab" in each input
# buffer) and is then replaced by random bytes, has bytes overwritten, is cut
# short, is extended, or has one field set to a random or extreme value
# (lengths and offsets near 2^32 and 2^64). Every reply must be HTTP 200 with
# the 8-byte preamble and reply_size bytes after it; /healthz must answer
# every 500 requests. Fixed SEED, so a run can be repeated.
#   Scripts/hypercall-fuzz.sh [COUNT=20000] [SEED=17]
set -euo pipefail
cd "$(dirname "$0")/.."
COUNT=${1:-20000}
SEED=${2:-17}
swift build --product xsmd >/dev/null
scratch=$(mktemp -d)
trap 'kill "$pid" 2>/dev/null || true; rm -rf "$scratch"' EXIT
.build/debug/xsmd --port 0 --trust-caller-header 2>"$scratch/xsmd.log" &
pid=$!
python3 - "$scratch" "$COUNT" "$SEED" <<'PY'
import sys, time, re, random, struct, glob, http.client, collections
scratch, count, seed = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
sizes = {'u8': 1, 'char': 1, 'u16': 2, 'domid': 2, 'u32': 4, 's32': 4, 'evtchn_port': 4, 'grant_ref': 4,
         'sid': 4, 'u64': 8, 's64': 8, 'handle': 8}
layouts = {}
for path in sorted(glob.glob('policy/ops/layouts/*.ops')):
    current = None
    for line in open(path):
        words = line.split('#')[0].split()
        if words[:1] == ['layout'] and words[2] == 'request':
            current = layouts[words[1]] = {'version': int(words[4]), 'size': int(words[6]), 'fields': []}
        elif words[:1] == ['layout']:
            current = None
        elif current is not None and words[:1] in (['field'], ['reserved']):
            name = re.sub(r'\[.*', '', words[3])
            inp = len(words) > 5 and words[4] == 'in'
            current['fields'].append((int(words[1]), words[2], name, words[5] if inp else None))
def valid(layout):
    body = bytearray(layout['size'])
    struct.pack_into('<I', body, 0, layout['version'])
    for offset, kind, name, length in layout['fields']:
        if length:
            struct.pack_into('<Q', body, offset, len(body))
            at = next(o for o, _, n, _ in layout['fields'] if n == length)
            struct.pack_into('<I', body, at, 2)
            body += b'ab'
    return body
rng = random.Random(seed)
def mutate(layout):
    body = valid(layout)
    how = rng.randrange(5)
    if how == 0:
        body = bytearray(rng.getrandbits(8) for _ in range(rng.randrange(64)))
    elif how == 1 and body:
        for _ in range(1 + rng.randrange(4)): body[rng.randrange(len(body))] = rng.getrandbits(8)
    elif how == 2:
        body = body[:rng.randrange(len(body) + 1)]
    elif how == 3:
        body += bytes(rng.getrandbits(8) for _ in range(1 + rng.randrange(16)))
    else:
        offset, kind, name, _ = rng.choice(layout['fields'])
        width = sizes[kind]
        value = rng.choice([0, 1, 0xffffffff, 0xfffffffe, 1 << 31, 4096, 4097, 1 << 26, (1 << 64) - 1,
                            rng.getrandbits(8 * width)]) & ((1 << (8 * width)) - 1)
        body[offset:offset + width] = value.to_bytes(width, 'little')
    return 'mutation ' + str(how), bytes(body)
url = None
for _ in range(600):
    found = re.search(r'http://127\.0\.0\.1:(\d+)', open(scratch + '/xsmd.log').read())
    if found: url = int(found.group(1)); break
    time.sleep(0.1)
if url is None: sys.exit('xsmd did not start: ' + open(scratch + '/xsmd.log').read())
connection = http.client.HTTPConnection('127.0.0.1', url, timeout=60)
def post(path, body):
    connection.request('POST', path, body, {'Xen-Caller': 'dom0', 'Content-Type': 'application/octet-stream'})
    r = connection.getresponse()
    return r.status, r.read()
# Only the families xsmd serves on /v1/hypercall (the dombuild and evtchn layouts have no endpoint yet).
ops = sorted(op for op in layouts if op.split('.', 1)[0] in ('flask', 'xsmid'))
rets, statuses, bad, health = collections.Counter(), collections.Counter(), [], 0
begin = time.time()
for i in range(count):
    op = ops[i % len(ops)]
    what, body = mutate(layouts[op])
    module, name = op.split('.', 1)
    status, reply = post(f'/v1/hypercall/{module}/{name}', body)
    statuses[status] += 1
    if i % 500 == 499:
        connection.request('GET', '/healthz'); r = connection.getresponse(); r.read(); health += r.status == 200
    if status != 200 or len(reply) < 8 or 8 + struct.unpack_from('<I', reply, 4)[0] > len(reply):
        bad.append((op, what, body.hex(), status, reply[:200]))
        continue
    rets[struct.unpack_from('<i', reply, 0)[0]] += 1
took = time.time() - begin
print(f'{count} requests over {len(ops)} ops (seed {seed}) in {took:.1f} s ({count / took:.0f}/s)')
print('  HTTP status: ' + ', '.join(f'{s}: {n}' for s, n in sorted(statuses.items())))
names = {0: '0', -1: '-EPERM', -2: '-ENOENT', -3: '-ESRCH', -12: '-ENOMEM', -13: '-EACCES', -14: '-EFAULT',
         -16: '-EBUSY', -17: '-EEXIST', -22: '-EINVAL', -27: '-EFBIG', -28: '-ENOSPC', -34: '-ERANGE', -38: '-ENOSYS', -105: '-ENOBUFS'}
print('  ret: ' + ', '.join(f'{names.get(r, r)}: {n}' for r, n in sorted(rets.items(), key=lambda x: -x[1])))
print(f'  /healthz answered {health} of {count // 500} times; malformed replies: {len(bad)}')
for b in bad[:5]: print('  BAD', b)
sys.exit(1 if bad or health != count // 500 else 0)
PY
