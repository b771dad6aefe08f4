import Foundation

/// The router's knowledge of its endpoints, as a value with `mutating` transitions that return
/// what happened (for logging): picking an endpoint, outcomes of attempts and probes, ejection
/// and re-admission. No I/O and no clock of its own: callers pass `now`.
package struct FailoverState: Sendable {
    package struct Endpoint: Sendable {
        let name: String
        let site: String
        let priority: Int
        let hasProbe: Bool
        var healthy = true
        /// Set while ejected; once passed, the endpoint waits for a serving probe (or a trial).
        var ejectedUntil: Date?
        /// Ejections in a row (the backoff doubles with each); forgotten after a quiet spell.
        var ejections = 0
        var readmittedAt: Date?
        var consecutiveFailures = 0
        /// Seconds.
        var latency: Double?
        var requests = 0
        var failures = 0
    }

    /// What a transition did, for the log.
    package enum Event: Sendable, Equatable {
        case ejected(endpoint: Int, seconds: Double)
        case readmitted(endpoint: Int)
        case healthChanged(endpoint: Int, serving: Bool)
    }

    package struct Policy: Sendable {
        var ejectAfter: Int
        var ejectionBase: Double
        var ejectionMax: Double
        var exploration: Double
        /// Weight of the newest sample in the latency average.
        var latencyWeight = 0.3
    }

    package var endpoints: [Endpoint]
    package let policy: Policy
    package var budget: RetryBudget
    /// Health pollers running; without one, probe results are unknown and ejections end on trial.
    package var pollers = 0
    /// Session tokens (by SHA-256) that own session objects, to the endpoint that holds them.
    package var affinity: [Data: Int] = [:]
    package var affinityOrder: [Data] = []
    package static let affinityLimit = 10_000

    // MARK: Picking

    /// In rotation: healthy, and not ejected (or ejected, the backoff over, on trial when no probe
    /// result can re-admit it).
    package func isAvailable(_ index: Int, _ now: Date) -> Bool {
        let e = endpoints[index]
        guard e.healthy else { return false }
        guard let until = e.ejectedUntil else { return true }
        return now >= until && (!e.hasProbe || pollers == 0)
    }

    /// The endpoint for the next attempt, never one in `tried`: by `mode` among those in rotation
    /// (`preferred` first if it is), else the least bad of the rest; `nil` when all were tried.
    package func pick<R: RandomNumberGenerator>(
        _ mode: FailoverHSM.Mode, tried: Set<Int>, triedSites: Set<String>, preferred: Int?,
        now: Date, using rng: inout R
    ) -> Int? {
        let untried = endpoints.indices.filter { !tried.contains($0) }
        guard !untried.isEmpty else { return nil }
        if let preferred, untried.contains(preferred), isAvailable(preferred, now) { return preferred }
        let available = untried.filter { isAvailable($0, now) }
        guard !available.isEmpty else { return leastBad(untried) }
        switch mode {
        case .random:
            return available.randomElement(using: &rng)
        case .priority:
            let best = available.map { endpoints[$0].priority }.min() ?? 0
            let ties = available.filter { endpoints[$0].priority == best }
            let otherSites = ties.filter { !triedSites.contains(endpoints[$0].site) }
            return (otherSites.isEmpty ? ties : otherSites).randomElement(using: &rng)
        case .latency:
            let unmeasured = available.filter { endpoints[$0].latency == nil }
            if !unmeasured.isEmpty { return unmeasured.randomElement(using: &rng) }
            if Double.random(in: 0..<1, using: &rng) < policy.exploration { return available.randomElement(using: &rng) }
            return available.min { (endpoints[$0].latency ?? 0) < (endpoints[$1].latency ?? 0) }
        }
    }

    /// With nothing in rotation: a healthy one first, then the ejection ending soonest, then the
    /// fewest failures in a row, then the lowest priority number.
    private func leastBad(_ candidates: [Int]) -> Int? {
        candidates.min { a, b in
            let x = endpoints[a], y = endpoints[b]
            if x.healthy != y.healthy { return x.healthy }
            let xu = x.ejectedUntil ?? .distantPast, yu = y.ejectedUntil ?? .distantPast
            if xu != yu { return xu < yu }
            if x.consecutiveFailures != y.consecutiveFailures { return x.consecutiveFailures < y.consecutiveFailures }
            return x.priority < y.priority
        }
    }

    // MARK: Outcomes

    package mutating func began(_ index: Int) {
        endpoints[index].requests += 1
    }

    /// The endpoint answered (a result, or an error of the request such as NOT_FOUND):
    /// failures in a row end, an ejection on trial ends. `latency` only for successes.
    package mutating func answered(_ index: Int, latency: Double?, now: Date) -> Event? {
        endpoints[index].consecutiveFailures = 0
        if let latency {
            let w = policy.latencyWeight
            endpoints[index].latency = endpoints[index].latency.map { (1 - w) * $0 + w * latency } ?? latency
        }
        if let until = endpoints[index].ejectedUntil, now >= until {
            readmit(index, now)
            return .readmitted(endpoint: index)
        }
        return nil
    }

    /// The endpoint failed at the transport (UNAVAILABLE, or no answer in time).
    package mutating func transportFailure(_ index: Int, now: Date) -> Event? {
        endpoints[index].consecutiveFailures += 1
        endpoints[index].failures += 1
        if let until = endpoints[index].ejectedUntil {
            // A failed trial ejects again at once; during an ejection nothing changes.
            guard now >= until else { return nil }
            return eject(index, now)
        }
        guard endpoints[index].consecutiveFailures >= policy.ejectAfter else { return nil }
        return eject(index, now)
    }

    /// A probe's answer.
    package mutating func probed(_ index: Int, serving: Bool, now: Date) -> [Event] {
        var events: [Event] = []
        if endpoints[index].healthy != serving {
            endpoints[index].healthy = serving
            events.append(.healthChanged(endpoint: index, serving: serving))
        }
        if serving, let until = endpoints[index].ejectedUntil, now >= until {
            readmit(index, now)
            events.append(.readmitted(endpoint: index))
        }
        return events
    }

    private mutating func eject(_ index: Int, _ now: Date) -> Event {
        if let back = endpoints[index].readmittedAt, now.timeIntervalSince(back) > policy.ejectionMax {
            endpoints[index].ejections = 0
        }
        let doubling = pow(2, Double(min(endpoints[index].ejections, 30)))
        let seconds = min(policy.ejectionBase * doubling, policy.ejectionMax)
        endpoints[index].ejections += 1
        endpoints[index].ejectedUntil = now.addingTimeInterval(seconds)
        return .ejected(endpoint: index, seconds: seconds)
    }

    private mutating func readmit(_ index: Int, _ now: Date) {
        endpoints[index].ejectedUntil = nil
        endpoints[index].consecutiveFailures = 0
        endpoints[index].readmittedAt = now
        // Measured afresh, so that latency mode tries it again.
        endpoints[index].latency = nil
    }

    // MARK: Session affinity

    package mutating func pin(_ session: Data, to index: Int) {
        if affinity.updateValue(index, forKey: session) == nil {
            affinityOrder.append(session)
            if affinityOrder.count > Self.affinityLimit {
                affinity.removeValue(forKey: affinityOrder.removeFirst())
            }
        }
    }

    package mutating func unpin(_ session: Data) {
        if affinity.removeValue(forKey: session) != nil {
            affinityOrder.removeAll { $0 == session }
        }
    }

    // MARK: Reading

    package func status(_ now: Date) -> [FailoverEndpointStatus] {
        endpoints.map { e in
            FailoverEndpointStatus(
                name: e.name, site: e.site, priority: e.priority, healthy: e.healthy,
                ejected: e.ejectedUntil != nil, ejectedUntil: e.ejectedUntil,
                consecutiveFailures: e.consecutiveFailures,
                latency: e.latency.map { .nanoseconds(Int64(($0 * 1e9).rounded())) },
                requests: e.requests, failures: e.failures)
        }
    }
}
