import AgentClient
import Query
import TimeSeries

/// A metric family of the agent's own: rendered on /metrics and stored as `job="agent"` series.
struct SelfMetricFamily {
    var name: String
    var kind: SeriesKind
    var help: String
    var samples: [(labels: [(String, String)], value: Double)]
}

extension Daemon {
    /// The agent's own metrics: store, checkpoints, process, and each component's.
    func selfMetrics() -> [SelfMetricFamily] {
        var out: [SelfMetricFamily] = []
        func add(_ name: String, _ kind: SeriesKind, _ help: String, _ samples: [(labels: [(String, String)], value: Double)]) {
            out.append(SelfMetricFamily(name: name, kind: kind, help: help, samples: samples))
        }
        func one(_ value: Double) -> [(labels: [(String, String)], value: Double)] { [([], value)] }

        add("agent_build_info", .gauge, "The agent's version.", [([("version", AgentVersion.string)], 1)])
        let stats = store.stats
        add("agent_series", .gauge, "Series held in the store, by kind.", [
            ([("kind", "gauge")], Double(stats.gauges)), ([("kind", "counter")], Double(stats.counters)),
            ([("kind", "distribution")], Double(stats.distributions)),
        ])
        add("agent_store_bytes", .gauge, "Heap bytes the stored series hold: rings, sealed blocks, sketches, label sets.", one(Double(store.heapBytes)))
        add("agent_series_limit", .gauge, "The most series the store holds (global.series_limit).", one(Double(config.global.store.seriesLimit)))
        add("agent_series_dropped_total", .counter, "New series refused because the series limit was reached.", one(Double(stats.droppedSeriesLimit)))
        add("agent_series_expired_total", .counter, "Series removed after receiving no data.", one(Double(stats.expiredSeries)))
        add("agent_samples_appended_total", .counter, "Samples and observations stored.", one(Double(stats.samplesAppended)))
        add("agent_samples_refused_total", .counter, "Samples the store refused, by reason.", [
            ([("reason", "out_of_order")], Double(stats.outOfOrder)), ([("reason", "duplicate")], Double(stats.duplicates)),
            ([("reason", "too_old")], Double(stats.tooOld)), ([("reason", "too_far_ahead")], Double(stats.tooFarAhead)),
            ([("reason", "wrong_kind")], Double(stats.wrongKind)), ([("reason", "invalid_value")], Double(stats.invalidValues)),
        ])
        add("agent_sketch_collapses_total", .counter, "Sketch inserts or merges that folded the lowest buckets (bucket cap reached).", one(Double(stats.sketchCollapses)))

        let cp = checkpointStatsSnapshot()
        add("agent_checkpoints_total", .counter, "Checkpoints written, by result.", [
            ([("result", "success")], Double(cp.written)), ([("result", "failure")], Double(cp.failed)),
        ])
        add("agent_checkpoint_duration_seconds", .gauge, "Duration of the last checkpoint.", one(cp.lastDurationSeconds))
        add("agent_checkpoint_bytes", .gauge, "Size of the last checkpoint written.", one(Double(cp.lastBytes)))

        // As Prometheus's prometheus_config_last_reload_successful and …_success_timestamp_seconds.
        let reload = reloads.value
        add("agent_config_last_reload_successful", .gauge, "Whether the last configuration reload attempt was successful.",
            one(reload.lastSuccessful ? 1 : 0))
        add("agent_config_last_reload_success_timestamp_seconds", .gauge, "Timestamp of the last successful configuration reload (or of the start).",
            one(Double(reload.lastSuccessAt) / 1000))
        add("agent_loop_seconds_since_progress", .gauge, "Seconds since each running loop last made progress (see /-/healthy).",
            progress.snapshot().compactMap { loop in loop.secondsSinceProgress.map { ([("loop", loop.loop)], $0) } })

        let process = ProcessStats.current()
        add("process_resident_memory_bytes", .gauge, "Resident memory size in bytes.", one(Double(process.residentBytes)))
        add("process_virtual_memory_bytes", .gauge, "Virtual memory size in bytes.", one(Double(process.virtualBytes)))
        add("process_cpu_seconds_total", .counter, "User and system CPU time spent in seconds.", one(process.cpuSeconds))
        add("process_open_fds", .gauge, "Open file descriptors.", one(Double(process.openFDs)))
        add("process_threads", .gauge, "Threads of the process.", one(Double(process.threads)))
        add("process_start_time_seconds", .gauge, "Start time of the process since the Unix epoch in seconds.", one(Double(startedAt) / 1000))
        if running.listen.expose == .all {
            add("agent_exposition_series_skipped", .gauge, "Stored series the last /metrics page left out: a kind unlike the rest of its name's, or a summary whose _count or _sum name is taken.",
                one(Double(expositionSkipped.value)))
        }
        out += logs?.metrics() ?? []
        out += scrapes?.metrics() ?? []
        out += rules?.metrics() ?? []
        out += gates?.metrics() ?? []
        out += notifierMetrics()
        out += remoteWrite?.metrics() ?? []
        out += httpMetrics()
        return out
    }

    /// The agent's own metrics on a /metrics page, each series with `extra` labels it lacks.
    func writeSelfMetrics(_ families: [SelfMetricFamily], extra: Labels = Labels(), into w: inout ExpositionWriter) {
        for family in families { write(family, extra: extra, into: &w) }
    }

    private func write(_ family: SelfMetricFamily, extra: Labels, blank: StaticString? = nil, into w: inout ExpositionWriter) {
        w.family(family.name, type: family.kind == .counter ? "counter" : "gauge", help: family.help)
        for sample in family.samples {
            w.sample(family.name, Labels(sample.labels), adding: extra, blank: blank, value: sample.value, timestamp: nil)
        }
    }

    /// `listen.expose: all`: the agent's own metrics, then every stored series (see `StoreExposition`),
    /// each series with the external labels it lacks. A stored series of the same name as an agent
    /// metric joins that family; the agent's own series stored as `job="agent",instance="self"` are
    /// not repeated (the page shows them live). With `selecting` (`/federate`'s `match[]`), only
    /// the series (own metrics included, by their labels on the page) that one of the sets matches;
    /// `blank` is a label written empty on series that lack it (`/federate`'s `instance=""`).
    func federationPage(externalLabels: Labels, selecting matcherSets: [[LabelMatcher]]? = nil, blank: StaticString? = nil) -> [UInt8] {
        var own = selfMetrics()
        if let matcherSets {
            for i in own.indices {
                let name = own[i].name
                own[i].samples.removeAll { sample in
                    let labels = Labels([(Labels.metricName, name)] + sample.labels)
                    return !matcherSets.contains { SeriesSelection.matchesAll($0, labels) }
                }
            }
            own.removeAll { $0.samples.isEmpty }
        }
        let ownNames = Set(own.map(\.name))
        var exposition = StoreExposition(store: store, externalLabels: externalLabels)
        exposition.metadata = scrapes?.familyMetadata() ?? [:]
        exposition.blank = blank
        let including: ((Labels, SeriesKind) -> Bool)? = matcherSets.map { sets in
            { labels, kind in Daemon.selects(sets, labels, kind) }
        }
        var (families, skipped) = exposition.families(excluding: { name, labels in
            ownNames.contains(name) && labels["job"] == "agent" && labels["instance"] == "self"
        }, including: including)
        let now = clock()
        var w = ExpositionWriter(capacity: 16_384 + 128 * families.reduce(0) { $0 + $1.series.count })
        var joined = Set<String>()
        for family in own {
            write(family, extra: externalLabels, blank: blank, into: &w)
            guard let i = families.firstIndex(where: { $0.name == family.name }) else { continue }
            if families[i].kind == family.kind {
                skipped += exposition.write([families[i]], now: now, into: &w) { _ in true }
            } else {
                skipped += families[i].series.count
            }
            joined.insert(family.name)
        }
        if !joined.isEmpty { families.removeAll { joined.contains($0.name) } }
        skipped += exposition.write(families, now: now, into: &w)
        if matcherSets == nil { expositionSkipped.withLock { $0 = skipped } }
        return w.bytes
    }

    /// Whether one of `matcherSets` selects a stored series: by its own labels, and a distribution
    /// also by those of its `_count` and `_sum` (the page shows it under all three names).
    static func selects(_ matcherSets: [[LabelMatcher]], _ labels: Labels, _ kind: SeriesKind) -> Bool {
        if matcherSets.contains(where: { SeriesSelection.matchesAll($0, labels) }) { return true }
        guard kind == .distribution, let name = labels.metricName else { return false }
        for suffix in ["_count", "_sum"] {
            let view = labels.setting(Labels.metricName, to: name + suffix)
            if matcherSets.contains(where: { SeriesSelection.matchesAll($0, view) }) { return true }
        }
        return false
    }

    /// Stores the agent's own metrics as `job="agent"` series, so rules and queries see them.
    func recordSelfMetrics() {
        let families = selfMetrics()
        let now = clock()
        store.write { w in
            for family in families {
                for sample in family.samples {
                    var builder = LabelsBuilder()
                    builder.set(Labels.metricName, family.name)
                    builder.set("job", "agent")
                    builder.set("instance", "self")
                    for (n, v) in sample.labels { builder.set(n, v) }
                    _ = w.append(builder.build(), kind: family.kind, value: sample.value, at: now)
                }
            }
        }
    }
}
