import Ingest
import TimeSeries

/// What one request will hold: gathered from the rings under the store's lock, encoded after it.
struct PendingBatch {
    struct Series {
        var labels: Labels
        var kind: SeriesKind
        /// Where its samples are: `samples` for a gauge or counter, `slots` (and `quantiles`,
        /// `quantiles.count` per slot) for a distribution.
        var start: Int
        var count: Int
    }

    var series: [Series] = []
    var samples: [Sample] = []
    var slots: [CumulativeSample] = []
    var quantiles: [Double] = []
    /// One derived series' samples while it is encoded.
    var scratch: [Sample] = []

    mutating func removeAll() {
        series.removeAll(keepingCapacity: true)
        samples.removeAll(keepingCapacity: true)
        slots.removeAll(keepingCapacity: true)
        quantiles.removeAll(keepingCapacity: true)
    }

    /// A position to roll back to.
    var mark: (Int, Int, Int, Int) { (series.count, samples.count, slots.count, quantiles.count) }

    mutating func rollBack(to mark: (Int, Int, Int, Int)) {
        series.removeLast(series.count - mark.0)
        samples.removeLast(samples.count - mark.1)
        slots.removeLast(slots.count - mark.2)
        quantiles.removeLast(quantiles.count - mark.3)
    }
}

extension RemoteWriter {
    /// The next request of shard `i`: its series from the shard's position on, up to
    /// `max_samples_per_send` samples (a series' samples are never split: a round is short enough
    /// for one series to fit, see `maxSpan`). Nil when the shard has no series left in this round;
    /// an empty `body` when the series left have nothing to send.
    func nextBatch(shard i: Int) -> Batch? {
        guard let round = progress.round, let list = members?[i], shards[i].next < list.count else { return nil }
        var index = shards[i].next
        pending.removeAll()
        let limit = endpoint.queue.maxSamplesPerSend
        var total = 0, droppedRetention = 0
        var lastHash = list[index].hash
        var newest = Timestamp.min
        var covered: [(SeriesRef, Timestamp)] = []
        let countDrops = progress.watermark != nil
        store.read { reader in
            while index < list.count {
                // Series of one hash go together: the cursor cannot tell them apart.
                var end = index + 1
                while end < list.count && list[end].hash == list[index].hash { end += 1 }
                let mark = pending.mark
                let coveredMark = covered.count
                var samples = 0, dropped = 0
                var groupNewest = Timestamp.min
                for member in list[index..<end] {
                    // Known series from the newest sample they sent; new ones from their oldest.
                    let sent = sentThrough?[member.ref]
                    let from = sent.map { $0 == .min ? round.from : $0 }
                    let got = gather(member.ref, reader: reader, from: from, through: round.through, countDrops: countDrops && from != nil)
                    samples += got.samples
                    dropped += got.dropped
                    groupNewest = max(groupNewest, got.newest)
                    if got.samples > 0 { covered.append((member.ref, got.newest)) }
                }
                if total > 0 && total + samples > limit {
                    pending.rollBack(to: mark)
                    covered.removeLast(covered.count - coveredMark)
                    break
                }
                total += samples
                droppedRetention += dropped
                newest = max(newest, groupNewest)
                lastHash = list[end - 1].hash
                index = end
                if total >= limit { break }
            }
        }
        var droppedRelabel = 0
        let sent = encodePending(droppedRelabel: &droppedRelabel)
        var body: [UInt8] = []
        if encoder.count > 0 { encoder.withBytes { Snappy.compress($0, into: &body) } }
        return Batch(body: body, samples: sent, lastHash: lastHash, nextIndex: index, newest: newest,
                     droppedRetention: droppedRetention, droppedRelabel: droppedRelabel, covered: covered)
    }

    /// Copies one series' samples in `(from, through]` into `pending` (`from` nil: all the fine ring
    /// holds); returns how many samples they make, the newest timestamp, and the estimate of those
    /// that left the ring unsent.
    private func gather(_ ref: SeriesRef, reader: StoreReader, from start: Timestamp?, through: Timestamp,
                        countDrops: Bool) -> (samples: Int, newest: Timestamp, dropped: Int) {
        guard let labels = reader.labels(of: ref), let kind = reader.kind(of: ref), let latest = reader.latest(of: ref) else {
            return (0, .min, 0)
        }
        // Only the fine ring: a read reaching back past its oldest slot would be answered from a
        // coarser tier, whose samples are not the ones stored (nor, for coarse tiers, their times).
        let head = latest.timestamp >= 0 ? latest.timestamp / resolution : (latest.timestamp - resolution + 1) / resolution
        let oldestStart = (head - ringSlots + 1) * resolution
        var from = start ?? oldestStart - 1
        var gap: Milliseconds = 0
        if from < oldestStart - 1 {
            gap = oldestStart - 1 - from
            from = oldestStart - 1
        }
        guard through > from else { return (0, .min, 0) }
        func estimate(_ n: Int) -> Int {
            guard countDrops, gap > 0 else { return 0 }
            return Int((Double(gap) * Double(n) / Double(through - from)).rounded())
        }
        switch kind {
        case .gauge, .counter:
            let start = pending.samples.count
            reader.samples(of: ref, from: from, through: through, into: &pending.samples)
            let n = pending.samples.count - start
            guard n > 0 else { return (0, .min, 0) }
            pending.series.append(.init(labels: labels, kind: kind, start: start, count: n))
            return (n, pending.samples[pending.samples.count - 1].timestamp, estimate(n))
        case .distribution:
            let start = pending.slots.count
            reader.cumulative(of: ref, from: from, through: through, into: &pending.slots)
            let n = pending.slots.count - start
            guard n > 0 else { return (0, .min, 0) }
            for slot in pending.slots[start...] {
                // The same window and quantiles as the agent's own /metrics page shows.
                let summary = reader.summary(of: ref, from: slot.timestamp - mapping.quantileWindow, through: slot.timestamp)
                for (_, q) in mapping.quantiles {
                    pending.quantiles.append(summary.map { $0.count > 0 ? $0.quantile(q) : .nan } ?? .nan)
                }
            }
            pending.series.append(.init(labels: labels, kind: kind, start: start, count: n))
            let samples = n * (2 + mapping.quantiles.count)
            return (samples, pending.slots[pending.slots.count - 1].timestamp, estimate(samples))
        }
    }

    /// Encodes `pending` into the encoder; returns the samples written (relabelling may drop some).
    private func encodePending(droppedRelabel: inout Int) -> Int {
        encoder.removeAll()
        var written = 0
        func emit(_ labels: EncodedLabels?, _ samples: UnsafeBufferPointer<Sample>) {
            guard let labels else {
                droppedRelabel += samples.count
                return
            }
            encoder.appendSeries(labels: labels, samples: samples)
            written += samples.count
        }
        for series in pending.series {
            if series.kind != .distribution {
                let labels = remoteLabels(series.labels)
                pending.samples.withUnsafeBufferPointer { all in
                    emit(labels, UnsafeBufferPointer(rebasing: all[series.start..<(series.start + series.count)]))
                }
                continue
            }
            let name = series.labels.metricName ?? ""
            let slots = pending.slots[series.start..<(series.start + series.count)]
            func derived(_ labels: EncodedLabels?, _ value: (Int, CumulativeSample) -> Double) {
                pending.scratch.removeAll(keepingCapacity: true)
                for (k, slot) in slots.enumerated() { pending.scratch.append(Sample(timestamp: slot.timestamp, value: value(k, slot))) }
                pending.scratch.withUnsafeBufferPointer { emit(labels, $0) }
            }
            derived(remoteLabels(series.labels, name: name + "_count")) { _, slot in slot.count }
            derived(remoteLabels(series.labels, name: name + "_sum")) { _, slot in slot.sum }
            let perSlot = mapping.quantiles.count
            for (j, (label, _)) in mapping.quantiles.enumerated() {
                derived(remoteLabels(series.labels, extra: ("quantile", label))) { k, _ in
                    pending.quantiles[(series.start + k) * perSlot + j]
                }
            }
        }
        return written
    }

    /// The labels a series is sent with: its own (`name` replacing the metric name, `extra` added),
    /// then each external label it lacks, then `write_relabel_configs`. Nil when relabelling drops
    /// it or leaves it without a metric name.
    func remoteLabels(_ labels: Labels, name: String? = nil, extra: (String, String)? = nil) -> EncodedLabels? {
        let external = mapping.externalLabels
        if name == nil && extra == nil && endpoint.relabel.isEmpty {
            // The common case (every gauge and counter without relabelling): one merge, one allocation.
            guard labels.metricName?.isEmpty == false else { return nil }
            return EncodedLabels(labels, adding: external)
        }
        var result = labels
        if name != nil || extra != nil || !external.isEmpty {
            var builder = LabelsBuilder(labels)
            if let name { builder.set(Labels.metricName, name) }
            if let extra { builder.set(extra.0, extra.1) }
            external.forEach { n, v in
                var present = false
                labels.forEach { have, _ in if !present, have.elementsEqual(n) { present = true } }
                if !present { builder.set(bytes: n, v) }
            }
            result = builder.build()
        }
        if !endpoint.relabel.isEmpty {
            var dictionary: [String: String] = [:]
            for label in result.labels { dictionary[label.name] = label.value }
            guard RelabelRule.apply(endpoint.relabel, to: &dictionary) else { return nil }
            result = Labels(dictionary.map { ($0.key, $0.value) })
        }
        guard let metric = result.metricName, !metric.isEmpty else { return nil }
        return EncodedLabels(result)
    }
}
