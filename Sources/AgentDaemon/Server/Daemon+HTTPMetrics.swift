import HTTPServing

extension Daemon {
    /// The HTTP server's own metrics: connections (open, evicted, refused, timed out), accept
    /// errors by kind (descriptors running out among them), requests refused before a handler.
    func httpMetrics() -> [SelfMetricFamily] {
        guard let server else { return [] }
        let s = server.stats
        func counter(_ name: String, _ help: String, _ v: Int) -> SelfMetricFamily {
            SelfMetricFamily(name: name, kind: .counter, help: help, samples: [([], Double(v))])
        }
        return [
            SelfMetricFamily(name: "agent_http_connections_open", kind: .gauge, help: "Connections open on the API listeners.",
                             samples: [([], Double(s.open.load(ordering: .relaxed)))]),
            counter("agent_http_connections_accepted_total", "Connections accepted.", s.accepted.load(ordering: .relaxed)),
            counter("agent_http_connections_evicted_total", "Idle connections closed to make room (connection cap or no descriptors left).",
                    s.evicted.load(ordering: .relaxed)),
            counter("agent_http_connections_rejected_total", "Connections answered 503 because every open one was busy.", s.rejected.load(ordering: .relaxed)),
            counter("agent_http_connection_timeouts_total", "Connections closed by a header, request, idle or write timeout.", s.timeouts.load(ordering: .relaxed)),
            SelfMetricFamily(name: "agent_http_accept_errors_total", kind: .counter, help: "Failed accepts, by reason (descriptors: EMFILE/ENFILE).",
                             samples: s.acceptErrorCounts.map { ([("reason", $0.0.label)], Double($0.1)) }),
            counter("agent_http_listener_pauses_total", "Times a listener backed off after a failed accept.", s.listenerPauses.load(ordering: .relaxed)),
            counter("agent_http_requests_total", "Requests parsed and routed.", s.requests.load(ordering: .relaxed)),
            SelfMetricFamily(name: "agent_http_requests_refused_total", kind: .counter, help: "Requests refused before a handler (malformed, too large, too slow), by status.",
                             samples: s.refused.map { ([("code", String($0.status))], Double($0.count)) }),
        ]
    }
}
