import Foundation

// One call through the router: deadline, endpoint choice, attempts, retries, outcomes.

extension FailoverHSM {
    /// Whether a call may be repeated on another endpoint after a transport failure.
    package enum Retry: Sendable {
        /// No side effects, or a repeat has the same effect (see the type's documentation).
        case safe
        /// Attempted once.
        case once

        /// Safe for a persistent create with a request id (the store de-duplicates it).
        static func create(_ spec: KeySpec) -> Retry {
            spec.requestID != nil && spec.persistent ? .safe : .once
        }
    }

    /// How one attempt ended.
    package enum Attempt<T: Sendable>: Sendable {
        case success(T)
        case failure(any Error)
        case timedOut
    }

    /// How an attempt's failure counts.
    package enum Failure {
        /// The endpoint answered (NOT_FOUND, PERMISSION_DENIED…): surfaces as it is.
        case answer
        /// UNAVAILABLE, or no answer in time: may be retried elsewhere, counts towards ejection.
        case transport
    }

    /// Transport failures are UNAVAILABLE, a deadline the attempt itself hit, and cancellation
    /// the caller did not ask for (a node shutting down); everything else is an answer.
    package static func classify(_ error: any Error, attemptExpired: Bool) -> Failure {
        if let error = error as? HSMError {
            if error.code == .unavailable { return .transport }
            if error.code == .deadlineExceeded && attemptExpired { return .transport }
            return .answer
        }
        if error is CancellationError { return .transport }
        return .answer
    }

    /// Runs `body` on endpoints until one answers, within the call's deadline and the retry rules.
    ///
    /// - Parameters:
    ///   - session: the call's session, for session-object affinity.
    ///   - pins: whether a success makes the session stick to the endpoint (it made a session object).
    package func route<T: Sendable>(
        _ operation: StaticString, _ retry: Retry, session: SessionToken? = nil, pins: Bool = false,
        _ body: @escaping @Sendable (any HSM) async throws -> T
    ) async throws -> T {
        let started = Date()
        var deadline = started.addingTimeInterval(configuration.callTimeout.timeInterval)
        if let callers = HSMCallContext.deadline, callers < deadline { deadline = callers }
        let attempts = retry == .safe ? min(configuration.maxAttempts, endpoints.count) : 1
        let affinity = session.map(Self.affinityKey)
        let preferred = state.withLock { s -> Int? in
            s.budget.recordRequest(configuration.clock())
            return affinity.flatMap { s.affinity[$0] }
        }
        var tried = Set<Int>()
        var triedSites = Set<String>()
        var last: (endpoint: Int, error: any Error)?
        var rng = SystemRandomNumberGenerator()

        for attempt in 0..<attempts {
            let now = Date()
            guard now < deadline else { throw Self.expired(operation, deadline: deadline, since: started, last: last?.error) }
            let clockNow = configuration.clock()  // the router's own time (ejections, budget, latency)
            if attempt > 0 {
                guard state.withLock({ $0.budget.withdraw(clockNow) }) else {
                    throw HSMError(.unavailable, "retry budget exhausted; last error: \(Self.describe(last?.error))")
                }
            }
            let picked = state.withLock { s -> Int? in
                let index = s.pick(configuration.mode, tried: tried, triedSites: triedSites, preferred: preferred, now: clockNow, using: &rng)
                if let index { s.began(index) }
                return index
            }
            guard let index = picked else { break }
            tried.insert(index)
            triedSites.insert(endpoints[index].site)

            var attemptDeadline = deadline
            if let limit = configuration.attemptTimeout { attemptDeadline = min(deadline, now.addingTimeInterval(limit.timeInterval)) }
            let hsm = endpoints[index].hsm
            let outcome = await HSMCallContext.$deadline.withValue(attemptDeadline) {
                await Self.attempt(until: attemptDeadline) { try await body(hsm) }
            }
            let finished = Date()
            let clockFinished = configuration.clock()
            switch outcome {
            case .success(let value):
                let event = state.withLock { s -> FailoverState.Event? in
                    if pins, let affinity { s.pin(affinity, to: index) }
                    return s.answered(index, latency: clockFinished.timeIntervalSince(clockNow), now: clockFinished)
                }
                log(event.map { [$0] } ?? [])
                return value
            case .failure(let error):
                if Task.isCancelled { throw CancellationError() }
                switch Self.classify(error, attemptExpired: finished >= attemptDeadline) {
                case .answer:
                    let event = state.withLock { $0.answered(index, latency: nil, now: clockFinished) }
                    log(event.map { [$0] } ?? [])
                    throw error
                case .transport:
                    let event = state.withLock { $0.transportFailure(index, now: clockFinished) }
                    log(event.map { [$0] } ?? [])
                    last = (index, error)
                }
            case .timedOut:
                if Task.isCancelled { throw CancellationError() }
                let event = state.withLock { $0.transportFailure(index, now: clockFinished) }
                log(event.map { [$0] } ?? [])
                last = (index, HSMError(.unavailable, "endpoint '\(endpoints[index].name)' did not answer in time"))
            }
        }
        if Date() >= deadline { throw Self.expired(operation, deadline: deadline, since: started, last: last?.error) }
        guard let last else { throw HSMError(.unavailable, "no endpoint could be tried") }
        // One attempt: its error as it is. Several: which endpoints were tried, and the last error.
        guard tried.count > 1 else { throw last.error }
        let names = tried.sorted().map { "'\(endpoints[$0].name)'" }.joined(separator: ", ")
        throw HSMError(
            .unavailable, "every endpoint tried failed (\(names)); last error, from '\(endpoints[last.endpoint].name)': \(Self.describe(last.error))")
    }

    /// DEADLINE_EXCEEDED for `operation`.
    package static func expired(_ operation: StaticString, deadline: Date, since started: Date, last: (any Error)?) -> HSMError {
        let ms = Int((deadline.timeIntervalSince(started) * 1000).rounded())
        var message = "\(operation) did not finish within its deadline of \(ms) ms"
        if let last { message += "; last error: \(describe(last))" }
        return HSMError(.deadlineExceeded, message)
    }

    package static func describe(_ error: (any Error)?) -> String {
        switch error {
        case let error as HSMError: return error.description
        case is CancellationError: return "the endpoint cancelled the call"
        case nil: return "none"
        case let error?: return String(reflecting: type(of: error))
        }
    }

    /// Runs `body` until `deadline`: its result, its error, or `.timedOut` (it is then cancelled).
    package static func attempt<T: Sendable>(until deadline: Date, _ body: @escaping @Sendable () async throws -> T) async -> Attempt<T> {
        let remaining = deadline.timeIntervalSinceNow
        guard remaining > 0 else { return .timedOut }
        return await withTaskGroup(of: Attempt<T>?.self) { group in
            group.addTask {
                do { return .success(try await body()) } catch { return .failure(error) }
            }
            group.addTask {
                do {
                    try await Task.sleep(for: .nanoseconds(Int64(remaining * 1e9)))
                    return .timedOut
                } catch {
                    return nil
                }
            }
            var outcome: Attempt<T> = .timedOut
            for await result in group {
                if let result {
                    outcome = result
                    break
                }
            }
            group.cancelAll()
            return outcome
        }
    }

    /// `body`'s answer, or `nil` if it takes longer than `timeout` (it is then cancelled).
    package static func race<T: Sendable>(timeout: Duration, _ body: @escaping @Sendable () async -> T) async -> T? {
        await withTaskGroup(of: T?.self) { group in
            group.addTask { await body() }
            group.addTask {
                try? await Task.sleep(for: timeout)
                return nil
            }
            let first = await group.next() ?? nil
            group.cancelAll()
            return first
        }
    }
}
