// swift-tools-version: 6.1
import Foundation
import PackageDescription

// A path dependency is named after its directory (agent, main, a worktree's name...).
let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

// The fuzz target of the RE2 engine (compile, match, search, find-all, replace), built with
// libFuzzer: `make fuzz` (FUZZ_SECONDS=600 by default). It links only the RE2 target, so it builds
// in seconds. The corpus in corpus/ is replayed by Tests/RE2Tests/RegexFuzzCorpusTests.swift in `make test`.
let package = Package(
    name: "fuzz-regex",
    platforms: [.macOS(.v15)],
    dependencies: [.package(path: root.path)],
    targets: [
        // Declares LLVMFuzzerRunDriver, libFuzzer's entry for a program with its own main.
        .target(name: "CFuzzerDriver", path: "Sources/CFuzzerDriver"),
        .executableTarget(
            name: "fuzzer",
            dependencies: ["CFuzzerDriver", .product(name: "RE2", package: root.lastPathComponent.lowercased())],
            path: "Sources/fuzzer"),
    ]
)
