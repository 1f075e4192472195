import Ingest
import Testing
@testable import RemoteWrite
import TimeSeries

/// The writer against a receiver with Prometheus's storage rules, on a clock the tests move.
@Suite struct WriterTests {
    static let t0: Timestamp = 1_700_000_000_000

    /// `series` gauges `g{i="…"}` with a sample every second from `from` for `seconds` seconds.
    /// The clock follows the samples unless `moveClock` is false.
    static func fill(_ store: SeriesStore, clock: TestClock, series: Int, from: Timestamp, seconds: Int, kind: SeriesKind = .gauge, moveClock: Bool = true) {
        for k in 0..<seconds {
            let t = from + Int64(k) * 1000 + 137
            if moveClock { clock.set(max(clock.now, t)) }
            store.write { w in
                for i in 0..<series {
                    _ = w.append(Labels(name: kind == .counter ? "c_total" : "g", ["i": "\(i)"]), kind: kind, value: Double(k * 10 + i), at: t)
                }
            }
        }
    }

    @Test func everySampleArrivesOnceInOrderWithTheExternalLabels() throws {
        let clock = TestClock(Self.t0)
        let store = SeriesStore.forTests(clock: clock)
        Self.fill(store, clock: clock, series: 20, from: Self.t0, seconds: 30)
        var endpoint = RemoteWriteEndpoint(url: "http://receiver/api/v1/write", name: "test")
        endpoint.queue.maxSamplesPerSend = 50
        let h = WriterHarness(store: store, clock: clock, endpoint: endpoint, externalLabels: ["host": "a", "i": "never-overrides"])
        clock.advance(5_000)
        h.poll()
        #expect(difference(h.receiver.series, store.scalarSamples(adding: ["host": "a"])) == nil)
        #expect(h.receiver.refusedOutOfOrder == 0)
        #expect(h.receiver.requests.allSatisfy { $0.reduce(0) { $0 + $1.samples.count } <= 50 })
        #expect(h.receiver.requests.count >= 20 * 30 / 50)
        let headers = try #require(h.receiver.headers.first)
        for (name, value) in [("Content-Encoding", "snappy"), ("Content-Type", "application/x-protobuf"),
                              ("X-Prometheus-Remote-Write-Version", "0.1.0"), ("User-Agent", "agent/test")] {
            #expect(headers.contains(HTTPHeader(name, value)), "\(name)")
        }
        let s = h.stats
        #expect(s.samplesSent == 600)
        #expect(s.samplesFailed == 0 && s.samplesRetried == 0 && s.samplesDroppedRetention == 0)
        #expect(s.highestSentTimestamp == Self.t0 + 29_137)
        #expect(s.watermark != nil && s.watermark! >= Self.t0 + 29_137)
    }

    @Test func samplesOfASlotStillOpenWaitForTheSettleDelay() {
        let clock = TestClock(Self.t0)
        let store = SeriesStore.forTests(clock: clock)
        Self.fill(store, clock: clock, series: 1, from: Self.t0, seconds: 10)
        let h = WriterHarness(store: store, clock: clock, settle: 3_000)
        // Now t0+9137: rounds end before the slot that ended 3 s ago, t0+6000.
        h.poll()
        #expect(h.receiver.series.values.first?.last?.timestamp == Self.t0 + 5_137)
        clock.advance(10_000)
        h.poll()
        #expect(difference(h.receiver.series, store.scalarSamples()) == nil)
    }

    @Test func distributionsGoAsCountSumAndQuantilesPerSlot() throws {
        let clock = TestClock(Self.t0)
        let store = SeriesStore.forTests(clock: clock)
        let labels = Labels(name: "latency_seconds", ["job": "api"])
        for k in 0..<20 {
            let t = Self.t0 + Int64(k) * 1000 + 500
            clock.set(t)
            store.write { w in
                for j in 0..<(k % 4 + 1) { _ = w.append(labels, kind: .distribution, value: Double(k * 4 + j) / 100, at: t + Int64(j)) }
            }
        }
        let h = WriterHarness(store: store, clock: clock)
        clock.advance(5_000)
        h.poll()
        let got = h.receiver.series
        let ref = try #require(store.read { $0.ref(for: labels) })
        var cumulative: [CumulativeSample] = []
        store.read { $0.cumulative(of: ref, from: .min + 1, through: .max, into: &cumulative) }
        #expect(cumulative.count == 20)
        #expect(got["__name__=latency_seconds_count,job=api"] == cumulative.map { Sample(timestamp: $0.timestamp, value: $0.count) })
        #expect(got["__name__=latency_seconds_sum,job=api"] == cumulative.map { Sample(timestamp: $0.timestamp, value: $0.sum) })
        for (label, q) in [("0.5", 0.5), ("0.99", 0.99)] {
            let expected = cumulative.map { c in
                Sample(timestamp: c.timestamp, value: store.read { $0.summary(of: ref, from: c.timestamp - 300_000, through: c.timestamp)!.quantile(q) })
            }
            #expect(got["__name__=latency_seconds,job=api,quantile=\(label)"] == expected, "quantile \(label)")
        }
        #expect(got.count == 4)
        #expect(h.stats.samplesSent == 20 * 4)
    }

    @Test func anOutageIsRetriedWithBackoffAndNothingIsLostOrSentTwice() {
        let clock = TestClock(Self.t0)
        let store = SeriesStore.forTests(clock: clock)
        Self.fill(store, clock: clock, series: 5, from: Self.t0, seconds: 10)
        var endpoint = RemoteWriteEndpoint(url: "http://receiver/api/v1/write", name: "test")
        endpoint.queue.maxSamplesPerSend = 20
        endpoint.queue.minBackoff = 100
        endpoint.queue.maxBackoff = 1_600
        let h = WriterHarness(store: store, clock: clock, endpoint: endpoint)
        h.receiver.answer { n in n < 1 ? .store : .error(.connectionFailed) }
        h.poll()
        let during = h.stats
        #expect(during.samplesRetried > 0)
        #expect(during.lastError != nil)
        // The outage goes on while samples keep coming; retries wait longer each time, up to max_backoff.
        var attempts = h.receiver.requests.count
        var next = Self.t0 + 10_000
        for _ in 0..<20 {
            Self.fill(store, clock: clock, series: 5, from: next, seconds: 1, moveClock: false)
            next += 1000
            clock.advance(150)
            h.poll()
        }
        // 3 s of outage: tries after 100, 200, 400, 800 and 1600 ms, not one per poll.
        #expect(h.receiver.requests.count - attempts <= 6, "retries back off")
        attempts = h.receiver.requests.count
        h.receiver.answer { _ in .store }
        clock.advance(25_000)
        h.run { h.stats.watermark ?? 0 >= clock.now - 4_000 }
        #expect(difference(h.receiver.series, store.scalarSamples()) == nil)
        #expect(h.receiver.refusedOutOfOrder == 0)
        #expect(h.stats.lastErrorAt != nil, "the last error stays on show, with its time")
        #expect(h.stats.samplesSent == store.scalarSamples().values.reduce(0) { $0 + $1.count })
    }

    @Test func aRestartResumesFromTheSavedProgressWithoutResending() {
        let clock = TestClock(Self.t0)
        let store = SeriesStore.forTests(clock: clock)
        Self.fill(store, clock: clock, series: 30, from: Self.t0, seconds: 20)
        var endpoint = RemoteWriteEndpoint(url: "http://receiver/api/v1/write", name: "test")
        endpoint.queue.maxSamplesPerSend = 40
        let h = WriterHarness(store: store, clock: clock, endpoint: endpoint)
        // The writer dies after 4 requests, in the middle of a round (the rest fail until then).
        h.receiver.answer { n in n < 4 ? .store : .error(.connectionFailed) }
        clock.advance(5_000)
        h.poll()
        let saved = h.saved
        #expect(saved?.round != nil && saved?.cursors.first! != nil, "a round was under way")
        h.receiver.answer { _ in .store }
        h.restart()
        Self.fill(store, clock: clock, series: 30, from: clock.now + 1000, seconds: 5)
        clock.advance(5_000)
        h.run { h.stats.watermark ?? 0 >= clock.now - 4_000 }
        #expect(h.receiver.refusedOutOfOrder == 0, "nothing acknowledged was sent again")
        #expect(difference(h.receiver.series, store.scalarSamples()) == nil)
    }

    @Test func aResendTheReceiverAlreadyHoldsCountsAsSent() {
        let clock = TestClock(Self.t0)
        let store = SeriesStore.forTests(clock: clock)
        Self.fill(store, clock: clock, series: 3, from: Self.t0, seconds: 10)
        let h = WriterHarness(store: store, clock: clock)
        // Stored, but the answer is lost (a timeout): the writer sends it again, the receiver says out of order.
        h.receiver.answer { n in n == 0 ? .storeButLoseTheAnswer : .store }
        h.run { h.stats.watermark ?? 0 >= Self.t0 + 9_999 }
        #expect(h.receiver.refusedOutOfOrder > 0)
        #expect(h.stats.samplesRefusedAsStored > 0)
        #expect(h.stats.samplesFailed == 0)
        #expect(difference(h.receiver.series, store.scalarSamples()) == nil)
    }

    @Test(arguments: [400, 413, 404])
    func aRefusedRequestIsDroppedAndCountedAndSendingGoesOn(status: Int) {
        let clock = TestClock(Self.t0)
        let store = SeriesStore.forTests(clock: clock)
        Self.fill(store, clock: clock, series: 4, from: Self.t0, seconds: 10)
        var endpoint = RemoteWriteEndpoint(url: "http://receiver/api/v1/write", name: "test")
        endpoint.queue.maxSamplesPerSend = 10
        let h = WriterHarness(store: store, clock: clock, endpoint: endpoint)
        h.receiver.answer { n in n == 1 ? .status(status, "refused") : .store }
        clock.advance(5_000)
        h.poll()
        let s = h.stats
        let refused = h.receiver.requests[1].reduce(0) { $0 + $1.samples.count }
        #expect(refused > 0 && s.samplesFailed == refused)
        #expect(s.requestsFailed == 1)
        #expect(s.samplesSent + s.samplesFailed == 40)
        #expect(s.lastError?.contains("\(status)") == true)
        #expect(h.receiver.requests.count == s.requestsSucceeded + 1, "the refused request is not sent again")
    }

    @Test(arguments: [true, false])
    func tooManyRequestsIsRetriedOnlyWhenConfigured(retry: Bool) {
        let clock = TestClock(Self.t0)
        let store = SeriesStore.forTests(clock: clock)
        Self.fill(store, clock: clock, series: 2, from: Self.t0, seconds: 5)
        var endpoint = RemoteWriteEndpoint(url: "http://receiver/api/v1/write", name: "test")
        endpoint.queue.retryOnHTTP429 = retry
        let h = WriterHarness(store: store, clock: clock, endpoint: endpoint)
        h.receiver.answer { n in n == 0 ? .status(429, "slow down") : .store }
        h.run { h.stats.watermark ?? 0 >= Self.t0 + 5_000 }
        let first = h.receiver.requests[0].reduce(0) { $0 + $1.samples.count }
        #expect(first > 0)
        #expect(h.stats.samplesRetried == (retry ? first : 0))
        #expect(h.stats.samplesFailed == (retry ? 0 : first))
        #expect(h.stats.samplesSent == 10 - h.stats.samplesFailed)
        #expect((difference(h.receiver.series, store.scalarSamples()) == nil) == retry)
    }

    @Test func anOutageLongerThanTheRetentionCountsWhatLeftTheRingsAndSendsTheRest() {
        let clock = TestClock(Self.t0)
        let store = SeriesStore.forTests(resolution: 1_000, retention: 20_000, clock: clock)
        Self.fill(store, clock: clock, series: 3, from: Self.t0, seconds: 10)
        let h = WriterHarness(store: store, clock: clock)
        clock.advance(3_000)
        h.poll()
        let watermark = h.stats.watermark!
        h.receiver.answer { _ in .error(.connectionFailed) }
        // 40 s more, one sample a second: twice the retention.
        Self.fill(store, clock: clock, series: 3, from: clock.now + 1000, seconds: 40)
        h.poll()
        #expect(h.stats.watermark == watermark)
        h.receiver.answer { _ in .store }
        clock.advance(6_000)
        h.run { h.stats.watermark ?? 0 >= clock.now - 4_000 }
        let s = h.stats
        // About 40 − 20 s of samples per series left the ring unsent (an estimate from each series' density).
        #expect(s.samplesDroppedRetention >= 3 * 15 && s.samplesDroppedRetention <= 3 * 30, "\(s.samplesDroppedRetention)")
        // What the rings still hold arrived, after what arrived before the outage; nothing twice.
        let now = store.scalarSamples()
        for (key, samples) in h.receiver.series {
            #expect(Array(samples.suffix(now[key]!.count)) == now[key]!)
        }
        #expect(h.receiver.refusedOutOfOrder == 0)
    }

    @Test func relabellingDropsAndRenamesBeforeSending() throws {
        let clock = TestClock(Self.t0)
        let store = SeriesStore.forTests(clock: clock)
        Self.fill(store, clock: clock, series: 4, from: Self.t0, seconds: 5)
        var endpoint = RemoteWriteEndpoint(url: "http://receiver/api/v1/write", name: "test")
        endpoint.relabel = [
            try RelabelRule(sourceLabels: ["i"], regex: "[01]", action: .drop),
            try RelabelRule(sourceLabels: ["host"], regex: "(.*)", targetLabel: "machine", replacement: "m-$1"),
        ]
        let h = WriterHarness(store: store, clock: clock, endpoint: endpoint, externalLabels: ["host": "h1"])
        clock.advance(5_000)
        h.poll()
        #expect(Set(h.receiver.series.keys) == ["__name__=g,host=h1,i=2,machine=m-h1", "__name__=g,host=h1,i=3,machine=m-h1"])
        #expect(h.stats.samplesDroppedRelabel == 10)
        #expect(h.stats.samplesSent == 10)
    }

    @Test func shardsSendInParallelEachSeriesInOrder() {
        let clock = TestClock(Self.t0)
        let store = SeriesStore.forTests(clock: clock)
        Self.fill(store, clock: clock, series: 200, from: Self.t0, seconds: 10)
        var endpoint = RemoteWriteEndpoint(url: "http://receiver/api/v1/write", name: "test")
        endpoint.queue.maxShards = 4
        endpoint.queue.maxSamplesPerSend = 50
        let h = WriterHarness(store: store, clock: clock, endpoint: endpoint)
        h.receiver.hold(true)
        clock.advance(5_000)
        for _ in 0..<200 where h.stats.watermark ?? 0 < Self.t0 + 11_999 {
            h.poll()
            h.receiver.release()
        }
        #expect(h.receiver.maxInFlight == 4)
        #expect(difference(h.receiver.series, store.scalarSamples()) == nil)
        #expect(h.receiver.refusedOutOfOrder == 0)
        #expect(h.saved?.cursors.count == 4)
    }

    @Test func aSeriesBornAfterTheWatermarkWithOlderSamplesIsSentWhole() {
        let clock = TestClock(Self.t0)
        let store = SeriesStore.forTests(clock: clock)
        Self.fill(store, clock: clock, series: 1, from: Self.t0, seconds: 20)
        let h = WriterHarness(store: store, clock: clock)
        h.poll()
        let watermark = h.stats.watermark!
        // A log read from its beginning: a new series whose samples are older than the watermark.
        store.write { w in
            for k in 0..<10 { _ = w.append(Labels(name: "late_total"), kind: .counter, value: Double(k), at: Self.t0 + Int64(k) * 1000) }
        }
        #expect(Self.t0 + 9_000 < watermark)
        clock.advance(2_000)
        h.poll()
        #expect(h.receiver.series["__name__=late_total"]?.count == 10)
        #expect(h.stats.samplesDroppedRetention == 0)
    }

    @Test func aSampleWrittenLaterThanTheSettleDelayIsStillSentInOrder() {
        let clock = TestClock(Self.t0)
        let store = SeriesStore.forTests(clock: clock)
        Self.fill(store, clock: clock, series: 2, from: Self.t0, seconds: 6)
        clock.set(Self.t0 + 12_000)
        let h = WriterHarness(store: store, clock: clock)
        h.poll()
        let watermark = h.stats.watermark!
        // A slow scrape: its samples carry its start time, older than the watermark by now.
        store.write { w in
            for i in 0..<2 { _ = w.append(Labels(name: "g", ["i": "\(i)"]), kind: .gauge, value: -1, at: watermark - 500) }
        }
        clock.advance(2_000)
        h.poll()
        #expect(difference(h.receiver.series, store.scalarSamples()) == nil)
        #expect(h.receiver.refusedOutOfOrder == 0)
    }

    @Test func aSeriesMadeBeforeItsFirstSampleIsSentWhole() {
        let clock = TestClock(Self.t0 + 60_000)
        let store = SeriesStore.forTests(clock: clock)
        // A log mapping makes its series when it reads the first line, then stores the values.
        let ref = store.write { $0.ref(for: Labels(name: "lines_total"), kind: .counter) }!
        let h = WriterHarness(store: store, clock: clock)
        h.poll()
        #expect(h.stats.watermark != nil)
        store.write { w in for k in 0..<30 { _ = w.append(ref, value: Double(k), at: Self.t0 + Int64(k) * 1000) } }
        clock.advance(1_000)
        h.poll()
        #expect(h.receiver.series["__name__=lines_total"]?.count == 30)
    }

    @Test func anotherShardLayoutOrURLStartsAfresh() {
        let progress = RemoteWriteProgress(url: "http://old/", watermark: 5, round: .init(from: 5, through: 9), cursors: [1, 2])
        let clock = TestClock(Self.t0)
        let store = SeriesStore.forTests(clock: clock)
        let moved = WriterHarness(store: store, clock: clock, saved: progress)
        #expect(moved.writer.currentProgress.watermark == nil, "another URL: another receiver")
        var p = progress
        p.url = "http://receiver/api/v1/write"
        let resharded = WriterHarness(store: store, clock: clock, saved: p)
        #expect(resharded.writer.currentProgress.watermark == 5)
        #expect(resharded.writer.currentProgress.cursors == [nil], "the round restarts with the new layout")
    }

    @Test func hashRangesCoverEveryHashOnce() {
        for count in [1, 2, 3, 4, 7, 64] {
            let ranges = (0..<count).map { RemoteWriter.hashRange(shard: $0, of: count) }
            #expect(ranges.first!.lowerBound == 0)
            #expect(ranges.last!.upperBound == .max)
            for k in 1..<count { #expect(ranges[k].lowerBound == ranges[k - 1].upperBound + 1) }
        }
    }
}
