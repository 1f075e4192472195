public import TimeSeries

/// The recent values of one alert: its rule's value expression evaluated every `step` on a grid
/// of `steps` points that ends at the evaluation which produced the alert's current value.
///
/// The grid is anchored at that evaluation (not at round minutes), so the last point is the
/// alert's own value and the point before it is one `step` earlier. `points` holds only the
/// grid times where the series had a finite value, oldest first; `values` lays them back on the
/// grid with NaN for the gaps, as a sparkline draws them. 30 one-minute steps by default.
public struct ValueHistory: Sendable, Equatable {
    /// 30 minutes: what a notification shows.
    public static let defaultSteps = 30
    /// One minute.
    public static let defaultStep: Milliseconds = 60_000

    /// Time of the last grid point: the alert's evaluation, less the group's `query_offset`.
    public var end: Timestamp
    /// Distance between grid points.
    public var step: Milliseconds
    /// Grid points in the window (`end` included).
    public var steps: Int
    /// Finite values at grid times, oldest first.
    public var points: [Sample]

    public init(end: Timestamp, step: Milliseconds = ValueHistory.defaultStep, steps: Int = ValueHistory.defaultSteps, points: [Sample]) {
        self.end = end
        self.step = step
        self.steps = steps
        self.points = points
    }

    /// Time of the first grid point.
    public var start: Timestamp { end - Int64(max(steps - 1, 0)) * step }

    /// The time the grid spans, counting the last point's step: 30 one-minute points are 30 minutes.
    public var window: Milliseconds { Int64(steps) * step }

    /// One value per grid point, oldest first; NaN where there is no point.
    public var values: [Double] {
        var out = [Double](repeating: .nan, count: max(steps, 0))
        for p in points {
            let offset = p.timestamp - start
            guard offset >= 0, offset % step == 0 else { continue }
            let i = Int(offset / step)
            if i < out.count { out[i] = p.value }
        }
        return out
    }
}
