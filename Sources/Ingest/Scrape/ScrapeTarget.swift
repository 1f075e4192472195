public import TimeSeries
#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
#if canImport(Glibc)
import Glibc
#endif

/// How a target's response is read.
public enum ScrapeFormat: String, Sendable, Hashable, CaseIterable {
    /// A Prometheus text or OpenMetrics page.
    case prometheus
    /// A health endpoint checked like a blackbox probe (`probe_*` series).
    case health
}

/// One endpoint to scrape: where it is, how to reach it, and which labels its series get.
///
/// The daemon builds these from the `scrape:` section of the configuration; `agent scrape` builds
/// one from its arguments. Defaults are Prometheus's, plus bounds Prometheus leaves open.
public struct ScrapeTarget: Sendable, Equatable {
    /// The URL scraped.
    public var url: String
    /// The `job` label.
    public var job: String
    /// The `instance` label (by default the URL's `host:port`).
    public var instance: String
    /// Further labels for every series of the target.
    public var labels: [String: String]
    public var format: ScrapeFormat
    /// Time between scrapes, in milliseconds.
    public var interval: Milliseconds
    /// Deadline of one scrape, in milliseconds.
    public var timeout: Milliseconds
    /// On a conflict between a scraped label and a target label, keep the scraped one (true) or
    /// keep the target's and rename the scraped one to `exported_<name>` (false, the default).
    public var honorLabels: Bool
    /// Use the timestamps a page gives (true, the default) or the scrape's time for every sample.
    public var honorTimestamps: Bool
    /// Rewrites of each scraped series' labels, in order, before it is stored.
    public var metricRelabelConfigs: [RelabelRule]
    /// Format to assume when the Content-Type names neither exposition format.
    public var fallbackFormat: ExpositionFormat
    /// Bounds on what one scrape may bring.
    public var limits: ScrapeLimits
    /// How the HTTP request is made.
    public var http: HTTPOptions
    /// What a health target must answer (`format: health` only).
    public var health: HealthExpectations

    /// A target for `url`, with Prometheus's defaults.
    public init(
        url: String, job: String = "scrape", instance: String? = nil, labels: [String: String] = [:],
        format: ScrapeFormat = .prometheus, interval: Milliseconds = 15_000, timeout: Milliseconds = 10_000
    ) {
        self.url = url
        self.job = job
        self.instance = instance ?? ScrapeTarget.defaultInstance(of: url)
        self.labels = labels
        self.format = format
        self.interval = interval
        self.timeout = timeout
        self.honorLabels = false
        self.honorTimestamps = true
        self.metricRelabelConfigs = []
        self.fallbackFormat = .prometheusText
        self.limits = ScrapeLimits()
        self.http = HTTPOptions()
        self.health = HealthExpectations()
    }

    /// `host:port` of a URL as written (IPv6 hosts in brackets); the URL itself when it has no host.
    public static func defaultInstance(of url: String) -> String {
        guard let components = URLComponents(string: url), var host = components.host, !host.isEmpty else { return url }
        if host.contains(":") && !host.hasPrefix("[") { host = "[\(host)]" }
        if let port = components.port { return "\(host):\(port)" }
        return host
    }

    /// The labels every series of the target gets: `job`, `instance` and the static labels.
    public var targetLabels: [(name: String, value: String)] {
        var out = [("instance", instance), ("job", job)]
        for (name, value) in labels.sorted(by: { $0.key < $1.key }) where name != "job" && name != "instance" {
            out.append((name, value))
        }
        return out.sorted { $0.0 < $1.0 }
    }
}

/// Bounds on one scrape. A scrape past a bound fails as a whole and says which bound, as in Prometheus.
public struct ScrapeLimits: Sendable, Hashable {
    /// Most samples kept after relabeling (0: no limit).
    public var sampleLimit: Int = 50_000
    /// Most labels on one series, `__name__` and target labels included (0: no limit).
    public var labelLimit: Int = 64
    /// Longest label name in bytes (0: no limit).
    public var labelNameLengthLimit: Int = 256
    /// Longest label value in bytes (0: no limit).
    public var labelValueLengthLimit: Int = 4096
    /// Largest body accepted, decompressed.
    public var bodySizeLimit: Int = HTTPRequest.defaultBodyLimit
    /// Most metric families whose TYPE, HELP and UNIT are kept (further ones are counted, not kept).
    public var metadataLimit: Int = 4096

    public init() {}
}

/// How a scrape's HTTP request is made.
public struct HTTPOptions: Sendable, Equatable {
    public var headers: [HTTPHeader] = []
    public var tls = TLSOptions()
    public var authorization: HTTPAuthorization? = nil
    /// Follow up to this many redirects (0: none).
    public var maxRedirects: Int = 10
    public var acceptGzip = true

    public init() {}
}
