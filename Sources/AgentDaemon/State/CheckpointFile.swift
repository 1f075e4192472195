public import TimeSeries
import Logging
#if canImport(Glibc)
import Glibc
#endif

/// One checkpoint file in the state folder: written atomically, read at start; a corrupt one is
/// set aside (renamed with a `.corrupt-<time>` suffix) so the agent starts without it instead of
/// refusing. `StateFiles` says which sections go in which file.
public struct CheckpointFile: Sendable {
    /// The file's path.
    public let path: String

    /// `name` in `stateDir`.
    public init(stateDir: String, name: String = "checkpoint.bin") { path = stateDir + "/" + name }

    /// Why a checkpoint was not written.
    public struct TooLarge: Error, CustomStringConvertible {
        public let path: String
        public let bytes: Int
        public var description: String {
            "cannot write \(path): its content would be \(bytes) bytes, more than the \(Checkpoint.maxContentBytes) a checkpoint may hold; "
                + "lower global.series_limit or the retention"
        }
    }

    /// Writes `checkpoint` durably; returns the bytes written.
    @discardableResult
    public func save(_ checkpoint: Checkpoint) throws -> Int {
        let length = checkpoint.contentLength
        // A file no reader would take is not written: the last good one stays.
        guard length <= Checkpoint.maxContentBytes else { throw TooLarge(path: path, bytes: length) }
        let bytes = checkpoint.encoded()
        try AtomicFile.write(bytes, to: path)
        return bytes.count
    }

    /// What a load found.
    public enum LoadResult: Sendable {
        /// No checkpoint yet.
        case none
        case loaded(Checkpoint)
        /// The file was unreadable as a checkpoint and was moved to `setAsideTo`.
        case corrupt(reason: String, setAsideTo: String)
    }

    /// Reads the checkpoint, setting a corrupt one aside.
    public func load(now: Timestamp) throws -> LoadResult {
        guard let bytes = try AtomicFile.read(path) else { return .none }
        do {
            return .loaded(try Checkpoint(decoding: bytes))
        } catch {
            let aside = "\(path).corrupt-\(now)"
            if rename(path, aside) != 0 { throw AtomicFile.WriteError(path: path, step: "rename corrupt checkpoint", errno: errno) }
            try? AtomicFile.syncDirectory(of: path)
            return .corrupt(reason: error.description, setAsideTo: aside)
        }
    }
}
