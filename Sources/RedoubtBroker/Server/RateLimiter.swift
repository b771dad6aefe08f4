import Foundation
import Synchronization

/// Per-principal token buckets: each principal may make `rate` calls per second on average
/// and `burst` at once. Buckets of principals idle for a while are dropped, so memory stays
/// bounded by the number of recently active principals (at most `maximumPrincipals`; past
/// that, new principals share one overflow bucket, which throttles a flood of fresh
/// sessions as one).
final class RateLimiter: Sendable {
    private struct Bucket {
        var tokens: Double
        var updated: UInt64
    }

    private struct State {
        var buckets: [String: Bucket] = [:]
        var lastSweep: UInt64 = 0
    }

    private let rate: Double
    private let burst: Double
    private let maximumPrincipals: Int
    private let state = Mutex(State())
    private static let overflowKey = "\u{0}overflow"

    /// A limiter; `rate` 0 allows everything.
    init(rate: Double, burst: Double, maximumPrincipals: Int = 100_000) {
        self.rate = rate
        self.burst = burst
        self.maximumPrincipals = maximumPrincipals
    }

    /// Takes `cost` tokens from the principal's bucket; `false` if it has too few.
    func allow(_ principal: String, cost: Double = 1, now: UInt64 = DispatchTime.now().uptimeNanoseconds) -> Bool {
        guard rate > 0 else { return true }
        return state.withLock { s in
            if now &- s.lastSweep > 10_000_000_000 {
                // Drop buckets that have refilled completely: they carry no information.
                let full = UInt64(burst / rate * 1e9)
                s.buckets = s.buckets.filter { now &- $0.value.updated < full }
                s.lastSweep = now
            }
            var key = principal
            if s.buckets[key] == nil, s.buckets.count >= maximumPrincipals { key = Self.overflowKey }
            var bucket = s.buckets[key] ?? Bucket(tokens: burst, updated: now)
            let elapsed = Double(now &- bucket.updated) / 1e9
            bucket.tokens = min(burst, bucket.tokens + elapsed * rate)
            bucket.updated = now
            let allowed = bucket.tokens >= cost
            if allowed { bucket.tokens -= cost }
            s.buckets[key] = bucket
            return allowed
        }
    }
}
