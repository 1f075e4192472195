// swift-tools-version: 6.1
import PackageDescription

// libFuzzer target for the exposition parser and the scrape ingest path (`make fuzz-exposition`).
// Build with the root package instrumented: swift build -c release -Xswiftc -sanitize=fuzzer,address
// The executable's main calls libFuzzer's LLVMFuzzerRunDriver, which the C target declares.
let package = Package(
    name: "fuzz-exposition",
    platforms: [.macOS(.v15)],
    dependencies: [.package(path: "../..")],
    targets: [
        .target(name: "CFuzzerDriver", path: "Sources/CFuzzerDriver"),
        .executableTarget(
            name: "FuzzExposition",
            dependencies: ["CFuzzerDriver", .product(name: "AgentLibraries", package: "agent")],
            path: "Sources/FuzzExposition"),
    ]
)
