import CSnappy

/// Snappy's block format (not the framed stream format), which remote write 1.0 requires for
/// every request body (`Content-Encoding: snappy`), through libsnappy's C API.
public enum Snappy {
    /// Why a block could not be decompressed.
    public struct DecodeError: Error, Sendable, CustomStringConvertible, Equatable {
        public let message: String
        public var description: String { message }
    }

    /// Compresses `input` into `output` (replacing its content), reusing its storage.
    public static func compress(_ input: UnsafeRawBufferPointer, into output: inout [UInt8]) {
        // An empty input still makes a valid block: its length header (one zero byte).
        guard let base = input.baseAddress, input.count > 0 else {
            output.removeAll(keepingCapacity: true)
            output.append(0)
            return
        }
        let bound = snappy_max_compressed_length(input.count)
        if output.count < bound { output.append(contentsOf: repeatElement(0, count: bound - output.count)) }
        var length = output.count
        let status = output.withUnsafeMutableBytes { out in
            snappy_compress(base.assumingMemoryBound(to: CChar.self), input.count, out.baseAddress!.assumingMemoryBound(to: CChar.self), &length)
        }
        // SNAPPY_OK is the only outcome with a buffer of snappy_max_compressed_length bytes.
        precondition(status == SNAPPY_OK, "snappy_compress failed with a buffer of its own bound")
        output.removeLast(output.count - length)
    }

    /// Compresses `input` into a new array.
    public static func compress(_ input: [UInt8]) -> [UInt8] {
        var out: [UInt8] = []
        input.withUnsafeBytes { compress($0, into: &out) }
        return out
    }

    /// Decompresses a block whose decompressed size is at most `limit` bytes (a hostile block
    /// can claim gigabytes in its header: the claim is checked before anything is allocated).
    public static func decompress(_ input: [UInt8], limit: Int) throws(DecodeError) -> [UInt8] {
        guard !input.isEmpty else { throw DecodeError(message: "an empty body is not a snappy block") }
        var claimed = 0
        let ok = input.withUnsafeBytes { raw in
            let source = raw.baseAddress!.assumingMemoryBound(to: CChar.self)
            return snappy_uncompressed_length(source, raw.count, &claimed) == SNAPPY_OK
                && snappy_validate_compressed_buffer(source, raw.count) == SNAPPY_OK
        }
        guard ok else { throw DecodeError(message: "not a valid snappy block (\(input.count) bytes)") }
        guard claimed <= limit else { throw DecodeError(message: "snappy block decompresses to \(claimed) bytes, more than the limit of \(limit)") }
        guard claimed > 0 else { return [] }
        var out = [UInt8](repeating: 0, count: claimed)
        var length = claimed
        let status = input.withUnsafeBytes { raw in
            out.withUnsafeMutableBytes { target in
                snappy_uncompress(raw.baseAddress!.assumingMemoryBound(to: CChar.self), raw.count,
                                  target.baseAddress!.assumingMemoryBound(to: CChar.self), &length)
            }
        }
        guard status == SNAPPY_OK, length == claimed else { throw DecodeError(message: "snappy block is corrupt") }
        return out
    }
}
