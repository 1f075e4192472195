import Dispatch
import Logging
import TimeSeries

/// Delivery: lanes, attempts, outcomes. Everything here runs on `queue`.
extension Outbox {
    func append(_ item: Item) {
        if lanes[item.lane] == nil {
            lanes[item.lane] = []
            laneOrder.append(item.lane)
        }
        lanes[item.lane]!.append(item)
    }

    /// A queued item for `entry`, with its integration resolved; nil when it has none now.
    func makeItem(_ entry: OutboxEntry, segment: String?, index: Int, now: Timestamp) -> Item? {
        guard let integration = table.resolve(entry.target, legacyIndex: entry.legacyIndex) else { return nil }
        nextItemID += 1
        return Item(
            id: nextItemID, entry: entry, lane: FiringLedger.lane(integration.name, entry.groupKey), integration: integration.name,
            nextAttempt: now, segment: segment, index: index)
    }

    func pumpOnQueue() {
        guard !stopped else { return }
        let now = clock()
        var inFlight = counters.withLock { $0.inFlight }
        laneOrder.removeAll { lane in
            guard lanes[lane]?.isEmpty ?? true else { return false }
            lanes[lane] = nil  // so the next entry of this lane re-registers it
            return true
        }
        for lane in laneOrder where inFlight < configuration.maxInFlight {
            guard let head = lanes[lane]?.first, !head.inFlight, head.nextAttempt <= now else { continue }
            lanes[lane]![0].inFlight = true
            inFlightLane[head.id] = lane
            inFlight += 1
            counters.withLock { $0.inFlight += 1 }
            attempt(lanes[lane]![0])
        }
        // After the attempts (some finish at once: files, unreadable secrets), the next wake-up.
        var nextDue: Timestamp?
        for lane in laneOrder {
            guard let head = lanes[lane]?.first, !head.inFlight else { continue }
            let due = max(head.nextAttempt, now + 1)
            nextDue = min(nextDue ?? due, due)
        }
        schedule(nextDue)
    }

    /// While draining: is anything in flight, or due before the drain's end?
    func drainHasWork() -> Bool {
        guard let until = drainUntil else { return false }
        if counters.withLock({ $0.inFlight }) > 0 { return true }
        return laneOrder.contains { lane in
            guard let head = lanes[lane]?.first else { return false }
            return head.nextAttempt <= until
        }
    }

    func schedule(_ due: Timestamp?) {
        guard running, let due else { return }
        if let current = timerDeadline, current <= due, timer != nil { return }
        timer?.cancel()
        let t = DispatchSource.makeTimerSource(queue: queue)
        let delay = max(0, due - clock())
        t.schedule(deadline: .now() + .milliseconds(Int(min(delay, Int64(Int32.max)))), leeway: .milliseconds(5))
        t.setEventHandler { [weak self] in
            guard let self else { return }
            self.timer = nil
            self.timerDeadline = nil
            self.pumpOnQueue()
        }
        timer = t
        timerDeadline = due
        t.resume()
    }

    func attempt(_ item: Item) {
        counters.withLock { $0.attempts += 1 }
        guard let integration = table.byID[item.integration] else {
            finish(item.id, outcome: .removed)
            return
        }
        var entry = item.entry
        // Resolutions of alerts whose firing never reached this integration are withheld.
        let refused = ledger.withLock { $0.refused(item.lane) }
        if !refused.isEmpty {
            let withheld = entry.alerts.filter { !$0.firing && refused[$0.fingerprint] != nil }.map(\.fingerprint)
            if !withheld.isEmpty {
                let left = entry.alerts.filter { $0.firing || refused[$0.fingerprint] == nil }
                counters.withLock {
                    $0.integrations[integration.name, default: Outbox.status(for: integration)].withheldResolutions += UInt64(withheld.count)
                }
                if left.isEmpty {
                    finish(item.id, outcome: .withheld, integration: integration)
                    return
                }
                if var n = entry.notification {
                    let drop = Set(withheld)
                    n.alerts.removeAll { $0.status == .resolved && drop.contains($0.fingerprint) }
                    n.idempotencyKey = Notifier.integrationKey(integration: entry.target.id, groupKey: entry.groupKey, base: entry.idempotencyKey, alerts: n.alerts)
                    entry.idempotencyKey = n.idempotencyKey
                    entry.payload = integration.builder.payload(for: n)
                    entry.alerts = left
                    entry.notification = n
                    // In memory only: after a restart the stored entry is filtered the same way.
                    lanes[item.lane]![0].entry = entry
                }
            }
        }
        switch integration.destination {
        case .stdout:
            do {
                try DurableFiles.writeAll(1, entry.payload.body, path: "standard output")
                finish(item.id, outcome: .delivered, integration: integration)
            } catch {
                finish(item.id, outcome: .retry("\(error)", after: nil), integration: integration)
            }
        case .file(let path):
            do {
                try DurableFiles.append(entry.payload.body, to: path)
                finish(item.id, outcome: .delivered, integration: integration)
            } catch {
                finish(item.id, outcome: .retry("\(error)", after: nil), integration: integration)
            }
        case .http(let endpoint):
            let request: TransportRequest
            do {
                request = try Outbox.request(for: entry, integration: integration, endpoint: endpoint)
            } catch {
                finish(item.id, outcome: .retry(error.message, after: nil), integration: integration)
                return
            }
            let redacted = RedactedURL.string(request.url)
            let id = item.id
            transport.send(request) { result in
                self.queue.async {
                    self.finish(id, outcome: Outbox.classify(result, url: redacted, now: self.clock()), integration: integration)
                    self.pumpOnQueue()
                }
            }
        }
    }

    /// The HTTP request for an entry: URL and body secrets resolved, headers and signature added.
    static func request(for entry: OutboxEntry, integration: Integration, endpoint: Endpoint) throws(SecretError) -> TransportRequest {
        var url = try endpoint.url.resolve()
        if !entry.payload.query.isEmpty {
            let query = entry.payload.query.sorted { $0.key < $1.key }.map { "\(percentEncode($0.key))=\(percentEncode($0.value))" }
            url += (url.contains("?") ? "&" : "?") + query.joined(separator: "&")
        }
        let body = try integration.finalBody(entry.payload.body)
        var headers: [(name: String, value: String)] = [
            ("Content-Type", entry.payload.contentType),
            ("Idempotency-Key", entry.idempotencyKey),
        ]
        if let secret = endpoint.hmacSecret {
            headers.append(("X-Signature-256", HMACSHA256.signatureHeader(key: Array(try secret.resolve().utf8), body: body)))
        }
        headers.append(contentsOf: endpoint.headers)
        return TransportRequest(url: url, headers: headers, body: body, timeout: endpoint.timeout)
    }

    enum Outcome {
        case delivered
        /// Try again: after the backoff, or not before `after` (ms) when the receiver said so.
        case retry(String, after: Int64?)
        /// The service said no for good (`status` nil: the request cannot be made). `body` is its answer.
        case refused(status: Int?, body: [UInt8], detail: String)
        /// Every alert it announced was a withheld resolution: not sent.
        case withheld
        /// Its integration is gone.
        case removed
    }

    /// Alertmanager's rule: 2xx done; 408, 429 and 5xx retry; the rest is final.
    static func classify(_ result: Result<TransportResponse, TransportError>, url: String, now: Timestamp) -> Outcome {
        switch result {
        case .failure(let error):
            return error.retryable ? .retry("\(url): \(error.message)", after: nil) : .refused(status: nil, body: [], detail: "\(url): \(error.message)")
        case .success(let response):
            let status = response.status
            if (200..<300).contains(status) { return .delivered }
            if status == 429 || status == 408 || (500..<600).contains(status) {
                let answer = "\(url) answered \(status): \(quote(response.body, secrets: []))"
                return .retry(answer, after: response.header("Retry-After").flatMap { RetryAfter.milliseconds($0, now: now) })
            }
            return .refused(status: status, body: response.body, detail: "\(url) answered \(status)")
        }
    }

    static func status(for integration: Integration) -> IntegrationStatus {
        IntegrationStatus(receiver: integration.receiver, integration: "\(integration.kind)[\(integration.kindIndex)]")
    }

    func finish(_ id: UInt64, outcome: Outcome, integration: Integration? = nil) {
        counters.withLock { $0.inFlight -= 1 }
        guard let lane = inFlightLane.removeValue(forKey: id), let position = lanes[lane]?.firstIndex(where: { $0.id == id }) else { return }
        var item = lanes[lane]![position]
        let now = clock()
        let name = integration?.name ?? item.integration
        let firing = item.entry.alerts.filter(\.firing).map(\.fingerprint)
        switch outcome {
        case .delivered:
            if !item.entry.alerts.isEmpty {
                note(.delivered(lane: lane, firing: firing, resolved: item.entry.alerts.filter { !$0.firing }.map(\.fingerprint), at: now))
            }
            remove(lane: lane, at: position)
            counters.withLock {
                $0.delivered += 1
                $0.deliveredByIntegration[name, default: 0] += 1
                if let integration { $0.integrations[name, default: Outbox.status(for: integration)].delivered += 1 }
            }
            if let suppressed = throttle.recovered(name) {
                logger.info("notifications to \(name) are delivered again (\(suppressed) failures were not logged)")
            }
        case .withheld:
            remove(lane: lane, at: position)
            counters.withLock { $0.withheld += 1 }
            // One line per integration and 30 s: a refusing service withholds every group's resolution.
            if let suppressed = throttle.allow("withheld\u{1}" + name, now: now) {
                let note = suppressed > 0 ? " (\(suppressed) similar messages were not logged)" : ""
                logger.info("notification to \(name) not sent: it only announced resolutions of alerts whose firing never reached \(name)\(note)")
            }
        case .removed:
            remove(lane: lane, at: position)
            counters.withLock { $0.removed += 1 }
            logger.warning("notification for \(item.entry.target.id) dropped: the configuration no longer has that integration")
        case .refused(let status, let body, let detail):
            // Refusal first, then done: whichever journal write takes the done mark (or removes the
            // segment) takes the refusal with it or after it, so a kill -9 never leaves the entry
            // done without the refusal that withholds its resolution.
            if !firing.isEmpty { note(.notDelivered(lane: lane, firing: firing, at: now)) }
            remove(lane: lane, at: position)
            if !firing.isEmpty { flushJournalNow() }
            let secrets = integration?.secretValues() ?? []
            let answer = body.isEmpty && status == nil ? Outbox.quote(Array(detail.utf8), secrets: secrets) : Outbox.quote(body, secrets: secrets)
            let refusal = Refusal(at: now, status: status, reason: status.map { "status_\($0)" } ?? "request_error", answer: answer)
            counters.withLock {
                $0.failedPermanently += 1
                $0.failedByIntegration[name, default: 0] += 1
                if let integration {
                    var s = $0.integrations[name, default: Outbox.status(for: integration)]
                    s.refused[refusal.reason, default: 0] += 1
                    s.lastRefusal = refusal
                    $0.integrations[name] = s
                }
            }
            if let suppressed = throttle.allow("refused\u{1}" + name, now: now) {
                let note = suppressed > 0 ? " (\(suppressed) similar messages were not logged)" : ""
                let what = status == nil ? detail : "\(detail): \(answer)"
                let consequence = firing.isEmpty ? "" : "; the resolution of its \(firing.count) firing alert(s) will not be sent there"
                logger.error("notification to \(name) failed permanently, refused by the service and dropped: \(what)\(consequence)\(note)")
            }
        case .retry(let why, let after):
            item.attempts += 1
            item.inFlight = false
            if now - item.entry.createdAt >= configuration.maxAge.milliseconds {
                if !firing.isEmpty { note(.notDelivered(lane: lane, firing: firing, at: now)) }
                remove(lane: lane, at: position)
                if !firing.isEmpty { flushJournalNow() }
                counters.withLock {
                    $0.gaveUp += 1
                    $0.failedByIntegration[name, default: 0] += 1
                }
                logger.error("notification to \(name) given up after \(item.attempts) attempts over \(configuration.maxAge): \(why)")
                return
            }
            let retryAfter = min(after ?? 0, configuration.maxRetryAfter.milliseconds)
            var delay = backoff(attempts: item.attempts)
            // Draining for shutdown: the backoff shrinks to half a second; a Retry-After does not.
            if drainUntil != nil { delay = min(delay, 500) }
            delay = max(delay, retryAfter)
            item.nextAttempt = now + delay
            item.notBefore = after == nil ? nil : now + retryAfter
            lanes[lane]![position] = item
            counters.withLock { $0.retries += 1 }
            if let suppressed = throttle.allow(name, now: now) {
                let note = suppressed > 0 ? " (\(suppressed) similar messages were not logged)" : ""
                logger.warning("notification to \(name) failed, retrying in \(delay) ms (attempt \(item.attempts)): \(why)\(note)")
            }
        }
    }

    /// Exponential backoff with "equal jitter": a delay drawn from [d/2, d], d = initial × 2^(n-1) capped.
    func backoff(attempts: Int) -> Int64 {
        let initial = Double(configuration.initialBackoff.milliseconds)
        let cap = Double(configuration.maxBackoff.milliseconds)
        let d = min(cap, initial * pow2(min(attempts - 1, 40)))
        return Int64(random(d / 2...d))
    }

    func remove(lane: String, at position: Int) {
        let item = lanes[lane]!.remove(at: position)
        markDone(item)
        counters.withLock { $0.pending -= 1 }
    }

    /// Drops the oldest waiting entries while more than `maxEntries` are held.
    func enforceLimit() {
        var total = lanes.values.reduce(0) { $0 + $1.count }
        while total > configuration.maxEntries {
            var oldest: (lane: String, created: Timestamp, index: Int)?
            for (lane, items) in lanes {
                for (i, item) in items.enumerated() where !item.inFlight {
                    if oldest == nil || item.entry.createdAt < oldest!.created { oldest = (lane, item.entry.createdAt, i) }
                    break
                }
            }
            guard let victim = oldest else { return }
            let item = lanes[victim.lane]![victim.index]
            let firing = item.entry.alerts.filter(\.firing).map(\.fingerprint)
            if !firing.isEmpty { note(.notDelivered(lane: victim.lane, firing: firing, at: clock())) }
            remove(lane: victim.lane, at: victim.index)
            if !firing.isEmpty { flushJournalNow() }
            counters.withLock { $0.dropped += 1 }
            logger.error("outbox holds \(configuration.maxEntries) notifications; dropped the oldest, for \(item.integration)")
            total -= 1
        }
    }

    /// Puts every item in the lane of the integration that now stands for it (after `table`
    /// changed): order within a lane is creation order, an item in flight stays first. Items whose
    /// integration is gone are dropped, counted and logged (`why`).
    func rebuildLanes(why: String) {
        var all: [Item] = []
        for lane in laneOrder { all.append(contentsOf: lanes[lane] ?? []) }
        lanes = [:]
        laneOrder = []
        var removedFor: [String: Int] = [:]
        var kept: [Item] = []
        for var item in all {
            if let integration = table.resolve(item.entry.target, legacyIndex: item.entry.legacyIndex) {
                item.integration = integration.name
                item.lane = FiringLedger.lane(integration.name, item.entry.groupKey)
                kept.append(item)
            } else if item.inFlight {
                kept.append(item)  // finishes in its old lane, then goes
            } else {
                markDone(item)
                removedFor[item.entry.target.id, default: 0] += 1
            }
        }
        kept.sort { ($0.inFlight ? 0 : 1, $0.entry.name) < ($1.inFlight ? 0 : 1, $1.entry.name) }
        inFlightLane = [:]
        for item in kept {
            append(item)
            if item.inFlight { inFlightLane[item.id] = item.lane }
        }
        let removed = removedFor.values.reduce(0, +)
        guard removed > 0 else { return }
        counters.withLock {
            $0.removed += UInt64(removed)
            $0.pending -= removed
        }
        let list = removedFor.sorted { $0.key < $1.key }.map { "\($0.key) (\($0.value))" }.joined(separator: ", ")
        logger.warning("outbox: dropped \(removed) pending notifications for integrations \(why): \(list)")
    }

    /// Longest quoted answer, in characters.
    static let quoteLimit = 200

    /// A service's answer as logs and `agent status` show it: at most `quoteLimit` characters in
    /// quotes, control characters as spaces, URLs cut to their host (`https://x/<redacted>`), then
    /// `secrets` (the integration's URL, its path and long path segments, its keys) replaced by
    /// `<redacted>`, all before anything is cut, so no part of one survives.
    static func quote(_ body: [UInt8], secrets: [String]) -> String {
        guard !body.isEmpty else { return "(empty answer)" }
        var text = redactURLs(String(decoding: body.prefix(8192), as: UTF8.self))
        for secret in secrets where secret.utf8.count >= 6 { text = text.replacingAll(secret, with: "<redacted>") }
        var out = ""
        var count = 0
        var cut = body.count > 8192
        for ch in text {
            if count == quoteLimit {
                cut = true
                break
            }
            if ch == "\"" || ch == "\\" {
                out.append("\\")
                out.append(ch)
            } else if ch.unicodeScalars.allSatisfy({ $0.value < 0x20 || $0.value == 0x7F }) {
                out.append(" ")
            } else {
                out.append(ch)
            }
            count += 1
        }
        return "\"" + out + "\"" + (cut ? "…" : "")
    }

    /// Every `http://…` or `https://…` in `text` as `RedactedURL` shows it.
    static func redactURLs(_ text: String) -> String {
        var out = ""
        var rest = Substring(text)
        while let first = [rest.firstRange(of: "http://"), rest.firstRange(of: "https://")].compactMap({ $0 }).min(by: { $0.lowerBound < $1.lowerBound }) {
            out += rest[..<first.lowerBound]
            let tail = rest[first.lowerBound...]
            let end = tail.firstIndex { $0 == " " || $0 == "\"" || $0 == "'" || $0 == "<" || $0 == ">" || $0 == "\\" || $0.isNewline } ?? tail.endIndex
            out += RedactedURL.string(String(tail[..<end]))
            rest = tail[end...]
        }
        return out + rest
    }
}
