import CFuzzerDriver
import RE2

#if canImport(Glibc)
import Glibc
#endif

/// libFuzzer calls back with each input; `RegularExpressionFuzzEntry` traps on any broken invariant.
@main
enum Fuzzer {
    static func main() {
        var argc = CommandLine.argc
        var argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>? = CommandLine.unsafeArgv
        let status = LLVMFuzzerRunDriver(&argc, &argv) { data, size in
            RegularExpressionFuzzEntry.run(UnsafeRawBufferPointer(start: data, count: size))
            return 0
        }
        exit(status)
    }
}
