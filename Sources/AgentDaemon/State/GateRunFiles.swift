import Alerting
import JSON
#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
#if canImport(Glibc)
import Glibc
#endif

/// Gate runs on disk: one JSON file per run in `state_dir/gates/`, replaced atomically
/// (`AtomicFile`) after every evaluation, so a restart — or a `kill -9` — resumes each run with
/// the counts and values of its last evaluation. A run's own file keeps each write small however
/// many runs are remembered; it is not part of the checkpoint.
///
/// A file that cannot be read is renamed `*.corrupt` and left out. The newest `keepFinished`
/// finished runs are kept, older ones removed.
///
/// Ownership: called only from `GatesComponent`'s queue.
struct GateRunFiles {
    let directory: String
    /// Finished runs kept on disk (and in memory).
    static let keepFinished = 50

    init(stateDir: String) {
        directory = stateDir + "/gates"
    }

    func path(of id: String) -> String { directory + "/" + id + ".json" }

    /// Writes `run` durably.
    func save(_ run: GateRun) throws {
        try AtomicFile.makeDirectory(directory)
        try AtomicFile.write(run.json.encoded(), to: path(of: run.id))
    }

    /// Every run on disk, and the problems with files that could not be read (set aside).
    func load() -> (runs: [GateRun], problems: [String]) {
        guard let names = try? FileManager.default.contentsOfDirectory(atPath: directory) else { return ([], []) }
        var runs: [GateRun] = []
        var problems: [String] = []
        for name in names.sorted() where name.hasSuffix(".json") {
            let file = directory + "/" + name
            do {
                guard let bytes = try AtomicFile.read(file) else { continue }
                let run = try GateRun(json: try JSON(parsing: bytes))
                guard path(of: run.id) == file else { throw GateError("the run inside is \(run.id)") }
                runs.append(run)
            } catch {
                let aside = file + ".corrupt"
                rename(file, aside)
                problems.append("gate run \(file) unreadable (\(error)); set aside as \(aside)")
            }
        }
        return (runs, problems)
    }

    /// Removes the file of a run no longer kept.
    func remove(_ id: String) {
        unlink(path(of: id))
    }
}
