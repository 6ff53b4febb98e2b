#!/usr/bin/env python3
"""Durability soak for xsmd (opt-in; not part of the unit suite).

Runs xsmd on one state file, sends concurrent writes (POST /v1/domains with a
new domid each, and POST /v1/flask/context-to-sid), kills
xsmd with SIGKILL at a random moment, restarts it on the same file, and checks
that every write it acknowledged (2xx) is there: the domain is listed, as the kind (pv,
hvm, pvh) it was added as, and the SID still names the same context. Meanwhile one more thread asks `/v1/can`, so the
decision log is written when the kill comes; after each restart the whole log
is paged through, its ids strictly increasing (the log may lose its last
second, never reuse an id or hold a torn batch: start-up refuses one). After
each kill, `PRAGMA integrity_check` runs on the file. Prints one summary line per round and a total; exits 1 on any loss.

    swift build --product xsmd
    Benchmarks/kill9-soak.py                 # KILLS=50 WRITERS=4
    KILLS=100 WRITERS=8 Benchmarks/kill9-soak.py
"""
import json
import os
import random
import re
import signal
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
XSMD = os.environ.get("XSMD", os.path.join(ROOT, ".build", "debug", "xsmd"))
KILLS = int(os.environ.get("KILLS", "50"))
WRITERS = int(os.environ.get("WRITERS", "4"))
SEED = int(os.environ.get("SEED", "1"))


def request(base, method, path, body=None, timeout=10):
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(base + path, data=data, method=method)
    req.add_header("Xen-Caller", "dom0")
    if data is not None:
        req.add_header("Content-Type", "application/json")
    with urllib.request.urlopen(req, timeout=timeout) as reply:
        return reply.status, json.loads(reply.read() or b"null")


def start(state, log):
    log.flush()
    offset = os.path.getsize(log.name)
    process = subprocess.Popen(
        [XSMD, "--port", "0", "--state", state, "--trust-caller-header", "--max-concurrent", "64"],
        stdout=log, stderr=log)
    deadline = time.time() + 60
    while time.time() < deadline:
        with open(log.name) as f:
            f.seek(offset)
            found = re.findall(r"listening on (http://[^ ]+)", f.read())
        if found:
            return process, found[-1]
        if process.poll() is not None:
            sys.exit(f"xsmd exited with {process.returncode}; see {log.name}")
        time.sleep(0.05)
    sys.exit("xsmd did not start within a minute")


class Writers:
    """Concurrent writers; `acknowledged` holds what xsmd answered 2xx to."""

    def __init__(self, base, next_id):
        self.base = base
        self.lock = threading.Lock()
        self.next_id = next_id
        self.domains = {}
        self.sids = {}
        self.stop = threading.Event()
        self.sent = 0
        self.failed = 0

    def take_id(self):
        with self.lock:
            self.next_id += 1
            return self.next_id

    def run(self):
        while not self.stop.is_set():
            n = self.take_id()
            try:
                if n % 2 == 0:
                    # Each kind in turn: a domain must come back as the kind it was added as.
                    kind = ("pv", "hvm", "pvh")[(n // 2) % 3]
                    status, _ = request(self.base, "POST", "/v1/domains", {
                        "domid": 100 + n, "name": f"soak{n}", "context": "user_1:vm_r:domU_t", "kind": kind})
                    if status == 201:
                        with self.lock:
                            self.domains[100 + n] = kind
                else:
                    # SIDs must keep their numbers across restarts (few distinct contexts: the domain
                    # writes are the main load).
                    context = "user_1:vm_r:domU_t" if n % 4 == 1 else "user_2:vm_r:domU_t"
                    status, reply = request(self.base, "POST", "/v1/flask/context-to-sid", {"context": context})
                    if status == 200:
                        with self.lock:
                            self.sids[reply["sid"]] = context
                with self.lock:
                    self.sent += 1
            except (urllib.error.URLError, ConnectionError, TimeoutError, OSError):
                with self.lock:
                    self.failed += 1
                time.sleep(0.01)


class Asker:
    """Asks /v1/can until stopped, so the decision log has entries in flight at the kill."""

    def __init__(self, base):
        self.base = base
        self.stop = threading.Event()
        self.answered = 0

    def run(self):
        targets = ["dom0", "xenstore", "dom1"]
        n = 0
        while not self.stop.is_set():
            n += 1
            try:
                request(self.base, "POST", "/v1/can", {"op": "domctl.getdomaininfo", "target": targets[n % 3]})
                self.answered += 1
            except (urllib.error.URLError, ConnectionError, TimeoutError, OSError):
                time.sleep(0.01)


def logged_ids(base):
    """Every id of the decision log, paged through; exits on ids that do not increase."""
    ids, after = [], 0
    while True:
        _, page = request(base, "GET", f"/v1/decisions?after={after}&limit=1000", timeout=30)
        ids += [d["id"] for d in page["decisions"]]
        if "next" not in page or page["next"] is None:
            break
        after = page["next"]
    if any(b <= a for a, b in zip(ids, ids[1:])):
        sys.exit("the decision log's ids do not increase")
    return ids


def verify(base, domains, sids):
    _, listed = request(base, "GET", "/v1/domains", timeout=30)
    present = {d["domid"]: d.get("kind") for d in listed}
    lost_domains = {domid for domid, kind in domains.items() if present.get(domid) != kind}
    lost_sids = []
    for sid, context in sids.items():
        _, reply = request(base, "POST", "/v1/flask/sid-to-context", {"sid": sid})
        if reply["context"] != context:
            lost_sids.append(sid)
    return lost_domains, lost_sids


def main():
    if not os.path.exists(XSMD):
        sys.exit(f"no xsmd at {XSMD}: swift build --product xsmd")
    rng = random.Random(SEED)
    scratch = tempfile.mkdtemp(prefix="xsmd-soak-")
    state = os.path.join(scratch, "state.sqlite")
    log = open(os.path.join(scratch, "xsmd.log"), "w")
    domains, sids = {}, {}
    next_id = 0
    total_ack = 0
    lost = 0
    integrity_ok = 0
    last_logged_before = 0
    began = time.time()
    for round_number in range(1, KILLS + 1):
        process, base = start(state, log)
        lost_domains, lost_sids = verify(base, domains, sids)
        lost += len(lost_domains) + len(lost_sids)
        if lost_domains or lost_sids:
            print(f"round {round_number}: LOST domains {sorted(lost_domains)[:10]} sids {lost_sids[:10]}")
        ids = logged_ids(base)
        # An entry on disk at the last start is still there: the newest id never goes back.
        if (ids[-1] if ids else 0) < last_logged_before:
            print(f"round {round_number}: LOST the decision log's entries after id {ids[-1] if ids else 0}")
            lost += 1
        last_logged_before = ids[-1] if ids else 0
        logged_total = len(ids)
        writers = Writers(base, next_id)
        asker = Asker(base)
        threads = [threading.Thread(target=writers.run, daemon=True) for _ in range(WRITERS)]
        threads.append(threading.Thread(target=asker.run, daemon=True))
        for t in threads:
            t.start()
        time.sleep(rng.uniform(0.05, 1.5))
        process.send_signal(signal.SIGKILL)
        process.wait()
        writers.stop.set()
        asker.stop.set()
        for t in threads:
            t.join()
        next_id = writers.next_id
        acknowledged = len(writers.domains) + len(writers.sids)
        total_ack += acknowledged
        domains.update(writers.domains)
        sids.update(writers.sids)
        check = sqlite3.connect(state)
        result = check.execute("PRAGMA integrity_check").fetchall()
        check.close()
        ok = result == [("ok",)]
        integrity_ok += ok
        print(f"round {round_number}: {acknowledged} writes acknowledged, {writers.failed} cut off by the kill, "
              f"{asker.answered} questions answered (log held {logged_total} at the start), "
              f"integrity {'ok' if ok else result[:3]}")
    process, base = start(state, log)
    lost_domains, lost_sids = verify(base, domains, sids)
    lost += len(lost_domains) + len(lost_sids)
    final_log = len(logged_ids(base))
    process.terminate()
    process.wait()
    elapsed = time.time() - began
    print(f"kills: {KILLS}, writers: {WRITERS}, acknowledged writes: {total_ack}, lost: {lost}, "
          f"integrity_check ok: {integrity_ok}/{KILLS}, decision log {final_log} entries, ids increasing, "
          f"{elapsed:.0f} s")
    sys.exit(1 if lost or integrity_ok != KILLS else 0)


if __name__ == "__main__":
    main()
