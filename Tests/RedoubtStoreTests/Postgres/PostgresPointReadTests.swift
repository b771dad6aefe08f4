import Foundation
import PostgresNIO
@testable import RedoubtStore
import Testing

/// PostgresStore's point reads: `get` on a connection the store keeps for it, without a lease,
/// bounded by the operation timeout, and the pool whenever that connection cannot answer.
@Suite(
    "PostgresStore point reads", .timeLimit(.minutes(1)),
    .enabled(if: PostgresTestDatabases.isConfigured, "set REDOUBT_TEST_POSTGRES_URL (scripts/with-postgres)"))
struct PostgresPointReadTests {
    @Test("gets answer on the point-read connection, see every commit, and take the pool while it is lost")
    func pointReads() async throws {
        try await PostgresTestDatabases.with { databases in
            let url = try await databases.makeDatabase()
            let store = try await PostgresStore.connect(
                url: url, options: PostgresStore.Options(listenerRetryDelay: .milliseconds(50)))
            let other = try await PostgresStore.connect(url: url)
            try await store.commit([.insert(key("k"), label: "l", data: bytes("v1"))])
            try await store.awaitPointReads(afterLendings: 0)
            #expect(try await store.get(key("k"))?.data == bytes("v1"))
            // Another node's commit, then this store's own: a point read sees each at once.
            try await other.commit([.update(key("k"), expectedRevision: 1, label: "l", data: bytes("v2"))])
            #expect(try await store.get(key("k"))?.data == bytes("v2"))
            try await store.commit([.update(key("k"), expectedRevision: 2, label: "l", data: bytes("v3"))])
            let read = try #require(try await store.get(key("k")))
            #expect(read.data == bytes("v3") && read.label == "l" && read.revision == 3)
            let answeredBefore = store.pointReadsAnswered
            #expect(try await store.get(key("missing")) == nil)
            #expect(store.pointReadsAnswered == answeredBefore + 1)

            // Every connection to the database ends: gets go on through the pool, and the point
            // reader leases a connection again.
            let name = String(url.split(separator: "/").last?.split(separator: "?").first ?? "")
            let lent = store.core.pointReader.lendings
            try await databases.admin { connection in
                try await connection.query(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = \(name) AND pid <> pg_backend_pid()",
                    logger: PostgresTestDatabases.logger)
            }
            #expect(try await store.getRetrying(key("k"))?.data == bytes("v3"))
            try await store.awaitPointReads(afterLendings: lent)
            try await store.close()
            try await other.close()
        }
    }

    @Test("with fewer than 4 connections, no connection is kept for point reads")
    func smallPoolKeepsNone() async throws {
        try await PostgresTestDatabases.with { databases in
            let url = try await databases.makeDatabase()
            let store = try await PostgresStore.connect(url: url, options: PostgresStore.Options(maximumConnections: 3))
            try await store.commit([.insert(key("k"), label: nil, data: bytes("v"))])
            // A store with the default pool, opened after it, has its point reader by now.
            let other = try await PostgresStore.connect(url: url)
            await other.core.pointReader.awaitLendings(moreThan: 0)
            for _ in 0..<20 {
                #expect(try await store.get(key("k"))?.data == bytes("v"))
            }
            #expect(store.pointReadsAnswered == 0)
            try await store.close()
            try await other.close()
        }
    }

    @Test("a point read the server does not answer in time fails with unavailable, and the store goes on")
    func pointReadTimeout() async throws {
        try await PostgresTestDatabases.with { databases in
            let url = try await databases.makeDatabase()
            let store = try await PostgresStore.connect(
                url: url,
                options: PostgresStore.Options(
                    connectTimeout: .seconds(1), listenerRetryDelay: .milliseconds(50), operationTimeout: .seconds(3)))
            try await store.commit([.insert(key("k"), label: nil, data: bytes("v"))])
            try await store.awaitPointReads(afterLendings: 0)
            let lent = store.core.pointReader.lendings
            // Another client holds a lock no SELECT can pass: the read waits on the server.
            let (error, waited) = try await databases.admin(url: url) { holder in
                try await holder.query("BEGIN", logger: PostgresTestDatabases.logger)
                try await holder.query("LOCK TABLE objects IN ACCESS EXCLUSIVE MODE", logger: PostgresTestDatabases.logger)
                let start = ContinuousClock.now
                let error = await expectStoreError(.unavailable) { try await store.get(key("k")) }
                let waited = ContinuousClock.now - start
                try await holder.query("ROLLBACK", logger: PostgresTestDatabases.logger)
                return (error, waited)
            }
            #expect(waited >= .seconds(3), "gave up after \(waited), before the operation timeout")
            #expect(waited < .seconds(15), "took \(waited): the operation timeout did not bound the read")
            #expect(error?.message.contains("did not answer a read within") == true, "\(String(describing: error))")
            // Its connection was closed; reads go on, and the point reader comes back.
            #expect(try await store.getRetrying(key("k"))?.data == bytes("v"))
            try await store.awaitPointReads(afterLendings: lent)
            try await store.close()
        }
    }
}

/// The statistics PostgreSQL's planner needs to read a key through the primary key.
@Suite(
    "PostgresStore planner statistics", .timeLimit(.minutes(1)),
    .enabled(if: PostgresTestDatabases.isConfigured, "set REDOUBT_TEST_POSTGRES_URL (scripts/with-postgres)"))
struct PostgresStatisticsTests {
    @Test("a store that inserts its first 1,000 objects has them analysed; a key read then takes the primary key")
    func analysedAfterInserts() async throws {
        try await PostgresTestDatabases.with { databases in
            let url = try await databases.makeDatabase()
            let store = try await PostgresStore.connect(url: url)
            for group in 0..<9 {
                try await store.commit(WriteBatch((0..<100).map { .insert(key("k\(group * 100 + $0)"), label: "l", data: bytes("v")) }))
            }
            #expect(store.core.state.withLock { $0.analysis } == nil)
            #expect(try await databases.lastAnalyze(url: url) == nil, "analysed before 1,000 inserts")
            try await store.commit(WriteBatch((900..<1000).map { .insert(key("k\($0)"), label: "l", data: bytes("v")) }))
            let analysis = try #require(store.core.state.withLock { $0.analysis }, "no ANALYZE after the 1,000th insert")
            await analysis.value
            #expect(try await databases.lastAnalyze(url: url) != nil, "objects not analysed after the 1,000th insert")
            let plan = try await databases.admin(url: url) { connection in
                try await connection.query(
                    "EXPLAIN SELECT data FROM objects WHERE partition = 'p' AND kind = 'key' AND id = 'k500'",
                    logger: PostgresTestDatabases.logger
                ).collect().map { try $0.decode(String.self) }.joined(separator: "\n")
            }
            #expect(plan.contains("objects_pkey"), "\(plan)")
            try await store.close()
        }
    }

    @Test("databaseSize grows with what the store holds")
    func databaseSize() async throws {
        try await PostgresTestDatabases.with { databases in
            let store = try await PostgresStore.connect(url: try await databases.makeDatabase())
            let before = try await store.databaseSize()
            #expect(before > 0)
            // 2,000 objects of 1,000 random bytes (PostgreSQL stores them uncompressed, in line).
            for group in 0..<20 {
                try await store.commit(
                    WriteBatch(
                        (0..<100).map { index in
                            .insert(key("k\(group * 100 + index)"), label: nil, data: Data((0..<1000).map { _ in UInt8.random(in: 0...255) }))
                        }))
            }
            let after = try await store.databaseSize()
            #expect(after - before >= 1_500_000, "grew by \(after - before) bytes for 2,000,000 bytes of data")
            try await store.close()
            await expectStoreError(.unavailable) { try await store.databaseSize() }
        }
    }

    @Test("a restored store has its tables analysed")
    func analysedAfterImport() async throws {
        try await PostgresTestDatabases.with { databases in
            let source = try await PostgresStore.connect(url: try await databases.makeDatabase())
            try await source.commit([.insert(key("k"), label: nil, data: bytes("v")), .appendAudit(partition: "p", payload: bytes("a"))])
            var records: [StoreRecord] = []
            for try await record in source.exportAll() { records.append(record) }
            let url = try await databases.makeDatabase()
            let target = try await PostgresStore.connect(url: url)
            try await target.importAll(RecordSequence(records: records))
            #expect(try await databases.lastAnalyze(url: url) != nil)
            try await source.close()
            try await target.close()
        }
    }
}

extension PostgresTestDatabases {
    /// When `objects` of the database at `url` was last analysed by a command (not autovacuum).
    fileprivate func lastAnalyze(url: String) async throws -> Date? {
        try await admin(url: url) { connection in
            try await connection.query(
                "SELECT last_analyze FROM pg_stat_user_tables WHERE relname = 'objects'", logger: PostgresTestDatabases.logger
            ).collect().first?.decode(Date?.self)
        }
    }
}

extension PostgresStore {
    fileprivate var pointReadsAnswered: Int {
        core.pointReader.answered.load(ordering: .relaxed)
    }

    /// Returns once the point reader holds a connection lent after the first `count`, and a get
    /// is answered on it.
    fileprivate func awaitPointReads(afterLendings count: Int) async throws {
        await core.pointReader.awaitLendings(moreThan: count)
        let before = pointReadsAnswered
        _ = try await get(ObjectKey(partition: "p", kind: "probe", id: "none"))
        #expect(pointReadsAnswered == before + 1, "a get was not answered by the point reader")
    }

    /// A get, retried while the pool replaces connections the server ended (each failed try
    /// uses up one of them; no waiting between tries).
    fileprivate func getRetrying(_ key: ObjectKey) async throws -> StoredObject? {
        for _ in 0..<40 {
            if let object = try? await get(key) {
                return object
            }
        }
        return try await get(key)
    }
}
