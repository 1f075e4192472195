import Dispatch
import Synchronization
import Testing
import Query
import TimeSeries

/// A counter shared with an engine's interrupt closure.
final class Count: Sendable {
    private let value = Atomic(0)
    /// Adds one; the new count.
    func next() -> Int { value.add(1, ordering: .relaxed).newValue }
    var current: Int { value.load(ordering: .relaxed) }
}

/// Queries stop at a step when told to (timeout, cancellation), and a range query leaves the
/// store's lock between its steps, so writers are never held for a whole query.
@Suite struct EngineInterruptTests {
    func store() throws -> SeriesStore {
        try TestStore.make([try InputSeries(series: "m{a=\"1\"}", values: "0+1x100"), try InputSeries(series: "m{a=\"2\"}", values: "0+2x100")],
                           interval: 60_000)
    }

    @Test func aRangeQueryStopsAtTheStepItsInterruptSaysSo() throws {
        let s = try store()
        var engine = Engine(store: s)
        let asked = Count()
        engine.interrupt = {
            asked.next() > 5 ? QueryError(kind: .timeout, message: "query timed out in expression evaluation") : nil
        }
        #expect(throws: QueryError(kind: .timeout, message: "query timed out in expression evaluation")) {
            try engine.range(PromQL.parse("m"), start: 0, end: 6_000_000, step: 60_000)
        }
        // Asked once per step: it stopped at the sixth step, not after all 101.
        #expect(asked.current == 6)
    }

    @Test func subqueriesAndInstantQueriesAreInterruptedToo() throws {
        let s = try store()
        var engine = Engine(store: s)
        let asked = Count()
        engine.interrupt = {
            asked.next() > 10 ? QueryError(kind: .canceled, message: "query was canceled in expression evaluation") : nil
        }
        #expect(throws: QueryError.self) { try engine.instant(PromQL.parse("max_over_time(m[1h:1s])"), at: 3_600_000) }
        #expect(asked.current == 11)
        engine.interrupt = { QueryError(kind: .canceled, message: "canceled") }
        #expect(throws: QueryError(kind: .canceled, message: "canceled")) { try engine.instant(PromQL.parse("m"), at: 0) }
    }

    @Test func aWriterGetsTheStoreBetweenTheStepsOfARangeQuery() throws {
        let s = try store()
        var engine = Engine(store: s)
        let writes = Count()
        let queue = DispatchQueue(label: "writer")
        // At each step, a write from another thread must complete before the query goes on: it
        // could not if the query held the store's lock across its steps.
        engine.interrupt = {
            let done = DispatchSemaphore(value: 0)
            queue.async {
                s.write { w in _ = w.append(Labels(name: "w"), kind: .gauge, value: 1, at: 6_000_000 + Int64(writes.current)) }
                _ = writes.next()
                done.signal()
            }
            return done.wait(timeout: .now() + 20) == .timedOut ? QueryError(kind: .timeout, message: "writer blocked") : nil
        }
        let value = try engine.range(PromQL.parse("sum(m)"), start: 0, end: 600_000, step: 60_000)
        guard case .matrix(let series) = value else { Issue.record("\(value)"); return }
        #expect(series.first?.samples.count == 11)
        #expect(writes.current == 11)
    }

    @Test func seriesCreatedDuringARangeQueryAreSeenFromTheNextStep() throws {
        let s = try store()
        var engine = Engine(store: s)
        let step = Count()
        engine.interrupt = {
            if step.next() == 4 {
                s.write { w in
                    for t in stride(from: Int64(0), through: 600_000, by: 60_000) { _ = w.append(Labels(name: "m", ["a": "3"]), kind: .gauge, value: 7, at: t) }
                }
            }
            return nil
        }
        let value = try engine.range(PromQL.parse("count(m)"), start: 0, end: 300_000, step: 60_000)
        guard case .matrix(let series) = value else { Issue.record("\(value)"); return }
        #expect(series.first?.samples.map(\.value) == [2, 2, 2, 3, 3, 3])
    }
}
