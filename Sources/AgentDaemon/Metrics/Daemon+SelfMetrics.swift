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

        let process = ProcessStats.current()
        add("process_resident_memory_bytes", .gauge, "Resident memory size in bytes.", one(Double(process.residentBytes)))
        add("process_virtual_memory_bytes", .gauge, "Virtual memory size in bytes.", one(Double(process.virtualBytes)))
        add("process_cpu_seconds_total", .counter, "User and system CPU time spent in seconds.", one(process.cpuSeconds))
        add("process_open_fds", .gauge, "Open file descriptors.", one(Double(process.openFDs)))
        add("process_threads", .gauge, "Threads of the process.", one(Double(process.threads)))
        add("process_start_time_seconds", .gauge, "Start time of the process since the Unix epoch in seconds.", one(Double(startedAt) / 1000))
        out += logs?.metrics() ?? []
        out += rules?.metrics() ?? []
        out += notifierMetrics()
        return out
    }

    /// The /metrics page of the agent's own metrics.
    func writeSelfMetrics(into w: inout ExpositionWriter) {
        for family in selfMetrics() {
            w.family(family.name, type: family.kind == .counter ? "counter" : "gauge", help: family.help)
            for sample in family.samples { w.sample(family.name, Labels(sample.labels), value: sample.value) }
        }
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
