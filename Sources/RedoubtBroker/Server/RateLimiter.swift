import Foundation
import RedoubtCore
import Synchronization

/// Per-principal token buckets: each principal may make `rate` calls per second on average
/// and `burst` at once. Buckets of principals idle for a while are dropped, so memory stays
/// bounded by the number of recently active principals (at most `maximumPrincipals`; past
/// that, new principals share one overflow bucket, which throttles a flood of fresh
/// sessions as one).
///
/// Time is read from `clock` (`ContinuousClock` in production, a manual clock in tests), kept as
/// nanoseconds since the limiter was made.
final class RateLimiter<C: Clock>: Sendable where C.Duration == Duration {
    /// The clock it measures time on.
    let clock: C
    private let origin: C.Instant
    private let buckets: TokenBuckets

    /// A limiter measuring time on `clock`; `rate` 0 allows everything.
    init(rate: Double, burst: Double, maximumPrincipals: Int = 100_000, clock: C) {
        self.clock = clock
        self.origin = clock.now
        self.buckets = TokenBuckets(rate: rate, burst: burst, maximumPrincipals: maximumPrincipals)
    }

    /// Takes `cost` tokens from the principal's bucket now; `false` if it has too few.
    func allow(_ principal: String, cost: Double = 1) -> Bool {
        allow(principal, cost: cost, at: clock.now)
    }

    /// Takes `cost` tokens from the principal's bucket at `instant` (a caller that has just read
    /// the clock passes what it read); `false` if it has too few.
    func allow(_ principal: String, cost: Double = 1, at instant: C.Instant) -> Bool {
        buckets.allow(principal, cost: cost, now: TokenBuckets.nanoseconds(origin.duration(to: instant)))
    }

    /// How many principals have a bucket (the overflow bucket counts as one).
    var trackedPrincipals: Int { buckets.count }
}

/// A ``RateLimiter``'s buckets, on a time in nanoseconds. (Not generic, unlike the limiter, so
/// that the code of every call is compiled for these types, whatever the clock.)
final class TokenBuckets: Sendable {
    private struct Bucket {
        var tokens: Double
        var updated: UInt64
    }

    private struct State {
        var buckets: [String: Bucket] = [:]
        var lastSweep: UInt64 = 0
    }

    /// How often buckets of idle principals are dropped, in nanoseconds.
    static let sweepPeriod: UInt64 = 10_000_000_000
    private static let overflowKey = "\u{0}overflow"

    private let rate: Double
    private let burst: Double
    private let maximumPrincipals: Int
    private let state = ContendedLock(State())

    init(rate: Double, burst: Double, maximumPrincipals: Int) {
        self.rate = rate
        self.burst = burst
        self.maximumPrincipals = maximumPrincipals
    }

    /// Whole nanoseconds in `duration`, 0 if it is negative.
    static func nanoseconds(_ duration: Duration) -> UInt64 {
        let (seconds, attoseconds) = duration.components
        guard seconds >= 0, attoseconds >= 0 else { return 0 }
        return UInt64(seconds) &* 1_000_000_000 &+ UInt64(attoseconds / 1_000_000_000)
    }

    /// Takes `cost` tokens from the principal's bucket at `now`; `false` if it has too few.
    func allow(_ principal: String, cost: Double, now: UInt64) -> Bool {
        guard rate > 0 else { return true }
        return state.withLock { s in
            // Concurrent calls read the clock before they take the lock, so `now` may be a little
            // earlier than a bucket's last update: time then stands still (never wraps around into
            // a refill).
            if Self.since(s.lastSweep, now) > Self.sweepPeriod {
                // Drop buckets that have refilled completely: they carry no information.
                let full = UInt64(burst / rate * 1e9)
                s.buckets = s.buckets.filter { Self.since($0.value.updated, now) < full }
                s.lastSweep = now
            }
            var key = principal
            if s.buckets[key] == nil, s.buckets.count >= maximumPrincipals { key = Self.overflowKey }
            var bucket = s.buckets[key] ?? Bucket(tokens: burst, updated: now)
            let elapsed = Double(Self.since(bucket.updated, now)) / 1e9
            bucket.tokens = min(burst, bucket.tokens + elapsed * rate)
            bucket.updated = max(bucket.updated, now)
            let allowed = bucket.tokens >= cost
            if allowed { bucket.tokens -= cost }
            s.buckets[key] = bucket
            return allowed
        }
    }

    /// Nanoseconds from `earlier` to `now`; 0 when `now` is not later.
    private static func since(_ earlier: UInt64, _ now: UInt64) -> UInt64 { now > earlier ? now - earlier : 0 }

    /// How many principals have a bucket.
    var count: Int { state.withLock { $0.buckets.count } }
}
