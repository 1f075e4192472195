#!/usr/bin/env bash
# chaos api-abuse: a hostile local user against the release agent's API (issue 12). Starts the
# agent from the binary directory $1 (default .build/release; builds nothing) in a temp dir on an
# ephemeral loopback port, then fires: every out-of-range parameter that used to kill it, malformed
# framing (bad chunk size, duplicate Content-Length, HTTP/9.9, garbage bytes), a 1 MB URL, a 300 MB
# body (announced and chunked), 2 000 idle connections, a slowloris dribble, and a flood of 10 000
# requests with 200 in flight. Then it checks that the agent lives, answers /-/healthy and a query,
# and prints its peak resident memory.
#
# Prints `chaos api-abuse: key=value …` lines; exits non-zero when a guarantee is broken (an
# unexpected answer, the agent dead or unhealthy, a query unanswered, peak RSS above 150 MB).
set -euo pipefail
bin="${1:-.build/release}"
bin="$(cd "$bin" && pwd)"
[ -x "$bin/agent" ] || { echo "chaos api-abuse: no agent in $bin" >&2; exit 2; }
work="$(mktemp -d /tmp/chaos-api-abuse.XXXXXX)"
pid=""
cleanup() {
    if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
        kill -TERM "$pid" 2>/dev/null || true
        for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
        kill -KILL "$pid" 2>/dev/null || true
    fi
    rm -rf "$work"
}
trap cleanup EXIT

port="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()')"
cat > "$work/agent.yaml" <<EOF
global:
  state_dir: $work/state
  scrape_interval: 1s
listen:
  socket: $work/agent.sock
  http: 127.0.0.1:$port
  read_header_timeout: 3s
notify:
  route: {receiver: hook}
  receivers:
    - name: hook
      webhook: {url: http://127.0.0.1:9/hook}
EOF
"$bin/agent" run --config "$work/agent.yaml" > "$work/agent.log" 2>&1 &
pid=$!

python3 - "$port" "$pid" "$work" <<'PY'
import http.client, os, random, resource, socket, sys, threading, time

port, pid, work = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
failures = []

def alive():
    try:
        os.kill(pid, 0)
        return True
    except OSError:
        return False

def raw(data, timeout=30, read=True):
    """Sends raw bytes; the status of the answer, or None when the connection died without one."""
    s = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    try:
        s.sendall(data)
        if not read:
            return None
        buf = b""
        while b"\r\n" not in buf:
            chunk = s.recv(65536)
            if not chunk:
                break
            buf += chunk
        parts = buf.split(b" ", 2)
        return int(parts[1]) if len(parts) > 1 and parts[1].isdigit() else None
    except OSError:
        return None
    finally:
        s.close()

def get(target):
    return raw(b"GET " + target.encode() + b" HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n")

def post(path, body):
    body = body.encode()
    return raw(b"POST " + path.encode() + b" HTTP/1.1\r\nHost: t\r\nContent-Type: application/x-www-form-urlencoded\r\nConnection: close\r\nContent-Length: "
               + str(len(body)).encode() + b"\r\n\r\n" + body)

for _ in range(200):
    if get("/-/ready") == 200:
        break
    if not alive():
        print(open(os.path.join(work, "agent.log")).read()[-3000:], file=sys.stderr)
        sys.exit("chaos api-abuse: the agent exited at start")
    time.sleep(0.1)
else:
    sys.exit("chaos api-abuse: the agent was not ready within 20 s")

def expect(name, got, want):
    if got != want:
        failures.append(f"{name}: got {got}, want {want}")

# 1. Out-of-range parameters (each used to trap the agent: SIGILL).
params = [
    ("/api/v1/query?query=1&time=1e300", 400), ("/api/v1/query?query=1&time=-1e300", 400),
    ("/api/v1/query?query=1&time=NaN", 400), ("/api/v1/query?query=1&time=%2BInf", 400),
    ("/api/v1/query_range?query=1&start=1e300&end=1e300&step=1", 400),
    ("/api/v1/query_range?query=1&start=0&end=1e300&step=1", 400),
    ("/api/v1/query_range?query=1&start=0&end=10&step=1e300", 400),
    ("/api/v1/query_range?query=1&start=0&end=10&step=0", 400),
    ("/api/v1/query_range?query=1&start=0&end=100000&step=1", 400),
    ("/api/v1/summary?metric=agent_series&stat=avg&range=1h&step=0", 400),
    ("/api/v1/summary?metric=agent_series&stat=avg&window=1e300", 400),
    ("/api/v1/query?query=rate(agent_series%5B999999999999y%5D)", 400),
    ("/api/v1/query?query=%zz", 400), ("/api/v1/query?query=1;time=2", 400),
]
for target, want in params:
    expect(target, get(target), want)
expect("silence duration=1e300", post("/api/v1/silences", 'matchers=a%3D%22b%22&author=c&comment=d&duration=1e300'), 400)
expect("silence duration=999999999999y", post("/api/v1/silences", 'matchers=a%3D%22b%22&author=c&comment=d&duration=999999999999y'), 400)
sent = len(params) + 2

# 2. Malformed framing, garbage, a 1 MB URL.
expect("bad chunk size", raw(b"POST /api/v1/query HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n"), 400)
expect("duplicate Content-Length", raw(b"POST /api/v1/query HTTP/1.1\r\nHost: t\r\nContent-Length: 7\r\nContent-Length: 7\r\n\r\nquery=1"), 400)
expect("HTTP/9.9", raw(b"GET /-/healthy HTTP/9.9\r\nHost: t\r\n\r\n"), 505)
expect("1 MB URL", raw(b"GET /api/v1/query?query=" + b"1" * (1 << 20) + b" HTTP/1.1\r\nHost: t\r\n\r\n"), 414)
rng = random.Random(12)
garbage_answered = 0
for _ in range(50):
    status = raw(bytes(rng.getrandbits(8) for _ in range(rng.randrange(1, 4096))) + b"\r\n\r\n", timeout=10)
    garbage_answered += status is not None
sent += 54

# 3. 300 MB bodies: announced (refused from its length) and chunked (refused past 10 MB).
def big_body(chunked):
    s = socket.create_connection(("127.0.0.1", port), timeout=30)
    mb = b"a" * (1 << 20)
    head = b"POST /api/v1/query HTTP/1.1\r\nHost: t\r\n" + (b"Transfer-Encoding: chunked\r\n\r\n" if chunked else b"Content-Length: 314572800\r\n\r\n")
    pushed = 0
    try:
        s.sendall(head)
        for _ in range(300):
            s.sendall(b"100000\r\n" + mb + b"\r\n" if chunked else mb)
            pushed += 1
    except OSError:
        pass
    try:
        answer = s.recv(4096)
    except OSError:
        answer = b""
    s.close()
    parts = answer.split(b" ", 2)
    return (int(parts[1]) if len(parts) > 1 and parts[1].isdigit() else None), pushed
status, pushed_announced = big_body(False)
expect("300 MB announced body", status, 413)
status, pushed_chunked = big_body(True)
expect("300 MB chunked body", status, 413)
sent += 2

# 4. 2 000 idle connections held open while the agent must still answer.
soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, max(soft, 4096)), hard))
idle = []
for _ in range(2000):
    try:
        idle.append(socket.create_connection(("127.0.0.1", port), timeout=5))
    except OSError:
        break
expect("/-/healthy with 2000 idle connections", get("/-/healthy"), 200)
idle_opened = len(idle)
for s in idle:
    s.close()

# 5. Slowloris: a header line every 0.5 s; the header timeout (3 s here) must close it.
s = socket.create_connection(("127.0.0.1", port), timeout=30)
s.sendall(b"GET /-/healthy HTTP/1.1\r\n")
start = time.time()
closed = False
try:
    for i in range(60):
        s.sendall(b"X-%d: y\r\n" % i)
        s.settimeout(0.5)
        try:
            if s.recv(4096) == b"":
                closed = True
                break
            closed = True  # a 408 arrived: the close follows
            break
        except socket.timeout:
            pass
except OSError:
    closed = True
slowloris_seconds = round(time.time() - start, 1)
s.close()
if not closed:
    failures.append("slowloris connection still open after 30 s")

# 6. A flood: 10 000 requests, 200 connections in flight, kept alive.
results = {"ok": 0, "other": 0, "error": 0}
lock = threading.Lock()
def flood_worker(n):
    ok = other = err = 0
    conn = None
    for i in range(n):
        try:
            if conn is None:
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
            conn.request("GET", "/api/v1/query?query=1%2B1" if i % 2 else "/-/healthy")
            r = conn.getresponse()
            r.read()
            if r.status == 200:
                ok += 1
            else:
                other += 1
        except Exception:
            err += 1
            conn = None
    with lock:
        results["ok"] += ok
        results["other"] += other
        results["error"] += err
flood_start = time.time()
threads = [threading.Thread(target=flood_worker, args=(50,)) for _ in range(200)]
for t in threads:
    t.start()
for t in threads:
    t.join()
flood_seconds = round(time.time() - flood_start, 1)
if results["ok"] != 10000:
    failures.append(f"flood: {results['ok']} of 10000 answered 200 ({results['other']} other, {results['error']} errors)")
sent += 10000

# 7. After all that: alive, healthy, answering a query.
is_alive = alive()
healthy = get("/-/healthy") == 200 if is_alive else False
c = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
try:
    c.request("GET", "/api/v1/query?query=1%2B1")
    r = c.getresponse()
    body = r.read().decode()
    query_ok = r.status == 200 and '"2"' in body
except Exception:
    query_ok = False
peak_kb = 0
if is_alive:
    for line in open(f"/proc/{pid}/status"):
        if line.startswith("VmHWM:"):
            peak_kb = int(line.split()[1])
if not is_alive:
    failures.append("the agent died")
if not healthy:
    failures.append("/-/healthy did not answer 200")
if not query_ok:
    failures.append("the query 1+1 was not answered")
if peak_kb > 150 * 1024:
    failures.append(f"peak resident memory {peak_kb // 1024} MB above 150 MB")

print(f"chaos api-abuse: requests={sent} unexpected={len(failures)} garbage_answered={garbage_answered}/50 "
      f"body_mb_pushed_before_refusal={pushed_announced}/{pushed_chunked} idle_connections={idle_opened} slowloris_closed_after_s={slowloris_seconds}")
print(f"chaos api-abuse: flood_ok={results['ok']} flood_other={results['other']} flood_errors={results['error']} flood_seconds={flood_seconds} "
      f"alive={int(is_alive)} healthy={int(healthy)} query_ok={int(query_ok)} peak_rss_mb={peak_kb / 1024:.1f}")
for f in failures:
    print(f"chaos api-abuse: FAILED {f}", file=sys.stderr)
sys.exit(1 if failures else 0)
PY
