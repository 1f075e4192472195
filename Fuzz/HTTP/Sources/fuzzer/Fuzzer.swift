import CFuzzerDriver
import HTTPServing

#if canImport(Glibc)
import Glibc
#endif

/// libFuzzer calls back with each input; `HTTPFuzzEntry` traps on any broken invariant.
@main
enum Fuzzer {
    static func main() {
        var argc = CommandLine.argc
        var argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>? = CommandLine.unsafeArgv
        let status = LLVMFuzzerRunDriver(&argc, &argv) { data, size in
            HTTPFuzzEntry.run(UnsafeRawBufferPointer(start: data, count: size))
            return 0
        }
        exit(status)
    }
}
