import Foundation
internal import PostgresNIO
import ServiceLifecycle
import Synchronization

extension PostgresStore {
    /// Prepares a store for the database named by `url`; nothing connects until ``run()``.
    ///
    /// The URL has the form `postgres://user:password@host:port/database?sslmode=MODE`
    /// where `MODE` is `disable`, `prefer` (the default), `require`, `verify-ca` or
    /// `verify-full`; `sslrootcert=PATH` names the CA file used to verify the server.
    ///
    /// - Throws: ``StoreError`` with ``StoreError/Code/invalidArgument`` for a bad URL or options.
    public convenience init(url: String, options: Options = .defaults) throws {
        try options.validate()
        self.init(core: PostgresCore(url: try PostgresURL(parsing: url), options: options))
    }

    /// Connects to the database named by `url` and applies schema migrations: ``init(url:options:)``,
    /// then ``start()``, then waits until the store is ready. ``close()`` ends it.
    ///
    /// - Throws: ``StoreError`` with ``StoreError/Code/invalidArgument`` for a bad
    ///   URL or options, ``StoreError/Code/unavailable`` if the server cannot be
    ///   reached or refuses the credentials, or if the database was written by a
    ///   newer version of Redoubt.
    public static func connect(url: String, options: Options = .defaults) async throws -> PostgresStore {
        let store = try PostgresStore(url: url, options: options)
        store.start()
        do {
            try await store.core.ready.value()
        } catch {
            try? await store.close()
            throw error
        }
        return store
    }

    /// Runs ``run()`` in a task of its own, for code that has no service group to run it in;
    /// ``close()`` ends it. Returns the store.
    @discardableResult
    public func start() -> PostgresStore {
        let core = self.core
        // The task holds the core, never the store, so a store dropped without close() is released.
        let task = Task { _ = try? await core.run() }
        started.withLock { $0 = task }
        return self
    }

    /// Runs the connection pool and the change listener and applies schema migrations; then the
    /// store is ready, and serves until ``close()``, the graceful shutdown of the service group it
    /// runs in, or the cancellation of its task. It then takes no new operation, lets those in
    /// flight finish, and ends the listener and the pool. It runs once.
    ///
    /// - Throws: ``StoreError`` as ``connect(url:options:)`` does when migrations cannot be applied
    ///   (operations waiting for the store get the same error); ``StoreError/Code/invalidArgument``
    ///   when it already ran.
    public func run() async throws {
        try await core.run()
    }

    /// Waits for operations in flight, then closes every connection and ends ``run()``.
    ///
    /// The listener and the pool are given ``Options/connectTimeout`` to end; a pool that does not
    /// is left behind rather than holding the caller.
    public func close() async throws {
        guard core.markClosed() else {
            return
        }
        core.ready.settle(.failure(StoreError.closed))
        await core.waitForOperations()
        core.closing.settle(.success(()))
        let running = core.state.withLock { $0.runClaimed }
        if running {
            await core.waitForEnd(upTo: core.options.connectTimeout)
        }
        started.withLock { $0 = nil }
    }
}

extension PostgresCore {
    /// ``PostgresStore/run()``.
    func run() async throws {
        let claimed = state.withLock { s -> Bool in
            defer { s.runClaimed = true }
            return !s.runClaimed
        }
        guard claimed else {
            throw StoreError.invalidArgument("a PostgresStore runs once")
        }
        defer { ended.settle(.success(())) }
        guard isOpen else {
            return
        }
        let client = self.client
        var failure: (any Error)?
        await withTaskGroup(of: Void.self) { group in
            group.addTask { await client.run() }
            do {
                try await leased(bodyTimeout: options.operationTimeout) { connection in
                    try await PostgresSchema.migrate(on: connection)
                    self.observe(counter: try await Self.queryCounter(on: connection))
                }
                ready.settle(.success(()))
                group.addTask { await ChangeListener(core: self).run() }
                if keepsPointReader {
                    group.addTask { await self.pointReader.run(core: self) }
                }
                // Serve until close(), the group's graceful shutdown or this task's cancellation.
                try? await cancelWhenGracefulShutdown { try await self.closing.value() }
            } catch {
                let mapped = StoreError.postgresMapping(error)
                failure = mapped
                ready.settle(.failure(mapped))
            }
            // No new operations; those in flight finish; then the listener and the pool end.
            _ = markClosed()
            ready.settle(.failure(StoreError.closed))
            await waitForOperations()
            group.cancelAll()
        }
        if let failure { throw failure }
    }

    /// Returns once ``ready`` says the store is migrated, or throws why it is not; waits up to
    /// ``PostgresStore/Options/connectTimeout`` for a store that is still starting (or not run).
    func awaitReady() async throws {
        if let result = ready.result {
            return try result.get()
        }
        let timeout = options.connectTimeout
        let running = state.withLock { $0.runClaimed }
        let target = "\(url.host):\(url.port)"
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await self.ready.value() }
            group.addTask {
                try await Task.sleep(for: timeout)
                throw StoreError.unavailable(
                    running
                        ? "the store at \(target) was not ready within \(timeout): it is still connecting or migrating"
                        : "this PostgresStore is not running: run it in a service group, call start(), or open it with PostgresStore.connect(url:options:)"
                )
            }
            defer { group.cancelAll() }
            try await group.next()
        }
    }

    /// Returns when ``run()`` has ended or after `limit`, whichever is first.
    func waitForEnd(upTo limit: Duration) async {
        await withTaskGroup(of: Void.self) { group in
            group.addTask { _ = try? await self.ended.value() }
            group.addTask { try? await Task.sleep(for: limit) }
            await group.next()
            group.cancelAll()
        }
    }
}
