import CZlib

/// zlib deflate/inflate of whole buffers, and CRC-32, for checkpoints.
enum Zlib {
    /// Compresses `input` (zlib format, default level).
    static func compress(_ input: [UInt8], level: Int32 = 6) -> [UInt8] {
        var stream = z_stream()
        guard agent_deflateInit2(&stream, level, Z_DEFLATED, 15, 8, Z_DEFAULT_STRATEGY) == Z_OK else {
            preconditionFailure("deflateInit2 failed: out of memory")
        }
        defer { deflateEnd(&stream) }
        var output = [UInt8](repeating: 0, count: Int(deflateBound(&stream, uLong(input.count))))
        let produced: Int = input.withUnsafeBufferPointer { inBuf in
            output.withUnsafeMutableBufferPointer { outBuf in
                stream.next_in = UnsafeMutablePointer(mutating: inBuf.baseAddress)
                stream.avail_in = uInt(inBuf.count)
                stream.next_out = outBuf.baseAddress
                stream.avail_out = uInt(outBuf.count)
                let rc = deflate(&stream, Z_FINISH)
                precondition(rc == Z_STREAM_END, "deflate with a deflateBound-sized buffer must finish")
                return Int(stream.total_out)
            }
        }
        output.removeSubrange(produced...)
        return output
    }

    /// Bytes inflated per step: memory grows with what zlib actually produced, never with a length
    /// the input merely claims.
    static let inflateChunk = 1 << 20

    /// Decompresses zlib data that must inflate to exactly `expectedLength` bytes. Output beyond
    /// `expectedLength` stops the inflation at once; at most `expectedLength` bytes are ever held.
    static func decompress(_ input: ArraySlice<UInt8>, expectedLength: Int) throws(CheckpointError) -> [UInt8] {
        precondition(expectedLength >= 0)
        var stream = z_stream()
        guard agent_inflateInit2(&stream, 15) == Z_OK else { throw .decompression("inflateInit2 failed") }
        defer { inflateEnd(&stream) }
        var output: [UInt8] = []
        // The claim is only believed up to what a few rounds of real output would need.
        output.reserveCapacity(min(expectedLength, max(input.count * 4, 1 << 16)))
        var chunk = [UInt8](repeating: 0, count: min(inflateChunk, expectedLength + 1))
        let rc: Int32 = input.withUnsafeBufferPointer { inBuf in
            stream.next_in = UnsafeMutablePointer(mutating: inBuf.baseAddress)
            stream.avail_in = uInt(inBuf.count)
            while true {
                let (rc, produced) = chunk.withUnsafeMutableBufferPointer { outBuf in
                    stream.next_out = outBuf.baseAddress
                    stream.avail_out = uInt(outBuf.count)
                    let rc = inflate(&stream, Z_NO_FLUSH)
                    return (rc, outBuf.count - Int(stream.avail_out))
                }
                guard rc == Z_OK || rc == Z_STREAM_END else { return rc }
                // More than was recorded: stop before holding it.
                guard output.count + produced <= expectedLength else { return Z_BUF_ERROR }
                output.append(contentsOf: chunk[..<produced])
                if rc == Z_STREAM_END { return rc }
                // No progress with input left means the data ends early.
                if produced == 0 && stream.avail_in == 0 { return Z_BUF_ERROR }
            }
        }
        guard rc == Z_STREAM_END else {
            throw .decompression(rc == Z_BUF_ERROR ? "content longer or shorter than recorded" : "zlib error \(rc)")
        }
        guard output.count == expectedLength else {
            throw .decompression("inflated to \(output.count) bytes, expected \(expectedLength)")
        }
        return output
    }

    /// CRC-32 of `bytes`.
    static func crc32(_ bytes: [UInt8]) -> UInt32 {
        bytes.withUnsafeBufferPointer { UInt32(CZlib.crc32(0, $0.baseAddress, uInt($0.count))) }
    }
}
