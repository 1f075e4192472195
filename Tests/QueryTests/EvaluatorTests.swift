import Testing
import Query
import TimeSeries

/// The evaluator against expected values worked out by hand from Prometheus's documented
/// semantics (Prometheus 3: left-open windows `(t − range, t]`). Each script is a specification.
@Suite("Evaluator")
struct EvaluatorTests {
    static let scripts: [(String, String)] = [
        ("rate, increase and delta extrapolate to the window edges", """
        load 1m
          http_requests_total{path="/foo"} 0+10x10
          resets_total 10 20 30 5 15 25
          sparse_total _ _ 10 20
          gauge_g 10 5 8 2 4 6
        # Samples at 1m..5m: increase 40 over 240 s, extrapolated by 60 s to the start: ×1.25.
        eval instant at 5m increase(http_requests_total[5m])
          {path="/foo"} 50
        eval instant at 5m rate(http_requests_total[5m])
          {path="/foo"} 0.16666666666666666
        eval instant at 10m increase(http_requests_total[5m])
          {path="/foo"} 50
        # Samples 0, 10, 20 at 0, 1m, 2m in (-30s, 2m30s]: the counter's zero point (at 0) caps
        # the extrapolation to the start; 30 s are added at the end: 20 × 150/120.
        eval instant at 2m30s increase(http_requests_total[3m])
          {path="/foo"} 25
        # A reset (30 → 5) adds the value before it: 25 − 20 + 30 = 35, then ×1.25.
        eval instant at 5m increase(resets_total[5m])
          {} 43.75
        eval instant at 5m rate(resets_total[5m])
          {} 0.14583333333333334
        # Samples at 2m and 3m only: more than 1.1 intervals from either edge, so the series is
        # extrapolated by half an interval on each side: 10 × 120/60.
        eval instant at 5m increase(sparse_total[5m])
          {} 20
        eval instant at 5m rate(sparse_total[5m])
          {} 0.06666666666666667
        # delta on a gauge: no reset handling, same extrapolation: (6 − 5) × 1.25.
        eval instant at 5m delta(gauge_g[5m])
          {} 1.25
        # One sample in the window: no rate.
        eval instant at 5m rate(http_requests_total[1m])
        """),
        ("irate, idelta, deriv, predict_linear, resets and changes", """
        load 1m
          http_requests_total{path="/foo"} 0+10x10
          irate_reset_total 10 20 5
          gauge_g 10 5 8 2 4 6
          lin 0+2x10
          resets_total 10 20 30 5 15 25
          changes_g 1 1 2 2 3 3
          nans NaN NaN 1 NaN
        eval instant at 5m irate(http_requests_total[5m])
          {path="/foo"} 0.16666666666666666
        # The last two samples show a reset (20 → 5): the rate is 5 over 60 s.
        eval instant at 2m irate(irate_reset_total[5m])
          {} 0.08333333333333333
        eval instant at 5m idelta(gauge_g[5m])
          {} 2
        eval instant at 5m deriv(lin[5m])
          {} 0.03333333333333333
        # Regression through (1m,2) … (5m,10): 10 at 5m, slope 1/30 per second.
        eval instant at 5m predict_linear(lin[5m], 3600)
          {} 130
        eval instant at 5m resets(resets_total[5m])
          {} 1
        eval instant at 5m changes(changes_g[5m])
          {} 2
        # NaN to NaN is no change; NaN to 1 and 1 to NaN are.
        eval instant at 3m changes(nans[5m])
          {} 2
        """),
        ("_over_time functions", """
        load 1m
          gauge_g 10 5 8 2 4 6
        eval instant at 5m avg_over_time(gauge_g[5m])
          {} 5
        eval instant at 5m min_over_time(gauge_g[5m])
          {} 2
        eval instant at 5m max_over_time(gauge_g[5m])
          {} 8
        eval instant at 5m sum_over_time(gauge_g[5m])
          {} 25
        eval instant at 5m count_over_time(gauge_g[5m])
          {} 5
        eval instant at 5m last_over_time(gauge_g[5m])
          gauge_g 6
        eval instant at 5m quantile_over_time(0.5, gauge_g[5m])
          {} 5
        eval instant at 5m quantile_over_time(0.9, gauge_g[5m])
          {} 7.2
        eval instant at 5m quantile_over_time(-1, gauge_g[5m])
          {} -Inf
        eval instant at 5m quantile_over_time(2, gauge_g[5m])
          {} +Inf
        eval instant at 5m stddev_over_time(gauge_g[5m])
          {} 2
        eval instant at 5m stdvar_over_time(gauge_g[5m])
          {} 4
        eval instant at 5m present_over_time(gauge_g[5m])
          {} 1
        eval instant at 5m count_over_time(gauge_g[1m])
          {} 1
        """),
        ("lookback, staleness, offset, @ and subqueries", """
        load 1m
          up{job="a"} 1 1 stale
          gone{job="b"} 1
          metric 0+1x10
        eval instant at 1m30s up
          up{job="a"} 1
        # The staleness marker at 2m ends the series at once, not after 5 minutes.
        eval instant at 2m up
        eval instant at 4m59s gone
          gone{job="b"} 1
        # The lookback window is (t − 5m, t]: the sample at 0 is out at 5m.
        eval instant at 5m gone
        eval instant at 10m metric offset 3m
          metric 7
        eval instant at 10m metric @ 120
          metric 2
        eval instant at 10m metric @ 120 offset 1m
          metric 1
        eval instant at 10m sum_over_time(metric[3m] offset 2m)
          {} 21
        eval instant at 10m timestamp(metric)
          {} 600
        eval instant at 9m30s timestamp(metric)
          {} 540
        eval instant at 9m30s timestamp(metric + 0)
          {} 570
        eval instant at 10m time()
          600
        eval instant at 10m max_over_time(metric[5m:1m])
          {} 10
        eval instant at 10m min_over_time(metric[5m:1m])
          {} 6
        # Steps are aligned to multiples of the resolution: 6m, 8m, 10m.
        eval instant at 10m count_over_time(metric[5m:2m])
          {} 3
        eval instant at 10m rate(metric[5m:1m])
          {} 0.016666666666666666
        eval instant at 10m max_over_time(rate(metric[2m])[5m:])
          {} 0.016666666666666666
        eval instant at 10m absent(up{job="a"})
          {job="a"} 1
        eval instant at 1m absent(up{job="a"})
        eval instant at 10m absent(nonexistent{job="x", env=~"p.*"})
          {job="x"} 1
        eval instant at 10m absent(sum(nonexistent))
          {} 1
        eval instant at 10m absent_over_time(up[10m])
        eval instant at 10m absent_over_time(up{job="a"}[5m])
          {job="a"} 1
        eval instant at 10m present_over_time(up[10m])
          {job="a"} 1
        """),
        ("aggregations", """
        load 5m
          http_requests{job="api-server", instance="0", group="production"} 0+10x10
          http_requests{job="api-server", instance="1", group="production"} 0+20x10
          http_requests{job="api-server", instance="0", group="canary"} 0+30x10
          http_requests{job="api-server", instance="1", group="canary"} 0+40x10
          http_requests{job="app-server", instance="0", group="production"} 0+50x10
          http_requests{job="app-server", instance="1", group="production"} 0+60x10
          http_requests{job="app-server", instance="0", group="canary"} 0+70x10
          http_requests{job="app-server", instance="1", group="canary"} 0+80x10
        eval instant at 50m sum by (job) (http_requests)
          {job="api-server"} 1000
          {job="app-server"} 2600
        eval instant at 50m sum(http_requests) by (job)
          {job="api-server"} 1000
          {job="app-server"} 2600
        eval instant at 50m sum without (instance) (http_requests)
          {group="canary", job="api-server"} 700
          {group="production", job="api-server"} 300
          {group="canary", job="app-server"} 1500
          {group="production", job="app-server"} 1100
        eval instant at 50m sum(http_requests)
          {} 3600
        eval instant at 50m sum by (nonexistent) (http_requests)
          {} 3600
        eval instant at 50m sum(nonexistent_metric)
        eval instant at 50m avg by (job) (http_requests)
          {job="api-server"} 250
          {job="app-server"} 650
        eval instant at 50m count by (group) (http_requests)
          {group="canary"} 4
          {group="production"} 4
        eval instant at 50m min by (job) (http_requests)
          {job="api-server"} 100
          {job="app-server"} 500
        eval instant at 50m max by (job) (http_requests)
          {job="api-server"} 400
          {job="app-server"} 800
        eval instant at 50m stddev by (job) (http_requests)
          {job="api-server"} 111.80339887498948
          {job="app-server"} 111.80339887498948
        eval instant at 50m stdvar by (job) (http_requests)
          {job="api-server"} 12500
          {job="app-server"} 12500
        eval instant at 50m quantile(0.5, http_requests)
          {} 450
        eval instant at 50m quantile by (job) (0.25, http_requests)
          {job="api-server"} 175
          {job="app-server"} 575
        eval_ordered instant at 50m topk(3, http_requests)
          http_requests{group="canary", instance="1", job="app-server"} 800
          http_requests{group="canary", instance="0", job="app-server"} 700
          http_requests{group="production", instance="1", job="app-server"} 600
        eval_ordered instant at 50m bottomk(2, http_requests)
          http_requests{group="production", instance="0", job="api-server"} 100
          http_requests{group="production", instance="1", job="api-server"} 200
        eval instant at 50m topk by (job) (1, http_requests)
          http_requests{group="canary", instance="1", job="api-server"} 400
          http_requests{group="canary", instance="1", job="app-server"} 800
        eval instant at 50m topk(0, http_requests)
        eval instant at 50m count_values("value", http_requests{job="api-server"})
          {value="100"} 1
          {value="200"} 1
          {value="300"} 1
          {value="400"} 1
        eval instant at 50m count_values("v", clamp_max(http_requests, 300))
          {v="100"} 1
          {v="200"} 1
          {v="300"} 6
        eval instant at 50m group by (job) (http_requests)
          {job="api-server"} 1
          {job="app-server"} 1
        """),
        ("binary operators and vector matching", """
        load 1m
          method_code:http_errors:rate5m{method="get", code="500"} 24
          method_code:http_errors:rate5m{method="get", code="404"} 30
          method_code:http_errors:rate5m{method="put", code="501"} 3
          method_code:http_errors:rate5m{method="post", code="500"} 6
          method_code:http_errors:rate5m{method="post", code="404"} 21
          method:http_requests:rate5m{method="get"} 600
          method:http_requests:rate5m{method="del"} 34
          method:http_requests:rate5m{method="post"} 120
          info{method="get", team="web"} 1
          info{method="post", team="api"} 1
          dup_a{x="1"} 1
          dup_b{x="1"} 2
          :colon_first:metric{a="1"} 7
        eval instant at 1m method_code:http_errors:rate5m{code="500"} / ignoring(code) method:http_requests:rate5m
          {method="get"} 0.04
          {method="post"} 0.05
        eval instant at 1m method_code:http_errors:rate5m / ignoring(code) group_left method:http_requests:rate5m
          {method="get", code="500"} 0.04
          {method="get", code="404"} 0.05
          {method="post", code="500"} 0.05
          {method="post", code="404"} 0.175
        eval instant at 1m method_code:http_errors:rate5m / on(method) group_left method:http_requests:rate5m
          {method="get", code="500"} 0.04
          {method="get", code="404"} 0.05
          {method="post", code="500"} 0.05
          {method="post", code="404"} 0.175
        eval instant at 1m method:http_requests:rate5m / ignoring(code) group_right method_code:http_errors:rate5m
          {method="get", code="500"} 25
          {method="get", code="404"} 20
          {method="post", code="500"} 20
          {method="post", code="404"} 5.714285714285714
        eval instant at 1m method:http_requests:rate5m * on(method) group_left(team) info
          {method="get", team="web"} 600
          {method="post", team="api"} 120
        eval_fail instant at 1m method_code:http_errors:rate5m / ignoring(code) method:http_requests:rate5m
          multiple matches for labels: many-to-one matching must be explicit (group_left/group_right)
        eval_fail instant at 1m method:http_requests:rate5m / ignoring(code) group_left method_code:http_errors:rate5m
          found duplicate series for the match group {method="get"} on the right hand-side of the operation
          many-to-many matching not allowed: matching labels must be unique on one side
        eval_fail instant at 1m method_code:http_errors:rate5m / on(method) group_right method:http_requests:rate5m
          found duplicate series for the match group {method="get"} on the left hand-side of the operation
        eval_fail instant at 1m {__name__=~"dup_.*"} * 2
          vector cannot contain metrics with the same labelset
        eval instant at 1m method:http_requests:rate5m > 100
          method:http_requests:rate5m{method="get"} 600
          method:http_requests:rate5m{method="post"} 120
        eval instant at 1m method:http_requests:rate5m > bool 100
          {method="get"} 1
          {method="del"} 0
          {method="post"} 1
        eval instant at 1m 100 < method:http_requests:rate5m
          method:http_requests:rate5m{method="get"} 600
          method:http_requests:rate5m{method="post"} 120
        eval instant at 1m method:http_requests:rate5m + 1
          {method="get"} 601
          {method="del"} 35
          {method="post"} 121
        eval instant at 1m -method:http_requests:rate5m{method="del"}
          {method="del"} -34
        eval instant at 1m method:http_requests:rate5m == method:http_requests:rate5m
          method:http_requests:rate5m{method="get"} 600
          method:http_requests:rate5m{method="del"} 34
          method:http_requests:rate5m{method="post"} 120
        eval instant at 1m method:http_requests:rate5m != bool on(method) method:http_requests:rate5m
          {method="get"} 0
          {method="del"} 0
          {method="post"} 0
        eval instant at 1m method_code:http_errors:rate5m and on(method) method:http_requests:rate5m{method="get"}
          method_code:http_errors:rate5m{method="get", code="500"} 24
          method_code:http_errors:rate5m{method="get", code="404"} 30
        eval instant at 1m method_code:http_errors:rate5m unless on(method) method:http_requests:rate5m
          method_code:http_errors:rate5m{method="put", code="501"} 3
        eval instant at 1m method:http_requests:rate5m{method="get"} or method:http_requests:rate5m
          method:http_requests:rate5m{method="get"} 600
          method:http_requests:rate5m{method="del"} 34
          method:http_requests:rate5m{method="post"} 120
        eval instant at 1m method:http_requests:rate5m{method="get"} or vector(1)
          method:http_requests:rate5m{method="get"} 600
          {} 1
        eval instant at 1m 2 * 3 ^ 2
          18
        eval instant at 1m -2 ^ 2
          -4
        eval instant at 1m 2 ^ 3 ^ 2
          512
        eval instant at 1m 10 % 3
          1
        eval instant at 1m 1 / 0
          +Inf
        eval instant at 1m 0 / 0
          NaN
        eval instant at 1m 1 atan2 1
          0.7853981633974483
        eval instant at 1m 1 < bool 2
          1
        # atan2 keeps the metric name, as in Prometheus.
        eval instant at 1m method:http_requests:rate5m{method="del"} atan2 0
          method:http_requests:rate5m{method="del"} 1.5707963267948966
        eval instant at 1m (1 + 2) * 3
          9
        # Prometheus 3 (VectorBinop): an empty side gives an empty result before anything is
        # checked, so the duplicates on the other side are no error.
        eval instant at 1m method_code:http_errors:rate5m / ignoring(code) nothing_here
        eval instant at 1m nothing_here / on(method) group_right method_code:http_errors:rate5m
        eval instant at 1m method:http_requests:rate5m / ignoring(code) group_left method_code:http_errors:rate5m{method="none"}
        # With both sides present, duplicates on the "one" side are an error even where nothing matches them.
        eval_fail instant at 1m method:http_requests:rate5m{method="del"} / ignoring(code) group_left method_code:http_errors:rate5m
          found duplicate series for the match group {method="get"} on the right hand-side of the operation
        # A second one-to-one match is an error even when the comparison filters both out.
        eval_fail instant at 1m method_code:http_errors:rate5m > ignoring(code) method:http_requests:rate5m
          multiple matches for labels: many-to-one matching must be explicit (group_left/group_right)
        # Metric names may start with a colon outside brackets; inside, a colon is a subquery's.
        eval instant at 1m :colon_first:metric
          :colon_first:metric{a="1"} 7
        eval instant at 1m sum by (a) (:colon_first:metric) + max_over_time(:colon_first:metric[2m:1m])
          {a="1"} 14
        """),
        ("histogram_quantile over classic buckets", """
        load 1m
          req_bucket{job="a", le="0.1"} 0+1x10
          req_bucket{job="a", le="0.5"} 0+3x10
          req_bucket{job="a", le="1"} 0+5x10
          req_bucket{job="a", le="+Inf"} 0+6x10
          req_bucket{job="b", le="1"} 0+2x10
          req_bucket{job="b", le="2"} 0+4x10
          req_bucket{job="b", le="+Inf"} 0+4x10
          nobound_bucket{le="1"} 0+1x10
          neg_bucket{le="-1"} 0+5x10
          neg_bucket{le="0"} 0+8x10
          neg_bucket{le="+Inf"} 0+10x10
          nonmono_bucket{le="1"} 10x10
          nonmono_bucket{le="2"} 5x10
          nonmono_bucket{le="3"} 20x10
          nonmono_bucket{le="+Inf"} 20x10
          empty_bucket{le="1"} 0+0x10
          empty_bucket{le="+Inf"} 0+0x10
          badle_bucket{le="abc"} 1x10
        # Counts at 10m: job a 10/30/50/60, job b 20/40/40.
        eval instant at 10m histogram_quantile(0.5, req_bucket)
          {job="a"} 0.5
          {job="b"} 1
        eval instant at 10m histogram_quantile(0.25, req_bucket{job="a"})
          {job="a"} 0.2
        # The lowest bucket starts at 0.
        eval instant at 10m histogram_quantile(0.1, req_bucket{job="a"})
          {job="a"} 0.06
        eval instant at 10m histogram_quantile(0, req_bucket{job="a"})
          {job="a"} 0
        # In the +Inf bucket: the highest finite bound.
        eval instant at 10m histogram_quantile(0.95, req_bucket{job="a"})
          {job="a"} 1
        eval instant at 10m histogram_quantile(1, req_bucket{job="a"})
          {job="a"} 1
        eval instant at 10m histogram_quantile(0.99, req_bucket{job="b"})
          {job="b"} 1.98
        eval instant at 10m histogram_quantile(-1, req_bucket{job="a"})
          {job="a"} -Inf
        eval instant at 10m histogram_quantile(2, req_bucket{job="a"})
          {job="a"} +Inf
        eval instant at 10m histogram_quantile(NaN, req_bucket{job="a"})
          {job="a"} NaN
        eval instant at 10m histogram_quantile(0.5, rate(req_bucket[5m]))
          {job="a"} 0.5
          {job="b"} 1
        # Summed per le: 0.1→1, 0.5→3, 1→7, 2→4 (forced up to 7), +Inf→10 per minute; rank 7.5 is in +Inf.
        eval instant at 10m histogram_quantile(0.75, sum by (le) (rate(req_bucket[5m])))
          {} 2
        # Without a +Inf bucket there is no answer.
        eval instant at 10m histogram_quantile(0.5, nobound_bucket)
          {} NaN
        # A lowest bucket with an upper bound ≤ 0 answers with that bound.
        eval instant at 10m histogram_quantile(0.25, neg_bucket)
          {} -1
        eval instant at 10m histogram_quantile(0.6, neg_bucket)
          {} -0.6666666666666667
        eval instant at 10m histogram_quantile(0.9, neg_bucket)
          {} 0
        # Decreasing counts are forced monotonic (10, 10, 20, 20).
        eval instant at 10m histogram_quantile(0.5, nonmono_bucket)
          {} 1
        eval instant at 10m histogram_quantile(0.75, nonmono_bucket)
          {} 2.5
        eval instant at 10m histogram_quantile(0.5, empty_bucket)
          {} NaN
        eval instant at 10m histogram_quantile(0.5, badle_bucket)
        """),
        ("functions on instant vectors", """
        load 1m
          x{a="1"} -2.5
          x{a="2"} 3.7
          x{a="3"} 9
        eval instant at 1m abs(x)
          {a="1"} 2.5
          {a="2"} 3.7
          {a="3"} 9
        eval instant at 1m ceil(x)
          {a="1"} -2
          {a="2"} 4
          {a="3"} 9
        eval instant at 1m floor(x)
          {a="1"} -3
          {a="2"} 3
          {a="3"} 9
        eval instant at 1m round(x)
          {a="1"} -2
          {a="2"} 4
          {a="3"} 9
        eval instant at 1m round(x, 2)
          {a="1"} -2
          {a="2"} 4
          {a="3"} 10
        eval instant at 1m sqrt(x{a="3"})
          {a="3"} 3
        eval instant at 1m exp(x{a="3"} * 0)
          {a="3"} 1
        eval instant at 1m ln(x{a="3"})
          {a="3"} 2.1972245773362196
        eval instant at 1m log2(x{a="3"})
          {a="3"} 3.169925001442312
        eval instant at 1m log10(x{a="3"})
          {a="3"} 0.9542425094393249
        eval instant at 1m sqrt(x{a="1"})
          {a="1"} NaN
        eval instant at 1m sgn(x)
          {a="1"} -1
          {a="2"} 1
          {a="3"} 1
        eval instant at 1m clamp(x, 0, 5)
          {a="1"} 0
          {a="2"} 3.7
          {a="3"} 5
        eval instant at 1m clamp(x, 5, 0)
        eval instant at 1m clamp_min(x, 0)
          {a="1"} 0
          {a="2"} 3.7
          {a="3"} 9
        eval instant at 1m clamp_max(x, 0)
          {a="1"} -2.5
          {a="2"} 0
          {a="3"} 0
        eval instant at 1m scalar(x{a="3"})
          9
        eval instant at 1m scalar(x)
          NaN
        eval instant at 1m vector(3)
          {} 3
        eval_ordered instant at 1m sort(x)
          x{a="1"} -2.5
          x{a="2"} 3.7
          x{a="3"} 9
        eval_ordered instant at 1m sort_desc(x)
          x{a="3"} 9
          x{a="2"} 3.7
          x{a="1"} -2.5
        eval instant at 1m label_replace(x, "b", "$1-z", "a", "(.*)")
          x{a="1", b="1-z"} -2.5
          x{a="2", b="2-z"} 3.7
          x{a="3", b="3-z"} 9
        eval instant at 1m label_replace(x, "b", "$1", "a", "(2)")
          x{a="1"} -2.5
          x{a="2", b="2"} 3.7
          x{a="3"} 9
        eval instant at 1m label_replace(x{a="1"}, "a", "", "a", "1")
          x -2.5
        eval instant at 1m label_replace(x{a="1"}, "b", "${1}y", "a", "(.)")
          x{a="1", b="1y"} -2.5
        # Go's expansion reads "$1y" as the group named "1y", which does not exist.
        eval instant at 1m label_replace(x{a="1"}, "b", "$1y", "a", "(.)")
          x{a="1"} -2.5
        eval instant at 1m label_replace(x{a="1"}, "b", "$name!", "a", "(?P<name>.)")
          x{a="1", b="1!"} -2.5
        eval instant at 1m label_join(x{a="1"}, "b", "-", "a", "a")
          x{a="1", b="1-1"} -2.5
        eval_fail instant at 1m label_replace(x, "a", "same", "a", ".*")
          vector cannot contain metrics with the same labelset
        eval instant at 1m year(vector(1700000000))
          {} 2023
        eval instant at 1m month(vector(1700000000))
          {} 11
        eval instant at 1m day_of_month(vector(1700000000))
          {} 14
        eval instant at 1m hour(vector(1700000000))
          {} 22
        eval instant at 1m minute(vector(1700000000))
          {} 13
        eval instant at 1m day_of_week(vector(1700000000))
          {} 2
        eval instant at 1m day_of_year(vector(1700000000))
          {} 318
        eval instant at 1m days_in_month(vector(1700000000))
          {} 30
        eval instant at 1m minute()
          {} 1
        """),
        ("selectors with regular expressions", """
        load 1m
          req{route="/api/users", status="200"} 1
          req{route="/api/orders", status="503"} 2
          req{route="/health", status="200"} 3
        eval instant at 1m req{route=~"/api/.*"}
          req{route="/api/users", status="200"} 1
          req{route="/api/orders", status="503"} 2
        eval instant at 1m req{status=~"5.."}
          req{route="/api/orders", status="503"} 2
        eval instant at 1m req{route!~"/api/.*", status!="500"}
          req{route="/health", status="200"} 3
        eval instant at 1m {__name__=~"r.q", route="/health"}
          req{route="/health", status="200"} 3
        eval instant at 1m req{status=~"2..|5.."}
          req{route="/api/users", status="200"} 1
          req{route="/api/orders", status="503"} 2
          req{route="/health", status="200"} 3
        # Fully anchored: "api" does not match "/api/users".
        eval instant at 1m req{route=~"api"}
        eval instant at 1m req{missing=""}
          req{route="/api/users", status="200"} 1
          req{route="/api/orders", status="503"} 2
          req{route="/health", status="200"} 3
        eval instant at 1m req{route=~"(?i)/HEALTH"}
          req{route="/health", status="200"} 3
        eval instant at 1m {__name__="req", __name__="other"}
        """),
    ]

    @Test("scripts", arguments: scripts)
    func script(_ name: String, _ text: String) {
        let failures = QueryScript.run(text)
        for f in failures { Issue.record("\(name): \(f)") }
    }
}
