import Foundation
internal import PostgresNIO
import Synchronization

/// One pooled connection kept for point reads (``PostgresStore/get(_:)``), run without a lease.
///
/// A read through ``PostgresCore/leased(cancelsBody:bodyTimeout:_:)`` starts a lease task and a
/// watchdog task, takes a connection from the pool and hands its result back across tasks: on a
/// loaded machine those wake-ups cost more than the lookup itself (a key read past the key cache
/// took ~0.85 ms more than a cached one on a 2-core machine running the server too). Here the
/// caller sends the query straight on a connection this reader holds, and is resumed from the
/// connection's event loop. A timer on that event loop bounds the read instead of a watchdog task.
///
/// It never waits for the connection: when another caller is using it, or it is not connected
/// (at start, after a loss), ``read(_:timeout:)`` returns nil and the caller takes the pool. A
/// failed read returns nil too, so the pool's path reports errors as every other read does; only a
/// read cut off by its deadline fails here (its connection is then closed, and the reader leases
/// another).
final class PostgresPointReader: Sendable {
    private struct State {
        var connection: PostgresConnection?
        var inUse = false
        /// Connections lent so far, and who waits for more (tests).
        var lendings = 0
        var lendingWaiters: [(count: Int, continuation: CheckedContinuation<Void, Never>)] = []
    }

    private let state = Mutex(State())
    /// Reads answered here (for tests).
    let answered = Atomic<Int>(0)

    /// Holds one pooled connection for point reads until cancelled; after losing it, waits
    /// ``PostgresStore/Options/listenerRetryDelay`` and leases another.
    func run(core: PostgresCore) async {
        while !Task.isCancelled, core.isOpen {
            do {
                try await core.leased(cancelsBody: true, bodyTimeout: nil) { connection in
                    self.lend(connection)
                    defer { self.withdraw() }
                    // Until the connection closes: cancelling the lease (the store closing) closes it.
                    try await connection.closeFuture.get()
                }
            } catch {
                // Lost connection, server down, or cancelled: point reads take the pool meanwhile.
            }
            withdraw()
            do {
                try await Task.sleep(for: core.options.listenerRetryDelay)
            } catch {
                return
            }
        }
    }

    /// The object at `key` read on the held connection; nil when it is in use, not connected, or
    /// the read failed (the caller reads through the pool). Throws ``StoreError/Code/unavailable``
    /// when the server did not answer within `timeout`.
    func read(_ key: ObjectKey, timeout: Duration) async throws -> StoredObject?? {
        guard let connection = claim() else {
            return nil
        }
        defer { giveBack() }
        let outcome = LeaseOutcome<PostgresQueryResult?>()
        let timer = connection.eventLoop.scheduleTask(in: TimeAmount(timeout)) {
            outcome.finish(
                .failure(
                    StoreError.unavailable(
                        "the PostgreSQL server did not answer a read within \(timeout); its connection was closed")))
            connection.close().whenComplete { _ in }
        }
        connection.query(PostgresQueries.objectQuery(key), logger: PostgresCore.quiet).whenComplete { result in
            timer.cancel()
            // A failed query is the pool's to run again and report.
            outcome.finish(.success(try? result.get()))
        }
        guard let result = try await outcome.value() else {
            return nil
        }
        do {
            let object = try result.rows.first.map(PostgresQueries.decodeObject)
            answered.add(1, ordering: .relaxed)
            return .some(object)
        } catch {
            return nil
        }
    }

    private func claim() -> PostgresConnection? {
        state.withLock { state in
            guard !state.inUse, let connection = state.connection, !connection.isClosed else {
                return nil
            }
            state.inUse = true
            return connection
        }
    }

    private func giveBack() {
        state.withLock { $0.inUse = false }
    }

    private func lend(_ connection: PostgresConnection) {
        let due = state.withLock { state in
            state.connection = connection
            state.lendings += 1
            let lendings = state.lendings
            defer { state.lendingWaiters.removeAll { $0.count < lendings } }
            return state.lendingWaiters.filter { $0.count < lendings }.map(\.continuation)
        }
        due.forEach { $0.resume() }
    }

    /// How many connections the reader has been lent (a new one after each loss).
    var lendings: Int {
        state.withLock { $0.lendings }
    }

    /// Returns once the reader has been lent more than `count` connections (for tests: an event
    /// to wait on rather than a time).
    func awaitLendings(moreThan count: Int) async {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let done = state.withLock { state in
                if state.lendings > count { return true }
                state.lendingWaiters.append((count, continuation))
                return false
            }
            if done { continuation.resume() }
        }
    }

    private func withdraw() {
        state.withLock { $0.connection = nil }
    }
}
