#!/usr/bin/env python3
"""A webhook receiver for the notification tests, on 127.0.0.1.

Prints "PORT <n>" once listening. With --hmac-key-file, checks X-Signature-256 with Python's
own hmac module and records the verdict as "signature_ok". Every request is appended as one JSON line to --log
(method, path, headers, body as text, arrival time) *before* it is answered. How to answer is
read from --control at each request, one of:
  200 | 500 | 503 | 400 | 429 <retry-after> | hang
"hang" accepts the request and never answers (until the process ends). A missing or empty
control file means 200. Being down is simulated by stopping the process; --port restarts it on
the same port.
"""
import argparse, hashlib, hmac, json, os, sys, threading, time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

args = None
lock = threading.Lock()


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *a):
        pass

    def do_POST(self):
        length = int(self.headers.get("Content-Length", "0"))
        body = self.rfile.read(length) if length else b""
        record = {
            "t": time.time(), "method": self.command, "path": self.path,
            "headers": {k.lower(): v for k, v in self.headers.items()},
            "body": body.decode("utf-8", "replace"),
        }
        if args.hmac_key_file:
            with open(args.hmac_key_file, "rb") as f:
                key = f.read().strip()
            expected = "sha256=" + hmac.new(key, body, hashlib.sha256).hexdigest()
            record["signature_ok"] = hmac.compare_digest(expected, self.headers.get("X-Signature-256", ""))
        # The answer is decided before the request is logged: a test that sees the request and
        # then changes the control file must not change the answer to the request it saw.
        mode = "200"
        try:
            with open(args.control) as f:
                mode = f.read().strip() or "200"
        except OSError:
            pass
        record["answer"] = mode
        with lock:
            with open(args.log, "a") as f:
                f.write(json.dumps(record) + "\n")
                f.flush()
        parts = mode.split()
        if parts[0] == "hang":
            time.sleep(3600)
            return
        code = int(parts[0])
        answer = b'{"status":"ok"}' if code < 300 else b'{"error":"receiver says no: %d"}' % code
        self.send_response(code)
        if code == 429 and len(parts) > 1:
            self.send_header("Retry-After", parts[1])
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(answer)))
        self.end_headers()
        self.wfile.write(answer)

    do_PUT = do_POST


def main():
    global args
    p = argparse.ArgumentParser()
    p.add_argument("--port", type=int, default=0)
    p.add_argument("--log", required=True)
    p.add_argument("--control", required=True)
    p.add_argument("--hmac-key-file")
    args = p.parse_args()
    ThreadingHTTPServer.allow_reuse_address = True
    ThreadingHTTPServer.daemon_threads = True
    server = ThreadingHTTPServer(("127.0.0.1", args.port), Handler)
    print("PORT %d" % server.server_address[1], flush=True)

    def watch_stdin():
        # The test process holds our stdin; when it goes away, so do we (no orphaned servers).
        sys.stdin.read()
        os._exit(0)

    threading.Thread(target=watch_stdin, daemon=True).start()
    server.serve_forever()


if __name__ == "__main__":
    main()
