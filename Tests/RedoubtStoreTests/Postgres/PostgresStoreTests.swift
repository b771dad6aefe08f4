import Foundation
import PostgresNIO
@testable import RedoubtStore
import Testing

/// PostgreSQL-specific behaviour: migrations, several nodes, NOTIFY, lost servers, URLs.
@Suite("PostgresStore", .enabled(if: PostgresTestDatabases.isConfigured, "set REDOUBT_TEST_POSTGRES_URL (scripts/with-postgres)"))
struct PostgresStoreTests {
    @Test("a database with a migration this build does not know is refused")
    func refusesNewerDatabase() async throws {
        try await PostgresTestDatabases.with { databases in
            let url = try await databases.makeDatabase()
            let first = try await PostgresStore.connect(url: url)
            try await first.commit([.insert(key("k"), label: nil, data: bytes("x"))])
            try await first.close()
            try await databases.admin(url: url) { connection in
                try await connection.query(
                    "INSERT INTO redoubt_migrations (name) VALUES ('v99-from-the-future')", logger: PostgresTestDatabases.logger)
            }
            let refused = await expectStoreError(.unavailable) { try await PostgresStore.connect(url: url) }
            #expect(refused?.message.contains("newer version of Redoubt") == true)
            #expect(refused?.message.contains("v99-from-the-future") == true)
        }
    }

    @Test("stores racing to migrate a fresh database all open, and it is migrated once")
    func racingMigrations() async throws {
        try await PostgresTestDatabases.with { databases in
            let url = try await databases.makeDatabase()
            let stores = try await withThrowingTaskGroup(of: PostgresStore.self) { group in
                for _ in 0..<6 {
                    group.addTask { try await PostgresStore.connect(url: url) }
                }
                var stores: [PostgresStore] = []
                for try await store in group {
                    stores.append(store)
                }
                return stores
            }
            #expect(stores.count == 6)
            var counters: [Int64] = []
            for (index, store) in stores.enumerated() {
                let result = try await store.commit([
                    .insert(key("from-\(index)"), label: nil, data: bytes("\(index)")),
                    .appendAudit(partition: "p", payload: bytes("node \(index)")),
                ])
                counters.append(result.changeCounter)
            }
            #expect(counters == Array(1...6))
            let names = try await databases.admin(url: url) { connection in
                try await connection.query("SELECT name FROM redoubt_migrations ORDER BY name", logger: PostgresTestDatabases.logger)
                    .collect().map { try $0.decode(String.self) }
            }
            #expect(names == Migrations.all.map(\.name).sorted())
            let chain = try await stores[0].audit(partition: "p", from: 1, limit: 10)
            #expect(chain.map(\.sequence) == Array(1...6))
            #expect(verifyAuditChain(chain, previous: nil) == .valid)
            for store in stores {
                try await store.close()
            }
        }
    }

    @Test("commits through one store reach another's change counter within 1 s (NOTIFY), without a query")
    func notifyLatency() async throws {
        try await PostgresTestDatabases.with { databases in
            let url = try await databases.makeDatabase()
            let writer = try await PostgresStore.connect(url: url)
            let reader = try await PostgresStore.connect(url: url)
            // The reader's listener is up once it answers from memory.
            let deadline = ContinuousClock.now + .seconds(5)
            while reader.core.trustedCounter == nil, ContinuousClock.now < deadline {
                try await Task.sleep(for: .milliseconds(5))
            }
            #expect(reader.core.trustedCounter != nil)

            var latencies: [Duration] = []
            for round in 0..<20 {
                let result = try await writer.commit([.appendAudit(partition: "p", payload: bytes("round \(round)"))])
                let committed = ContinuousClock.now
                var seen = try await reader.changeCounter()
                // The counter is read from memory: poll finely (50 µs) to resolve sub-millisecond delays.
                while seen < result.changeCounter, ContinuousClock.now - committed < .seconds(2) {
                    try await Task.sleep(for: .microseconds(50))
                    seen = try await reader.changeCounter()
                }
                latencies.append(ContinuousClock.now - committed)
                #expect(seen == result.changeCounter)
            }
            let sorted = latencies.sorted()
            let median = sorted[sorted.count / 2]
            let maximum = sorted[sorted.count - 1]
            print("PostgresStore NOTIFY latency over \(sorted.count) commits: median \(median), max \(maximum)")
            #expect(maximum < .seconds(1))
            try await writer.close()
            try await reader.close()
        }
    }

    @Test("after losing its listening connection, a store still follows other nodes' commits")
    func listenerReconnects() async throws {
        try await PostgresTestDatabases.with { databases in
            let url = try await databases.makeDatabase()
            let writer = try await PostgresStore.connect(url: url)
            let reader = try await PostgresStore.connect(
                url: url, options: PostgresStore.Options(listenerRetryDelay: .milliseconds(50)))
            let name = String(url.split(separator: "/").last?.split(separator: "?").first ?? "")
            // Kill every other connection to the test database: both listeners and the pools.
            try await databases.admin { connection in
                try await connection.query(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = \(name) AND pid <> pg_backend_pid()",
                    logger: PostgresTestDatabases.logger)
            }
            var last: Int64 = 0
            for round in 0..<5 {
                let result = try await writer.commitRetrying([.appendAudit(partition: "p", payload: bytes("r\(round)"))])
                let start = ContinuousClock.now
                var seen = try await reader.changeCounterRetrying()
                while seen < result.changeCounter, ContinuousClock.now - start < .seconds(2) {
                    try await Task.sleep(for: .milliseconds(5))
                    seen = try await reader.changeCounterRetrying()
                }
                #expect(seen == result.changeCounter)
                last = seen
            }
            #expect(last >= 5)
            // And the listener is back: the reader answers from memory again.
            let deadline = ContinuousClock.now + .seconds(3)
            while reader.core.trustedCounter == nil, ContinuousClock.now < deadline {
                try await Task.sleep(for: .milliseconds(10))
            }
            #expect(reader.core.trustedCounter == last)
            try await writer.close()
            try await reader.close()
        }
    }

    @Test("a server that is gone gives unavailable, and no message holds the password")
    func serverGone() async throws {
        // A port nothing listens on: bind one, then let it go.
        let password = "s3cr3t-Pa55word-for-tests"
        let url = "postgres://redoubt:\(password)@127.0.0.1:\(try await closedPort())/redoubt?sslmode=disable"
        let start = ContinuousClock.now
        let error = await expectStoreError(.unavailable) {
            try await PostgresStore.connect(url: url, options: PostgresStore.Options(connectTimeout: .milliseconds(500)))
        }
        // Bounded by the store's timeout, not the pool's one-minute retry (slack for a loaded machine).
        #expect(ContinuousClock.now - start < .seconds(20))
        let text = "\(String(describing: error)) \(String(reflecting: error))"
        #expect(!text.contains(password))
        #expect(error?.message.isEmpty == false)
    }

    @Test("a store whose server stops answering gives unavailable, without the password")
    func serverLostAfterOpen() async throws {
        try await PostgresTestDatabases.with { databases in
            let url = try await databases.makeDatabase()
            let store = try await PostgresStore.connect(
                url: url, options: PostgresStore.Options(connectTimeout: .seconds(4), operationTimeout: .seconds(8)))
            try await store.commit([.insert(key("k"), label: nil, data: bytes("x"))])
            // Forbid new connections to this database, then end the existing ones: the server is gone for it.
            let name = String(url.split(separator: "/").last?.split(separator: "?").first ?? "")
            try await databases.admin { connection in
                try await connection.query(
                    PostgresQuery(unsafeSQL: "ALTER DATABASE \(name) ALLOW_CONNECTIONS false"), logger: PostgresTestDatabases.logger)
                try await connection.query(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = \(name) AND pid <> pg_backend_pid()",
                    logger: PostgresTestDatabases.logger)
            }
            let password = try #require(URLComponents(string: url)?.password)
            do {
                let read = await expectStoreError(.unavailable) { try await store.get(key("k")) }
                let commit = await expectStoreError(.unavailable) {
                    try await store.commit([.insert(key("j"), label: nil, data: Data())])
                }
                let counter = await expectStoreError(.unavailable) {
                    // Once the listener has noticed, the counter needs a query too.
                    try await Task.sleep(for: .milliseconds(200))
                    return try await store.changeCounter()
                }
                for error in [read, commit, counter] {
                    #expect(!"\(String(describing: error)) \(String(reflecting: error))".contains(password))
                }
            }
            #expect(!store.description.contains(password))
            try await store.close()
            try await databases.admin { connection in
                try await connection.query(
                    PostgresQuery(unsafeSQL: "ALTER DATABASE \(name) ALLOW_CONNECTIONS true"), logger: PostgresTestDatabases.logger)
            }
        }
    }

    @Test("a commit the server does not finish in time fails with unavailable, is not applied, and the store goes on")
    func operationTimeout() async throws {
        try await PostgresTestDatabases.with { databases in
            let url = try await databases.makeDatabase()
            let store = try await PostgresStore.connect(
                url: url, options: PostgresStore.Options(connectTimeout: .seconds(1), operationTimeout: .seconds(3)))
            // 3 s, not less: on a loaded 2-core machine an ordinary commit once took over 2 s.
            try await store.commit([.insert(key("before"), label: nil, data: bytes("x"))])
            let counterBefore = try await store.changeCounter()
            // Another client holds the lock every commit takes first: the store's commit waits on the server.
            let (error, waited) = try await databases.admin(url: url) { holder in
                try await holder.query("BEGIN", logger: PostgresTestDatabases.logger)
                _ = try await holder.query(
                    "SELECT change_counter FROM meta WHERE id = 1 FOR UPDATE", logger: PostgresTestDatabases.logger
                ).collect()
                let start = ContinuousClock.now
                let error = await expectStoreError(.unavailable) {
                    try await store.commit([.insert(key("stuck"), label: nil, data: bytes("y"))])
                }
                let waited = ContinuousClock.now - start
                try await holder.query("ROLLBACK", logger: PostgresTestDatabases.logger)
                return (error, waited)
            }
            #expect(waited >= .seconds(3), "gave up after \(waited), before the operation timeout")
            #expect(waited < .seconds(15), "took \(waited): the operation timeout did not bound the commit")
            #expect(error?.message.contains("did not complete the operation within") == true, "\(String(describing: error))")
            // Its connection was closed, so the server rolled the commit back; the store still works.
            #expect(try await store.get(key("stuck")) == nil)
            try await store.commit([.insert(key("after"), label: nil, data: bytes("z"))])
            #expect(try await store.get(key("after")) != nil)
            #expect(try await store.changeCounter() == counterBefore + 1)
            try await store.close()
        }
    }

    @Test("operation and connect timeouts are validated")
    func timeoutOptions() async throws {
        for options in [
            PostgresStore.Options(connectTimeout: .seconds(10), operationTimeout: .seconds(5)),
            PostgresStore.Options(operationTimeout: .seconds(7200)),
        ] {
            let error = await expectStoreError(.invalidArgument) {
                try await PostgresStore.connect(url: "postgres://u:p@127.0.0.1:1/x", options: options)
            }
            #expect(error?.message.contains("operationTimeout") == true)
        }
    }

    @Test("URLs are parsed, and bad ones are refused without echoing the password")
    func urls() throws {
        let parsed = try PostgresURL(parsing: "postgresql://alice:p%40ss@db.example:6543/vault?sslmode=verify-full")
        #expect(parsed.host == "db.example")
        #expect(parsed.port == 6543)
        #expect(parsed.username == "alice")
        #expect(parsed.password == "p@ss")
        #expect(parsed.database == "vault")
        #expect(parsed.sslMode == .verifyFull)
        #expect(!parsed.redacted.contains("p@ss"))
        #expect(try PostgresURL(parsing: "postgres://bob@localhost").database == "bob")
        #expect(try PostgresURL(parsing: "postgres://bob@localhost").sslMode == .prefer)
        for bad in [
            "mysql://alice:hunter2@db/x", "postgres://:hunter2@db/x", "postgres://alice:hunter2@/x",
            "postgres://alice:hunter2@db/x?sslmode=sometimes", "postgres://alice:hunter2@db/x?pool=3",
            "postgres://alice:hunter2@db/a/b",
        ] {
            do {
                _ = try PostgresURL(parsing: bad)
                Issue.record("accepted \(bad)")
            } catch let error as StoreError {
                #expect(error.code == .invalidArgument)
                #expect(!"\(error)".contains("hunter2"))
            }
        }
    }
}

/// A loopback port that nothing listens on (bound, then released).
private func closedPort() async throws -> Int {
    let channel = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
        .bind(host: "127.0.0.1", port: 0).get()
    let port = channel.localAddress?.port ?? 1
    try await channel.close().get()
    return port
}

extension PostgresStore {
    /// A commit retried while the pool replaces connections the server ended.
    fileprivate func commitRetrying(_ batch: WriteBatch) async throws -> CommitResult {
        for _ in 0..<20 {
            if let result = try? await commit(batch) {
                return result
            }
            try await Task.sleep(for: .milliseconds(50))
        }
        return try await commit(batch)
    }

    /// The change counter, retried while the pool replaces connections the server ended.
    fileprivate func changeCounterRetrying() async throws -> Int64 {
        for _ in 0..<20 {
            if let counter = try? await changeCounter() {
                return counter
            }
            try await Task.sleep(for: .milliseconds(50))
        }
        return try await changeCounter()
    }
}
