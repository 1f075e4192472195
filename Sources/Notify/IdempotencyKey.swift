import TimeSeries

/// `Idempotency-Key` values, derived from what a notification says so that saying it again (a
/// retry, a restart, a notification made again after a crash) gives the same key, and saying
/// anything else a different one.
///
/// Derivation: the first 32 hex digits of SHA-256 over, each length-prefixed, a version tag,
/// the speaker (receiver, or integration identity `receiver/kind[index]`), the group key, a
/// sequence (the group's durable notification count, or for an integration the receiver-level
/// key, which contains it), then per alert, ordered by fingerprint and status: its fingerprint,
/// its status (`firing`/`resolved`) and its tier. Times, values and annotations are left out:
/// they differ when a crash makes a notification again, and a repeat differs by its sequence.
enum IdempotencyKey {
    static let tag = "agent-notify/1"

    static func derive(speaker: String, groupKey: String, sequence: String, alerts: [NotifiedAlert]) -> String {
        var h = SHA256()
        func part(_ s: String) {
            var w = ByteWriter()
            w.string(s)
            h.update(w.bytes)
        }
        part(tag)
        part(speaker)
        part(groupKey)
        part(sequence)
        let ordered = alerts.sorted { ($0.fingerprint, $0.status == .firing ? 0 : 1) < ($1.fingerprint, $1.status == .firing ? 0 : 1) }
        for a in ordered {
            part(Hex.fixed64(a.fingerprint))
            part(a.status.rawValue)
            part(a.severity ?? "")
        }
        return Hex.bytes(h.finalize().prefix(16))
    }
}
