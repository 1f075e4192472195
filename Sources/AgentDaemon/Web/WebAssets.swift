import HTTPServing

/// The pages' style sheet and script, compiled into the binary: the pages load nothing from
/// anywhere else (an air-gapped host has no CDN), and the Content-Security-Policy allows scripts
/// and styles from the agent itself only (`'self'`), so no inline script or style is needed.
///
/// Served at `/static/app.css` and `/static/app.js` with an ETag (a hash of the bytes): a browser
/// revalidates and gets 304 until the agent is upgraded.
enum WebAssets {
    static let css = Asset(contentType: "text/css; charset=utf-8", text: styleSheet)
    static let js = Asset(contentType: "text/javascript; charset=utf-8", text: script)

    struct Asset: Sendable {
        let contentType: String
        let bytes: [UInt8]
        let etag: String

        init(contentType: String, text: String) {
            self.contentType = contentType
            bytes = Array(text.utf8)
            // FNV-1a of the bytes: changes when the agent ships other bytes, which is all it must do.
            var hash: UInt64 = 0xcbf2_9ce4_8422_2325
            for b in bytes { hash = (hash ^ UInt64(b)) &* 0x100_0000_01b3 }
            etag = "\"" + String(hash, radix: 16) + "\""
        }

        /// 304 when the request already holds these bytes, else the bytes.
        func response(to request: Request) -> HTTPResponse {
            var headers = HTTPHeaders([("etag", etag), ("cache-control", "no-cache"), ("x-content-type-options", "nosniff")])
            if let tags = request.http.headers["if-none-match"],
               tags.split(separator: ",").contains(where: { $0.filter { $0 != " " && $0 != "\t" } == etag || $0.filter { $0 != " " } == "*" }) {
                return HTTPResponse(status: 304, headers: headers)
            }
            headers.add("content-type", contentType)
            return HTTPResponse(status: 200, headers: headers, body: bytes)
        }
    }

    // Colours: the series palette is Tableau's 10 (distinct for the common colour-vision
    // deficiencies), lightened for dark backgrounds; tiers use the same hue in both schemes.
    static let styleSheet = #"""
:root{color-scheme:light dark;--bg:#fff;--fg:#1f2328;--muted:#59636e;--line:#d1d9e0;--panel:#f6f8fa;--link:#0969da;
--crit:#cf222e;--high:#bc4c00;--med:#9a6700;--low:#0969da;--ok:#1a7f37;--grid:#e1e4e8;--axis:#59636e;
--c0:#1f77b4;--c1:#ff7f0e;--c2:#2ca02c;--c3:#d62728;--c4:#9467bd;--c5:#8c564b;--c6:#e377c2;--c7:#7f7f7f;--c8:#bcbd22;--c9:#17becf}
@media (prefers-color-scheme:dark){:root{--bg:#0d1117;--fg:#e6edf3;--muted:#9198a1;--line:#3d444d;--panel:#151b23;--link:#4493f8;
--crit:#ff7b72;--high:#ffa657;--med:#e3b341;--low:#79c0ff;--ok:#3fb950;--grid:#262c36;--axis:#9198a1;
--c0:#5fa8e8;--c1:#ffa54f;--c2:#5cc95c;--c3:#f0625f;--c4:#b494dc;--c5:#c08a7e;--c6:#f0a0d8;--c7:#b0b0b0;--c8:#d8d94a;--c9:#4fd8e6}}
*{box-sizing:border-box}
html{-webkit-text-size-adjust:100%;text-size-adjust:100%}
body{margin:0;font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,"DejaVu Sans",sans-serif;background:var(--bg);color:var(--fg);overflow-wrap:break-word}
header{background:var(--panel);border-bottom:1px solid var(--line)}
nav{display:flex;flex-wrap:wrap;align-items:center;gap:.15rem 1rem;padding:.4rem 1rem}
nav a{color:var(--fg);text-decoration:none;padding:.2rem 0;border-bottom:2px solid transparent}
nav a:hover{border-bottom-color:var(--line)}
nav a[aria-current=page]{font-weight:600;border-bottom-color:var(--link)}
nav .brand{font-weight:700}
nav .health{margin-left:auto;font-size:.9em}
nav label{font-size:.9em;color:var(--muted);white-space:nowrap}
main{padding:0 1rem 2rem;max-width:1600px}
footer{padding:.5rem 1rem 1rem;color:var(--muted);font-size:.85em;border-top:1px solid var(--line)}
h1{font-size:1.45rem;margin:1rem 0 .5rem}
h2{font-size:1.2rem;margin:1.5rem 0 .5rem}
h3{font-size:1.02rem;margin:1.1rem 0 .35rem}
a{color:var(--link)}
p{margin:.4rem 0}
.scroll{overflow-x:auto;max-width:100%}
table{border-collapse:collapse;width:100%;margin:.25rem 0 1rem}
caption{text-align:left;color:var(--muted);font-size:.9em;padding:.2rem 0}
th,td{text-align:left;vertical-align:top;padding:.3rem .5rem;border-bottom:1px solid var(--line)}
thead th{background:var(--panel);font-weight:600;white-space:nowrap}
tbody th{font-weight:600}
.num{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}
.nowrap{white-space:nowrap}
code,pre,.series,.expr,kbd{font-family:ui-monospace,"DejaVu Sans Mono",Menlo,Consolas,monospace;font-size:.9em}
pre{white-space:pre-wrap;overflow-wrap:anywhere;background:var(--panel);border:1px solid var(--line);border-radius:4px;padding:.4rem .5rem;margin:0}
.series{overflow-wrap:anywhere}
.ln{color:var(--muted)}
.lv{color:var(--fg)}
ul.chips{list-style:none;margin:0;padding:0;display:flex;flex-wrap:wrap;gap:.2rem .25rem}
ul.chips li{background:var(--panel);border:1px solid var(--line);border-radius:3px;padding:0 .3rem;font-family:ui-monospace,"DejaVu Sans Mono",monospace;font-size:.82em}
dl.ann{margin:.3rem 0 0;display:grid;grid-template-columns:max-content minmax(0,1fr);gap:0 .6rem;font-size:.92em}
dl.ann dt{color:var(--muted)}
dl.ann dd{margin:0;white-space:pre-wrap}
dl.facts{display:grid;grid-template-columns:max-content minmax(0,1fr);gap:.2rem 1rem;margin:.25rem 0 1rem}
dl.facts dt{color:var(--muted)}
dl.facts dd{margin:0}
.cards{display:grid;grid-template-columns:repeat(auto-fill,minmax(min(100%,19rem),1fr));gap:0 1.5rem}
.badge{display:inline-block;padding:0 .4rem;border:1px solid currentColor;border-radius:3px;font-size:.78em;font-weight:600;letter-spacing:.02em;white-space:nowrap;vertical-align:.08em}
.critical{color:var(--crit)}.high{color:var(--high)}.medium{color:var(--med)}.low{color:var(--low)}
.ok,.up{color:var(--ok)}.bad,.down{color:var(--crit)}.unknown,.muted,.pending{color:var(--muted)}
.firing{color:var(--crit)}
tr.muted td{opacity:.75}
.note{color:var(--muted);font-size:.9em}
.problem{border-left:3px solid var(--crit);background:var(--panel);padding:.35rem .6rem;margin:.5rem 0;white-space:pre-wrap}
.empty{color:var(--muted);font-style:italic}
svg{overflow:hidden}
svg.spark{width:7.5rem;height:1.9rem;vertical-align:middle;display:inline-block}
svg.spark path{fill:none;stroke:var(--k,var(--c0));stroke-width:2;stroke-linecap:round;stroke-linejoin:round}
svg.spark.critical{--k:var(--crit)}svg.spark.high{--k:var(--high)}svg.spark.medium{--k:var(--med)}svg.spark.low{--k:var(--low)}
svg.spark path.area{fill:var(--k,var(--c0));fill-opacity:.12;stroke:none}
.sparkcell{white-space:nowrap}
.sparkcell small{display:block;color:var(--muted);font-size:.78em}
form.query{display:grid;grid-template-columns:minmax(0,1fr) auto auto;gap:.4rem;align-items:start;margin:.5rem 0}
form.query textarea{width:100%;min-height:2.6em;resize:vertical;font:13px/1.4 ui-monospace,"DejaVu Sans Mono",monospace;padding:.35rem;background:var(--bg);color:var(--fg);border:1px solid var(--line);border-radius:4px}
form.query select,form.query button{font:inherit;padding:.3rem .6rem;background:var(--panel);color:var(--fg);border:1px solid var(--line);border-radius:4px}
form.query button{font-weight:600;cursor:pointer}
.chartbox{position:relative;margin:.5rem 0}
svg.chart{display:block;width:100%;height:20rem;touch-action:pan-y}
svg.chart .grid{stroke:var(--grid);stroke-width:1}
svg.chart .axis{fill:var(--axis);font-size:11px;font-family:system-ui,"DejaVu Sans",sans-serif;paint-order:stroke;stroke:var(--bg);stroke-width:3px;stroke-linejoin:round}
svg.chart .unit{fill:var(--fg);font-size:11px;font-weight:600}
svg.chart path.line{fill:none;stroke:var(--k);stroke-width:1.5;stroke-linejoin:round;stroke-linecap:round}
svg.chart path.line.hot{stroke-width:3}
svg.chart path.band{fill:var(--k);stroke:none;fill-opacity:.14}
svg.chart path.band.inner{fill-opacity:.26}
svg.chart .cursor{stroke:var(--muted);stroke-width:1;stroke-dasharray:3 3}
.tip{position:absolute;z-index:2;pointer-events:none;background:var(--bg);color:var(--fg);border:1px solid var(--line);border-radius:4px;padding:.3rem .45rem;font-size:12px;line-height:1.35;box-shadow:0 2px 8px rgba(0,0,0,.18);max-width:min(26rem,90vw)}
.tip b{font-weight:600}
.tip div{white-space:nowrap;overflow:hidden;text-overflow:ellipsis}
.sw{display:inline-block;width:.8em;height:.8em;border-radius:2px;background:var(--k);margin-right:.35em;vertical-align:-.05em}
.k0{--k:var(--c0)}.k1{--k:var(--c1)}.k2{--k:var(--c2)}.k3{--k:var(--c3)}.k4{--k:var(--c4)}
.k5{--k:var(--c5)}.k6{--k:var(--c6)}.k7{--k:var(--c7)}.k8{--k:var(--c8)}.k9{--k:var(--c9)}
@media (max-width:640px){body{font-size:13px}main{padding:0 .5rem 1.5rem}nav{padding:.35rem .5rem;gap:.1rem .7rem}
th,td{padding:.25rem .3rem}form.query{grid-template-columns:minmax(0,1fr) auto}form.query textarea{grid-column:1/-1}
svg.chart{height:16rem}dl.facts{grid-template-columns:minmax(0,max-content) minmax(0,1fr);gap:.15rem .6rem}
table.stack,table.stack tbody,table.stack tr,table.stack td,table.stack tbody th{display:block;width:auto}
table.stack thead{display:none}table.stack tr{border-bottom:1px solid var(--line);padding:.4rem 0}
table.stack td,table.stack tbody th{border:0;padding:.1rem 0;text-align:left}
table.stack td[data-label]::before{content:attr(data-label) ": ";color:var(--muted);font-size:.9em}
table.stack .sparkcell small{display:inline;margin-left:.4rem}table.stack br{display:none}table.stack td small.note{margin-left:.4rem}}
@media print{nav label,.tip{display:none}}
"""#

    static let script = #"""
// The agent's pages work without this script; it adds the refresh switch and chart hover values.
(function () {
  'use strict';

  // Refresh every 30 s: off unless switched on, remembered per browser; waits while the page is
  // hidden or a field other than the switch has the focus (a query being typed is not lost).
  var box = document.getElementById('refresh');
  if (box) {
    var key = 'agent.refresh', timer = 0;
    box.parentNode.hidden = false;
    try { box.checked = window.localStorage.getItem(key) === '1'; } catch (e) { box.checked = false; }
    var schedule = function () {
      window.clearTimeout(timer);
      if (!box.checked) return;
      timer = window.setTimeout(function () {
        var a = document.activeElement;
        var typing = a && a !== box && /^(INPUT|TEXTAREA|SELECT)$/.test(a.tagName);
        if (document.hidden || typing) { schedule(); return; }
        window.location.reload();
      }, 30000);
    };
    box.addEventListener('change', function () {
      try { window.localStorage.setItem(key, box.checked ? '1' : '0'); } catch (e) { /* private mode */ }
      schedule();
    });
    schedule();
  }

  function fmt(v, unit) {
    if (!isFinite(v)) return String(v);
    var a = Math.abs(v), s;
    if (a !== 0 && (a >= 1e6 || a < 1e-3)) s = v.toExponential(3).replace(/\.?0+e/, 'e');
    else s = String(Number(v.toPrecision(5)));
    return unit ? s + ' ' + unit : s;
  }
  function iso(ms) { return new Date(ms).toISOString().replace('T', ' ').replace(/\.\d+Z$/, 'Z'); }

  // Charts: the values under the pointer. The server wrote each line's values (data-v, comma
  // separated, empty for no value) on the same time grid (data-start, data-step in ms).
  Array.prototype.forEach.call(document.querySelectorAll('svg.chart[data-step]'), function (svg) {
    var box = svg.parentNode;
    var start = Number(svg.getAttribute('data-start')), step = Number(svg.getAttribute('data-step'));
    var n = Number(svg.getAttribute('data-n')), unit = svg.getAttribute('data-unit') || '';
    var lo = Number(svg.getAttribute('data-min')), hi = Number(svg.getAttribute('data-max'));
    var top = Number(svg.getAttribute('data-top')), height = Number(svg.getAttribute('data-height'));
    var lines = Array.prototype.map.call(svg.querySelectorAll('path.line'), function (p) {
      var row = document.getElementById(p.getAttribute('data-row'));
      return {
        path: p,
        values: p.getAttribute('data-v').split(',').map(function (s) { return s === '' ? NaN : Number(s); }),
        name: row ? row.querySelector('.name').textContent : '',
        k: p.getAttribute('class').replace(/.*\b(k\d)\b.*/, '$1')
      };
    });
    if (!lines.length || !(n > 1)) return;
    var cursor = svg.querySelector('line.cursor');
    var tip = document.createElement('div');
    tip.className = 'tip';
    tip.hidden = true;
    tip.setAttribute('role', 'status');
    box.appendChild(tip);
    var hot = null, frame = 0, last = null;

    function show() {
      frame = 0;
      var e = last, r = svg.getBoundingClientRect();
      var fx = (e.clientX - r.left) / r.width;
      if (fx < 0 || fx > 1) { hide(); return; }
      var i = Math.round(fx * (n - 1));
      var x = (n === 1 ? 0 : i / (n - 1)) * r.width;
      cursor.setAttribute('x1', x); cursor.setAttribute('x2', x); cursor.removeAttribute('visibility');
      var py = e.clientY - r.top, rows = [];
      lines.forEach(function (l) {
        var v = l.values[i];
        if (isNaN(v)) return;
        var y = hi === lo ? top + height / 2 : top + (hi - v) / (hi - lo) * height;
        rows.push({ l: l, v: v, d: Math.abs(y - py) });
      });
      if (hot) hot.classList.remove('hot');
      hot = null;
      tip.textContent = '';
      var head = document.createElement('b');
      head.textContent = iso(start + i * step);
      tip.appendChild(head);
      rows.sort(function (a, b) { return a.d - b.d; });
      if (rows.length) { hot = rows[0].l.path; hot.classList.add('hot'); }
      rows.slice(0, 8).forEach(function (row, k) {
        var div = document.createElement('div'), sw = document.createElement('span');
        sw.className = 'sw ' + row.l.k;
        div.appendChild(sw);
        div.appendChild(document.createTextNode(fmt(row.v, unit) + '  ' + row.l.name));
        if (k === 0) div.className = 'near';
        tip.appendChild(div);
      });
      if (rows.length > 8) {
        var more = document.createElement('div');
        more.textContent = '… ' + (rows.length - 8) + ' more';
        tip.appendChild(more);
      }
      tip.hidden = false;
      var b = box.getBoundingClientRect();
      var left = e.clientX - b.left + 14;
      if (left + tip.offsetWidth > b.width) left = Math.max(0, e.clientX - b.left - tip.offsetWidth - 14);
      tip.style.left = left + 'px';
      tip.style.top = Math.max(0, e.clientY - b.top - tip.offsetHeight - 10) + 'px';
    }
    function hide() {
      tip.hidden = true;
      cursor.setAttribute('visibility', 'hidden');
      if (hot) hot.classList.remove('hot');
      hot = null;
    }
    svg.addEventListener('pointermove', function (e) {
      last = e;
      if (!frame) frame = window.requestAnimationFrame(show);
    });
    svg.addEventListener('pointerleave', function () {
      if (frame) { window.cancelAnimationFrame(frame); frame = 0; }
      hide();
    });
  });
})();
"""#
}
