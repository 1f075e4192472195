#if canImport(Glibc)
import Glibc
#endif

/// Notices changes to the configuration file and to the rule files, so that the daemon reloads
/// without being sent SIGHUP.
///
/// The model: a *snapshot* is the `stat` of the configuration file and of every file the rule globs
/// match now (path, device, inode, size, modification time to the nanosecond; a missing file is a
/// state too). The daemon polls a snapshot every `global.reload_check_interval` (5 s by default) and
/// hands it to `shouldReload(_:)`, which says yes only when the snapshot differs from the one the
/// running configuration was read from *and* the previous poll saw the very same snapshot: a file an
/// editor or `cp` writes in several steps is read once it has rested for one interval. Every reload
/// (by a file change or by SIGHUP, accepted or refused) records the snapshot taken just before it
/// read the files (`loaded(_:)`), so a state is never tried twice: a half-written file costs at most
/// one refused reload, and the finished file reloads.
///
/// Polling rather than inotify: it sees files that newly match a glob, editors and config managers
/// that replace a file by renaming another over it, symlink swaps (Kubernetes ConfigMaps), and files
/// on any file system, for a few `stat` calls per interval. A rewrite in place that keeps the size
/// within the file system's timestamp granularity can go unnoticed; SIGHUP remains for that.
///
/// After a refused reload the watcher follows the rule globs of the refused configuration, not the
/// running one's: those name the files whose fix should trigger the next attempt, and watching the
/// running globs would see a "change" at every check and retry the refused file forever.
///
/// Ownership: the daemon's queue (not thread-safe).
final class ConfigFileWatcher {
    /// One file's state.
    struct FileState: Equatable {
        var path: String
        var device: UInt64 = 0, inode: UInt64 = 0
        var size: Int64 = -1
        var modifiedSeconds: Int = 0, modifiedNanoseconds: Int = 0
    }

    /// The configuration file.
    let configPath: String
    /// The rule globs of the configuration last read (accepted or refused), and their base folder:
    /// the files a fix would touch.
    private(set) var ruleGlobs: [String]
    private(set) var base: String
    /// The files the running configuration was read from (or last tried).
    private(set) var baseline: [FileState] = []
    /// A changed snapshot seen by the last poll, waiting to be seen once more.
    private var candidate: [FileState]?

    /// A watcher of `config`'s file and rule files, as they are now.
    init(config: AgentConfig) {
        configPath = config.source
        ruleGlobs = config.ruleFiles + config.gateFiles
        base = config.baseDirectory
        baseline = snapshot()
    }

    /// The files' states now.
    func snapshot() -> [FileState] {
        ConfigFileWatcher.snapshot(configPath: configPath, ruleGlobs: ruleGlobs, base: base)
    }

    /// True when `snapshot` is a change that has rested since the previous poll.
    func shouldReload(_ snapshot: [FileState]) -> Bool {
        if snapshot == baseline {
            candidate = nil
            return false
        }
        if snapshot == candidate {
            candidate = nil
            return true
        }
        candidate = snapshot
        return false
    }

    /// Records the states a reload read (whatever its outcome), and the rule globs of the
    /// configuration it read when it got that far.
    func loaded(_ snapshot: [FileState], ruleGlobs: [String]? = nil, base: String? = nil) {
        baseline = snapshot
        candidate = nil
        if let ruleGlobs { self.ruleGlobs = ruleGlobs }
        if let base { self.base = base }
    }

    /// The state of `configPath` and of the files `ruleGlobs` match (relative ones under `base`).
    static func snapshot(configPath: String, ruleGlobs: [String], base: String) -> [FileState] {
        var paths = [configPath]
        paths += RulesComponent.files(globs: ruleGlobs, relativeTo: base)
        return paths.map(state(of:))
    }

    static func state(of path: String) -> FileState {
        var st = stat()
        var file = FileState(path: path)
        guard stat(path, &st) == 0 else { return file }
        file.device = UInt64(st.st_dev)
        file.inode = UInt64(st.st_ino)
        file.size = Int64(st.st_size)
        file.modifiedSeconds = Int(st.st_mtim.tv_sec)
        file.modifiedNanoseconds = Int(st.st_mtim.tv_nsec)
        return file
    }
}
