import Alerting
import Notify
import TimeSeries

/// The state folder's checkpoint files: one per owner of state (or per set of owners whose states
/// must agree), so that damage to one file loses only what that file holds.
///
/// | file | sections | why together |
/// | --- | --- | --- |
/// | `checkpoint.bin` | the store's series, the tail offsets | captured together between two polls: an offset restored without the samples it accounts for would skip lines, samples without their offset would count lines twice; both are restored or neither |
/// | `alerts.bin` | alert states | |
/// | `silences.bin` | silences | |
/// | `notification-log.bin` | what each notification group last sent | |
///
/// Each file is a `Checkpoint` (zlib, CRC-32, every length bounded) written with `AtomicFile`.
/// A file that cannot be read is set aside (`<file>.corrupt-<time>`) and the others are restored:
/// a damaged series checkpoint costs the series and offsets, never the silences or alert states.
///
/// Before this split, `checkpoint.bin` held every section. A section is still taken from any file
/// that holds it when its own file has none (the first start after an upgrade); the next save
/// writes each section to its own file only.
struct StateFiles: Sendable {
    /// A file and the sections it holds.
    struct File: Sendable {
        let file: CheckpointFile
        let sections: [String]
    }

    /// The files, in the order they are written and read.
    let files: [File]

    /// The file of the series and tail offsets (the one name the agent has always used).
    static let seriesFile = "checkpoint.bin"

    init(stateDir: String) {
        let layout: [(String, [String])] = [
            (StateFiles.seriesFile, [SeriesStore.checkpointSection, LogsComponent.offsetsSection]),
            ("alerts.bin", [AlertStateCheckpoint.sectionName]),
            ("silences.bin", [Silences.checkpointSection]),
            ("notification-log.bin", [Dispatcher.checkpointSection]),
        ]
        files = layout.map { File(file: CheckpointFile(stateDir: stateDir, name: $0.0), sections: $0.1) }
    }

    /// The file a section belongs in (a section no file names goes with the series).
    func file(of section: String) -> CheckpointFile {
        (files.first { $0.sections.contains(section) } ?? files[0]).file
    }

    /// The path of the series file.
    var seriesPath: String { files[0].file.path }

    /// What one save did: bytes written, and each file that could not be written with its error.
    struct SaveResult {
        var bytes = 0
        var failures: [(path: String, error: any Error)] = []
    }

    /// Writes each file that has sections in `sections`; a file that fails leaves its last good
    /// version in place and does not stop the others.
    func save(_ sections: [String: [UInt8]]) -> SaveResult {
        var grouped: [String: [String: [UInt8]]] = [:]
        for (name, bytes) in sections { grouped[file(of: name).path, default: [:]][name] = bytes }
        var result = SaveResult()
        for entry in files {
            guard let content = grouped[entry.file.path] else { continue }
            do {
                result.bytes += try entry.file.save(Checkpoint(sections: content))
            } catch {
                result.failures.append((entry.file.path, error))
            }
        }
        return result
    }

    /// What a load found in each file.
    enum Event {
        case missing(path: String)
        case loaded(path: String, sections: [String])
        case corrupt(path: String, reason: String, setAsideTo: String)
        case unreadable(path: String, error: any Error)
    }

    /// Reads every file: the sections found (each from its own file when that has it, else from
    /// any other), and what happened to each file.
    func load(now: Timestamp) -> (sections: [String: [UInt8]], events: [Event]) {
        var own: [String: [UInt8]] = [:]
        var elsewhere: [String: [UInt8]] = [:]
        var events: [Event] = []
        for entry in files {
            do {
                switch try entry.file.load(now: now) {
                case .none:
                    events.append(.missing(path: entry.file.path))
                case .corrupt(let reason, let aside):
                    events.append(.corrupt(path: entry.file.path, reason: reason, setAsideTo: aside))
                case .loaded(let checkpoint):
                    events.append(.loaded(path: entry.file.path, sections: checkpoint.sections.keys.sorted()))
                    for (name, bytes) in checkpoint.sections {
                        if entry.sections.contains(name) { own[name] = bytes } else { elsewhere[name] = bytes }
                    }
                }
            } catch {
                events.append(.unreadable(path: entry.file.path, error: error))
            }
        }
        return (own.merging(elsewhere) { mine, _ in mine }, events)
    }
}
