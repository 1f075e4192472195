public import TimeSeries

extension Silences {
    static let encodingVersion: UInt8 = 1

    /// Every silence (expired ones within retention too), for the daemon's checkpoint section
    /// `Silences.checkpointSection`.
    public func encoded() -> [UInt8] {
        let all = state.withLock { Array($0.silences.values) }.sorted { $0.id < $1.id }
        var w = ByteWriter()
        w.byte(Silences.encodingVersion)
        w.varint(all.count)
        for s in all {
            w.string(s.id)
            w.varint(s.matchers.count)
            for m in s.matchers {
                w.string(m.name)
                w.byte(UInt8(Matcher.Kind.allCases.firstIndex(of: m.kind)!))
                w.string(m.value)
            }
            w.signed(s.startsAt)
            w.signed(s.endsAt)
            w.signed(s.updatedAt)
            w.string(s.createdBy)
            w.string(s.comment)
        }
        return w.bytes
    }

    /// Replaces the silences with those in `bytes` (from `encoded()`); on any error nothing changes.
    public func restore(from bytes: [UInt8]) throws(CheckpointError) {
        var r = ByteReader(bytes)
        let version = try r.byte()
        guard version == Silences.encodingVersion else { throw .malformed("silences: unknown encoding version \(version)") }
        // Counts are bounded by their limits and by the bytes left, before anything is reserved:
        // a silence takes at least 7 bytes (id, matcher count, three times, author, comment), a
        // matcher 3 (name, kind, value).
        let n = try r.count(limit: Silences.maxSilences, each: 7)
        var restored: [String: Silence] = [:]
        for _ in 0..<n {
            let id = try r.string()
            let matcherCount = try r.count(limit: Silences.maxMatchers, each: 3)
            var matchers: [Matcher] = []
            for _ in 0..<matcherCount {
                let name = try r.string()
                let kindIndex = Int(try r.byte())
                let value = try r.string()
                guard kindIndex < Matcher.Kind.allCases.count else { throw .malformed("silence \(id): matcher kind \(kindIndex)") }
                do {
                    matchers.append(try Matcher(name: name, Matcher.Kind.allCases[kindIndex], value))
                } catch {
                    throw .malformed("silence \(id): \(error.message)")
                }
            }
            let startsAt = try r.signed(), endsAt = try r.signed(), updatedAt = try r.signed()
            let createdBy = try r.string(), comment = try r.string()
            restored[id] = Silence(
                id: id, matchers: matchers, startsAt: startsAt, endsAt: endsAt, createdBy: createdBy, comment: comment,
                updatedAt: updatedAt)
        }
        guard r.atEnd else { throw .malformed("silences: trailing bytes") }
        state.withLock { state in
            state.silences = restored
            state.version &+= 1
        }
    }
}
