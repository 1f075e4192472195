/// A set of scalars: sorted disjoint ranges plus Unicode general-category terms, their union
/// possibly negated (`[^…]`).
///
/// Categories stay terms rather than ranges because Swift offers a scalar's category, not the
/// category's scalars; a negated category (`\PL`) or a case-folded one (`(?i)\p{Lu}`) is a term
/// with that flag, so that unions inside a class stay exact.
struct CharSet: Sendable, Equatable {
    /// Sorted, disjoint and non-adjacent once `normalize()` ran.
    var ranges: [ClosedRange<UInt32>] = []
    var terms: [CategoryTerm] = []
    var negated = false

    struct CategoryTerm: Sendable, Equatable {
        var categories: [Unicode.GeneralCategory]
        /// The term holds for scalars outside the categories.
        var negated: Bool
        /// The term also holds for a scalar whose case variant is in the categories.
        var folded: Bool

        func contains(_ c: UInt32) -> Bool {
            guard let scalar = Unicode.Scalar(c) else { return negated }
            var inside = categories.contains(scalar.properties.generalCategory)
            if !inside, folded {
                inside = CaseFolding.orbit(of: c).contains { v in
                    Unicode.Scalar(v).map { categories.contains($0.properties.generalCategory) } ?? false
                }
            }
            return inside != negated
        }
    }

    @inline(__always)
    func contains(_ c: UInt32) -> Bool {
        var lo = 0
        var hi = ranges.count
        while lo < hi {
            let mid = (lo + hi) / 2
            if ranges[mid].upperBound < c { lo = mid + 1 } else { hi = mid }
        }
        var found = lo < ranges.count && ranges[lo].lowerBound <= c
        if !found, !terms.isEmpty { found = termsContain(c) }
        return found != negated
    }

    /// The category terms' answer, kept out of line: rare, and large beside the range search.
    @inline(never)
    func termsContain(_ c: UInt32) -> Bool { terms.contains { $0.contains(c) } }

    mutating func add(_ r: ClosedRange<UInt32>) { ranges.append(r) }

    /// Adds the scalars of `other`, which must not be negated as a whole.
    mutating func formUnion(_ other: CharSet) {
        precondition(!other.negated, "a class item is never negated as a whole")
        ranges += other.ranges
        terms += other.terms
    }

    mutating func normalize() { ranges = CharSet.normalized(ranges) }

    static func normalized(_ ranges: [ClosedRange<UInt32>]) -> [ClosedRange<UInt32>] {
        let sorted = ranges.sorted { $0.lowerBound < $1.lowerBound }
        var out: [ClosedRange<UInt32>] = []
        out.reserveCapacity(sorted.count)
        for r in sorted {
            if let last = out.last, r.lowerBound <= last.upperBound &+ 1 {
                out[out.count - 1] = last.lowerBound...max(last.upperBound, r.upperBound)
            } else {
                out.append(r)
            }
        }
        return out
    }

    /// The scalars (0…U+10FFFF) not in the normalized `sorted`.
    static func complement(_ sorted: [ClosedRange<UInt32>]) -> [ClosedRange<UInt32>] {
        var out: [ClosedRange<UInt32>] = []
        var next: UInt32 = 0
        for r in sorted {
            if r.lowerBound > next { out.append(next...(r.lowerBound - 1)) }
            next = r.upperBound &+ 1
        }
        if next <= 0x10FFFF { out.append(next...0x10FFFF) }
        return out
    }

    /// A set of the given ranges, case-folded when asked and complemented when `negated`
    /// (the order RE2 folds and negates `\D`, `[:^alpha:]` and `[^…]` in).
    static func make(_ ranges: [ClosedRange<UInt32>], folded: Bool, negated: Bool) -> CharSet {
        var r = normalized(ranges)
        if folded { r = CaseFolding.fold(r) }
        return CharSet(ranges: negated ? complement(r) : r)
    }

    /// The single scalar this set is, if it is one.
    var singleScalar: UInt32? {
        guard !negated, terms.isEmpty, ranges.count == 1, ranges[0].lowerBound == ranges[0].upperBound else { return nil }
        return ranges[0].lowerBound
    }
}
