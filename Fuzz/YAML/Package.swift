// swift-tools-version: 6.1
import Foundation
import PackageDescription

// A path dependency is named after its directory (agent, main, a worktree's name...).
let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

// The fuzz target of the YAML reader (libyaml's parser, the composer and its limits, tag
// resolution, the typed accessors, YAMLReader), built with libFuzzer: `make fuzz`
// (FUZZ_SECONDS=600 by default). The corpus in corpus/ is replayed by
// Tests/YAMLSupportTests/YAMLFuzzCorpusTests.swift in `make test`.
let package = Package(
    name: "fuzz-yaml",
    platforms: [.macOS(.v15)],
    dependencies: [.package(path: root.path)],
    targets: [
        // Declares LLVMFuzzerRunDriver, libFuzzer's entry for a program with its own main.
        .target(name: "CFuzzerDriver", path: "Sources/CFuzzerDriver"),
        .executableTarget(
            name: "fuzzer",
            dependencies: ["CFuzzerDriver", .product(name: "YAMLSupport", package: root.lastPathComponent.lowercased())],
            path: "Sources/fuzzer"),
    ]
)
