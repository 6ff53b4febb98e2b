#!/usr/bin/env bash
# Opt-in loader sweep (issue 14 item 3): sends single-byte corruptions of the
# project's binary policy to a running xsmd's /v1/flask/load and reports, per
# outcome, how many loads ended that way and the slowest one. Every byte of the
# first HEADER bytes is XORed with 0xff, 0x01 and 0x80; after that every STRIDE-th
# byte with 0xff. After each load /healthz must answer; after a load that
# succeeded the original is loaded back (xsmd is restarted when the loaded
# corruption denies dom0 that, as Xen would).
#   Scripts/loader-fuzz.sh [HEADER=256] [STRIDE=7]
set -euo pipefail
cd "$(dirname "$0")/.."
HEADER=${1:-256}
STRIDE=${2:-7}
swift build --product xsmd --product xsmc --product xsm-policy-check >/dev/null
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
.build/debug/xsmc build policy -o "$scratch/policy.bin" >/dev/null 2>&1
python3 - "$scratch" "$HEADER" "$STRIDE" <<'PY'
import sys, time, json, re, subprocess, urllib.request
scratch, header, stride = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
original = open(scratch + '/policy.bin', 'rb').read()
daemon, url, restarts = None, None, -1
def start():
    # A fresh xsmd: a loaded corruption may deny dom0 the next load, as Xen would.
    global daemon, url, restarts
    if daemon: daemon.kill(); daemon.wait()
    log = open(scratch + '/xsmd.log', 'w')
    daemon = subprocess.Popen(['.build/debug/xsmd', '--port', '0'], stderr=log)
    restarts += 1
    for _ in range(300):
        found = re.search(r'http://\S+', open(scratch + '/xsmd.log').read())
        if found: url = found.group(0); return
        time.sleep(0.1)
    sys.exit('xsmd did not start')
def post(body):
    request = urllib.request.Request(url + '/v1/flask/load', data=body, method='POST',
        headers={'Xen-Caller': 'dom0', 'Content-Type': 'application/octet-stream'})
    try:
        with urllib.request.urlopen(request, timeout=60) as r: return r.status, ''
    except urllib.error.HTTPError as e: return e.code, json.load(e)['error']['code']
start()
cases = [(i, v) for i in range(min(header, len(original))) for v in (0xff, 0x01, 0x80)]
cases += [(i, 0xff) for i in range(header, len(original), stride)]
outcomes, slowest, health = {}, (0, None), 0
for i, v in cases:
    body = bytearray(original); body[i] ^= v
    begin = time.time()
    status, code = post(bytes(body))
    took = time.time() - begin
    key = f'{status} {code}'.strip()
    n, worst = outcomes.get(key, (0, 0))
    outcomes[key] = (n + 1, max(worst, took))
    if took > slowest[0]: slowest = (took, (i, hex(v), key))
    with urllib.request.urlopen(url + '/healthz', timeout=5) as r: health += r.status == 200
    if status == 200 and post(original)[0] != 200: start()
print(f'{len(cases)} corrupted loads ({header} header bytes x 3, then every {stride}th byte) of a {len(original)}-byte policy')
for key, (n, worst) in sorted(outcomes.items()): print(f'  {key}: {n} (slowest {worst*1000:.0f} ms)')
print(f'slowest: {slowest[0]*1000:.0f} ms at byte {slowest[1][0]} ^ {slowest[1][1]} ({slowest[1][2]})')
print(f'/healthz answered after {health} of {len(cases)} loads; xsmd restarted {restarts} times '
      '(a loaded corruption that denies dom0 the next load)')
daemon.kill()
PY
