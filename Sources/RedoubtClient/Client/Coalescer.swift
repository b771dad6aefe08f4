import Foundation
import RedoubtCore
import Synchronization

/// The ids of waiting calls.
private let waiterIDs = Atomic<UInt64>(0)

/// Concurrent single calls of one kind, coalesced per session (``RemoteHSMConfiguration/Coalescing``):
/// while `limit` calls of a session are in flight, further calls wait; whenever one in flight
/// finishes, the waiting calls (up to `batchItems`) go in one batch. No timer: a call waits only
/// for a call already in flight. A waiting caller that is cancelled stops waiting (CANCELLED).
final class Coalescer<Item: Sendable, Output: Sendable>: Sendable {
    typealias Batch = @Sendable (SessionToken, [Item]) async throws -> [Result<Output, HSMError>]

    private struct Waiter {
        let id: UInt64
        let item: Item
        let continuation: CheckedContinuation<Output, any Error>
        /// How to send a batch (every waiter of a lane has the same).
        let batch: Batch
    }

    /// One session's calls: how many are in flight (single calls and batches), and who waits.
    private struct Lane {
        var inFlight = 0
        var waiting: [Waiter] = []
    }

    // Contended by every caller of a busy session: a pthread mutex (see ContendedLock).
    private let lanes = ContendedLock<[String: Lane]>([:])
    private let limit: Int
    private let batchItems: Int

    /// - Parameters:
    ///   - limit: calls of one session in flight before others wait (at least 1).
    ///   - batchItems: the most waiting calls one batch takes.
    init(limit: Int, batchItems: Int) {
        self.limit = max(1, limit)
        self.batchItems = max(1, batchItems)
    }

    /// `single()` at once when fewer than `limit` calls of `session` are in flight; otherwise
    /// `item` waits for the next `batch` (which sends items, one outcome each, in order), and this
    /// returns its outcome.
    func perform(
        _ session: SessionToken, _ item: Item, batch: @escaping Batch, single: () async throws -> Output
    ) async throws -> Output {
        let now = lanes.withLock { lanes -> Bool in
            var lane = lanes[session.value] ?? Lane()
            guard lane.inFlight < limit else { return false }
            lane.inFlight += 1
            lanes[session.value] = lane
            return true
        }
        if now {
            defer { finished(session) }
            return try await single()
        }
        let id = Self.nextWaiterID()
        return try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { continuation in
                let taken = lanes.withLock { lanes -> [Waiter]? in
                    // Checked under the lock: a cancellation after it finds the waiter queued.
                    guard !Task.isCancelled else { return nil }
                    var lane = lanes[session.value] ?? Lane()
                    lane.waiting.append(Waiter(id: id, item: item, continuation: continuation, batch: batch))
                    // The calls in flight finished since the check above: nobody is left to send
                    // this one, so it goes now.
                    var taken: [Waiter] = []
                    if lane.inFlight < limit {
                        lane.inFlight += 1
                        taken = take(&lane)
                    }
                    lanes[session.value] = lane
                    return taken
                }
                guard let taken else {
                    continuation.resume(throwing: Self.cancelled)
                    return
                }
                if !taken.isEmpty { send(session, taken) }
            }
        } onCancel: {
            // A caller that stops waiting leaves the queue; once its batch is sent, it gets its outcome.
            let removed = lanes.withLock { lanes -> Waiter? in
                guard var lane = lanes[session.value], let index = lane.waiting.firstIndex(where: { $0.id == id }) else { return nil }
                let waiter = lane.waiting.remove(at: index)
                lanes[session.value] = lane
                return waiter
            }
            removed?.continuation.resume(throwing: Self.cancelled)
        }
    }

    /// What a caller cancelled while it waited gets (as a cancelled RPC reads).
    static var cancelled: HSMError { HSMError(.cancelled, "the call was cancelled") }

    /// A waiter's id, unique in the process.
    private static func nextWaiterID() -> UInt64 {
        waiterIDs.add(1, ordering: .relaxed).newValue
    }

    /// How many calls of `session` are in flight and waiting (for tests).
    func counts(_ session: SessionToken) -> (inFlight: Int, waiting: Int) {
        lanes.withLock { lanes in
            let lane = lanes[session.value]
            return (lane?.inFlight ?? 0, lane?.waiting.count ?? 0)
        }
    }

    /// The first `batchItems` waiting calls of `lane`, removed from it.
    private func take(_ lane: inout Lane) -> [Waiter] {
        let count = min(batchItems, lane.waiting.count)
        let taken = Array(lane.waiting.prefix(count))
        lane.waiting.removeFirst(count)
        return taken
    }

    /// A call or batch of `session` finished: the waiting calls go next in its place, or the
    /// lane has one fewer in flight.
    private func finished(_ session: SessionToken) {
        let taken = lanes.withLock { lanes -> [Waiter] in
            guard var lane = lanes[session.value] else { return [] }
            guard !lane.waiting.isEmpty else {
                lane.inFlight -= 1
                lanes[session.value] = lane.inFlight > 0 ? lane : nil
                return []
            }
            let taken = take(&lane)
            lanes[session.value] = lane
            return taken
        }
        if !taken.isEmpty { send(session, taken) }
    }

    /// Sends `waiters` as one batch and hands each its outcome (the batch's error to all, if it fails).
    private func send(_ session: SessionToken, _ waiters: [Waiter]) {
        let batch = waiters[0].batch
        Task {
            do {
                let outcomes = try await batch(session, waiters.map(\.item))
                for (i, waiter) in waiters.enumerated() {
                    guard i < outcomes.count else {
                        waiter.continuation.resume(throwing: HSMError(.internalError, "a batch answered \(outcomes.count) of \(waiters.count) items"))
                        continue
                    }
                    waiter.continuation.resume(with: outcomes[i])
                }
            } catch {
                for waiter in waiters { waiter.continuation.resume(throwing: error) }
            }
            self.finished(session)
        }
    }
}
