import AgentClient
@testable import AgentDaemon
import Foundation
import Testing
import TimeSeries
import YAMLSupport
#if canImport(Glibc)
import Glibc
#endif

/// What the Prometheus endpoints check and bound, against the real daemon scraping the test page:
/// parameters validated first with Prometheus's messages, lists cut with a warning, filters,
/// the configuration without its secrets, the lifecycle's reload, and `/federate`'s edges.
@Suite(.serialized) struct PrometheusAPITests {
    let setup: PrometheusClientsTests.Setup
    let client: ControlClient

    init() throws {
        setup = try PrometheusClientsTests.Setup()
        client = ControlClient(socketPath: setup.agent.socket, timeout: 10)
        let scraped = eventually(within: 30) { [client] in
            (try? client.request("GET", "/api/v1/metadata")).map { String(decoding: $0.body, as: UTF8.self).contains("rpc_duration_seconds") } == true
        }
        #expect(scraped, "\(setup.agent.log)")
    }

    /// Status and body of a request to the agent.
    func get(_ path: String) throws -> (status: Int, body: String) {
        let r = try client.request("GET", path)
        return (r.status, String(decoding: r.body, as: UTF8.self))
    }

    func data(_ path: String) throws -> Any? {
        let (status, body) = try get(path)
        #expect(status == 200, "\(path): \(body)")
        return (try JSONSerialization.jsonObject(with: Data(body.utf8)) as? [String: Any])?["data"]
    }

    func q(_ s: String) -> String { s.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? "" }

    @Test(arguments: [
        ("/api/v1/series", 400, #"no match[] parameter provided"#),
        ("/api/v1/series?match[]=up%2B1", 400, #"invalid parameter \"match[]\""#),
        ("/api/v1/series?match[]=%7B%7D", 400, "at least one non-empty matcher"),
        ("/api/v1/series?match[]=up&limit=-1", 400, #"invalid parameter \"limit\": limit must be non-negative"#),
        ("/api/v1/labels?limit=abc", 400, #"strconv.Atoi: parsing \"abc\": invalid syntax"#),
        ("/api/v1/labels?start=yesterday", 400, #"invalid parameter \"start\""#),
        ("/api/v1/label/job/values?match[]=rate(", 400, "bad_data"),
        ("/api/v1/metadata?limit=x", 400, "limit must be a number"),
        ("/api/v1/metadata?limit_per_metric=x", 400, "limit_per_metric must be a number"),
        ("/api/v1/targets/metadata?match_target=%7B", 400, #"invalid parameter \"match_target\""#),
        ("/api/v1/rules?type=bogus", 400, #"not supported value \"bogus\""#),
        ("/api/v1/rules?exclude_alerts=maybe", 400, "exclude_alerts"),
        ("/api/v1/status/tsdb?limit=0", 400, "limit must be a positive number"),
        ("/api/v1/format_query?query=sum(", 400, #"invalid parameter \"query\""#),
        ("/api/v1/query_exemplars?query=up&start=2&end=1", 400, "end timestamp must not be before start timestamp"),
        ("/federate?match[]=%7B%7D", 400, "non-empty matcher"),
        ("/federate?match[]=%zz", 400, "invalid URL escape"),
    ])
    func badParametersAreRefusedWithPrometheusMessages(_ path: String, _ status: Int, _ message: String) throws {
        let (got, body) = try get(path)
        #expect(got == status && body.contains(message), "\(path): \(got) \(body)")
    }

    @Test func listsAreCutAtTheirLimitWithPrometheusWarning() throws {
        let (_, labels) = try get("/api/v1/labels?limit=2")
        #expect(labels.hasSuffix(#","warnings":["results truncated due to limit"]}"#), "\(labels)")
        let values = try #require(try data("/api/v1/label/__name__/values?limit=3") as? [String])
        #expect(values.count == 3)
        let (_, series) = try get("/api/v1/series?match[]=\(q(#"{job="web"}"#))&limit=1")
        #expect(series.contains(#""warnings":["results truncated due to limit"]"#), "\(series)")
        let (_, all) = try get("/api/v1/series?match[]=up")
        #expect(!all.contains("warnings"), "\(all)")
    }

    @Test func seriesAreListedInPrometheusLabelOrder() throws {
        let listed = try #require(try data("/api/v1/series?match[]=\(q(#"{job="web"}"#))") as? [[String: String]])
        #expect(listed.count > 10)
        // labels.Compare: label by label in name order, name then value; a label set that is a prefix first.
        func key(_ labels: [String: String]) -> [(String, String)] { labels.sorted { $0.key < $1.key }.map { ($0.key, $0.value) } }
        func precedes(_ a: [(String, String)], _ b: [(String, String)]) -> Bool {
            for (x, y) in zip(a, b) where x != y { return x.0 != y.0 ? x.0 < y.0 : x.1 < y.1 }
            return a.count < b.count
        }
        let keys = listed.map(key)
        #expect(zip(keys, keys.dropFirst()).allSatisfy { precedes($0, $1) }, "\(listed.map { $0["__name__"] ?? "" })")
        #expect(Self.precedesCheck(), "a prefix label set sorts first")
    }

    /// The daemon's comparison on a label set and its own prefix, and on names that are prefixes.
    static func precedesCheck() -> Bool {
        let short = [Label(name: "__name__", value: "a")], long = short + [Label(name: "job", value: "x")]
        let a = [Label(name: "a", value: "z")], ab = [Label(name: "ab", value: "a")]
        return Daemon.precedes(short, long) && !Daemon.precedes(long, short) && Daemon.precedes(a, ab) && !Daemon.precedes(ab, a)
    }

    @Test func labelValuesTakeEscapedNamesAndTheMetricName() throws {
        let job = try #require(try data("/api/v1/label/job/values") as? [String])
        #expect(job.contains("web"))
        #expect(try data("/api/v1/label/U__job/values") as? [String] == job, "U__ names are Prometheus 3's escaped form")
        #expect(try data("/api/v1/label/\(q("my.dotted label"))/values") as? [String] == [], "any UTF-8 name is a name")
        let names = try #require(try data("/api/v1/label/__name__/values?match[]=\(q(#"{__name__=~"rpc.*"}"#))") as? [String])
        #expect(names == ["rpc_duration_seconds", "rpc_duration_seconds_count", "rpc_duration_seconds_sum"])
        let past = try #require(try data("/api/v1/label/job/values?end=1000") as? [String])
        #expect(past.isEmpty, "nothing had samples in 1970")
    }

    @Test func rulesAreFilteredByTypeNameGroupAndLabels() throws {
        _ = eventually(within: 30) { ((try? data("/api/v1/alerts")) as? [String: Any]).flatMap { ($0["alerts"] as? [Any])?.count } == 2 }
        func names(_ query: String) throws -> [String] {
            let groups = ((try data("/api/v1/rules" + query) as? [String: Any])?["groups"] as? [[String: Any]]) ?? []
            return groups.flatMap { ($0["rules"] as? [[String: Any]] ?? []).compactMap { $0["name"] as? String } }
        }
        #expect(try names("") == ["job:http_requests:rate1m", "HotRoom", "SlowRPC"])
        #expect(try names("?type=alert") == ["HotRoom", "SlowRPC"])
        #expect(try names("?type=record") == ["job:http_requests:rate1m"])
        #expect(try names("?rule_name[]=SlowRPC&rule_name[]=HotRoom") == ["HotRoom", "SlowRPC"])
        #expect(try names("?rule_group[]=other") == [])
        #expect(try names("?file[]=\(q(setup.rulesPath))") == ["job:http_requests:rate1m", "HotRoom", "SlowRPC"])
        #expect(try names("?match[]=\(q(#"{severity="critical"}"#))") == ["SlowRPC"])
        let groups = try #require((try data("/api/v1/rules?type=alert") as? [String: Any])?["groups"] as? [[String: Any]])
        let rules = try #require(groups.first?["rules"] as? [[String: Any]])
        #expect(rules.map { $0["state"] as? String } == ["firing", "pending"])
        let hot = try #require((rules.first?["alerts"] as? [[String: Any]])?.first)
        #expect((hot["labels"] as? [String: String])?["severity"] == "warning" && hot["value"] as? String == "2.15e+01", "\(hot)")
        let excluded = try #require((try data("/api/v1/rules?exclude_alerts=true") as? [String: Any])?["groups"] as? [[String: Any]])
        #expect(((excluded.first?["rules"] as? [[String: Any]])?[1]["alerts"]) is NSNull)
    }

    @Test func targetsFilterByStateAndPoolAndPoolsAreListed() throws {
        let active = try #require(try data("/api/v1/targets?state=active") as? [String: Any])
        let target = try #require((active["activeTargets"] as? [[String: Any]])?.first)
        #expect(target["health"] as? String == "up" && target["scrapePool"] as? String == "web" && target["scrapeInterval"] as? String == "1s")
        #expect(active["droppedTargetCounts"] is NSNull)
        let dropped = try #require(try data("/api/v1/targets?state=dropped") as? [String: Any])
        #expect((dropped["activeTargets"] as? [Any])?.isEmpty == true && (dropped["droppedTargetCounts"] as? [String: Int]) == ["web": 0])
        let other = try #require(try data("/api/v1/targets?scrapePool=other") as? [String: Any])
        #expect((other["activeTargets"] as? [Any])?.isEmpty == true)
        #expect((try data("/api/v1/scrape_pools") as? [String: [String]]) == ["scrapePools": ["web"]])
    }

    @Test func metadataHonoursMetricAndLimits() throws {
        let all = try #require(try data("/api/v1/metadata") as? [String: [[String: String]]])
        #expect(all["http_request_duration_seconds"] == [["type": "histogram", "help": "How long the service took to answer, by route.", "unit": ""]])
        #expect(all["rpc_duration_seconds"]?.first?["type"] == "summary")
        #expect((try data("/api/v1/metadata?limit=2") as? [String: Any])?.count == 2)
        #expect((try data("/api/v1/metadata?metric=temperature_celsius") as? [String: Any])?.keys.sorted() == ["temperature_celsius"])
        let byTarget = try #require(try data("/api/v1/targets/metadata?match_target=\(q(#"{job="web"}"#))&limit=2") as? [[String: Any]])
        #expect(byTarget.count <= 4 && byTarget.allSatisfy { ($0["target"] as? [String: String])?["job"] == "web" && $0["metric"] != nil })
        #expect((try data("/api/v1/targets/metadata?match_target=\(q(#"{job="db"}"#))") as? [Any])?.isEmpty == true)
    }

    @Test func theConfigurationIsShownWithoutItsInlineSecrets() throws {
        try setup.agent.writeConfig(extraConfig: """
            rule_files: [\(setup.rulesPath)]
            scrape:
              - job: web
                targets: [\(setup.server.url("/pages/histograms.prom"))]
                headers: {X-Api-Key: scrape-header-secret}
                bearer_token_file: /run/credentials/agent.service/scrape-token
            notify:
              receivers:
                - name: chat
                  webhook: {url: "http://hook-user:hook-password@127.0.0.1:9/hook?token=url-secret", hmac_secret_env: HOOK_HMAC}
                - name: pager
                  slack: {url_file: /run/credentials/agent.service/slack_url}
            remote_write:
              - url: http://rw-user:rw-password@127.0.0.1:9/write
                basic_auth: {username: writer, password_file: /run/credentials/agent.service/rw}
            """)
        setup.agent.signal(SIGHUP)
        var yaml = ""
        let reloaded = eventually(within: 30) {
            yaml = ((try? data("/api/v1/status/config")) as? [String: String])?["yaml"] ?? ""
            return yaml.contains("remote_write")
        }
        #expect(reloaded, "\(setup.agent.log)")
        for secret in ["scrape-header-secret", "hook-password", "url-secret", "rw-password"] {
            #expect(!yaml.contains(secret), "\(secret) shown:\n\(yaml)")
        }
        for shown in ["/run/credentials/agent.service/scrape-token", "url_file: /run/credentials/agent.service/slack_url", "hmac_secret_env: HOOK_HMAC",
                      "password_file: /run/credentials/agent.service/rw", "url: \"<secret>\"", "X-Api-Key: \"<secret>\"", "http://rw-user:xxxxx@127.0.0.1:9/write"] {
            #expect(yaml.contains(shown), "\(shown) missing:\n\(yaml)")
        }
        var reader = YAMLReader(file: "status/config")
        #expect(reader.parse(yaml) != nil && reader.errors.isEmpty, "\(reader.errors)\n\(yaml)")
    }

    @Test func reloadIsRefusedUnlessTheLifecycleIsEnabled() throws {
        let refused = try client.request("POST", "/-/reload")
        #expect(refused.status == 403 && String(decoding: refused.body, as: UTF8.self) == "Lifecycle API is not enabled.")
        // Turn it on (listen settings other than the addresses follow a reload), by SIGHUP.
        let config = setup.agent.configText(extraConfig: "rule_files: [\(setup.rulesPath)]")
            .replacingOccurrences(of: "  http: \(setup.agent.http)\n", with: "  http: \(setup.agent.http)\n  enable_lifecycle: true\n")
        try config.write(toFile: setup.agent.configPath, atomically: true, encoding: .utf8)
        setup.agent.signal(SIGHUP)
        #expect(eventually(within: 30) { (try? client.request("POST", "/-/reload"))?.status == 200 }, "\(setup.agent.log)")
        // A broken rule file: 500 with the errors, and the running configuration stays.
        try "groups: [".write(toFile: setup.rulesPath, atomically: true, encoding: .utf8)
        let failed = try client.request("POST", "/-/reload")
        let text = String(decoding: failed.body, as: UTF8.self)
        #expect(failed.status == 500 && text.hasPrefix("failed to reload config: ") && text.contains("rules.yaml:"), "\(failed.status) \(text)")
        #expect(try get("/api/v1/status/flags").body.contains(#""web.enable-lifecycle":"true""#))
        #expect(try client.request("GET", "/-/reload").status == 405)
    }

    @Test func federationWithoutASelectorIsEmptyAndAddsAnEmptyInstance() throws {
        let empty = try client.request("GET", "/federate")
        #expect(empty.status == 200 && empty.body.isEmpty)
        let (status, page) = try get("/federate?match[]=\(q("agent_build_info"))&match[]=\(q(#"up{job="web"}"#))")
        #expect(status == 200)
        #expect(page.contains(#"agent_build_info{version="\#(AgentVersion.string)",host="api-1",instance=""} 1"#), "\(page)")
        #expect(page.contains(#"up{instance="127.0.0.1:\#(setup.server.port)",job="web",host="api-1"} 1 "#), "\(page)")
        #expect(!page.contains("rpc_duration_seconds"))
    }

    @Test func expressionsAreFormattedAndParsed() throws {
        #expect(try data("/api/v1/format_query?query=\(q("sum(rate(x[5m]))by(job)"))") as? String == "sum by (job) (rate(x[5m]))")
        let tree = try #require(try data("/api/v1/parse_query?query=\(q(#"up{job="a"} offset 1m"#))") as? [String: Any])
        #expect(tree["type"] as? String == "vectorSelector" && tree["offset"] as? Int == 60_000 && tree["name"] as? String == "up")
        let (_, noSelector) = try get("/api/v1/query_exemplars?query=1")
        #expect(noSelector == #"{"status":"success"}"#, "no data for a query without selectors, as Prometheus")
        #expect(try data("/api/v1/query_exemplars?query=up") as? [Any] != nil)
    }
}
