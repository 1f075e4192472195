import Testing
@testable import RemoteWrite
import TimeSeries

@Suite struct EncoderTests {
    @Test func aRequestIsTheProtobufBytesOfItsMessages() {
        // WriteRequest{timeseries: [{labels: [{__name__, up}], samples: [{value: 1, timestamp: 1000}]}]}, by hand.
        let encoder = WriteRequestEncoder()
        encoder.appendSeries(labels: EncodedLabels(Labels(name: "up")), samples: [Sample(timestamp: 1000, value: 1)])
        let label: [UInt8] = [0x0A, 8] + Array("__name__".utf8) + [0x12, 2] + Array("up".utf8)
        let sample: [UInt8] = [0x09, 0, 0, 0, 0, 0, 0, 0xF0, 0x3F, 0x10, 0xE8, 0x07]
        let series: [UInt8] = [0x0A, UInt8(label.count)] + label + [0x12, UInt8(sample.count)] + sample
        #expect(encoder.bytes == [0x0A, UInt8(series.count)] + series)
    }

    @Test func fieldsAtTheirDefaultAreLeftOutAndEveryValueArrivesBitForBit() throws {
        let samples = [
            Sample(timestamp: 0, value: 0), Sample(timestamp: -1, value: -0.0), Sample(timestamp: .max, value: .staleMarker),
            Sample(timestamp: .min, value: .infinity), Sample(timestamp: 1_733_000_000_123, value: -.greatestFiniteMagnitude),
            Sample(timestamp: 127, value: .leastNonzeroMagnitude), Sample(timestamp: 128, value: .nan),
        ]
        let encoder = WriteRequestEncoder(capacity: 16)  // grows
        encoder.appendSeries(labels: EncodedLabels(Labels(name: "m", ["a": "1", "z": "ü\u{0}x"])), samples: samples)
        let decoded = try decodeWriteRequest(encoder.bytes)
        #expect(decoded.count == 1)
        #expect(decoded[0].labels.map(\.0) == ["__name__", "a", "z"], "sorted by name")
        #expect(decoded[0]["z"] == "ü\u{0}x")
        #expect(decoded[0].samples == samples)
        // The all-default sample is an empty message: tag and a zero length.
        #expect(encoder.bytes.count > 0)
    }

    @Test func manySeriesAndLongLabelsRoundTrip() throws {
        let encoder = WriteRequestEncoder(capacity: 64)
        var expected: [DecodedSeries] = []
        for i in 0..<500 {
            let labels = Labels(name: "metric_\(i % 13)", ["instance": "host-\(i)", "long": String(repeating: "v", count: i * 3)])
            let samples = (0..<(i % 5)).map { Sample(timestamp: 1_000 * Int64($0) + Int64(i), value: Double(i) / 7) }
            encoder.appendSeries(labels: EncodedLabels(labels), samples: samples)
            expected.append(DecodedSeries(labels: labels.labels.map { ($0.name, $0.value) }, samples: samples))
        }
        #expect(try decodeWriteRequest(encoder.bytes) == expected)
        encoder.removeAll()
        #expect(encoder.count == 0)
    }

    @Test func externalLabelsAreMergedInNameOrderWithoutOverriding() {
        let series = [Labels(name: "up", ["job": "api", "zone": "a"]), Labels(name: "up"), Labels(), Labels(["A": "1", "host": "mine"])]
        let externals = [Labels(), Labels(["host": "h1"]), Labels(["A": "x", "host": "h1", "zz": "last", "job": "never"]), Labels(["__a": "first"])]
        for labels in series {
            for external in externals {
                var merged = labels
                external.forEach { n, v in
                    let name = String(decoding: n, as: UTF8.self)
                    if labels[name] == nil { merged = merged.setting(name, to: String(decoding: v, as: UTF8.self)) }
                }
                #expect(EncodedLabels(labels, adding: external) == EncodedLabels(merged), "\(labels) + \(external)")
            }
        }
    }

    @Test func varintSizesMatchTheWireFormat() {
        for (v, n) in [(UInt64(0), 1), (127, 1), (128, 2), (16_383, 2), (16_384, 3), (UInt64(Int64.max), 9), (UInt64.max, 10)] {
            #expect(WriteRequestEncoder.varintSize(v) == n, "\(v)")
        }
    }
}
