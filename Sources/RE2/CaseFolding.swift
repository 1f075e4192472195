/// Case-insensitive matching (`(?i)`) as RE2 and Go do it: a scalar matches every scalar of its
/// simple case-folding orbit (`k`, `K` and the Kelvin sign U+212A; `s`, `S` and long s U+017F;
/// `σ`, `ς`, `Σ`).
///
/// Swift exposes each scalar's lower, upper and title mappings, not the folding orbits, so an
/// orbit is the set connected by single-scalar mappings in either direction. The reverse
/// direction (the Kelvin sign lower-cases to `k`, nothing maps to it) needs the list of scalars
/// that have mappings at all; the orbits are built once, on the first non-ASCII use, by scanning
/// the range where case mappings exist. The Turkish dotless ı (U+0131) upper-cases to `I` but does
/// not fold with it in Unicode's CaseFolding.txt (nor in Go), so that one edge is left out.
enum CaseFolding {
    /// Lowest and highest scalars with a case mapping (Go's `minFold`/`maxFold`).
    static let minFold: UInt32 = 0x41
    static let maxFold: UInt32 = 0x1E943

    /// The scalars case-equivalent to `c`, `c` included.
    static func orbit(of c: UInt32) -> [UInt32] {
        if c < 0x80 {
            switch c {
            case 0x4B, 0x6B: return [0x4B, 0x6B, 0x212A]  // K k, Kelvin sign
            case 0x53, 0x73: return [0x53, 0x73, 0x17F]  // S s, long s
            case 0x41...0x5A: return [c, c + 32]
            case 0x61...0x7A: return [c, c - 32]
            default: return [c]
            }
        }
        guard c >= minFold, c <= maxFold else { return [c] }
        return table.orbits[c] ?? [c]
    }

    /// The single-scalar lower, upper and title mappings of `c` that differ from it.
    static func mappings(of c: UInt32) -> [UInt32] {
        guard c != 0x131, let scalar = Unicode.Scalar(c) else { return [] }
        let p = scalar.properties
        guard p.changesWhenCaseMapped else { return [] }
        var out: [UInt32] = []
        for mapped in [p.lowercaseMapping, p.uppercaseMapping, p.titlecaseMapping] {
            var it = mapped.unicodeScalars.makeIterator()
            guard let first = it.next(), it.next() == nil, first.value != c, !out.contains(first.value) else { continue }
            out.append(first.value)
        }
        return out
    }

    /// The scalars with case mappings (sorted) and every orbit of more than one scalar, by member:
    /// the classes of the mapping graph (union-find over its edges), built on first use — a static
    /// `let` is initialised once, thread-safely — so that folding a class costs lookups only.
    static let table: (foldable: [UInt32], orbits: [UInt32: [UInt32]]) = {
        var foldable: [UInt32] = []
        var parent: [UInt32: UInt32] = [:]
        func root(_ x: UInt32) -> UInt32 {
            var r = x
            while let p = parent[r], p != r { r = p }
            var y = x
            while let p = parent[y], p != r { parent[y] = r; y = p }  // path compression
            return r
        }
        for c in minFold...maxFold {
            guard let scalar = Unicode.Scalar(c), scalar.properties.changesWhenCaseMapped else { continue }
            foldable.append(c)
            if parent[c] == nil { parent[c] = c }
            for y in mappings(of: c) {
                if parent[y] == nil { parent[y] = y }
                let (a, b) = (root(c), root(y))
                if a != b { parent[max(a, b)] = min(a, b) }
            }
        }
        var classes: [UInt32: [UInt32]] = [:]
        for x in parent.keys { classes[root(x), default: []].append(x) }
        var orbits: [UInt32: [UInt32]] = [:]
        for members in classes.values where members.count > 1 {
            let sorted = members.sorted()
            for x in sorted { orbits[x] = sorted }
        }
        return (foldable, orbits)
    }()

    /// `ranges` with every scalar's orbit added (normalized). Ranges wholly outside the folding
    /// span, or covering all of it, need no work; ASCII needs no table.
    static func fold(_ ranges: [ClosedRange<UInt32>]) -> [ClosedRange<UInt32>] {
        var out = ranges
        for r in ranges {
            if r.lowerBound <= minFold && r.upperBound >= maxFold { continue }
            if r.upperBound < minFold || r.lowerBound > maxFold { continue }
            if r.upperBound < 0x80 {
                for c in r where orbit(of: c).count > 1 {
                    for v in orbit(of: c) where v != c { out.append(v...v) }
                }
                continue
            }
            let foldable = table.foldable
            // The first foldable scalar ≥ r.lowerBound.
            var lo = 0
            var hi = foldable.count
            while lo < hi {
                let mid = (lo + hi) / 2
                if foldable[mid] < r.lowerBound { lo = mid + 1 } else { hi = mid }
            }
            var i = lo
            while i < foldable.count, foldable[i] <= r.upperBound {
                for v in orbit(of: foldable[i]) where !r.contains(v) { out.append(v...v) }
                i += 1
            }
        }
        return CharSet.normalized(out)
    }
}
