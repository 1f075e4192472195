import CFuzzerDriver
import YAMLSupport

#if canImport(Glibc)
import Glibc
#endif

/// libFuzzer calls back with each input; `YAMLFuzzEntry` traps on any broken invariant.
@main
enum Fuzzer {
    static func main() {
        var argc = CommandLine.argc
        var argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>? = CommandLine.unsafeArgv
        let status = LLVMFuzzerRunDriver(&argc, &argv) { data, size in
            YAMLFuzzEntry.run(UnsafeRawBufferPointer(start: data, count: size))
            return 0
        }
        exit(status)
    }
}
