import RedoubtTesting
import Testing

@testable import RedoubtBroker

/// The broker's per-principal token buckets, on a clock the test moves: refusals and refills
/// happen at exact instants, with no sleeping.
@Suite("RateLimiter")
struct RateLimiterTests {
    @Test("a spent burst is refused until 1/rate seconds refill one token")
    func burstAndRefill() {
        let clock = ManualClock()
        let limiter = RateLimiter(rate: 10, burst: 5, clock: clock)
        for n in 1...5 { #expect(limiter.allow("alice"), "call \(n) of the burst") }
        #expect(!limiter.allow("alice"))
        // Others have buckets of their own.
        #expect(limiter.allow("bob"))
        clock.advance(by: .milliseconds(99))
        #expect(!limiter.allow("alice"))
        clock.advance(by: .milliseconds(1))
        #expect(limiter.allow("alice"))
        #expect(!limiter.allow("alice"))
        // A long pause refills no more than the burst.
        clock.advance(by: .seconds(3600))
        for n in 1...5 { #expect(limiter.allow("alice"), "call \(n) after the pause") }
        #expect(!limiter.allow("alice"))
    }

    @Test("a call that read the clock before another's update refills nothing (no wrap-around)")
    func outOfOrderInstants() {
        let clock = ManualClock()
        let limiter = RateLimiter(rate: 2, burst: 4, clock: clock)
        let early = clock.now
        clock.advance(by: .milliseconds(100))
        for n in 1...4 { #expect(limiter.allow("alice"), "call \(n) of the burst") }
        // Concurrent calls read the clock, then queue for the lock: an earlier reading comes later.
        #expect(!limiter.allow("alice", at: early))
        #expect(!limiter.allow("alice"))
    }

    @Test("a call may cost several tokens")
    func cost() {
        let clock = ManualClock()
        let limiter = RateLimiter(rate: 1, burst: 4, clock: clock)
        #expect(limiter.allow("alice", cost: 3))
        #expect(!limiter.allow("alice", cost: 2))
        #expect(limiter.allow("alice", cost: 1))
        clock.advance(by: .seconds(2))
        #expect(limiter.allow("alice", cost: 2))
    }

    @Test("idle principals' buckets are dropped after the sweep period; recently active ones stay")
    func sweep() {
        let clock = ManualClock()
        // A bucket is full again 0.5 s after its last call.
        let limiter = RateLimiter(rate: 10, burst: 5, clock: clock)
        clock.advance(by: .milliseconds(100))
        for _ in 0..<6 { _ = limiter.allow("alice") }
        _ = limiter.allow("bob")
        #expect(limiter.trackedPrincipals == 2)
        // Up to the sweep period nothing is dropped, however idle.
        clock.advance(to: ManualClock.Instant(offset: .seconds(10)))
        _ = limiter.allow("carol")
        #expect(limiter.trackedPrincipals == 3)
        // Past it, the next call drops every bucket that has refilled: alice and bob (idle for
        // ~10 s), not carol (0.2 s ago, still short of a full bucket).
        clock.advance(by: .milliseconds(200))
        _ = limiter.allow("dave")
        #expect(limiter.trackedPrincipals == 2)
        // A dropped principal starts again with a full burst.
        for n in 1...5 { #expect(limiter.allow("alice"), "call \(n)") }
        #expect(!limiter.allow("alice"))
    }

    @Test("past the maximum number of principals, new ones share one overflow bucket")
    func overflow() {
        let clock = ManualClock()
        let limiter = RateLimiter(rate: 1, burst: 2, maximumPrincipals: 2, clock: clock)
        #expect(limiter.allow("alice"))
        #expect(limiter.allow("bob"))
        #expect(limiter.allow("carol"))
        #expect(limiter.allow("dave"))
        #expect(!limiter.allow("erin"))
        #expect(limiter.trackedPrincipals == 3)
        #expect(limiter.allow("alice"))
    }

    @Test("rate 0 allows everything")
    func unlimited() {
        let limiter = RateLimiter(rate: 0, burst: 0, clock: ManualClock())
        for _ in 0..<1000 { #expect(limiter.allow("alice")) }
    }

    @Test("durations become whole nanoseconds, negative ones zero")
    func nanoseconds() {
        #expect(TokenBuckets.nanoseconds(.seconds(2) + .nanoseconds(7)) == 2_000_000_007)
        #expect(TokenBuckets.nanoseconds(.zero) == 0)
        #expect(TokenBuckets.nanoseconds(.seconds(-1)) == 0)
    }
}
