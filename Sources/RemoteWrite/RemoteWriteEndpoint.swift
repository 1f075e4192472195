public import Ingest
public import TimeSeries

/// One `remote_write` endpoint: where to send, how, and how fast — Prometheus's keys, where they apply.
public struct RemoteWriteEndpoint: Sendable, Equatable {
    /// The receiver's write URL (`http://` or `https://`), e.g. `http://prometheus:9090/api/v1/write`.
    public var url: String
    /// Names the endpoint in metrics, logs and its state file (`name:`; by default a hash of the URL).
    public var name: String
    /// Whole-request deadline (`remote_timeout`, default 30 s).
    public var timeout: Milliseconds = 30_000
    /// Extra headers (`headers:`); the protocol's own headers cannot be overridden.
    public var headers: [HTTPHeader] = []
    /// `basic_auth` or `authorization`, read from files at send time.
    public var authorization: HTTPAuthorization?
    /// `tls_config`.
    public var tls = TLSOptions()
    /// `write_relabel_configs`, applied after the external labels are added, as Prometheus does.
    public var relabel: [RelabelRule] = []
    /// `queue_config`.
    public var queue = Queue()

    /// `queue_config`: batch size, pacing, backoff and concurrency. There is no `capacity`: the
    /// rings are the buffer.
    public struct Queue: Sendable, Equatable {
        /// Most samples in one request (`max_samples_per_send`, default 2000).
        public var maxSamplesPerSend = 2_000
        /// How long new samples wait before they are sent (`batch_send_deadline`, default 5 s).
        public var batchSendDeadline: Milliseconds = 5_000
        /// First retry delay, doubled on each retry (`min_backoff`, default 30 ms).
        public var minBackoff: Milliseconds = 30
        /// Longest retry delay (`max_backoff`, default 5 s).
        public var maxBackoff: Milliseconds = 5_000
        /// Retry on 429 Too Many Requests (`retry_on_http_429`, default true: the samples wait in
        /// the rings, so waiting costs nothing, while dropping loses them).
        public var retryOnHTTP429 = true
        /// Requests in flight at once (`max_shards`, default 1): series are split into this many
        /// shards by the hash of their labels, each sending in order.
        public var maxShards = 1

        public init() {}
    }

    public init(url: String, name: String? = nil) {
        self.url = url
        self.name = name ?? RemoteWriteEndpoint.defaultName(for: url)
    }

    /// Prometheus's default: a short hash of the endpoint (here of its URL), stable across restarts.
    public static func defaultName(for url: String) -> String {
        let hash = Labels([("url", url)]).stableHash
        let hex = String(hash, radix: 16)
        return String((String(repeating: "0", count: max(0, 16 - hex.count)) + hex).prefix(6))
    }

    /// The URL without credentials or query (which may hold secrets), for metrics and logs.
    public var redactedURL: String {
        var rest = Substring(url)
        var scheme = ""
        if let range = rest.firstRange(of: "://") {
            scheme = String(rest[..<range.upperBound])
            rest = rest[range.upperBound...]
        }
        if let slash = rest.firstIndex(of: "/"), let at = rest[..<slash].lastIndex(of: "@") {
            rest = rest[rest.index(after: at)...]
        } else if rest.firstIndex(of: "/") == nil, let at = rest.lastIndex(of: "@") {
            rest = rest[rest.index(after: at)...]
        }
        if let q = rest.firstIndex(where: { $0 == "?" || $0 == "#" }) { rest = rest[..<q] }
        return scheme + rest
    }
}
