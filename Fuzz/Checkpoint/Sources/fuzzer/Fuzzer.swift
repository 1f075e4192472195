import AgentDaemon
import CFuzzerDriver

#if canImport(Glibc)
import Glibc
#endif

/// libFuzzer calls back with each input; `CheckpointFuzzEntry` traps on any broken invariant.
/// Unless given, an allocation limit of 64 MB applies: every input is at most a few KB, so a
/// bigger allocation can only come from a length the decoder believed. `--write-seeds DIR`
/// writes the seed inputs into DIR and exits.
@main
enum Fuzzer {
    static func main() {
        var arguments = CommandLine.arguments
        if arguments.count == 3, arguments[1] == "--write-seeds" {
            for seed in CheckpointFuzzEntry.seeds() {
                let path = arguments[2] + "/" + seed.name
                guard let file = fopen(path, "wb") else { fatalError("cannot write \(path)") }
                _ = seed.bytes.withUnsafeBytes { fwrite($0.baseAddress, 1, $0.count, file) }
                fclose(file)
            }
            exit(0)
        }
        if !arguments.contains(where: { $0.hasPrefix("-malloc_limit_mb=") }) { arguments.append("-malloc_limit_mb=64") }
        var argc = Int32(arguments.count)
        var cArguments: [UnsafeMutablePointer<CChar>?] = arguments.map { strdup($0) } + [nil]
        let status = cArguments.withUnsafeMutableBufferPointer { buffer -> Int32 in
            var argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>? = buffer.baseAddress
            return LLVMFuzzerRunDriver(&argc, &argv) { data, size in
                CheckpointFuzzEntry.run(UnsafeRawBufferPointer(start: data, count: size))
                return 0
            }
        }
        exit(status)
    }
}
