public import TimeSeries

extension Labels {
    /// Alertmanager's fingerprint of this label set as it prints it (16 hex digits):
    /// `model.LabelSet.Fingerprint` is FNV-1a 64 over the names in order, each name and value
    /// followed by the byte 0xFF, which is exactly `stableHash` (the hash of our encoding). Computed
    /// on the labels an alert is sent with (external labels and `severity` included), so the
    /// agent's payloads and an Alertmanager holding the same alert name it alike.
    public var alertmanagerFingerprint: String { Hex.fixed64(stableHash) }
}
