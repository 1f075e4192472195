public import TimeSeries
import Logging
#if canImport(Glibc)
import Glibc
#endif

/// The checkpoint in the state folder: written atomically, read at start; a corrupt one is set
/// aside (renamed with a `.corrupt-<time>` suffix) so the agent starts empty instead of refusing.
public struct CheckpointFile: Sendable {
    /// The checkpoint's path.
    public let path: String

    public init(stateDir: String) { path = stateDir + "/checkpoint.bin" }

    /// Writes `checkpoint` durably; returns the bytes written.
    @discardableResult
    public func save(_ checkpoint: Checkpoint) throws -> Int {
        let bytes = checkpoint.encoded(compressionLevel: 1)
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
