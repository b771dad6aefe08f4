import Foundation
@testable import Redoubt
@testable import RedoubtCore
import Testing

/// The router's state machine and retry budget, without I/O and with a hand-set `now`.
@Suite("FailoverHSM state")
struct FailoverStateTests {
    static let t0 = Date(timeIntervalSince1970: 1_800_000_000)

    static func state(_ count: Int = 2, probes: Bool = false) -> FailoverState {
        FailoverState(
            endpoints: (0..<count).map { .init(name: "n\($0)", site: "s", priority: $0, hasProbe: probes) },
            policy: .init(ejectAfter: 2, ejectionBase: 1, ejectionMax: 4, exploration: 0),
            budget: RetryBudget(ratio: 0.5, minPerSecond: 0))
    }

    @Test("the retry budget: a share of recent requests, forgotten after the window")
    func budget() {
        var budget = RetryBudget(ratio: 0.5, minPerSecond: 0, windowSeconds: 10)
        func withdraw(_ at: Date) -> Bool { budget.withdraw(at) }
        #expect(!withdraw(Self.t0))
        budget.recordRequest(Self.t0)
        #expect(!withdraw(Self.t0))  // 0.5 tokens
        budget.recordRequest(Self.t0)
        #expect(withdraw(Self.t0))  // 1 token
        #expect(!withdraw(Self.t0))
        for _ in 0..<4 { budget.recordRequest(Self.t0.addingTimeInterval(5)) }
        #expect(withdraw(Self.t0.addingTimeInterval(5)))
        #expect(withdraw(Self.t0.addingTimeInterval(5)))
        #expect(!withdraw(Self.t0.addingTimeInterval(5)))
        // 11 s later everything has left the window; the reserve alone lets a quiet client retry.
        #expect(!withdraw(Self.t0.addingTimeInterval(16)))
        var reserve = RetryBudget(ratio: 0, minPerSecond: 0.2, windowSeconds: 10)
        let results = (0..<3).map { _ in reserve.withdraw(Self.t0) }
        #expect(results == [true, true, false])
    }

    @Test("ejection doubles up to the maximum; a success on trial re-admits; a probe re-admits only after the backoff")
    func ejection() {
        var s = Self.state()
        var rng = SystemRandomNumberGenerator()
        #expect(s.transportFailure(0, now: Self.t0) == nil)
        #expect(s.transportFailure(0, now: Self.t0) == .ejected(endpoint: 0, seconds: 1))
        #expect(s.pick(.priority, tried: [], triedSites: [], preferred: nil, now: Self.t0, using: &rng) == 1)
        // The trial after the backoff fails: ejected again for twice as long, then 4 s (the maximum).
        #expect(s.pick(.priority, tried: [], triedSites: [], preferred: nil, now: Self.t0 + 1, using: &rng) == 0)
        #expect(s.transportFailure(0, now: Self.t0 + 1) == .ejected(endpoint: 0, seconds: 2))
        #expect(s.transportFailure(0, now: Self.t0 + 3) == .ejected(endpoint: 0, seconds: 4))
        #expect(s.transportFailure(0, now: Self.t0 + 7) == .ejected(endpoint: 0, seconds: 4))
        #expect(s.answered(0, latency: 0.01, now: Self.t0 + 11) == .readmitted(endpoint: 0))
        #expect(s.status(Self.t0 + 11)[0].ejected == false)

        var probed = Self.state(probes: true)
        probed.pollers = 1
        _ = probed.transportFailure(0, now: Self.t0)
        _ = probed.transportFailure(0, now: Self.t0)
        #expect(probed.probed(0, serving: true, now: Self.t0 + 0.5).isEmpty)
        // Backoff over, but with polling only a serving probe re-admits it.
        #expect(probed.pick(.priority, tried: [], triedSites: [], preferred: nil, now: Self.t0 + 2, using: &rng) == 1)
        #expect(probed.probed(0, serving: false, now: Self.t0 + 2) == [.healthChanged(endpoint: 0, serving: false)])
        #expect(probed.probed(0, serving: true, now: Self.t0 + 3) == [.healthChanged(endpoint: 0, serving: true), .readmitted(endpoint: 0)])
        #expect(probed.pick(.priority, tried: [], triedSites: [], preferred: nil, now: Self.t0 + 3, using: &rng) == 0)
    }

    @Test("with every endpoint out of rotation the least bad is picked; none once all were tried")
    func leastBad() {
        var s = Self.state(3)
        var rng = SystemRandomNumberGenerator()
        for i in 0..<3 { for _ in 0..<2 { _ = s.transportFailure(i, now: Self.t0 + Double(i)) } }
        // All ejected: the one whose ejection ends first.
        #expect(s.pick(.random, tried: [], triedSites: [], preferred: nil, now: Self.t0 + 0.5, using: &rng) == 0)
        #expect(s.pick(.random, tried: [0], triedSites: [], preferred: nil, now: Self.t0 + 0.5, using: &rng) == 1)
        #expect(s.pick(.random, tried: [0, 1, 2], triedSites: [], preferred: nil, now: Self.t0, using: &rng) == nil)
    }
}
