/// A series of values drawn as one line of block characters, `▁▂▃▄▅▆▇█`, scaled between its
/// smallest and largest finite value, with that min, max and the last finite value beside it.
///
/// What `agent query --range` prints per series and what chat notifications show for a firing
/// alert's last 30 minutes. Gaps (NaN, infinities: no value at that step) are drawn as `gap`; a
/// constant series is a flat line at mid height (`▄`); a series with no finite value has no
/// sparkline (nil). Given a `maxWidth`, a longer series is cut into that many consecutive buckets,
/// each drawn at the mean of its finite values (min, max and last still come from every value).
public struct Sparkline: Sendable, Equatable {
    /// The eight levels, lowest first.
    public static let levels: [Character] = Array("▁▂▃▄▅▆▇█")

    /// One character per value (or per bucket).
    public var bars: String
    /// The smallest finite value.
    public var min: Double
    /// The largest finite value.
    public var max: Double
    /// The last finite value.
    public var last: Double

    /// The sparkline of `values`, or nil when none is finite.
    public init?(_ values: [Double], maxWidth: Int? = nil, gap: Character = " ") {
        var lo = Double.infinity, hi = -Double.infinity, last = Double.nan
        for v in values where v.isFinite {
            lo = Swift.min(lo, v)
            hi = Swift.max(hi, v)
            last = v
        }
        guard last.isFinite else { return nil }
        min = lo
        max = hi
        self.last = last
        var drawn = values
        if let width = maxWidth, width > 0, values.count > width {
            drawn = (0..<width).map { i in
                let bucket = values[(i * values.count / width)..<((i + 1) * values.count / width)].filter(\.isFinite)
                return bucket.isEmpty ? .nan : bucket.reduce(0, +) / Double(bucket.count)
            }
        }
        let levels = Sparkline.levels
        bars = String(drawn.map { v -> Character in
            guard v.isFinite else { return gap }
            if hi == lo { return levels[3] }
            // Halves, so that hi − lo cannot overflow (±1e308); halving is exact, so for every
            // ordinary series this is (v − lo) / (hi − lo).
            let fraction = (v / 2 - lo / 2) / (hi / 2 - lo / 2)
            let level = (fraction * Double(levels.count - 1) + 0.5).rounded(.down)
            return levels[Int(Swift.min(Swift.max(level, 0), Double(levels.count - 1)))]
        })
    }
}
