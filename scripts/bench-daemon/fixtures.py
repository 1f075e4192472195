#!/usr/bin/env python3
"""The world scripts/bench-daemon.sh runs the agent in, all on 127.0.0.1, in one process:

- TARGETS scrape targets (default 10), each on its own ephemeral port, serving /metrics: a
  Prometheus text page of 69 samples shaped like a small service's (requests by route and code,
  two histograms, a summary, process and queue gauges, data freshness). Counters grow with time at
  fixed rates (no randomness), histogram buckets follow a log-normal CDF, so rules see steady
  rates and a ~2 % error ratio.
- two JSONL access logs (api.jsonl, web.jsonl in LOGDIR), each appended to at RATE lines/s
  (default 50) in 100 ms batches: 8 routes, 5 statuses (~3 % 5xx), log-normal latency, bytes.
- a webhook receiver (POST anything → 200) for the agent's and Alertmanager's notifications,
  counted by path into RUNDIR/webhook.json.

With --backfill DIR, DIR gets its own api.jsonl and web.jsonl holding the last --backfill-hours
(default 26) at --backfill-rate lines/s each (default 10), written before anything listens; the
live lines then go to both folders. An agent reading DIR from the beginning holds what it would
after running that long (its sketches at their steady-state size).

When everything listens it writes RUNDIR/ports.json atomically:
  {"targets": [port, ...], "webhook": port}
and runs until killed (SIGTERM/SIGINT).

Usage: fixtures.py RUNDIR LOGDIR [--targets N] [--rate LINES_PER_S] [--backfill DIR [--backfill-hours H] [--backfill-rate R]]
"""
import argparse
import json
import math
import os
import random
import signal
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

START = time.time()

ROUTES = ["/api/users", "/api/orders", "/api/cart", "/api/search", "/health"]
CODES = [("200", 0.95), ("404", 0.03), ("500", 0.02)]
LATENCY_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5]
DB_BUCKETS = [0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1.0]
QUEUES = ["email", "billing", "export", "thumbnails"]
DATASETS = ["orders", "users", "catalog"]


def lognormal_cdf(x, median, sigma):
    return 0.5 * (1 + math.erf((math.log(x) - math.log(median)) / (sigma * math.sqrt(2))))


def histogram(lines, name, help_text, buckets, total, median, sigma, labels=""):
    sep = "," if labels else ""
    lines.append(f"# HELP {name} {help_text}")
    lines.append(f"# TYPE {name} histogram")
    for le in buckets:
        lines.append(f'{name}_bucket{{{labels}{sep}le="{le}"}} {math.floor(total * lognormal_cdf(le, median, sigma))}')
    lines.append(f'{name}_bucket{{{labels}{sep}le="+Inf"}} {math.floor(total)}')
    # The mean of a log-normal distribution: median * exp(sigma^2 / 2).
    braced = f"{{{labels}}}" if labels else ""
    lines.append(f"{name}_sum{braced} {total * median * math.exp(sigma * sigma / 2):.3f}")
    lines.append(f"{name}_count{braced} {math.floor(total)}")


def page(index):
    """The /metrics page of target `index` now: 69 samples."""
    t = time.time() - START
    rate = 4.0 + index * 0.5  # requests/s per route
    out = []
    out.append("# HELP http_server_requests_total Requests served, by route and status code.")
    out.append("# TYPE http_server_requests_total counter")
    for route in ROUTES:
        for code, share in CODES:
            out.append(f'http_server_requests_total{{route="{route}",code="{code}"}} {math.floor(1000 + rate * share * t)}')
    histogram(out, "http_server_request_duration_seconds", "Request latency.", LATENCY_BUCKETS,
              len(ROUTES) * rate * t, 0.03 + index * 0.002, 0.9)
    histogram(out, "db_query_duration_seconds", "Database query latency.", DB_BUCKETS, 2 * rate * t, 0.004, 1.2)
    out.append("# TYPE cache_hits_total counter")
    out.append(f"cache_hits_total {math.floor(rate * 0.8 * t)}")
    out.append("# TYPE cache_misses_total counter")
    out.append(f"cache_misses_total {math.floor(rate * 0.2 * t)}")
    out.append("# TYPE process_cpu_seconds_total counter")
    out.append(f"process_cpu_seconds_total {0.02 * t:.2f}")
    out.append("# TYPE process_resident_memory_bytes gauge")
    out.append(f"process_resident_memory_bytes {48_000_000 + int(1_000_000 * math.sin(t / 60))}")
    out.append("# TYPE process_virtual_memory_bytes gauge")
    out.append("process_virtual_memory_bytes 812000000")
    out.append("# TYPE process_open_fds gauge")
    out.append(f"process_open_fds {40 + index}")
    out.append("# TYPE process_max_fds gauge")
    out.append("process_max_fds 1024")
    out.append("# TYPE process_start_time_seconds gauge")
    out.append(f"process_start_time_seconds {START:.0f}")
    out.append("# TYPE go_goroutines gauge")
    out.append(f"go_goroutines {30 + int(5 * math.sin(t / 30))}")
    out.append("# TYPE go_threads gauge")
    out.append("go_threads 9")
    out.append("# HELP go_gc_duration_seconds A summary of the pause duration of garbage collection cycles.")
    out.append("# TYPE go_gc_duration_seconds summary")
    for q, v in (("0", 0.00002), ("0.25", 0.00004), ("0.5", 0.00006), ("0.75", 0.0001), ("1", 0.002)):
        out.append(f'go_gc_duration_seconds{{quantile="{q}"}} {v}')
    out.append(f"go_gc_duration_seconds_sum {0.0001 * t:.6f}")
    out.append(f"go_gc_duration_seconds_count {math.floor(t)}")
    out.append("# TYPE queue_depth gauge")
    for i, q in enumerate(QUEUES):
        out.append(f'queue_depth{{queue="{q}"}} {10 * i + int(5 * (1 + math.sin(t / 45 + i)))}')
    out.append("# TYPE worker_jobs_processed_total counter")
    for q in QUEUES:
        out.append(f'worker_jobs_processed_total{{queue="{q}",result="ok"}} {math.floor(rate * t)}')
        out.append(f'worker_jobs_processed_total{{queue="{q}",result="failed"}} {math.floor(rate * 0.01 * t)}')
    out.append("# TYPE data_last_success_timestamp_seconds gauge")
    for i, d in enumerate(DATASETS):
        out.append(f'data_last_success_timestamp_seconds{{dataset="{d}"}} {START - 600 * i:.0f}')
    return ("\n".join(out) + "\n").encode()


class Quiet(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def reply(self, body, content_type="text/plain; version=0.0.4"):
        self.send_response(200)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


def target_handler(index):
    class Target(Quiet):
        def do_GET(self):
            if self.path.split("?")[0] != "/metrics":
                self.send_error(404)
                return
            self.reply(page(index))
    return Target


class Webhook(Quiet):
    """Counts notifications by path into RUNDIR/webhook.json (the agent posts to /agent, Alertmanager to /alertmanager)."""
    received = {}
    lock = threading.Lock()
    rundir = "."

    def do_POST(self):
        length = int(self.headers.get("Content-Length", "0"))
        self.rfile.read(length)
        with Webhook.lock:
            Webhook.received[self.path] = Webhook.received.get(self.path, 0) + 1
            tmp = os.path.join(Webhook.rundir, "webhook.json.tmp")
            with open(tmp, "w") as f:
                json.dump(Webhook.received, f)
            os.rename(tmp, os.path.join(Webhook.rundir, "webhook.json"))
        self.reply(b"ok\n", "text/plain")


LOG_ROUTES = ["/api/v1/users", "/api/v1/orders", "/api/v1/cart", "/api/v1/checkout", "/api/v1/search",
              "/api/v1/products", "/api/v1/login", "/health"]
LOG_STATUS = [200] * 85 + [201] * 7 + [404] * 4 + [429, 500, 500, 503]


def log_line(rng, ts):
    status = rng.choice(LOG_STATUS)
    return ('{"ts":"%s","level":"%s","route":"%s","method":"%s","status":%d,"latency_ms":%.3f,"bytes":%d,"req":"%016x"}\n'
            % (ts, "info" if status < 400 else ("warn" if status < 500 else "error"), rng.choice(LOG_ROUTES),
               rng.choice(("GET", "GET", "GET", "POST")), status, rng.lognormvariate(3.0, 0.8),
               rng.randint(200, 40_000), rng.getrandbits(64)))


def timestamp(seconds):
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(seconds)) + f".{int(seconds * 1000) % 1000:03d}Z"


def backfill(path, hours, rate, seed, until):
    """`hours` of lines at `rate` lines/s ending at `until`, in time order."""
    rng = random.Random(1000 + seed)
    step = 1.0 / rate
    t = until - hours * 3600
    with open(path, "w", buffering=1 << 20) as f:
        while t < until:
            second = int(t)
            prefix = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(second))
            lines = []
            while t < second + 1 and t < until:
                lines.append(log_line(rng, f"{prefix}.{int(t * 1000) % 1000:03d}Z"))
                t += step
            f.write("".join(lines))


def write_logs(paths, rate, seed, stop):
    rng = random.Random(seed)
    files = [open(p, "a", buffering=1 << 16) for p in paths]
    # Batches every 100 ms; the fraction carries over so the long-run rate is exact.
    carry = 0.0
    next_at = time.monotonic()
    while not stop.is_set():
        carry += rate / 10
        n, carry = int(carry), carry - int(carry)
        ts = timestamp(time.time())
        batch = "".join(log_line(rng, ts) for _ in range(n))
        for f in files:
            f.write(batch)
            f.flush()
        next_at += 0.1
        stop.wait(max(0.0, next_at - time.monotonic()))


def serve(handler):
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("rundir")
    parser.add_argument("logdir")
    parser.add_argument("--targets", type=int, default=10)
    parser.add_argument("--rate", type=float, default=50.0)
    parser.add_argument("--backfill")
    parser.add_argument("--backfill-hours", type=float, default=26.0)
    parser.add_argument("--backfill-rate", type=float, default=10.0)
    args = parser.parse_args()

    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())

    Webhook.rundir = args.rundir
    targets = [serve(target_handler(i)) for i in range(args.targets)]
    webhook = serve(Webhook)
    writers = []
    now = time.time()
    for seed, name in enumerate(("api.jsonl", "web.jsonl")):
        paths = [os.path.join(args.logdir, name)]
        open(paths[0], "a").close()
        if args.backfill:
            paths.append(os.path.join(args.backfill, name))
            backfill(paths[1], args.backfill_hours, args.backfill_rate, seed, now)
        w = threading.Thread(target=write_logs, args=(paths, args.rate, seed, stop), daemon=True)
        w.start()
        writers.append(w)

    ports = {"targets": [s.server_address[1] for s in targets], "webhook": webhook.server_address[1]}
    tmp = os.path.join(args.rundir, "ports.json.tmp")
    with open(tmp, "w") as f:
        json.dump(ports, f)
    os.rename(tmp, os.path.join(args.rundir, "ports.json"))

    stop.wait()  # the servers and writers are daemon threads: they end with the process


if __name__ == "__main__":
    main()
