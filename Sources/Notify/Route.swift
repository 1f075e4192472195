public import TimeSeries
import Alerting

/// A node of the routing tree: which alerts it takes (matchers), who gets them (receiver) and how
/// they are grouped and timed. Immutable once built.
///
/// Matching is Alertmanager's: an alert enters a node when the node's matchers match; it then
/// tries the children in order and goes to the first that takes it (or to every one that takes
/// it while the taking children say `continue`); when no child takes it, the node itself does.
/// Settings not given on a child are inherited from its parent.
public final class Route: Sendable {
    /// How alerts are grouped into notifications.
    public enum GroupBy: Sendable, Hashable {
        /// By these label names (empty: every alert of the route in one group).
        case labels([String])
        /// By every label (`group_by: ['...']`): one group per alert.
        case all
    }

    /// The receiver's name.
    public let receiver: String
    public let matchers: [Matcher]
    /// Keep trying later siblings after this route matched.
    public let `continue`: Bool
    public let groupBy: GroupBy
    /// How long a new group waits for more alerts before its first notification.
    public let groupWait: Duration
    /// How long a group waits before notifying about changes after a notification.
    public let groupInterval: Duration
    /// How long a group waits before repeating an unchanged notification.
    public let repeatInterval: Duration
    public let routes: [Route]
    /// Alertmanager's route key (`{}/{severity="critical"}`): the first part of every group key.
    public let key: String
    /// A unique id in the tree (the key plus the child index), for telling twin routes apart.
    public let id: String

    /// Alertmanager's defaults.
    public static let defaultGroupWait: Duration = .seconds(10)
    public static let defaultGroupInterval: Duration = .seconds(60)
    public static let defaultRepeatInterval: Duration = .seconds(4 * 3600)

    /// The settings of one node as written in configuration; nil fields inherit.
    public struct Spec: Sendable, Equatable {
        public var receiver: String?
        public var matchers: [Matcher]
        public var `continue`: Bool
        public var groupBy: GroupBy?
        public var groupWait: Duration?
        public var groupInterval: Duration?
        public var repeatInterval: Duration?
        public var routes: [Spec]

        public init(
            receiver: String? = nil, matchers: [Matcher] = [], continue: Bool = false, groupBy: GroupBy? = nil,
            groupWait: Duration? = nil, groupInterval: Duration? = nil, repeatInterval: Duration? = nil, routes: [Spec] = []
        ) {
            self.receiver = receiver
            self.matchers = matchers
            self.continue = `continue`
            self.groupBy = groupBy
            self.groupWait = groupWait
            self.groupInterval = groupInterval
            self.repeatInterval = repeatInterval
            self.routes = routes
        }
    }

    /// Builds the tree from its root spec; throws when the root has no receiver or matchers, or a
    /// route names a receiver not in `receivers` (when given), or an interval is not positive.
    public convenience init(root spec: Spec, receivers: Set<String>? = nil) throws(RouteError) {
        guard let receiver = spec.receiver, !receiver.isEmpty else {
            throw RouteError(path: "route", message: "the root route needs a receiver")
        }
        guard spec.matchers.isEmpty else {
            throw RouteError(path: "route", message: "the root route takes every alert; it cannot have matchers")
        }
        try self.init(
            spec: spec, path: "route", parentKey: nil, index: nil, receiver: receiver,
            groupBy: spec.groupBy ?? .labels([]), groupWait: spec.groupWait ?? Route.defaultGroupWait,
            groupInterval: spec.groupInterval ?? Route.defaultGroupInterval,
            repeatInterval: spec.repeatInterval ?? Route.defaultRepeatInterval, parentID: nil, receivers: receivers)
    }

    private init(
        spec: Spec, path: String, parentKey: String?, index: Int?, receiver: String, groupBy: GroupBy,
        groupWait: Duration, groupInterval: Duration, repeatInterval: Duration, parentID: String?, receivers: Set<String>?
    ) throws(RouteError) {
        if let receivers, !receivers.contains(receiver) {
            throw RouteError(path: path, message: "receiver \"\(receiver)\" is not defined under notify.receivers")
        }
        guard groupWait >= .zero else { throw RouteError(path: path, message: "group_wait must not be negative") }
        guard groupInterval > .zero else { throw RouteError(path: path, message: "group_interval must be positive") }
        guard repeatInterval > .zero else { throw RouteError(path: path, message: "repeat_interval must be positive") }
        self.receiver = receiver
        self.matchers = spec.matchers
        self.continue = spec.continue
        self.groupBy = groupBy
        self.groupWait = groupWait
        self.groupInterval = groupInterval
        self.repeatInterval = repeatInterval
        let ownKey = spec.matchers.listDescription
        key = parentKey.map { $0 + "/" + ownKey } ?? ownKey
        id = (parentID.map { $0 + "/" } ?? "") + ownKey + (index.map { "/\($0)" } ?? "")
        var children: [Route] = []
        for (i, child) in spec.routes.enumerated() {
            children.append(
                try Route(
                    spec: child, path: "\(path).routes[\(i)]", parentKey: key, index: i,
                    receiver: child.receiver ?? receiver, groupBy: child.groupBy ?? groupBy,
                    groupWait: child.groupWait ?? groupWait, groupInterval: child.groupInterval ?? groupInterval,
                    repeatInterval: child.repeatInterval ?? repeatInterval, parentID: id, receivers: receivers))
        }
        routes = children
    }

    /// The routes that take an alert with these labels, in tree order (empty only when this
    /// node's own matchers do not match).
    public func match(_ labels: Labels) -> [Route] {
        guard matchers.matches(labels) else { return [] }
        var all: [Route] = []
        for child in routes {
            let taken = child.match(labels)
            all.append(contentsOf: taken)
            if !taken.isEmpty, !child.continue { break }
        }
        if all.isEmpty { all.append(self) }
        return all
    }

    /// The labels an alert is grouped by on this route.
    public func groupLabels(of labels: Labels) -> Labels {
        switch groupBy {
        case .all: return labels
        case .labels(let names): return labels.keeping(Set(names))
        }
    }

    /// Every route of the tree, depth first.
    public var allRoutes: [Route] {
        [self] + routes.flatMap(\.allRoutes)
    }

    /// The default tree for severity tiers: critical pages (`pager`) and goes to `chat`; high and
    /// medium go to `chat`; low goes to `digest` in one group flushed at most hourly. Alerts
    /// without a severity go to `chat`. A nil `pager` or `digest` falls back to `chat`.
    public static func severityDefault(chat: String, pager: String? = nil, digest: String? = nil) -> Spec {
        var routes: [Spec] = []
        func severity(_ kind: Matcher.Kind, _ value: String) -> [Matcher] {
            [try! Matcher(name: Alert.severityLabel, kind, value)]
        }
        if let pager {
            routes.append(Spec(receiver: pager, matchers: severity(.equal, "critical"), continue: true))
        }
        routes.append(Spec(receiver: chat, matchers: severity(.regexMatch, "critical|high|medium")))
        routes.append(
            Spec(
                receiver: digest ?? chat, matchers: severity(.equal, "low"), groupBy: .labels([]),
                groupWait: .seconds(60), groupInterval: .seconds(3600), repeatInterval: .seconds(24 * 3600)))
        return Spec(receiver: chat, groupBy: .labels(["alertname"]), routes: routes)
    }
}

/// A routing tree that cannot be built, with the route's path (`route.routes[1]`).
public struct RouteError: Error, Sendable, Equatable, CustomStringConvertible {
    public var path: String
    public var message: String
    public init(path: String, message: String) {
        self.path = path
        self.message = message
    }
    public var description: String { "\(path): \(message)" }
}

extension Duration {
    /// Whole milliseconds (rounded down), for arithmetic on `Timestamp`s.
    var milliseconds: Int64 {
        let (seconds, attoseconds) = components
        return seconds * 1000 + attoseconds / 1_000_000_000_000_000
    }
}
