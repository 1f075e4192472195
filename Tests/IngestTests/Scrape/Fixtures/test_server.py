#!/usr/bin/env python3
"""HTTP(S) server for the agent's HTTP client, scrape and probe tests.

Listens on 127.0.0.1 with an ephemeral port, prints the port on its first line of output, and
exits when its standard input closes (so it never outlives the test process that started it).

Routes:
  /pages/NAME[?gzip=1&ctype=T]     a file of the pages directory; .prom is served as text 0.0.4,
                                   .om as OpenMetrics, .json as JSON (ctype overrides)
  /respond?status=&body=&ctype=&delay_ms=&gzip=1   any status and body
  /slow?ms=N                       answers after N ms
  /stall?ms=N                      sends the headers and half a body, then stalls N ms
  /endless                         a chunked body that never ends
  /big?bytes=N                     N bytes with a Content-Length
  /chunked?bytes=N                 N bytes, chunked (no Content-Length)
  /gzipbomb?bytes=N                gzip of N zero bytes
  /badgzip                         "gzip" that is not
  /status/CODE                     that status
  /redirect/N                      N redirects, then 200
  /redirect-loop                   redirects to itself
  /echo                            the request as JSON (method, path, headers, body, client_cn)
  /connections                     how many connections were accepted so far
  /sequence/NAME                   NAME.1, NAME.2, … of the pages directory, one per request
                                   (the last repeats), for tests of pages that change
"""
import argparse
import gzip
import http.server
import json
import os
import ssl
import sys
import threading
import time
import urllib.parse

CONTENT_TYPES = {
    ".prom": "text/plain; version=0.0.4; charset=utf-8",
    ".om": "application/openmetrics-text; version=1.0.0; charset=utf-8",
    ".json": "application/json",
}


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "agent-test-server"

    def log_message(self, format, *args):
        pass

    def setup(self):
        super().setup()
        with self.server.lock:
            self.server.connections += 1

    def do_GET(self):
        self.route()

    def do_POST(self):
        self.route()

    def do_PUT(self):
        self.route()

    def do_HEAD(self):
        self.route()

    def request_body(self):
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""

    def send(self, status, body=b"", ctype="text/plain; charset=utf-8", headers=(), compress=False):
        if compress:
            body = gzip.compress(body)
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        if compress:
            self.send_header("Content-Encoding", "gzip")
        for name, value in headers:
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def wants_gzip(self, query):
        return query.get("gzip") == "1" and "gzip" in (self.headers.get("Accept-Encoding") or "")

    def route(self):
        url = urllib.parse.urlsplit(self.path)
        query = dict(urllib.parse.parse_qsl(url.query, keep_blank_values=True))
        path = url.path
        body = self.request_body()
        try:
            if path.startswith("/pages/"):
                name = os.path.basename(path[len("/pages/"):])
                self.serve_file(os.path.join(self.server.pages, name), query)
            elif path.startswith("/sequence/"):
                name = os.path.basename(path[len("/sequence/"):])
                with self.server.lock:
                    k = self.server.sequence.get(name, 0) + 1
                    self.server.sequence[name] = k
                while k > 1 and not os.path.exists(os.path.join(self.server.pages, f"{name}.{k}")):
                    k -= 1
                self.serve_file(os.path.join(self.server.pages, f"{name}.{k}"), query)
            elif path == "/respond":
                time.sleep(int(query.get("delay_ms", "0")) / 1000)
                self.send(int(query.get("status", "200")), query.get("body", "").encode(),
                          query.get("ctype", "text/plain; charset=utf-8"), compress=self.wants_gzip(query))
            elif path == "/slow":
                time.sleep(int(query.get("ms", "1000")) / 1000)
                self.send(200, b"slow 1\n")
            elif path == "/stall":
                self.send_response(200)
                self.send_header("Content-Type", "text/plain")
                self.send_header("Content-Length", "100")
                self.end_headers()
                self.wfile.write(b"x" * 50)
                self.wfile.flush()
                time.sleep(int(query.get("ms", "5000")) / 1000)
            elif path == "/endless":
                self.send_response(200)
                self.send_header("Content-Type", "text/plain")
                self.send_header("Transfer-Encoding", "chunked")
                self.end_headers()
                chunk = b"endless_metric 1\n" * 4096
                frame = b"%x\r\n" % len(chunk) + chunk + b"\r\n"
                while True:
                    self.wfile.write(frame)
            elif path == "/big":
                self.send(200, b"a" * int(query.get("bytes", "0")))
            elif path == "/chunked":
                n = int(query.get("bytes", "0"))
                self.send_response(200)
                self.send_header("Content-Type", "text/plain")
                self.send_header("Transfer-Encoding", "chunked")
                self.end_headers()
                while n > 0:
                    part = min(n, 8192)
                    self.wfile.write(b"%x\r\n" % part + b"b" * part + b"\r\n")
                    n -= part
                self.wfile.write(b"0\r\n\r\n")
            elif path == "/gzipbomb":
                self.send(200, bytes(int(query.get("bytes", "0"))), compress=True)
            elif path == "/badgzip":
                self.send(200, b"this is not gzip at all", headers=[("Content-Encoding", "gzip")])
            elif path.startswith("/status/"):
                code = int(path[len("/status/"):])
                self.send(code, f"status {code}\n".encode())
            elif path.startswith("/redirect/"):
                n = int(path[len("/redirect/"):])
                if n > 0:
                    self.send(302, b"", headers=[("Location", f"/redirect/{n - 1}")])
                else:
                    self.send(200, b"redirected\n")
            elif path == "/redirect-loop":
                self.send(302, b"", headers=[("Location", "/redirect-loop")])
            elif path == "/echo":
                cert = self.connection.getpeercert() if hasattr(self.connection, "getpeercert") else None
                client_cn = None
                if cert:
                    for field in cert.get("subject", ()):
                        for key, value in field:
                            if key == "commonName":
                                client_cn = value
                echo = {
                    "method": self.command,
                    "path": self.path,
                    "headers": {k.lower(): v for k, v in self.headers.items()},
                    "body": body.decode("utf-8", "replace"),
                    "client_cn": client_cn,
                }
                self.send(200, json.dumps(echo).encode(), "application/json")
            elif path == "/connections":
                with self.server.lock:
                    count = self.server.connections
                self.send(200, json.dumps({"connections": count}).encode(), "application/json")
            else:
                self.send(404, b"no such route\n")
        except (BrokenPipeError, ConnectionResetError, ssl.SSLError):
            self.close_connection = True

    def serve_file(self, path, query):
        try:
            with open(path, "rb") as f:
                data = f.read()
        except OSError:
            self.send(404, b"no such page\n")
            return
        ext = os.path.splitext(path)[1]
        if ext not in CONTENT_TYPES:
            ext = os.path.splitext(os.path.splitext(path)[0])[1]
        ctype = query.get("ctype", CONTENT_TYPES.get(ext, "text/plain"))
        self.send(int(query.get("status", "200")), data, ctype, compress=self.wants_gzip(query))


class Server(http.server.ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 256  # the default of 5 drops the SYNs of concurrent test clients

    def __init__(self, pages, tls_context):
        super().__init__(("127.0.0.1", 0), Handler)
        self.pages = pages
        self.lock = threading.Lock()
        self.connections = 0
        self.sequence = {}
        self.tls_context = tls_context

    def get_request(self):
        sock, addr = super().get_request()
        if self.tls_context:
            # The handshake happens in the handler's thread, so a client that never finishes it
            # cannot stall the accept loop.
            sock = self.tls_context.wrap_socket(sock, server_side=True, do_handshake_on_connect=False)
        return sock, addr

    def handle_error(self, request, client_address):
        pass


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--pages", default=os.path.join(os.path.dirname(os.path.abspath(__file__)), "pages"))
    parser.add_argument("--tls-cert")
    parser.add_argument("--tls-key")
    parser.add_argument("--tls-client-ca", help="require client certificates signed by this CA")
    args = parser.parse_args()

    context = None
    if args.tls_cert:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(args.tls_cert, args.tls_key)
        if args.tls_client_ca:
            context.verify_mode = ssl.CERT_REQUIRED
            context.load_verify_locations(args.tls_client_ca)

    server = Server(args.pages, context)
    print(server.server_address[1], flush=True)

    def watch_stdin():
        sys.stdin.buffer.read()
        os._exit(0)

    threading.Thread(target=watch_stdin, daemon=True).start()
    server.serve_forever()


if __name__ == "__main__":
    main()
