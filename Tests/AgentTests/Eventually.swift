import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Polls `condition` every 50 ms until it holds or `seconds` pass; returns whether it held.
/// End-to-end tests wait for what they need to see rather than sleep for a guessed time: a debug
/// build on a busy two-core CI machine is many times slower than a developer's idle one.
@discardableResult
func eventually(within seconds: Double = 30, _ condition: () throws -> Bool) rethrows -> Bool {
    let deadline = Date().addingTimeInterval(seconds)
    while true {
        if try condition() { return true }
        if Date() >= deadline { return false }
        usleep(50_000)
    }
}
