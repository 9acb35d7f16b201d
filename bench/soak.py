#!/usr/bin/env python3
"""Soak: mixed traffic across many keys for a while against the release
binary, with the scheduler busy (real clock, top-ups settling every few
seconds). Prints, per window: requests, 5xx, p50/p99 latency and the
server's RSS. Every request goes to 127.0.0.1; the run stops by itself.

    cargo build --release && python3 bench/soak.py [--seconds 300] [--keys 50]

Each key creates, retrieves, lists, updates and sometimes cancels top-ups
and reads events and its balance; every 300 creates it resets its account,
so the stored data stops growing and RSS should go flat.
"""
import argparse
import http.client
import os
import random
import subprocess
import threading
import time
import urllib.parse


def rss_kib(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--seconds", type=int, default=300)
    ap.add_argument("--keys", type=int, default=50)
    ap.add_argument("--window", type=int, default=30)
    ap.add_argument("--bin", default=os.environ.get("TOPUPS_MOCK_BIN", "target/release/topups-mock"))
    args = ap.parse_args()
    server = subprocess.Popen(
        [args.bin, "--port", "0", "--log-level", "warn", "--settle-after", "2s"],
        stdout=subprocess.PIPE, text=True)
    url = server.stdout.readline().strip().rsplit(" ", 1)[-1]
    host, port = urllib.parse.urlparse(url).hostname, urllib.parse.urlparse(url).port
    stop = time.monotonic() + args.seconds
    lock = threading.Lock()
    window = {"n": 0, "5xx": 0, "lat": []}

    def worker(k):
        key = f"sk_test_soak_{k}"
        conn = http.client.HTTPConnection(host, port, timeout=10)
        hdr = {"Authorization": f"Bearer {key}",
               "Content-Type": "application/x-www-form-urlencoded"}
        rng = random.Random(k)
        ids, creates = [], 0

        def call(method, path, body=None):
            t0 = time.perf_counter()
            conn.request(method, path, body=body, headers=hdr)
            r = conn.getresponse()
            data = r.read()
            dt = time.perf_counter() - t0
            with lock:
                window["n"] += 1
                window["lat"].append(dt)
                if r.status >= 500:
                    window["5xx"] += 1
            return r.status, data

        while time.monotonic() < stop:
            op = rng.random()
            if op < 0.3 or not ids:
                status, data = call("POST", "/v1/topups",
                                    f"amount={rng.randint(100, 9999)}&currency=usd&metadata[k]=v")
                if status == 200:
                    ids.append(data.split(b'"id":"')[1].split(b'"')[0].decode())
                    creates += 1
                if creates % 300 == 0:
                    call("POST", "/v1/test_helpers/reset", "")
                    ids = []
            elif op < 0.55:
                call("GET", f"/v1/topups/{rng.choice(ids)}")
            elif op < 0.7:
                call("GET", "/v1/topups?limit=10")
            elif op < 0.8:
                call("POST", f"/v1/topups/{rng.choice(ids)}", "metadata[n]=1")
            elif op < 0.85:
                call("POST", f"/v1/topups/{rng.choice(ids)}/cancel", "")
            elif op < 0.95:
                call("GET", "/v1/events?limit=5")
            else:
                call("GET", "/v1/balance")

    threads = [threading.Thread(target=worker, args=(k,), daemon=True) for k in range(args.keys)]
    for t in threads:
        t.start()
    print("| window | requests | 5xx | p50 | p99 | RSS |")
    print("| --- | --- | --- | --- | --- | --- |")
    started = time.monotonic()
    total_5xx = 0
    while time.monotonic() < stop:
        time.sleep(min(args.window, max(0.0, stop - time.monotonic())))
        with lock:
            lat = sorted(window["lat"])
            n, errs = window["n"], window["5xx"]
            window.update(n=0, lat=[])
            window["5xx"] = 0
        total_5xx += errs
        p = lambda q: lat[min(len(lat) - 1, int(q * len(lat)))] * 1000 if lat else 0.0
        print(f"| {time.monotonic() - started:.0f} s | {n} | {errs} | {p(0.5):.2f} ms | {p(0.99):.2f} ms "
              f"| {rss_kib(server.pid) / 1024:.1f} MiB |", flush=True)
    for t in threads:
        t.join(timeout=15)
    server.terminate()
    code = server.wait(timeout=20)
    print(f"5xx in all: {total_5xx}; exit after SIGTERM: {code}")


if __name__ == "__main__":
    main()
