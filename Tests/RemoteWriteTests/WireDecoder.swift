import RemoteWrite
import TimeSeries

/// A remote-write request as a receiver reads it: a strict decoder of the four messages, written
/// from the protobuf wire format (not from the encoder), so the tests check the encoder against
/// the format rather than against itself.
struct DecodedSeries: Equatable, CustomStringConvertible {
    var labels: [(String, String)]
    var samples: [Sample]

    static func == (a: DecodedSeries, b: DecodedSeries) -> Bool {
        a.labels.elementsEqual(b.labels) { $0 == $1 } && a.samples == b.samples
    }

    var name: String { labels.first { $0.0 == "__name__" }?.1 ?? "" }
    subscript(label: String) -> String? { labels.first { $0.0 == label }?.1 }
    var description: String { "\(labels.map { "\($0.0)=\($0.1)" }.joined(separator: ",")) ×\(samples.count)" }
}

struct WireError: Error, CustomStringConvertible {
    let description: String
    init(_ d: String) { description = d }
}

/// Reads protobuf fields from bytes; every read checks bounds.
struct WireReader {
    let bytes: ArraySlice<UInt8>
    var i: Int

    init(_ bytes: ArraySlice<UInt8>) {
        self.bytes = bytes
        i = bytes.startIndex
    }

    var atEnd: Bool { i >= bytes.endIndex }

    mutating func varint() throws -> UInt64 {
        var result: UInt64 = 0
        var shift: UInt64 = 0
        while true {
            guard i < bytes.endIndex else { throw WireError("truncated varint") }
            let b = bytes[i]
            i += 1
            guard shift < 64 else { throw WireError("varint too long") }
            result |= UInt64(b & 0x7F) << shift
            if b & 0x80 == 0 { return result }
            shift += 7
        }
    }

    /// (field number, wire type)
    mutating func tag() throws -> (Int, Int) {
        let t = try varint()
        return (Int(t >> 3), Int(t & 7))
    }

    mutating func lengthDelimited() throws -> ArraySlice<UInt8> {
        let n = Int(try varint())
        guard n >= 0, i + n <= bytes.endIndex else { throw WireError("length \(n) past the end") }
        defer { i += n }
        return bytes[i..<(i + n)]
    }

    mutating func fixed64() throws -> UInt64 {
        guard i + 8 <= bytes.endIndex else { throw WireError("truncated fixed64") }
        var v: UInt64 = 0
        for k in 0..<8 { v |= UInt64(bytes[i + k]) << (8 * UInt64(k)) }
        i += 8
        return v
    }
}

/// Decodes a `WriteRequest`.
func decodeWriteRequest(_ bytes: [UInt8]) throws -> [DecodedSeries] {
    var r = WireReader(bytes[...])
    var out: [DecodedSeries] = []
    while !r.atEnd {
        let (field, wire) = try r.tag()
        guard field == 1, wire == 2 else { throw WireError("WriteRequest: unexpected field \(field) wire type \(wire)") }
        out.append(try decodeTimeSeries(try r.lengthDelimited()))
    }
    return out
}

private func decodeTimeSeries(_ bytes: ArraySlice<UInt8>) throws -> DecodedSeries {
    var r = WireReader(bytes)
    var series = DecodedSeries(labels: [], samples: [])
    while !r.atEnd {
        let (field, wire) = try r.tag()
        guard wire == 2 else { throw WireError("TimeSeries: field \(field) has wire type \(wire)") }
        let body = try r.lengthDelimited()
        switch field {
        case 1:
            var l = WireReader(body)
            var name = "", value = ""
            while !l.atEnd {
                let (f, w) = try l.tag()
                guard w == 2, f == 1 || f == 2 else { throw WireError("Label: field \(f) wire type \(w)") }
                let s = String(decoding: try l.lengthDelimited(), as: UTF8.self)
                if f == 1 { name = s } else { value = s }
            }
            series.labels.append((name, value))
        case 2:
            var s = WireReader(body)
            var sample = Sample(timestamp: 0, value: 0)
            while !s.atEnd {
                let (f, w) = try s.tag()
                switch (f, w) {
                case (1, 1): sample.value = Double(bitPattern: try s.fixed64())
                case (2, 0): sample.timestamp = Int64(bitPattern: try s.varint())
                default: throw WireError("Sample: field \(f) wire type \(w)")
                }
            }
            series.samples.append(sample)
        default:
            throw WireError("TimeSeries: unexpected field \(field)")
        }
    }
    return series
}

/// Decompresses and decodes a request body.
func decodeBody(_ body: [UInt8]) throws -> [DecodedSeries] {
    try decodeWriteRequest(try Snappy.decompress(body, limit: 64 << 20))
}
