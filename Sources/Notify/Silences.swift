public import TimeSeries
import Synchronization

/// A silence: matchers that mute the alerts they match between `startsAt` and `endsAt`.
public struct Silence: Sendable, Equatable {
    /// Where a silence is in its life, relative to a moment.
    public enum State: String, Sendable, CaseIterable {
        /// Starts in the future.
        case pending
        /// Mutes matching alerts now.
        case active
        /// Ended (expired early or ran out); kept for a while for `list`.
        case expired
    }

    /// A random UUID (version 4), as Alertmanager's silence ids.
    public var id: String
    /// All must match for an alert to be silenced.
    public var matchers: [Matcher]
    public var startsAt: Timestamp
    public var endsAt: Timestamp
    /// Who created it.
    public var createdBy: String
    /// Why it exists (a ticket, a maintenance window).
    public var comment: String
    /// Last change (creation or expiry).
    public var updatedAt: Timestamp

    public init(
        id: String, matchers: [Matcher], startsAt: Timestamp, endsAt: Timestamp, createdBy: String, comment: String,
        updatedAt: Timestamp
    ) {
        self.id = id
        self.matchers = matchers
        self.startsAt = startsAt
        self.endsAt = endsAt
        self.createdBy = createdBy
        self.comment = comment
        self.updatedAt = updatedAt
    }

    /// The state at `now`.
    public func state(at now: Timestamp) -> State {
        if now >= endsAt { return .expired }
        if now < startsAt { return .pending }
        return .active
    }

    /// True when it is active at `now` and its matchers match `labels`.
    public func mutes(_ labels: Labels, at now: Timestamp) -> Bool {
        state(at: now) == .active && matchers.matches(labels)
    }
}

/// Why a silence was refused or could not be found; says what to change.
public struct SilenceError: Error, Sendable, Equatable, CustomStringConvertible {
    public var message: String
    /// True when no silence has the id asked for (the API answers 404), false when the request is wrong.
    public var isNotFound = false
    public init(_ message: String) { self.message = message }
    public var description: String { message }

    /// No silence has this id.
    public static func notFound(_ id: String) -> SilenceError {
        var e = SilenceError("no silence with id \(id)")
        e.isNotFound = true
        return e
    }
}

/// The silences, created and expired through the daemon's API and persisted in its checkpoint.
///
/// Owner: a lock-protected final class (one `Mutex` around the list); every method may be called
/// from any thread. Time comes from the injected clock. Expired silences are kept for
/// `retention` after they end (for `agent silence list`), then forgotten.
public final class Silences: Sendable {
    /// The checkpoint section the daemon stores `encoded()` under.
    public static let checkpointSection = "notify.silences"
    /// Bounds: a silence list is configuration written by people; these stop a runaway script.
    public static let maxSilences = 10_000
    public static let maxMatchers = 64
    public static let maxTextLength = 4096

    struct State {
        var silences: [String: Silence] = [:]
        var version: UInt64 = 0
    }

    let state = Mutex(State())
    let clock: @Sendable () -> Timestamp
    /// How long an expired silence stays listed.
    public let retention: Duration

    public init(retention: Duration = .seconds(5 * 24 * 3600), clock: @escaping @Sendable () -> Timestamp) {
        self.clock = clock
        self.retention = retention
    }

    /// Creates a silence from `startsAt` (default now) to `endsAt`. Refused when it has no
    /// matcher, when every matcher also matches an absent label (it would silence everything),
    /// when it ends before it starts or in the past, or without author or comment.
    @discardableResult
    public func add(
        matchers: [Matcher], startsAt: Timestamp? = nil, endsAt: Timestamp, createdBy: String, comment: String
    ) throws(SilenceError) -> Silence {
        let now = clock()
        let silence = try Silences.validated(
            id: Silences.newID(), matchers: matchers, startsAt: startsAt ?? now, endsAt: endsAt, createdBy: createdBy, comment: comment, now: now)
        try state.withLock { (state: inout State) throws(SilenceError) in
            try Silences.insert(silence, into: &state, now: now, retention: retention.milliseconds)
        }
        return silence
    }

    /// Creates a silence, or changes the one with `id`, as Alertmanager's `Silences.Set` does (the
    /// API's `POST /api/v2/silences`). A change keeps the id when the matchers are the same and
    /// the times allow it: an active silence keeps its start and may not end in the past; a
    /// pending one may not start in the past; an expired one never changes. Otherwise the old
    /// silence is expired (unless it already is) and a new one with a new id replaces it. Throws
    /// `notFound` for an id no silence has, and what `add` refuses.
    @discardableResult
    public func set(
        id: String?, matchers: [Matcher], startsAt: Timestamp? = nil, endsAt: Timestamp, createdBy: String, comment: String
    ) throws(SilenceError) -> Silence {
        guard let id, !id.isEmpty else {
            return try add(matchers: matchers, startsAt: startsAt, endsAt: endsAt, createdBy: createdBy, comment: comment)
        }
        let now = clock()
        let start = startsAt ?? now
        // Validated before anything changes: a refused change leaves the old silence as it was.
        var next = try Silences.validated(
            id: id, matchers: matchers, startsAt: start, endsAt: endsAt, createdBy: createdBy, comment: comment, now: now)
        return try state.withLock { (state: inout State) throws(SilenceError) -> Silence in
            guard var previous = state.silences[id] else { throw SilenceError.notFound(id) }
            if Silences.canUpdate(previous, matchers: matchers, startsAt: start, endsAt: endsAt, now: now) {
                // Validation moved a past start to now; an update keeps the start it was given.
                next.startsAt = start
                state.silences[id] = next
                state.version &+= 1
                return next
            }
            switch previous.state(at: now) {
            case .expired: break
            case .pending:
                previous.startsAt = now
                previous.endsAt = now
                previous.updatedAt = now
            case .active:
                previous.endsAt = now
                previous.updatedAt = now
            }
            state.silences[id] = previous
            next.id = Silences.newID()
            try Silences.insert(next, into: &state, now: now, retention: retention.milliseconds)
            return next
        }
    }

    /// Alertmanager's `canUpdate`: same matchers, and times a silence in its state may take.
    static func canUpdate(_ old: Silence, matchers: [Matcher], startsAt: Timestamp, endsAt: Timestamp, now: Timestamp) -> Bool {
        guard old.matchers == matchers else { return false }
        switch old.state(at: now) {
        case .active: return startsAt == old.startsAt && endsAt >= now
        case .pending: return startsAt >= now
        case .expired: return false
        }
    }

    static func insert(_ silence: Silence, into state: inout State, now: Timestamp, retention: Int64) throws(SilenceError) {
        Silences.collect(&state, now: now, retention: retention)
        guard state.silences.count < Silences.maxSilences else {
            throw SilenceError("too many silences (\(Silences.maxSilences)); expire some first")
        }
        state.silences[silence.id] = silence
        state.version &+= 1
    }

    /// The silence these fields make, checked as `add` documents; a start in the past becomes now.
    static func validated(
        id: String, matchers: [Matcher], startsAt start: Timestamp, endsAt: Timestamp, createdBy: String, comment: String, now: Timestamp
    ) throws(SilenceError) -> Silence {
        guard !matchers.isEmpty else { throw SilenceError("a silence needs at least one matcher, e.g. alertname=\"HighLatency\"") }
        guard matchers.count <= Silences.maxMatchers else { throw SilenceError("a silence takes at most \(Silences.maxMatchers) matchers") }
        guard matchers.contains(where: { !$0.matchesEmpty }) else {
            throw SilenceError("at least one matcher must not match an empty value, or the silence would mute every alert")
        }
        guard endsAt > start else { throw SilenceError("the silence must end after it starts") }
        guard endsAt > now else { throw SilenceError("the silence would end in the past; give a later end time") }
        let author = createdBy.trimmingSpaces, why = comment.trimmingSpaces
        guard !author.isEmpty else { throw SilenceError("say who creates the silence (created by)") }
        guard !why.isEmpty else { throw SilenceError("say why the silence exists (comment)") }
        guard author.utf8.count <= Silences.maxTextLength, why.utf8.count <= Silences.maxTextLength else {
            throw SilenceError("author and comment are limited to \(Silences.maxTextLength) bytes each")
        }
        return Silence(
            id: id, matchers: matchers, startsAt: max(start, now), endsAt: endsAt, createdBy: author, comment: why, updatedAt: now)
    }

    /// Ends a pending or active silence now. Throws when no silence has this id or it already expired.
    @discardableResult
    public func expire(id: String) throws(SilenceError) -> Silence {
        let now = clock()
        return try state.withLock { (state: inout State) throws(SilenceError) -> Silence in
            guard var silence = state.silences[id] else { throw SilenceError.notFound(id) }
            switch silence.state(at: now) {
            case .expired: throw SilenceError("silence \(id) already expired")
            case .pending:
                silence.startsAt = now
                silence.endsAt = now
            case .active:
                silence.endsAt = now
            }
            silence.updatedAt = now
            state.silences[id] = silence
            state.version &+= 1
            return silence
        }
    }

    /// The silence with this id, if known.
    public func silence(id: String) -> Silence? {
        state.withLock { $0.silences[id] }
    }

    /// Silences in the given states (all by default): active first, then pending, then expired;
    /// within a state by end time.
    public func list(states: Set<Silence.State> = Set(Silence.State.allCases)) -> [Silence] {
        let now = clock()
        let all = state.withLock { state -> [Silence] in
            Silences.collect(&state, now: now, retention: retention.milliseconds)
            return Array(state.silences.values)
        }
        let order: [Silence.State: Int] = [.active: 0, .pending: 1, .expired: 2]
        return all.filter { states.contains($0.state(at: now)) }.sorted {
            let a = order[$0.state(at: now)]!, b = order[$1.state(at: now)]!
            if a != b { return a < b }
            if $0.endsAt != $1.endsAt { return $0.endsAt < $1.endsAt }
            return $0.id < $1.id
        }
    }

    /// Ids of the active silences that mute `labels` at `now` (default: the clock's now).
    public func silencing(_ labels: Labels, at now: Timestamp? = nil) -> [String] {
        let now = now ?? clock()
        return state.withLock { state in
            state.silences.values.filter { $0.mutes(labels, at: now) }.map(\.id).sorted()
        }
    }

    /// A snapshot of the active silences for checking many alerts with one lock hold.
    public func activeSnapshot(at now: Timestamp? = nil) -> [Silence] {
        let now = now ?? clock()
        return state.withLock { state in state.silences.values.filter { $0.state(at: now) == .active } }
    }

    /// Grows by one at every change; the daemon checkpoints when it moved.
    public var version: UInt64 { state.withLock { $0.version } }

    static func collect(_ state: inout State, now: Timestamp, retention: Int64) {
        let before = state.silences.count
        state.silences = state.silences.filter { $0.value.endsAt + retention > now }
        if state.silences.count != before { state.version &+= 1 }
    }

    /// A random version-4 UUID in its usual text form.
    static func newID() -> String {
        var rng = SystemRandomNumberGenerator()
        var bytes = (0..<16).map { _ in UInt8.random(in: 0...255, using: &rng) }
        bytes[6] = (bytes[6] & 0x0F) | 0x40
        bytes[8] = (bytes[8] & 0x3F) | 0x80
        let hex = bytes.map { b in String(b >> 4, radix: 16) + String(b & 0xF, radix: 16) }
        return hex[0..<4].joined() + "-" + hex[4..<6].joined() + "-" + hex[6..<8].joined() + "-"
            + hex[8..<10].joined() + "-" + hex[10..<16].joined()
    }
}

extension String {
    var trimmingSpaces: String {
        var s = Substring(self)
        while let f = s.first, f.isWhitespace { s.removeFirst() }
        while let l = s.last, l.isWhitespace { s.removeLast() }
        return String(s)
    }
}
