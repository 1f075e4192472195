import TimeSeries

extension ByteReader {
    /// A length-prefixed string, bounds-checked against `total`, the reader's byte count.
    ///
    /// `ByteReader.blob()` bounds the length by what remained *before* the length prefix, so a
    /// truncated input can make it slice past the end and trap; this reads the length first and
    /// lets `raw(_:)` check it. (To be fixed in TimeSeries; reported.)
    mutating func checkedString(total: Int) throws(CheckpointError) -> String {
        String(decoding: try checkedBlob(total: total), as: UTF8.self)
    }

    mutating func checkedBlob(total: Int) throws(CheckpointError) -> [UInt8] {
        let n = try count(limit: Int(Int32.max))
        guard n <= total - position else { throw .truncated }
        return Array(try raw(n))
    }
}
