import Testing
@testable import RemoteWrite

@Suite struct ProgressTests {
    @Test func progressRoundTripsThroughItsText() throws {
        let cases = [
            RemoteWriteProgress(url: "http://a/api/v1/write", cursors: [nil]),
            RemoteWriteProgress(url: "https://b:9/x?y=1", watermark: 1_733_540_000_000, cursors: [nil, nil]),
            RemoteWriteProgress(url: "http://c/", watermark: -5, round: .init(from: -5, through: 10), cursors: [0, nil, .max]),
            RemoteWriteProgress(url: "http://d/", watermark: nil, round: .init(from: 1, through: 2), cursors: [0x7fa3_c0e1_d2b4_a596]),
        ]
        for p in cases { #expect(try RemoteWriteProgress(decoding: p.encoded) == p) }
        let text = String(decoding: cases[2].encoded, as: UTF8.self)
        #expect(text == "agent remote_write progress 1\nurl http://c/\nwatermark -5\nround -5 10\nshards 3\ncursor 0 0\ncursor 1 -\ncursor 2 ffffffffffffffff\n")
    }

    @Test(arguments: [
        ("empty", ""),
        ("truncated", "agent remote_write progress 1\nurl http://a/\nwatermark 5\nround -\nshards 1\ncursor 0 -"),
        ("other format", "{\"watermark\": 5}\n"),
        ("bad number", "agent remote_write progress 1\nurl http://a/\nwatermark 5x\nround -\nshards 1\ncursor 0 -\n"),
        ("too many shards", "agent remote_write progress 1\nurl http://a/\nwatermark 5\nround -\nshards 100000\n"),
        ("missing cursor", "agent remote_write progress 1\nurl http://a/\nwatermark 5\nround -\nshards 2\ncursor 0 -\n"),
        ("cursor out of order", "agent remote_write progress 1\nurl http://a/\nwatermark 5\nround 5 9\nshards 2\ncursor 1 -\ncursor 0 -\n"),
        ("round not at watermark", "agent remote_write progress 1\nurl http://a/\nwatermark 5\nround 6 9\nshards 1\ncursor 0 -\n"),
        ("empty round", "agent remote_write progress 1\nurl http://a/\nwatermark 5\nround 5 5\nshards 1\ncursor 0 -\n"),
        ("cursor without round", "agent remote_write progress 1\nurl http://a/\nwatermark 5\nround -\nshards 1\ncursor 0 ff\n"),
        ("hash too long", "agent remote_write progress 1\nurl http://a/\nwatermark -\nround 1 2\nshards 1\ncursor 0 00000000000000001\n"),
        ("no url", "agent remote_write progress 1\nurl \nwatermark -\nround -\nshards 1\ncursor 0 -\n"),
        ("extra line", "agent remote_write progress 1\nurl http://a/\nwatermark -\nround -\nshards 1\ncursor 0 -\nmore\n"),
    ])
    func malformedProgressIsRefused(name: String, text: String) {
        #expect(throws: RemoteWriteProgress.DecodeError.self, "\(name)") { try RemoteWriteProgress(decoding: Array(text.utf8)) }
    }

    @Test func hugeOrBinaryInputIsRefused() {
        #expect(throws: RemoteWriteProgress.DecodeError.self) { try RemoteWriteProgress(decoding: [UInt8](repeating: 0x41, count: 10 << 20)) }
        #expect(throws: RemoteWriteProgress.DecodeError.self) { try RemoteWriteProgress(decoding: [0xFF, 0xFE, 0x00, 0x0A]) }
        let valid = RemoteWriteProgress(url: "http://a/", watermark: 1, round: .init(from: 1, through: 2), cursors: [3, 4]).encoded
        for cut in 0..<valid.count {
            #expect(throws: RemoteWriteProgress.DecodeError.self) { try RemoteWriteProgress(decoding: Array(valid.prefix(cut))) }
        }
    }
}
