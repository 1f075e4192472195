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

    /// Decompresses zlib data that must inflate to exactly `expectedLength` bytes.
    static func decompress(_ input: ArraySlice<UInt8>, expectedLength: Int) throws(CheckpointError) -> [UInt8] {
        var stream = z_stream()
        guard agent_inflateInit2(&stream, 15) == Z_OK else { throw .decompression("inflateInit2 failed") }
        defer { inflateEnd(&stream) }
        var output = [UInt8](repeating: 0, count: max(expectedLength, 1))
        let rc: Int32 = input.withUnsafeBufferPointer { inBuf in
            output.withUnsafeMutableBufferPointer { outBuf in
                stream.next_in = UnsafeMutablePointer(mutating: inBuf.baseAddress)
                stream.avail_in = uInt(inBuf.count)
                stream.next_out = outBuf.baseAddress
                stream.avail_out = uInt(outBuf.count)
                return inflate(&stream, Z_FINISH)
            }
        }
        guard rc == Z_STREAM_END else {
            throw .decompression(rc == Z_BUF_ERROR ? "content longer or shorter than recorded" : "zlib error \(rc)")
        }
        guard Int(stream.total_out) == expectedLength else {
            throw .decompression("inflated to \(stream.total_out) bytes, expected \(expectedLength)")
        }
        if expectedLength == 0 { output.removeAll() }
        return output
    }

    /// CRC-32 of `bytes`.
    static func crc32(_ bytes: [UInt8]) -> UInt32 {
        bytes.withUnsafeBufferPointer { UInt32(CZlib.crc32(0, $0.baseAddress, uInt($0.count))) }
    }
}
