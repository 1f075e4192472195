import TimeSeries

/// Writes one target's exposition bodies into the store, as Prometheus's scrape loop appends them.
///
/// Model: a scrape is two passes. The parse pass reads the whole body with `ExpositionParser`,
/// looks every sample's raw series bytes up in the `SeriesCache` and queues (entry, value,
/// timestamp) in a reused buffer; only a series never seen before takes the slow path (decode its
/// labels, attach the target labels with `honor_labels` semantics, run `metric_relabel_configs`,
/// check the limits). Any error fails the scrape before anything is written, so a bad page never
/// leaves half a scrape in the store. The commit pass then holds the store's lock once: it resolves
/// new series, appends every queued sample, writes a staleness marker for each series the previous
/// scrape had and this one lacks, and writes the synthetic series (`up`,
/// `scrape_duration_seconds`, `scrape_samples_scraped`, `scrape_samples_post_metric_relabeling`,
/// `scrape_series_added`). The metadata lines (HELP, TYPE, UNIT) go to the target's
/// `MetadataTable` during the parse pass. A failed scrape commits an empty scrape: `up` 0 and staleness markers
/// for everything the last one had, as Prometheus does.
///
/// Owned by one `ScrapeLoop`, under its lock.
struct ScrapeIngester {
    struct PendingSample {
        var entry: Int32
        var hasTimestamp: Bool
        var value: Double
        var timestamp: Int64
    }

    let target: ScrapeTarget
    var cache = SeriesCache()
    /// Generation of the last committed scrape (0: none yet).
    var generation: UInt32 = 0
    var pending: [PendingSample] = []
    var scratch: [UInt8] = []
    var synthetic: SyntheticSeries
    let targetLabels: [(name: String, value: String)]
    /// TYPE, HELP and UNIT of the families of the last successful scrape.
    var metadata: MetadataTable

    init(target: ScrapeTarget) {
        self.target = target
        self.targetLabels = target.targetLabels
        self.synthetic = SyntheticSeries(targetLabels: target.targetLabels)
        self.metadata = MetadataTable(limit: target.limits.metadataLimit)
    }

    // MARK: Parse pass

    /// Parses `body` and queues its samples; throws the error that fails the scrape.
    /// `report` gets the counts so far even when it throws.
    mutating func parse(_ body: UnsafeRawBufferPointer, format: ExpositionFormat, report: inout ScrapeReport) throws(ScrapeError) {
        pending.removeAll(keepingCapacity: true)
        metadata.begin(generation: generation &+ 1)
        var parser = ExpositionParser(bytes: body, format: format)
        let sampleLimit = target.limits.sampleLimit
        var scraped = 0
        var kept = 0
        defer {
            report.samplesScraped = scraped
            report.samplesPostRelabeling = kept
        }
        while true {
            let entry: ExpositionParser.Entry?
            do {
                entry = try parser.next()
            } catch {
                throw ScrapeError(.parse, error.description)
            }
            guard let entry else { break }
            guard entry == .sample else {
                if entry != .comment { metadata.record(entry, parser) }
                continue
            }
            scraped += 1
            let key = parser.series
            let hash = cache.hash(key)
            let index: Int
            if let found = cache.find(key, hash: hash) {
                index = found
            } else {
                index = try addEntry(for: parser, key: key, hash: hash)
            }
            if cache.entries[index].disposition == .dropped { continue }
            kept += 1
            if sampleLimit > 0 && kept > sampleLimit {
                throw ScrapeError(.limit, "sample_limit exceeded: more than \(sampleLimit) samples after relabeling")
            }
            let ts = parser.timestamp
            pending.append(PendingSample(entry: Int32(index), hasTimestamp: ts != nil, value: parser.value, timestamp: ts ?? 0))
        }
    }

    /// The slow path for a series not in the cache: its final labels, relabeled and checked.
    mutating func addEntry(for parser: ExpositionParser, key: UnsafeRawBufferPointer, hash: UInt64) throws(ScrapeError) -> Int {
        let kind = Self.seriesKind(parser.sampleType, parser.sampleSuffix)
        let labels = try finalLabels(
            series: key, name: String(decoding: parser.metricName, as: UTF8.self), line: parser.line)
        guard let labels else {
            return cache.insert(key, hash: hash, ref: nil, disposition: .dropped, kind: kind)
        }
        // New entries start as "refused" with their labels kept: the commit pass resolves them.
        let index = cache.insert(key, hash: hash, ref: nil, disposition: .refused, kind: kind)
        cache.refusedLabels[index] = labels
        return index
    }

    /// Decodes, completes and relabels the labels of a raw series; nil when relabeling drops it.
    mutating func finalLabels(series: UnsafeRawBufferPointer, name: String, line: Int) throws(ScrapeError) -> Labels? {
        var labels: [String: String] = [Labels.metricName: name]
        var problem: String? = nil
        ExpositionParser.forEachLabel(inSeries: series, scratch: &scratch) { n, v in
            guard problem == nil else { return }
            let labelName = String(decoding: n, as: UTF8.self)
            guard let value = String(validating: v, as: UTF8.self) else {
                problem = "invalid UTF-8 in the value of label \"\(labelName)\""
                return
            }
            if labels[labelName] != nil {
                problem = "label name \"\(labelName)\" is not unique"
                return
            }
            labels[labelName] = value
        }
        if let problem { throw ScrapeError(.parse, "line \(line): \(problem)") }

        if target.honorLabels {
            for (n, v) in targetLabels where (labels[n] ?? "").isEmpty { labels[n] = v }
        } else {
            var conflicts: [(String, String)] = []
            for (n, v) in targetLabels {
                if let existing = labels[n], !existing.isEmpty { conflicts.append((n, existing)) }
                labels[n] = v
            }
            // As Prometheus: shortest names first, each under the first free `exported_…` name.
            for (n, v) in conflicts.sorted(by: { $0.0.count < $1.0.count }) {
                var exported = n
                repeat { exported = "exported_" + exported } while !(labels[exported] ?? "").isEmpty
                labels[exported] = v
            }
        }
        guard RelabelRule.apply(target.metricRelabelConfigs, to: &labels) else { return nil }
        labels = labels.filter { !$0.value.isEmpty }
        guard !labels.isEmpty else { return nil }
        guard labels[Labels.metricName] != nil else {
            throw ScrapeError(.parse, "line \(line): metric_relabel_configs left series \(name) without a metric name")
        }
        let limits = target.limits
        if limits.labelLimit > 0 && labels.count > limits.labelLimit {
            throw ScrapeError(.limit, "line \(line): label_limit exceeded: \(name) has \(labels.count) labels, the limit is \(limits.labelLimit)")
        }
        for (n, v) in labels {
            if limits.labelNameLengthLimit > 0 && n.utf8.count > limits.labelNameLengthLimit {
                throw ScrapeError(
                    .limit, "line \(line): label_name_length_limit exceeded: a label name of \(name) has \(n.utf8.count) bytes, the limit is \(limits.labelNameLengthLimit)")
            }
            if limits.labelValueLengthLimit > 0 && v.utf8.count > limits.labelValueLengthLimit {
                throw ScrapeError(
                    .limit, "line \(line): label_value_length_limit exceeded: label \(n) of \(name) has \(v.utf8.count) bytes, the limit is \(limits.labelValueLengthLimit)")
            }
        }
        return Labels(labels)
    }

    /// The store kind of a sample: counters for monotonic samples, gauges for the rest.
    static func seriesKind(_ type: MetricType, _ suffix: SampleSuffix) -> SeriesKind {
        switch (type, suffix) {
        case (.counter, .none), (.counter, .total): .counter
        case (.histogram, .bucket), (.histogram, .count), (.histogram, .sum): .counter
        case (.summary, .count), (.summary, .sum): .counter
        default: .gauge
        }
    }

    // MARK: Commit pass

    /// Writes the queued samples, staleness markers and synthetic series in one store batch.
    mutating func commit(
        into store: SeriesStore, at scrapeTime: Timestamp, report: inout ScrapeReport, duration: () -> Duration
    ) {
        let gen = generation &+ 1
        let honorTimestamps = target.honorTimestamps
        store.write { writer in
            var refused = RefusedSamples()
            var added = 0
            for p in pending {
                let index = Int(p.entry)
                var e = cache.entries[index]
                if e.disposition == .refused {
                    if let labels = cache.refusedLabels[index], let ref = writer.ref(for: labels, kind: e.kind) {
                        e.ref = ref
                        e.disposition = .stored
                        cache.refusedLabels[index] = nil
                        added += 1
                    } else if e.lastSeen != gen {
                        refused.seriesLimit += 1
                    }
                }
                e.lastSeen = gen
                e.explicitTimestamp = honorTimestamps && p.hasTimestamp
                cache.entries[index] = e
                guard var ref = e.ref else { continue }
                let t = e.explicitTimestamp ? p.timestamp : scrapeTime
                var result = writer.append(ref, value: p.value, at: t)
                if result == .unknownSeries, let renewed = renewExpired(index, writer: &writer) {
                    ref = renewed
                    result = writer.append(ref, value: p.value, at: t)
                }
                refused.count(result)
            }
            report.staleMarkers = markVanishedStale(writer: &writer, gen: gen, at: scrapeTime, current: true)
            report.seriesAdded = added
            report.refused = refused
            report.duration = duration()
            synthetic.write(report, up: true, writer: &writer)
        }
        generation = gen
        metadata.commit()
        compactIfSparse(succeeded: true)
    }

    /// Commits a failed scrape: `up` 0 and staleness markers for the previous scrape's series.
    mutating func commitFailure(into store: SeriesStore, at scrapeTime: Timestamp, report: inout ScrapeReport, duration: () -> Duration) {
        let gen = generation &+ 1
        metadata.abort()
        for p in pending { cache.entries[Int(p.entry)].lastFailedParse = gen }
        store.write { writer in
            report.staleMarkers = markVanishedStale(writer: &writer, gen: gen, at: scrapeTime, current: false)
            report.duration = duration()
            synthetic.write(report, up: false, writer: &writer)
        }
        generation = gen
        compactIfSparse(succeeded: false)
    }

    /// Marks every series of the target stale (the target is going away).
    mutating func markAllStale(into store: SeriesStore, at time: Timestamp) -> Int {
        let gen = generation &+ 1
        let n = store.write { writer in markVanishedStale(writer: &writer, gen: gen, at: time, current: false) }
        generation = gen
        return n
    }

    /// Staleness markers for series of scrape `gen - 1` that scrape `gen` lacks.
    ///
    /// With `current`, a series another raw form of which was written in this scrape (relabeling
    /// can merge series) is not stale; that check needs the set of refs written, which is built
    /// only when there is a candidate.
    mutating func markVanishedStale(writer: inout StoreWriter, gen: UInt32, at time: Timestamp, current: Bool) -> Int {
        let previous = gen &- 1
        guard previous != 0 else { return 0 }
        var written: Set<SeriesRef>? = nil
        var marked = 0
        for i in cache.entries.indices {
            let e = cache.entries[i]
            guard e.lastSeen == previous, e.disposition == .stored, !e.explicitTimestamp, let ref = e.ref else { continue }
            if current {
                if written == nil {
                    written = Set(cache.entries.lazy.filter { $0.lastSeen == gen }.compactMap(\.ref))
                }
                if written!.contains(ref) { continue }
            }
            if writer.append(ref, value: .staleMarker, at: time) == .ok { marked += 1 }
        }
        return marked
    }

    /// The series of an entry expired from the store: rebuild its labels from the raw key.
    mutating func renewExpired(_ index: Int, writer: inout StoreWriter) -> SeriesRef? {
        let key = cache.withKey(index) { Array($0) }
        var nameEnd = 0
        while nameEnd < key.count, isNameChar(key[nameEnd]) { nameEnd += 1 }
        let name = String(decoding: key[..<nameEnd], as: UTF8.self)
        let rebuilt = key.withUnsafeBytes { raw in try? finalLabels(series: raw, name: name, line: 0) }
        guard let labels = rebuilt, let ref = writer.ref(for: labels, kind: cache.entries[index].kind) else {
            return nil
        }
        cache.entries[index].ref = ref
        return ref
    }

    /// Drops cache entries of vanished series once they outnumber the live ones.
    ///
    /// After a success the live entries are those of the scrape. After a failure they are those
    /// the failed parse reached or created: a page that keeps failing at its last line keeps its
    /// series cached instead of rebuilding every label set on each attempt; a failing target whose
    /// content keeps changing is still bounded, at four sample limits.
    mutating func compactIfSparse(succeeded: Bool) {
        let gen = generation
        let keep: (SeriesCache.Entry) -> Bool = succeeded ? { $0.lastSeen == gen } : { $0.lastFailedParse == gen || $0.lastSeen == 0 }
        var live = 0
        for e in cache.entries where keep(e) { live += 1 }
        let cap = target.limits.sampleLimit > 0 ? 4 * target.limits.sampleLimit : Int.max
        if cache.count > cap {
            cache.compact { _ in false }
        } else if cache.count > 2 * live + 64 {
            cache.compact(keeping: keep)
        }
    }
}

/// The five series Prometheus writes for every scrape, with refs kept between scrapes.
struct SyntheticSeries {
    static let names = ["up", "scrape_duration_seconds", "scrape_samples_scraped", "scrape_samples_post_metric_relabeling", "scrape_series_added"]
    let labels: [Labels]
    var refs: [SeriesRef?]

    init(targetLabels: [(name: String, value: String)]) {
        labels = Self.names.map { name in
            var builder = LabelsBuilder()
            for (n, v) in targetLabels { builder.set(n, v) }
            builder.set(Labels.metricName, name)
            return builder.build()
        }
        refs = Array(repeating: nil, count: Self.names.count)
    }

    mutating func write(_ report: ScrapeReport, up: Bool, writer: inout StoreWriter) {
        let values = [
            up ? 1 : 0, report.duration.asSeconds, Double(report.samplesScraped),
            Double(up ? report.samplesPostRelabeling : 0), Double(up ? report.seriesAdded : 0),
        ]
        for i in values.indices {
            if refs[i] == nil { refs[i] = writer.ref(for: labels[i], kind: .gauge) }
            guard let ref = refs[i] else { continue }
            if writer.append(ref, value: values[i], at: report.timestamp) == .unknownSeries {
                refs[i] = writer.ref(for: labels[i], kind: .gauge)
                if let renewed = refs[i] { _ = writer.append(renewed, value: values[i], at: report.timestamp) }
            }
        }
    }
}
