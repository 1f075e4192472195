import Testing
@testable import Notify
import TimeSeries

@Suite struct MatcherTests {
    @Test func placeholder() {}
}
