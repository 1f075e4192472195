#!/usr/bin/env python3
"""The Prometheus API as clients see it, for PrometheusClientsTests.swift (loopback only).

  client URL           every call of PyPI's prometheus-api-client against URL; prints one line per
                       call ("ok NAME: what it got" or "FAIL NAME: why"), exits 1 if any failed
  compare AGENT PROM T every request of REQUESTS against both; prints, per request, the HTTP status,
                       errorType and JSON paths whose keys or types differ
                       ("DIFF path: agent … prometheus …"), exits 1 if any
                       differ beyond ALLOWED (the Prometheus 3 additions and the agent's extras).
                       T is a Unix time both have data at (for query_range and exemplars).

Shapes, not values, are compared: objects by their keys (except maps keyed by data: label sets,
annotations, metadata by family, flags, pools), every value by its JSON type (a number is a
number, integer or not), a list by the set of its items' shapes (an empty list matches any).
"""
import json
import sys
import urllib.error
import urllib.parse
import urllib.request


def get(base, path):
    """(HTTP status, JSON body): errors are answered in the API's JSON too."""
    try:
        with urllib.request.urlopen(base + path, timeout=10) as r:
            return r.status, json.load(r)
    except urllib.error.HTTPError as e:
        return e.code, json.load(e)


# Objects whose keys are data (label names, families, flags, pools), by the key that holds them.
MAPS = {"labels", "annotations", "discoveredLabels", "metric", "target", "droppedTargetCounts"}
# Whole answers that are maps.
MAP_ANSWERS = {"metadata", "status/flags"}


def shape(value, key=None, top_map=False):
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, (int, float)):
        return "number"
    if isinstance(value, str):
        return "string"
    if value is None:
        return "null"
    if isinstance(value, list):
        items = frozenset(shape(v) for v in value)
        return ("list", items)
    if key in MAPS or top_map:
        return ("map", frozenset(shape(v) for v in value.values()))
    return ("object", tuple(sorted((k, shape(v, k)) for k, v in value.items())))


def differences(a, b, path="data"):
    """Where shapes a (agent) and b (Prometheus) differ, as (path, agent, prometheus) lines."""
    out = []
    if a == b:
        return out
    if isinstance(a, tuple) and isinstance(b, tuple) and a[0] == b[0] == "object":
        ka, kb = dict(a[1]), dict(b[1])
        for k in sorted(set(ka) | set(kb)):
            if k not in ka:
                out.append((f"{path}.{k}", "missing", describe(kb[k])))
            elif k not in kb:
                out.append((f"{path}.{k}", describe(ka[k]), "missing"))
            else:
                out += differences(ka[k], kb[k], f"{path}.{k}")
        return out
    if isinstance(a, tuple) and isinstance(b, tuple) and a[0] == b[0] and a[0] in ("list", "map"):
        # An empty list or map matches any; otherwise every item shape of one must be in the other,
        # objects compared key by key with their counterpart of the same kind.
        if not a[1] or not b[1]:
            return out
        for x in a[1]:
            if x in b[1]:
                continue
            partner = next((y for y in b[1] if kind(y) == kind(x)), None)
            out += differences(x, partner, path + "[]") if partner is not None else [(path + "[]", describe(x), "no such item")]
        for y in b[1]:
            if y not in a[1] and not any(kind(x) == kind(y) for x in a[1]):
                out.append((path + "[]", "no such item", describe(y)))
        return out
    return [(path, describe(a), describe(b))]


def kind(s):
    """Items of one list are paired by type, and objects by their "type" key when they have one."""
    if isinstance(s, tuple) and s[0] == "object":
        return ("object", dict(s[1]).get("type"))
    return s if isinstance(s, str) else s[0]


def describe(s):
    if isinstance(s, str):
        return s
    if s[0] == "object":
        return "object{" + ",".join(k for k, _ in s[1]) + "}"
    return s[0]


def requests_at(t):
    q = urllib.parse.quote
    return [
        "query?query=up",
        "query?query=" + q("rate(http_requests_total[1m])"),
        "query?query=" + q("scalar(up)"),
        "query?query=" + q('"text"'),
        f"query_range?query=up&start={t - 10}&end={t}&step=1",
        "labels",
        "labels?match[]=up",
        "label/job/values",
        "label/__name__/values",
        "series?match[]=up",
        "series?match[]=" + q('{__name__=~"http_.*",code="200"}'),
        "metadata",
        "metadata?metric=rpc_duration_seconds",
        "metadata?limit=1",
        "targets/metadata?match_target=" + q('{job="web"}'),
        "targets/metadata?metric=http_requests_total",
        "scrape_pools",
        "targets",
        "targets?state=active",
        "rules",
        "rules?type=alert",
        "rules?type=record",
        "alerts",
        "status/buildinfo",
        "status/runtimeinfo",
        "status/flags",
        "status/config",
        "status/tsdb",
        "format_query?query=" + q("sum(rate(x[5m]))by(job)"),
        f"query_exemplars?query=up&start={t - 60}&end={t}",
        # Refused requests: the same status and error shape.
        "series",
        "query?query=" + q("sum("),
        f"query_range?query=up&start={t}&end={t - 10}&step=1",
        "label/job/values?start=yesterday",
        "targets/metadata?match_target=" + q("{job="),
        "metadata?limit=many",
    ]


# Where the agent answers as Prometheus 3 (or adds to the shape) and 2.42 differs: path → why.
ALLOWED = {
    ("status/runtimeinfo", "data.hostname"): "Prometheus 3 adds it",
    ("status/runtimeinfo", "data.serverTime"): "Prometheus 3 adds it",
    ("status/runtimeinfo", "data.GOMEMLIMIT"): "Prometheus 3 adds it",
    ("targets", "data.droppedTargetCounts"): "Prometheus 3 adds it",
    ("targets?state=active", "data.droppedTargetCounts"): "Prometheus 3 adds it (null when not asked for)",
    ("alerts", "data.alerts[].severity"): "the agent's tier",
    ("alerts", "data.alerts[].firedAt"): "the agent's extra",
    ("alerts", "data.alerts[].source"): "the agent's extra",
}


def compare(agent, prometheus, t):
    failed = 0
    for request in requests_at(t):
        (sa, a), (sb, b) = get(agent, "/api/v1/" + request), get(prometheus, "/api/v1/" + request)
        endpoint = request.split("?")[0]
        top_map = endpoint in MAP_ANSWERS
        da = shape({k: v for k, v in a.items() if k != "data"})
        db = shape({k: v for k, v in b.items() if k != "data"})
        diffs = differences(da, db, "")
        if sa != sb:
            diffs.append(("HTTP status", str(sa), str(sb)))
        if a.get("errorType") != b.get("errorType"):
            diffs.append(("errorType", str(a.get("errorType")), str(b.get("errorType"))))
        if "data" in a or "data" in b:
            diffs += differences(shape(a.get("data"), top_map=top_map), shape(b.get("data"), top_map=top_map))
        for path, x, y in diffs:
            why = ALLOWED.get((request, path))
            if why:
                print(f"allowed {request} {path}: agent {x}, prometheus {y} ({why})")
            else:
                failed += 1
                print(f"DIFF {request} {path}: agent {x}, prometheus {y}")
        if not diffs:
            print(f"same {request}")
    return 1 if failed else 0


def client(url):
    from datetime import datetime, timedelta
    from prometheus_api_client import PrometheusConnect

    prom = PrometheusConnect(url=url, disable_ssl=True)
    now = datetime.now()
    calls = [
        ("check_prometheus_connection", lambda: prom.check_prometheus_connection() or fail("not reachable")),
        ("all_metrics", lambda: need("http_requests_total" in prom.all_metrics(), prom.all_metrics())),
        ("get_label_names", lambda: need("job" in prom.get_label_names(), prom.get_label_names())),
        ("get_label_values", lambda: need("web" in prom.get_label_values("job"), prom.get_label_values("job"))),
        ("get_series", lambda: need(prom.get_series(now - timedelta(minutes=5), now, params={"match[]": "up"}), "no series")),
        ("get_current_metric_value", lambda: need(prom.get_current_metric_value("http_requests_total", {"code": "500"}), "no value")),
        ("get_metric_range_data", lambda: need(prom.get_metric_range_data("up", start_time=now - timedelta(seconds=30), end_time=now,
                                                                          chunk_size=timedelta(seconds=10)), "no data")),
        ("custom_query", lambda: need(prom.custom_query("sum by (code) (http_requests_total)"), "no result")),
        ("custom_query_range", lambda: need(prom.custom_query_range("up", now - timedelta(seconds=30), now, "5s"), "no result")),
        ("get_metric_aggregation", lambda: need(prom.get_metric_aggregation("up", ["sum", "max", "min", "average", "percentile_50", "deviation"],
                                                                            now - timedelta(seconds=30), now, "5s"), "no aggregation")),
        ("get_targets", lambda: need(prom.get_targets()["activeTargets"], "no targets")),
        ("get_targets(state, scrape_pool)", lambda: need(prom.get_targets(state="active", scrape_pool="web")["activeTargets"], "no targets")),
        ("get_scrape_pools", lambda: need(prom.get_scrape_pools() == ["web"], prom.get_scrape_pools())),
        ("get_target_metadata", lambda: need(prom.get_target_metadata({"job": "web"}, metric="rpc_duration_seconds"), "no metadata")),
        ("get_metric_metadata", lambda: need(prom.get_metric_metadata("http_request_duration_seconds")
                                             == [{"metric_name": "http_request_duration_seconds", "type": "histogram",
                                                  "help": "How long the service took to answer, by route.", "unit": ""}],
                                             prom.get_metric_metadata("http_request_duration_seconds"))),
        ("get_metric_metadata(limits)", lambda: need(len(prom.get_metric_metadata(None, limit=1, limit_per_metric=1)) == 1, "limit ignored")),
    ]
    failures = 0
    for name, call in calls:
        try:
            got = call()
            print(f"ok {name}: {str(got)[:100]}")
        except Exception as e:  # every failure is reported, then the exit code says it
            failures += 1
            print(f"FAIL {name}: {type(e).__name__}: {e}")
    return 1 if failures else 0


def need(value, context):
    if not value:
        fail(f"unexpected answer: {context!r}"[:300])
    return value


def fail(why):
    raise AssertionError(why)


if __name__ == "__main__":
    if sys.argv[1] == "client":
        sys.exit(client(sys.argv[2]))
    sys.exit(compare(sys.argv[2], sys.argv[3], float(sys.argv[4])))
