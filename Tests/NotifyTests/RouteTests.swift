import Testing
import TimeSeries
@testable import Notify

@Suite struct RouteTests {
    func tree() throws -> Route {
        try Route(
            root: Route.Spec(
                receiver: "chat", groupBy: .labels(["alertname"]),
                routes: [
                    .init(receiver: "pager", matchers: [m("severity=\"critical\"")], continue: true),
                    .init(
                        receiver: "db-chat", matchers: [m("team=\"db\"")], groupWait: .seconds(30),
                        routes: [.init(receiver: "db-pager", matchers: [m("severity=\"critical\"")])]),
                    .init(receiver: "digest", matchers: [m("severity=\"low\"")], groupBy: .labels([])),
                ]))
    }

    @Test(arguments: [
        // As in Alertmanager: the parent takes an alert only when no child did, `continue` or not.
        (["severity": "critical"], ["pager"]),
        (["severity": "critical", "team": "db"], ["pager", "db-pager"]),
        (["severity": "high", "team": "db"], ["db-chat"]),
        (["severity": "low"], ["digest"]),
        (["severity": "high"], ["chat"]),
        ([:], ["chat"]),
    ])
    func alertsGoToTheFirstMatchingRouteUnlessContinue(labels: [String: String], receivers: [String]) throws {
        var all = labels
        all["alertname"] = "X"
        #expect(try tree().match(Labels(all)).map(\.receiver) == receivers)
    }

    @Test func childrenInheritUnsetSettings() throws {
        let root = try tree()
        let db = root.routes[1]
        #expect(db.groupWait == .seconds(30))
        #expect(db.groupInterval == Route.defaultGroupInterval)
        #expect(db.routes[0].groupWait == .seconds(30))
        #expect(db.routes[0].groupBy == .labels(["alertname"]))
        #expect(root.routes[2].groupBy == .labels([]))
        #expect(root.repeatInterval == .seconds(4 * 3600))
        #expect(root.groupWait == .seconds(10))
    }

    @Test func keysAreAlertmanagersRouteKeys() throws {
        let root = try tree()
        #expect(root.key == "{}")
        #expect(root.routes[1].routes[0].key == "{}/{team=\"db\"}/{severity=\"critical\"}")
        #expect(Set(root.allRoutes.map(\.id)).count == root.allRoutes.count)
    }

    @Test func groupLabelsFollowGroupBy() throws {
        let labels = Labels(["alertname": "X", "instance": "a", "severity": "high"])
        let root = try tree()
        #expect(root.groupLabels(of: labels) == Labels(["alertname": "X"]))
        #expect(root.routes[2].groupLabels(of: labels) == Labels())
        let all = try Route(root: .init(receiver: "r", groupBy: .all))
        #expect(all.groupLabels(of: labels) == labels)
    }

    @Test func invalidTreesAreRefusedWithTheRoutesPath() {
        #expect(throws: RouteError(path: "route", message: "the root route needs a receiver")) {
            try Route(root: .init())
        }
        #expect(throws: RouteError.self) { try Route(root: .init(receiver: "a", matchers: [m("a=\"b\"")])) }
        #expect(throws: RouteError(path: "route.routes[0]", message: "receiver \"nope\" is not defined under notify.receivers")) {
            try Route(root: .init(receiver: "a", routes: [.init(receiver: "nope")]), receivers: ["a"])
        }
        #expect(throws: RouteError.self) { try Route(root: .init(receiver: "a", groupInterval: .zero)) }
    }

    @Test func theSeverityDefaultPagesCriticalAndDigestsLow() throws {
        let root = try Route(root: Route.severityDefault(chat: "chat", pager: "pager", digest: "digest"))
        func receivers(_ severity: String?) -> [String] {
            var labels = ["alertname": "X"]
            labels["severity"] = severity
            return root.match(Labels(labels)).map(\.receiver)
        }
        #expect(receivers("critical") == ["pager", "chat"])
        #expect(receivers("high") == ["chat"])
        #expect(receivers("medium") == ["chat"])
        #expect(receivers("low") == ["digest"])
        #expect(receivers(nil) == ["chat"])
        let digest = root.match(Labels(["alertname": "X", "severity": "low"]))[0]
        #expect(digest.groupInterval == .seconds(3600))
        #expect(digest.groupBy == .labels([]))
    }
}
