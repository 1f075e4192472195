import Alerting
import Foundation
import Ingest
import Testing
import TimeSeries
@testable import Notify

/// Alertmanager forwarding re-sends firing alerts every `resend_interval` (so that they do not
/// expire there); every other integration of the same receiver follows `repeat_interval`.
@Suite(.serialized) struct ResendTests {
    static let client = HTTPClient()
    let clock = ManualClock(Notifier.wallClock())

    func notifier(_ receiver: LocalReceiver, dir: String) throws -> Notifier {
        let spec = Route.Spec(
            receiver: "fleet", groupBy: .labels(["alertname"]), groupWait: .zero, groupInterval: .seconds(10), repeatInterval: .seconds(3600))
        let integrations = [
            Integration(receiver: "fleet", index: 0, builder: WebhookReceiver(), destination: .http(Endpoint(url: .inline(receiver.url("/hook"))))),
            Integration(receiver: "fleet", index: 1, builder: AlertmanagerReceiver(), destination: .http(Endpoint(url: .inline(receiver.url("/am"))))),
        ]
        let n = Notifier(
            configuration: .init(
                route: try Route(root: spec), integrations: integrations, resendIntervals: ["fleet": .seconds(60)],
                outbox: .init(directory: dir + "/outbox")),
            transport: CurlTransport(client: ResendTests.client), logger: quietLogger, clock: clock.read)
        try n.open()
        n.start()
        return n
    }

    /// The rules hand over every active alert at each evaluation (here every 15 s).
    func run(_ n: Notifier, _ alert: Alert, seconds: Int) {
        for s in 0..<seconds {
            clock.advance(seconds: 1)
            if s % 15 == 0 { n.receive([alert]) }
            n.tick()
        }
        _ = n.outbox.waitUntilEmpty(timeout: .seconds(5))
    }

    @Test func aWebhookSharingAReceiverWithTheForwarderFollowsRepeatInterval() throws {
        let dir = temporaryDirectory()
        defer { removeTree(dir) }
        let receiver = try LocalReceiver()
        let n = try notifier(receiver, dir: dir)
        defer { n.stop() }
        let alert = makeAlert("DiskFull", severity: "high", labels: ["instance": "db-1"], at: clock.value)
        n.receive([alert])
        run(n, alert, seconds: 600)
        let paths = receiver.requests().map(\.path)
        #expect(paths.filter { $0 == "/hook" }.count == 1, "one webhook in 10 minutes, not one per resend")
        #expect(paths.filter { $0 == "/am" }.count == 11, "Alertmanager hears of it every minute")
        run(n, alert, seconds: 3000)
        #expect(receiver.requests().map(\.path).filter { $0 == "/hook" }.count == 2, "repeated after repeat_interval (1 h)")
    }
}
