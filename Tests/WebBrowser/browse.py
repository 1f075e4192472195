#!/usr/bin/env python3
"""Opens pages of a running agent in headless Chromium and reports what the browser saw.

Used by Tests/AgentTests/WebBrowserTests.swift (make test). Drives Chromium over the DevTools
protocol on a pipe (--remote-debugging-pipe: no port, no WebDriver, nothing but the standard
library), and prints one JSON document on stdout:

  {"pages": [{"path", "width", "status", "headers", "facts", "problems", "hover"?}], "browser": version}

`problems` lists everything the browser logged as an error or warning while the page loaded and
ran: console errors, uncaught exceptions, Content-Security-Policy violations, failed or non-2xx
loads. `facts` is what a script read from the finished DOM (headings, tables, charts, ...).

Usage: browse.py BASE_URL [--shots DIR] [--dark] SPEC...
  SPEC is WIDTH:PATH[:EXTRA[+EXTRA]], where EXTRA is shot-NAME (save a full-page PNG as
  DIR/NAME.png) or hover (move the pointer over the page's chart first and read its tooltip).
"""
import base64
import fcntl
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time

FACTS = r"""
(() => {
  const text = e => e ? e.textContent.replace(/\s+/g, ' ').trim() : null;
  const all = (sel, root) => Array.from((root || document).querySelectorAll(sel));
  const csp = window.__cspViolations || [];
  return {
    title: document.title,
    h1: text(document.querySelector('h1')),
    h2: all('h2').map(h => ({id: h.id, text: text(h)})),
    tables: all('table').map(t => ({
      cls: t.className,
      head: all('thead th', t).map(text),
      rows: all('tbody tr', t).map(r => Array.from(r.children).map(text)),
    })),
    charts: all('svg.chart').map(s => ({
      lines: all('path.line', s).length,
      bands: all('path.band', s).length,
      labels: all('text', s).map(text),
      unit: s.getAttribute('data-unit'),
    })),
    legend: all('table.legend tbody tr[id]').map(r => text(r.querySelector('.name'))),
    alerts: all('tr[data-alertname]').map(r => ({
      name: r.getAttribute('data-alertname'),
      tier: r.closest('section').querySelector('h2').id,
      state: text(r.querySelector('td.state')),
      chips: all('ul.chips li', r).map(text),
      annotations: all('dl.ann dd', r).map(d => d.textContent),
      sparkline: !!r.querySelector('svg.spark path'),
    })),
    resolved: all('table.resolved tbody tr').map(r => text(r)),
    errors: all('.problem').map(text),
    scrollWidth: document.documentElement.scrollWidth,
    innerWidth: window.innerWidth,
    refreshShown: !!document.getElementById('refresh') && !document.getElementById('refresh').parentNode.hidden,
    pwned: window.__pwned === undefined ? null : String(window.__pwned),
    scripts: document.scripts.length,
    background: getComputedStyle(document.body).backgroundColor,
    colorScheme: matchMedia('(prefers-color-scheme: dark)').matches ? 'dark' : 'light',
    text: document.body.innerText,
  };
})()
"""


class Browser:
    """Chromium with the DevTools protocol on fds 3 (commands in) and 4 (answers out)."""

    def __init__(self, profile, stderr):
        cmd_read, cmd_write = os.pipe()
        out_read, out_write = os.pipe()
        exe = shutil.which("chromium") or shutil.which("chromium-browser") or shutil.which("google-chrome")
        if not exe:
            raise SystemExit("browse.py: chromium is not installed (make test-deps installs it)")
        args = [
            exe,
            "--headless",
            # CI runs the tests as root, where Chromium's sandbox cannot start (it refuses to run as
            # root with it). The sandbox protects a desktop from hostile web content; here the
            # browser only loads the agent's own pages on 127.0.0.1, in a throw-away profile.
            "--no-sandbox",
            "--remote-debugging-pipe",
            "--user-data-dir=" + profile,
            "--disable-gpu",
            "--disable-dev-shm-usage",
            "--no-first-run",
            "--no-default-browser-check",
            "--disable-extensions",
            "--disable-sync",
            "--disable-default-apps",
            "--disable-component-update",
            "--disable-background-networking",
            "--disable-client-side-phishing-detection",
            "--disable-domain-reliability",
            "--no-pings",
            "--mute-audio",
            "--hide-scrollbars",
            "--force-device-scale-factor=1",
            "--font-render-hinting=none",
            # Loopback only: every other host resolves to nothing, and anything that still tries
            # goes to a proxy on a closed loopback port (loopback itself bypasses proxies).
            "--host-resolver-rules=MAP * ~NOTFOUND , EXCLUDE 127.0.0.1",
            "--proxy-server=http://127.0.0.1:9",
            "--disable-features=Translate,OptimizationHints,MediaRouter,DialMediaRouteProvider,AutofillServerCommunication,InterestFeedContentSuggestions",
            "about:blank",
        ]

        def wire():
            # In the child, before exec: the pipe ends move to fds 3 and 4 (inheritable). Copies
            # above 10 first, so that neither end is overwritten if it already sits at 3 or 4;
            # every other descriptor of ours is close-on-exec (Python's default).
            a = fcntl.fcntl(cmd_read, fcntl.F_DUPFD_CLOEXEC, 10)
            b = fcntl.fcntl(out_write, fcntl.F_DUPFD_CLOEXEC, 10)
            os.dup2(a, 3)
            os.dup2(b, 4)

        self.proc = subprocess.Popen(args, stdin=subprocess.DEVNULL, stdout=stderr, stderr=stderr,
                                     preexec_fn=wire, close_fds=False)
        os.close(cmd_read)
        os.close(out_write)
        self.out = os.fdopen(cmd_write, "wb", buffering=0)
        self.inp = os.fdopen(out_read, "rb", buffering=0)
        self.buffer = b""
        self.next_id = 0
        self.events = []

    def _read_message(self, deadline):
        while b"\0" not in self.buffer:
            if time.time() > deadline:
                raise TimeoutError("no answer from chromium")
            chunk = self.inp.read(65536)
            if not chunk:
                raise RuntimeError("chromium closed the DevTools pipe (did it crash?)")
            self.buffer += chunk
        raw, self.buffer = self.buffer.split(b"\0", 1)
        return json.loads(raw)

    def call(self, method, params=None, session=None, timeout=60):
        self.next_id += 1
        msg = {"id": self.next_id, "method": method, "params": params or {}}
        if session:
            msg["sessionId"] = session
        self.out.write(json.dumps(msg).encode() + b"\0")
        deadline = time.time() + timeout
        while True:
            m = self._read_message(deadline)
            if m.get("id") == self.next_id:
                if "error" in m:
                    raise RuntimeError("%s: %s" % (method, m["error"]))
                return m.get("result", {})
            if "method" in m:
                self.events.append(m)

    def wait_event(self, method, session, timeout=60):
        deadline = time.time() + timeout
        while True:
            for i, e in enumerate(self.events):
                if e.get("method") == method and e.get("sessionId") == session:
                    del self.events[i]
                    return e
            m = self._read_message(deadline)
            if "method" in m:
                self.events.append(m)

    def drain(self, session):
        """Events of `session` received so far (others are kept)."""
        mine = [e for e in self.events if e.get("sessionId") == session]
        self.events = [e for e in self.events if e.get("sessionId") != session]
        return mine

    def close(self):
        try:
            self.call("Browser.close", timeout=10)
        except Exception:
            pass
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


def problems_of(events, base):
    """What the page logged as an error: console errors and warnings, exceptions, CSP
    violations (reported as security log entries), failed loads and non-2xx answers."""
    out = []
    statuses = {}
    for e in events:
        m, p = e["method"], e.get("params", {})
        if m == "Runtime.consoleAPICalled" and p.get("type") in ("error", "warning", "assert"):
            out.append("console.%s: %s" % (p["type"], " ".join(str(a.get("value", a.get("description", ""))) for a in p.get("args", []))))
        elif m == "Runtime.exceptionThrown":
            d = p.get("exceptionDetails", {})
            out.append("exception: %s %s" % (d.get("text", ""), d.get("exception", {}).get("description", "")))
        elif m == "Log.entryAdded":
            entry = p.get("entry", {})
            if entry.get("level") in ("error", "warning"):
                out.append("log.%s (%s): %s %s" % (entry.get("level"), entry.get("source"), entry.get("text"), entry.get("url", "")))
        elif m == "Network.loadingFailed":
            out.append("load failed: %s %s" % (p.get("errorText"), p.get("blockedReason", "")))
        elif m == "Network.responseReceived":
            r = p.get("response", {})
            statuses[r.get("url")] = (r.get("status"), r.get("headers", {}))
            if not (200 <= r.get("status", 0) < 400) and r.get("url", "").startswith(base):
                out.append("HTTP %s for %s" % (r.get("status"), r.get("url")))
    return out, statuses


def main():
    argv = sys.argv[1:]
    base = argv.pop(0).rstrip("/") + "/"
    shots, dark, specs = None, False, []
    while argv:
        a = argv.pop(0)
        if a == "--shots":
            shots = argv.pop(0)
        elif a == "--dark":
            dark = True
        else:
            specs.append(a)
    profile = tempfile.mkdtemp(prefix="agent-chromium-")
    log = open(os.path.join(profile, "chromium.log"), "wb")
    browser = Browser(profile, log)
    report = {"pages": []}
    try:
        report["browser"] = browser.call("Browser.getVersion").get("product")
        target = browser.call("Target.createTarget", {"url": "about:blank"})["targetId"]
        session = browser.call("Target.attachToTarget", {"targetId": target, "flatten": True})["sessionId"]
        for domain in ("Page", "Runtime", "Log", "Network"):
            browser.call(domain + ".enable", session=session)
        # CSP violations also as DOM events, counted on the page itself.
        browser.call("Page.addScriptToEvaluateOnNewDocument", {"source":
            "window.__cspViolations=[];document.addEventListener('securitypolicyviolation',e=>window.__cspViolations.push(e.violatedDirective+' '+e.blockedURI));"},
            session=session)
        if dark:
            browser.call("Emulation.setEmulatedMedia", {"features": [{"name": "prefers-color-scheme", "value": "dark"}]}, session=session)
        for spec in specs:
            width, path, *extra = spec.split(":", 2)
            width = int(width)
            extra = extra[0].split("+") if extra else []
            shot_names = [e[5:] for e in extra if e.startswith("shot-")]
            browser.call("Emulation.setDeviceMetricsOverride",
                         {"width": width, "height": 900, "deviceScaleFactor": 1, "mobile": width < 600}, session=session)
            browser.drain(session)
            url = base + path.lstrip("/")
            nav = browser.call("Page.navigate", {"url": url}, session=session)
            if nav.get("errorText"):
                report["pages"].append({"path": path, "width": width, "problems": ["navigation: " + nav["errorText"]]})
                continue
            browser.wait_event("Page.loadEventFired", session)
            facts = browser.call("Runtime.evaluate", {"expression": FACTS, "returnByValue": True}, session=session)
            facts = facts.get("result", {}).get("value", {})
            csp = browser.call("Runtime.evaluate", {"expression": "window.__cspViolations", "returnByValue": True}, session=session)
            page = {"path": path, "width": width, "facts": facts}
            if "hover" in extra:
                box = browser.call("Runtime.evaluate", {"expression":
                    "(()=>{const r=document.querySelector('svg.chart').getBoundingClientRect();window.scrollTo(0,r.top+scrollY-100);"
                    "const q=document.querySelector('svg.chart').getBoundingClientRect();return [q.left,q.top,q.width,q.height];})()",
                    "returnByValue": True}, session=session)["result"]["value"]
                x, y = box[0] + box[2] * 0.6, box[1] + box[3] * 0.45
                for dx in (0, 1):
                    browser.call("Input.dispatchMouseEvent", {"type": "mouseMoved", "x": x + dx, "y": y}, session=session)
                    time.sleep(0.2)
                page["hover"] = browser.call("Runtime.evaluate", {"expression":
                    "(()=>{const t=document.querySelector('.tip');return t&&!t.hidden?{text:t.innerText,hot:document.querySelectorAll('path.line.hot').length,"
                    "cursor:document.querySelector('line.cursor').getAttribute('visibility')}:null})()",
                    "returnByValue": True}, session=session)["result"].get("value")
            for name in (shot_names if shots else []):
                metrics = browser.call("Page.getLayoutMetrics", session=session)
                size = metrics.get("cssContentSize") or metrics.get("contentSize")
                height = min(size["height"], 2400)
                # Beyond the viewport the page is laid out again, which ends a hover: only when needed.
                options = {"format": "png", "clip": {"x": 0, "y": 0, "width": width, "height": height, "scale": 1}}
                if height > 900:
                    options["captureBeyondViewport"] = True
                shot = browser.call("Page.captureScreenshot", options, session=session)
                os.makedirs(shots, exist_ok=True)
                with open(os.path.join(shots, name + ".png"), "wb") as f:
                    f.write(base64.b64decode(shot["data"]))
            time.sleep(0.1)  # late console messages (deferred script errors) arrive before the next page
            browser.call("Runtime.evaluate", {"expression": "1"}, session=session)
            problems, statuses = problems_of(browser.drain(session), base)
            problems += ["CSP violation: " + v for v in (csp.get("result", {}).get("value") or [])]
            page["problems"] = problems
            status, headers = statuses.get(url, (None, {}))
            page["status"] = status
            page["headers"] = {k.lower(): v for k, v in headers.items()}
            report["pages"].append(page)
    finally:
        browser.close()
        log.close()
        shutil.rmtree(profile, ignore_errors=True)
    json.dump(report, sys.stdout)


if __name__ == "__main__":
    main()
