#!/usr/bin/env python3
"""Helpers for bench/run.sh that need finer clocks or HTTP keep-alive.

  tool.py startup N CMD...   spawn CMD N times; print the median and min
                             milliseconds from spawn to the first answered
                             request (CMD must print "... listening on URL")
  tool.py seed URL N FILE    create N top-ups one by one; write their ids to
                             FILE, oldest first
  tool.py fill URL N [CONNS] create exactly N top-ups over CONNS (default 64)
                             keep-alive connections, 16 requests pipelined
                             on each; print the count and the seconds taken
  tool.py size URL PATH       print the byte size of the body GET PATH answers
  tool.py count URL          walk the whole list (limit=100 pages) and print
                             how many top-ups it holds
  tool.py advance URL SECS   move the bench key's manual clock (what is due
                             then settles before the answer)
  tool.py stalls URL N       fill N top-ups (as fill, in a second process)
                             while one connection retrieves a top-up over
                             and over; print the probe's percentiles and
                             its 12 slowest answers with the store's size
                             then (a table that stops to grow shows as a
                             cluster at each doubling)

Only standard library; talks to 127.0.0.1 only.
"""

import http.client
import json
import os
import signal
import socket
import statistics
import subprocess
import sys
import threading
import time
import urllib.parse

AUTH = {"Authorization": "Bearer sk_test_bench"}
FORM = dict(AUTH, **{"Content-Type": "application/x-www-form-urlencoded"})


def connect(url):
    u = urllib.parse.urlsplit(url)
    if u.hostname not in ("127.0.0.1", "localhost"):
        sys.exit(f"refusing to talk to {u.hostname}: loopback only")
    return http.client.HTTPConnection(u.hostname, u.port, timeout=30)


def call(conn, method, path, body=None):
    conn.request(method, path, body=body, headers=FORM if body is not None else AUTH)
    res = conn.getresponse()
    data = res.read()
    if res.status != 200:
        sys.exit(f"{method} {path}: HTTP {res.status}: {data[:300]!r}")
    return json.loads(data)


def startup(n, cmd):
    times = []
    for _ in range(n):
        t0 = time.perf_counter()
        proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
        try:
            line = proc.stdout.readline().decode()
            if "listening on " not in line:
                sys.exit(f"unexpected first line from {cmd[0]}: {line!r}")
            url = line.split("listening on ", 1)[1].strip()
            u = urllib.parse.urlsplit(url)
            deadline = t0 + 10
            while True:
                try:
                    conn = http.client.HTTPConnection(u.hostname, u.port, timeout=5)
                    conn.request("GET", "/v1/topups?limit=1", headers=AUTH)
                    conn.getresponse().read()
                    conn.close()
                    break
                except OSError:
                    if time.perf_counter() > deadline:
                        sys.exit(f"{cmd[0]} did not answer within 10 s")
                    time.sleep(0.0002)
            times.append((time.perf_counter() - t0) * 1000)
        finally:
            proc.send_signal(signal.SIGINT)
            try:
                proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
    print(f"{statistics.median(times):.2f} {min(times):.2f}")


def seed(url, n, path):
    conn = connect(url)
    ids = [call(conn, "POST", "/v1/topups", "amount=2000&currency=usd")["id"] for _ in range(n)]
    with open(path, "w") as f:
        f.write("\n".join(ids) + "\n")


def fund(url):
    """Gives the bench key 3 x 999,999.99 usd available, for the transfer row
    (each transfer moves 1 cent)."""
    conn = connect(url)
    for _ in range(3):
        t = call(conn, "POST", "/v1/topups", "amount=99999999&currency=usd")
        call(conn, "POST", f"/v1/test_helpers/topups/{t['id']}/succeed", "")


def advance(url, secs):
    conn = connect(url)
    conn.sock = None
    conn.timeout = 600  # settling a million top-ups takes seconds
    call(conn, "POST", "/v1/test_helpers/clock/advance", f"seconds={secs}")


def count(url):
    conn = connect(url)
    total, cursor = 0, None
    while True:
        path = "/v1/topups?limit=100" + (f"&starting_after={cursor}" if cursor else "")
        page = call(conn, "GET", path)
        total += len(page["data"])
        if not page["has_more"] or not page["data"]:
            break
        cursor = page["data"][-1]["id"]
    print(total)


# actix-web answers at most 16 pipelined requests of a connection before it
# stops reading from it, so deeper batches only stall.
PIPELINE = 16


def fill_worker(host, port, n, batch, result, slot):
    body = b"amount=2000&currency=usd"
    one = (
        b"POST /v1/topups HTTP/1.1\r\nHost: %s:%d\r\n"
        b"Authorization: Bearer sk_test_bench\r\n"
        b"Content-Type: application/x-www-form-urlencoded\r\n"
        b"Content-Length: %d\r\n\r\n%s" % (host.encode(), port, len(body), body)
    )
    created = 0
    try:
        with socket.create_connection((host, port), timeout=30) as sock:
            buf = b""
            while created < n:
                k = min(batch, n - created)
                sock.sendall(one * k)
                got = 0
                pos = 0
                while got < k:
                    end = buf.find(b"\r\n\r\n", pos)
                    if end >= 0:
                        head = buf[pos:end]
                        cl = head.lower().find(b"content-length:")
                        length = int(head[cl + 15 : head.find(b"\r\n", cl) if head.find(b"\r\n", cl) >= 0 else None]) if cl >= 0 else 0
                        stop = end + 4 + length
                        if len(buf) >= stop:
                            if not head.startswith(b"HTTP/1.1 200") or buf[end + 4 : end + 14] != b'{"id":"tu_':
                                raise RuntimeError(f"create failed: {buf[pos:stop][:400]!r}")
                            got += 1
                            pos = stop
                            continue
                    buf = buf[pos:]
                    pos = 0
                    chunk = sock.recv(1 << 20)
                    if not chunk:
                        raise RuntimeError("server closed the connection")
                    buf += chunk
                buf = buf[pos:]
                created += k
    except Exception as e:  # reported by the caller
        result[slot] = (created, e)
        return
    result[slot] = (created, None)


def fill(url, n, conns):
    u = urllib.parse.urlsplit(url)
    connect(url).close()  # loopback check
    shares = [n // conns + (1 if i < n % conns else 0) for i in range(conns)]
    result = [None] * conns
    workers = [
        threading.Thread(target=fill_worker, args=(u.hostname, u.port, share, PIPELINE, result, i))
        for i, share in enumerate(shares)
    ]
    t0 = time.perf_counter()
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    secs = time.perf_counter() - t0
    errors = [e for _, e in result if e is not None]
    if errors:
        sys.exit(f"fill: {errors[0]}")
    print(sum(c for c, _ in result), f"{secs:.3f}")


def size(url, path):
    conn = connect(url)
    conn.request("GET", path, headers=AUTH)
    print(len(conn.getresponse().read()))


def slow_receiver(secs):
    """A webhook endpoint on 127.0.0.1 that answers 200 after `secs`."""
    import http.server
    import time

    class Slow(http.server.BaseHTTPRequestHandler):
        def do_POST(self):
            self.rfile.read(int(self.headers.get("content-length", 0)))
            time.sleep(secs)
            self.send_response(200)
            self.send_header("content-length", "0")
            self.end_headers()

        def log_message(self, *args):
            pass

    import signal

    # Started in the background by a script, it inherits SIGINT ignored;
    # bench/run.sh stops it with SIGINT like the servers.
    signal.signal(signal.SIGINT, signal.default_int_handler)
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Slow)
    print(f"slow receiver listening on http://127.0.0.1:{server.server_address[1]}/hook", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass


def stalls(url, n):
    conn = connect(url)
    probe_id = call(conn, "POST", "/v1/topups", "amount=2000&currency=usd")["id"]
    path = "/v1/topups/" + probe_id
    filler = subprocess.Popen([sys.executable, __file__, "fill", url, str(n), "64"],
                              stdout=subprocess.PIPE, text=True)
    t0 = time.perf_counter()
    samples = []
    while filler.poll() is None:
        a = time.perf_counter()
        conn.request("GET", path, headers=AUTH)
        res = conn.getresponse()
        res.read()
        if res.status != 200:
            filler.kill()
            sys.exit(f"probe: HTTP {res.status}")
        samples.append((a - t0, (time.perf_counter() - a) * 1000))
    out = filler.stdout.read().split()
    if filler.returncode != 0 or len(out) != 2:
        sys.exit(f"stalls: the fill failed: {out}")
    created, secs = int(out[0]), float(out[1])
    ms = sorted(l for _, l in samples)
    pick = lambda q: ms[min(len(ms) - 1, int(len(ms) * q))]
    worst = sorted(sorted(samples, key=lambda s: -s[1])[:12])
    print(f"probes={len(ms)} created={created} seconds={secs:.1f} p50_ms={pick(0.5):.2f} "
          f"p99_ms={pick(0.99):.2f} p999_ms={pick(0.999):.2f} max_ms={ms[-1]:.2f} worst="
          + ",".join(f"{l:.0f}ms@{min(created, int(t / secs * created)) // 1000}k" for t, l in worst))


def main(argv):
    if len(argv) >= 3 and argv[0] == "startup":
        startup(int(argv[1]), argv[2:])
    elif len(argv) == 4 and argv[0] == "seed":
        seed(argv[1], int(argv[2]), argv[3])
    elif len(argv) in (3, 4) and argv[0] == "fill":
        fill(argv[1], int(argv[2]), int(argv[3]) if len(argv) == 4 else 64)
    elif len(argv) == 3 and argv[0] == "size":
        size(argv[1], argv[2])
    elif len(argv) == 2 and argv[0] == "fund":
        fund(argv[1])
    elif len(argv) == 2 and argv[0] == "count":
        count(argv[1])
    elif len(argv) == 3 and argv[0] == "advance":
        advance(argv[1], int(argv[2]))
    elif len(argv) == 3 and argv[0] == "stalls":
        stalls(argv[1], int(argv[2]))
    elif len(argv) == 2 and argv[0] == "slow-receiver":
        slow_receiver(float(argv[1]))
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    main(sys.argv[1:])
