#!/usr/bin/env python3
"""Writes a JSONL access log for benchmarks: N lines of about 177 bytes, ~20 routes.

Usage: gen-access-log.py LINES OUTPUT   (deterministic: the same file for the same LINES)
"""
import random
import sys

ROUTES = [
    "/api/v1/users", "/api/v1/users/profile", "/api/v1/orders", "/api/v1/orders/items", "/api/v1/cart",
    "/api/v1/cart/checkout", "/api/v1/search", "/api/v1/products", "/api/v1/products/reviews", "/api/v1/login",
    "/api/v1/logout", "/api/v1/session", "/api/v1/payments", "/api/v1/shipping", "/api/v1/inventory",
    "/api/v2/recommendations", "/api/v2/notifications", "/health", "/metrics", "/static/app.js",
]
METHODS = ["GET"] * 6 + ["POST"] * 2 + ["PUT", "DELETE"]
STATUS = [200] * 40 + [201] * 3 + [204] * 2 + [301, 304, 400, 401, 403, 404, 404, 429, 500, 502, 503]
LEVELS = {200: "info", 201: "info", 204: "info", 301: "info", 304: "info"}


def main() -> None:
    lines, out = int(sys.argv[1]), sys.argv[2]
    rng = random.Random(42)
    base = 1_714_564_800_000  # 2024-05-01T12:00:00Z
    with open(out, "w", buffering=1 << 20) as f:
        for i in range(lines):
            t = base + i * 3
            ms = t % 1000
            s = t // 1000
            hh, mm, ss = (s // 3600) % 24, (s // 60) % 60, s % 60
            status = rng.choice(STATUS)
            latency = round(rng.lognormvariate(3.0, 1.0), 3)
            f.write(
                '{"ts":"2024-05-01T%02d:%02d:%02d.%03dZ","level":"%s","route":"%s","method":"%s","status":%d,'
                '"latency_ms":%s,"bytes":%d,"req":"%016x","ua":"curl/%d"}\n'
                % (hh, mm, ss, ms, LEVELS.get(status, "warn" if status < 500 else "error"), rng.choice(ROUTES),
                   rng.choice(METHODS), status, latency, rng.randint(0, 50_000), rng.getrandbits(64), rng.randint(7, 8))
            )


if __name__ == "__main__":
    main()
