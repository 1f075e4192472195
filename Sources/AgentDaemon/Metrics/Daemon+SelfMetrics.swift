import TimeSeries

extension Daemon {
    /// The agent's own metrics: store, checkpoints, process.
    func writeSelfMetrics(into w: inout ExpositionWriter) {
        w.family("agent_build_info", type: "gauge", help: "The agent's version.")
        w.sample("agent_build_info", ["version": AgentVersion.string], value: 1)

        let stats = store.stats
        w.family("agent_series", type: "gauge", help: "Series held in the store, by kind.")
        w.sample("agent_series", ["kind": "gauge"], value: Double(stats.gauges))
        w.sample("agent_series", ["kind": "counter"], value: Double(stats.counters))
        w.sample("agent_series", ["kind": "distribution"], value: Double(stats.distributions))
        w.family("agent_series_limit", type: "gauge", help: "The most series the store holds (global.series_limit).")
        w.sample("agent_series_limit", value: Double(config.global.store.seriesLimit))
        w.family("agent_series_dropped_total", type: "counter", help: "New series refused because the series limit was reached.")
        w.sample("agent_series_dropped_total", value: Double(stats.droppedSeriesLimit))
        w.family("agent_series_expired_total", type: "counter", help: "Series removed after receiving no data.")
        w.sample("agent_series_expired_total", value: Double(stats.expiredSeries))
        w.family("agent_samples_appended_total", type: "counter", help: "Samples and observations stored.")
        w.sample("agent_samples_appended_total", value: Double(stats.samplesAppended))
        w.family("agent_samples_refused_total", type: "counter", help: "Samples the store refused, by reason.")
        for (reason, n) in [("out_of_order", stats.outOfOrder), ("duplicate", stats.duplicates), ("too_old", stats.tooOld),
                            ("too_far_ahead", stats.tooFarAhead), ("wrong_kind", stats.wrongKind), ("invalid_value", stats.invalidValues)] {
            w.sample("agent_samples_refused_total", ["reason": reason], value: Double(n))
        }
        w.family("agent_sketch_collapses_total", type: "counter", help: "Sketch inserts or merges that folded the lowest buckets (bucket cap reached).")
        w.sample("agent_sketch_collapses_total", value: Double(stats.sketchCollapses))

        let cp = queue.sync { checkpointStatsSnapshot() }
        w.family("agent_checkpoints_total", type: "counter", help: "Checkpoints written, by result.")
        w.sample("agent_checkpoints_total", ["result": "success"], value: Double(cp.written))
        w.sample("agent_checkpoints_total", ["result": "failure"], value: Double(cp.failed))
        w.family("agent_checkpoint_duration_seconds", type: "gauge", help: "Duration of the last checkpoint.")
        w.sample("agent_checkpoint_duration_seconds", value: cp.lastDurationSeconds)
        w.family("agent_checkpoint_bytes", type: "gauge", help: "Size of the last checkpoint written.")
        w.sample("agent_checkpoint_bytes", value: Double(cp.lastBytes))

        let process = ProcessStats.current()
        w.family("process_resident_memory_bytes", type: "gauge", help: "Resident memory size in bytes.")
        w.sample("process_resident_memory_bytes", value: Double(process.residentBytes))
        w.family("process_virtual_memory_bytes", type: "gauge", help: "Virtual memory size in bytes.")
        w.sample("process_virtual_memory_bytes", value: Double(process.virtualBytes))
        w.family("process_cpu_seconds_total", type: "counter", help: "User and system CPU time spent in seconds.")
        w.sample("process_cpu_seconds_total", value: process.cpuSeconds)
        w.family("process_open_fds", type: "gauge", help: "Open file descriptors.")
        w.sample("process_open_fds", value: Double(process.openFDs))
        w.family("process_start_time_seconds", type: "gauge", help: "Start time of the process since the Unix epoch in seconds.")
        w.sample("process_start_time_seconds", value: Double(startedAt) / 1000)
    }
}
