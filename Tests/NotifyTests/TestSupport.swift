import Alerting
import Foundation
import Logging
import Synchronization
import TimeSeries
@testable import Notify

/// A clock the test moves by hand.
final class ManualClock: Sendable {
    let now: Mutex<Timestamp>
    init(_ start: Timestamp = 1_700_000_000_000) { now = Mutex(start) }
    func advance(seconds: Double) { now.withLock { $0 += Int64(seconds * 1000) } }
    func advance(ms: Int64) { now.withLock { $0 += ms } }
    var value: Timestamp { now.withLock { $0 } }
    var read: @Sendable () -> Timestamp { { [self] in self.value } }
}

/// An alert as the rules would hand it over.
func makeAlert(
    _ name: String, severity: String? = "high", state: Alert.State = .firing, labels: [String: String] = [:],
    annotations: [String: String] = [:], value: Double = 1, at: Timestamp = 1_700_000_000_000
) -> Alert {
    var all = labels
    all["alertname"] = name
    return Alert(
        identity: Labels(all), severity: severity, annotations: annotations, state: state, value: value, activeAt: at,
        firedAt: state == .pending ? nil : at, resolvedAt: state == .resolved ? at : nil, source: "rules/test.yaml:api")
}

/// A transport that records requests and answers from a script (default 200).
final class FakeTransport: Transport {
    struct State {
        var requests: [TransportRequest] = []
        var script: [Result<TransportResponse, TransportError>] = []
        var fallback: Result<TransportResponse, TransportError> = .success(TransportResponse(status: 200))
    }
    let state = Mutex(State())

    func send(_ request: TransportRequest, completion: @escaping @Sendable (Result<TransportResponse, TransportError>) -> Void) {
        let answer = state.withLock { s -> Result<TransportResponse, TransportError> in
            s.requests.append(request)
            return s.script.isEmpty ? s.fallback : s.script.removeFirst()
        }
        completion(answer)
    }

    var requests: [TransportRequest] { state.withLock { $0.requests } }
    func answer(_ results: [Result<TransportResponse, TransportError>]) { state.withLock { $0.script.append(contentsOf: results) } }
    func answerAlways(_ result: Result<TransportResponse, TransportError>) { state.withLock { $0.fallback = result } }
}

func status(_ code: Int, headers: [(name: String, value: String)] = [], body: String = "") -> Result<TransportResponse, TransportError> {
    .success(TransportResponse(status: code, headers: headers, body: Array(body.utf8)))
}

/// A fresh directory under the system's temp dir, removed by the caller with `removeTree`.
func temporaryDirectory(_ prefix: String = "notify-test") -> String {
    let path = NSTemporaryDirectory() + "/\(prefix)-\(UUID().uuidString)"
    try! FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    return path
}

func removeTree(_ path: String) { try? FileManager.default.removeItem(atPath: path) }

/// A logger that drops everything (tests that count log lines use `CapturingLog`).
let quietLogger: Logger = {
    var l = Logger(label: "test", factory: { _ in SwiftLogNoOpLogHandler() })
    l.logLevel = .critical
    return l
}()

/// A log handler that keeps messages, for asserting what was (and was not) logged.
final class CapturingLog: Sendable {
    let lines = Mutex<[String]>([])
    var logger: Logger {
        Logger(label: "capture", factory: { _ in Handler(log: self) })
    }
    var all: [String] { lines.withLock { $0 } }

    struct Handler: LogHandler {
        let log: CapturingLog
        var metadata: Logger.Metadata = [:]
        var logLevel: Logger.Level = .trace
        subscript(metadataKey key: String) -> Logger.Metadata.Value? {
            get { metadata[key] }
            set { metadata[key] = newValue }
        }
        func log(event: LogEvent) {
            log.lines.withLock { $0.append("\(event.level): \(event.message)") }
        }
    }
}

func m(_ s: String) -> Matcher { try! Matcher.parse(s) }

func jsonObject(_ bytes: [UInt8]) -> [String: Any] {
    (try? JSONSerialization.jsonObject(with: Data(bytes))) as? [String: Any] ?? [:]
}
