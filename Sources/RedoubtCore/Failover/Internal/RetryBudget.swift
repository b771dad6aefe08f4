import Foundation

/// Retry throttling over a sliding window, in the manner of gRPC's retry throttling and
/// Finagle's retry budget: every request deposits `ratio` tokens, every retry withdraws one, and
/// a reserve of `minPerSecond` × window seconds lets a quiet client still retry. Requests and
/// retries older than the window no longer count, so a storm of failures cannot multiply the
/// load on a struggling cluster by more than `1 + ratio` (plus the reserve).
package struct RetryBudget: Sendable {
    private struct Slot: Sendable {
        var second: Int64 = .min
        var requests = 0
        var retries = 0
    }

    package let ratio: Double
    package let minPerSecond: Double
    private var slots: [Slot]

    /// A budget over a window of `windowSeconds` (at least 1) one-second slots.
    package init(ratio: Double, minPerSecond: Double, windowSeconds: Int = 10) {
        self.ratio = max(0, ratio)
        self.minPerSecond = max(0, minPerSecond)
        slots = Array(repeating: Slot(), count: max(1, windowSeconds))
    }

    private mutating func slot(_ now: Date) -> Int {
        let second = Int64(now.timeIntervalSince1970.rounded(.down))
        let index = Int(((second % Int64(slots.count)) + Int64(slots.count)) % Int64(slots.count))
        if slots[index].second != second { slots[index] = Slot(second: second) }
        return index
    }

    private func totals(_ now: Date) -> (requests: Int, retries: Int) {
        let second = Int64(now.timeIntervalSince1970.rounded(.down))
        let oldest = second - Int64(slots.count) + 1
        var requests = 0
        var retries = 0
        for s in slots where s.second >= oldest && s.second <= second {
            requests += s.requests
            retries += s.retries
        }
        return (requests, retries)
    }

    /// Counts a request (its first attempt).
    package mutating func recordRequest(_ now: Date) {
        slots[slot(now)].requests += 1
    }

    /// Takes a token for one retry if the budget has one.
    package mutating func withdraw(_ now: Date) -> Bool {
        let index = slot(now)
        let (requests, retries) = totals(now)
        let allowance = ratio * Double(requests) + minPerSecond * Double(slots.count)
        guard Double(retries) + 1 <= allowance else { return false }
        slots[index].retries += 1
        return true
    }
}
