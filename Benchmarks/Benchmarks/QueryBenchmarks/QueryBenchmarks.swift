import Benchmark

// Benchmarks of this area land with its issue.
let benchmarks: @Sendable () -> Void = {}
