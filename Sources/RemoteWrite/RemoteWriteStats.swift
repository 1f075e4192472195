public import TimeSeries

/// What an endpoint has done, in the spirit of Prometheus's `prometheus_remote_storage_*`.
public struct RemoteWriteStats: Sendable, Equatable {
    /// Samples the receiver acknowledged (or refused as already stored: out of order, duplicate).
    public var samplesSent = 0
    /// Samples in requests the receiver refused for good (a 4xx other than 429); not sent again.
    public var samplesFailed = 0
    /// Samples in requests that failed and were sent again (5xx, 429, network and TLS errors).
    public var samplesRetried = 0
    /// Samples `write_relabel_configs` dropped.
    public var samplesDroppedRelabel = 0
    /// Samples that left the rings before they could be sent (an outage longer than the retention);
    /// estimated from each series' own sample density, as the samples themselves are gone.
    public var samplesDroppedRetention = 0
    /// Of `samplesSent`: samples in requests the receiver refused as out of order or duplicate.
    public var samplesRefusedAsStored = 0
    /// Compressed request bytes acknowledged.
    public var bytesSent = 0
    /// Requests acknowledged, refused for good, and failed (then retried).
    public var requestsSucceeded = 0, requestsFailed = 0, requestsRetried = 0
    /// Newest sample timestamp in an acknowledged request.
    public var highestSentTimestamp: Timestamp?
    /// Everything at or before this time has been acknowledged.
    public var watermark: Timestamp?
    /// The last error and when it happened (kept after a recovery: compare with `highestSentTimestamp`).
    public var lastError: String?
    public var lastErrorAt: Timestamp?
    /// Shards (requests that may be in flight at once), and those in flight now.
    public var shards = 1, inFlight = 0

    public init() {}
}
