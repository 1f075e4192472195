// swift-tools-version: 6.1
import Foundation
import PackageDescription

// A path dependency is named after its directory (agent, main, a worktree's name...).
let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

// The fuzz target of the state files' decoders (checkpoint container, the store's section, alert
// states, silences), built with libFuzzer: `make fuzz` (FUZZ_SECONDS=600 by default). The corpus
// in corpus/ is replayed by Tests/AgentTests/CheckpointFuzzCorpusTests.swift in `make test`.
let package = Package(
    name: "fuzz-checkpoint",
    platforms: [.macOS(.v15)],
    dependencies: [.package(path: root.path)],
    targets: [
        // Declares LLVMFuzzerRunDriver, libFuzzer's entry for a program with its own main.
        .target(name: "CFuzzerDriver", path: "Sources/CFuzzerDriver"),
        .executableTarget(
            name: "fuzzer",
            dependencies: ["CFuzzerDriver", .product(name: "AgentLibraries", package: root.lastPathComponent.lowercased())],
            path: "Sources/fuzzer"),
    ]
)
