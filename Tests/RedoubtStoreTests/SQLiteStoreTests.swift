import Foundation
@testable import RedoubtStore
@testable import RedoubtTesting
import Testing

/// Behaviour specific to the SQLite backend: files, processes, pragmas, grouping.
@Suite("SQLiteStore")
struct SQLiteStoreTests {
    /// A fresh directory, removed when the test ends.
    final class TemporaryDirectory: Sendable {
        let url: URL

        init() throws {
            url = FileManager.default.temporaryDirectory
                .appendingPathComponent("redoubt-store-tests-\(UUID().uuidString)", isDirectory: true)
            try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        }

        func path(_ name: String) -> String {
            url.appendingPathComponent(name).path
        }

        deinit {
            try? FileManager.default.removeItem(at: url)
        }
    }

    @Test("a reopened file store holds everything that was committed")
    func reopen() async throws {
        let directory = try TemporaryDirectory()
        let path = directory.path("store.sqlite")
        let suite = ObjectStoreConformance { try SQLiteStore(path: path) }

        let first = try SQLiteStore(path: path)
        try await suite.populate(first)
        let before = try await contents(of: first)
        try await first.close()

        let second = try SQLiteStore(path: path)
        #expect(try await contents(of: second) == before)
        let appended = try await second.commit([.appendAudit(partition: "odd", payload: bytes("after reopen"))])
        #expect(appended.auditSequences == [151])
        #expect(appended.changeCounter == before.changeCounter + 1)
        #expect(verifyAuditChain(try await second.audit(partition: "odd", from: 1, limit: 1000), previous: nil) == .valid)
        try await second.close()
    }

    @Test("two stores on one file see each other's commits")
    func twoInstancesShareAFile() async throws {
        let directory = try TemporaryDirectory()
        let path = directory.path("shared.sqlite")
        let a = try SQLiteStore(path: path)
        let b = try SQLiteStore(path: path)

        try await a.commit([.insert(key("from-a"), label: nil, data: bytes("a"))])
        #expect(try await b.get(key("from-a"))?.data == bytes("a"))
        #expect(try await b.changeCounter() == a.changeCounter())

        try await b.commit([.update(key("from-a"), expectedRevision: 1, label: nil, data: bytes("b"))])
        #expect(try await a.get(key("from-a"))?.revision == 2)
        // A's precondition sees B's write.
        await expectStoreError(.conflict) {
            try await a.commit([.update(key("from-a"), expectedRevision: 1, label: nil, data: bytes("lost"))])
        }

        // Concurrent writers in both "processes" append to one chain without gaps.
        let counterBefore = try await a.changeCounter()
        try await withThrowingTaskGroup(of: Void.self) { group in
            for index in 0..<60 {
                let store = index.isMultiple(of: 2) ? a : b
                group.addTask {
                    try await store.commit([
                        .insert(key("c-\(index)"), label: nil, data: Data()),
                        .appendAudit(partition: "shared", payload: bytes("\(index)")),
                    ])
                }
            }
            try await group.waitForAll()
        }
        let chain = try await b.audit(partition: "shared", from: 1, limit: 100)
        #expect(chain.map(\.sequence) == Array(1...60))
        #expect(verifyAuditChain(chain, previous: nil) == .valid)
        #expect(try await a.changeCounter() == counterBefore + 60)
        #expect(try await a.count(partition: "p", kind: "key") == 61)
        try await a.close()
        #expect(try await b.count(partition: "p", kind: "key") == 61)
        try await b.close()
    }

    @Test(
        "a real second process holding the write lock makes commits wait, then fail after the busy timeout",
        .enabled(if: FileManager.default.isExecutableFile(atPath: "/usr/bin/sqlite3")),
        .timeLimit(.minutes(5)))
    func anotherProcessHoldsTheLock() async throws {
        let directory = try TemporaryDirectory()
        let path = directory.path("store.sqlite")
        let store = try SQLiteStore(path: path, options: SQLiteStore.Options(busyTimeout: .milliseconds(300)))
        try await store.commit([.insert(key("k"), label: nil, data: Data())])
        let before = try await store.changeCounter()

        let process = ChildProcess()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/sqlite3")
        process.arguments = [path]
        let input = Pipe()
        let output = Pipe()
        process.standardInput = input
        process.standardOutput = output
        try process.run()
        input.fileHandleForWriting.write(
            Data(
                """
                BEGIN IMMEDIATE;
                UPDATE meta SET change_counter = change_counter + 1000;
                SELECT 'locked';

                """.utf8))
        // Waits until the other process reports that it holds the lock. The blocking reads run on
        // a Dispatch thread: on the 2 threads of the test's cooperative pool they stalled every
        // other test's timers.
        let handle = output.fileHandleForReading
        let reply = await withCheckedContinuation { (continuation: CheckedContinuation<String, Never>) in
            DispatchQueue.global().async {
                var reply = ""
                while !reply.contains("locked") {
                    let chunk = handle.availableData
                    if chunk.isEmpty { break }
                    reply += String(decoding: chunk, as: UTF8.self)
                }
                continuation.resume(returning: reply)
            }
        }
        try #require(reply.contains("locked"), "sqlite3 exited early: \(reply)")

        let clock = ContinuousClock()
        let started = clock.now
        await expectStoreError(.unavailable) {
            try await store.commit([.update(key("k"), expectedRevision: 1, label: nil, data: bytes("blocked"))])
        }
        #expect(clock.now - started >= .milliseconds(250))
        // Uncommitted work of the other process is invisible; reads are not blocked.
        #expect(try await store.changeCounter() == before)
        #expect(try await store.get(key("k"))?.revision == 1)

        input.fileHandleForWriting.write(Data("COMMIT;\n".utf8))
        try input.fileHandleForWriting.close()
        await process.exited()
        #expect(process.terminationStatus == 0)

        // Its commit is visible, and writes proceed again.
        #expect(try await store.changeCounter() == before + 1000)
        let result = try await store.commit([.update(key("k"), expectedRevision: 1, label: nil, data: bytes("after"))])
        #expect(result.changeCounter == before + 1001)
        try await store.close()
    }

    @Test("get reads inline on its own connection and takes the pool while that connection is in use", .timeLimit(.minutes(1)))
    func pointReads() async throws {
        let store = try SQLiteStore.temporary()
        try await store.commit([.insert(key("k"), label: "l", data: bytes("sealed"))])
        // Free: the inline connection answers, and sees the latest commit.
        #expect(store.pointReader.read({ db in try Queries.object(db, key: key("k")) })??.data == bytes("sealed"))
        try await store.commit([.update(key("k"), expectedRevision: 1, label: nil, data: bytes("resealed"))])
        #expect(try await store.get(key("k"))?.revision == 2)
        // In use: a second caller is refused at once (nil, not a wait), and get goes through the pool.
        let nested: Int?? = store.pointReader.read { _ in store.pointReader.read { _ in 1 } }
        #expect(nested == .some(nil))
        // Held by another thread until get has answered: get must not wait for it (the test would hang).
        let release = DispatchSemaphore(value: 0)
        await withCheckedContinuation { (held: CheckedContinuation<Void, Never>) in
            Thread.detachNewThread {
                _ = store.pointReader.read { _ in
                    held.resume()
                    release.wait()
                }
            }
        }
        let whileInUse = try await store.get(key("k"))
        release.signal()
        #expect(whileInUse?.data == bytes("resealed"))
        // A missing object is nil on both paths; a closed store refuses.
        #expect(try await store.get(key("absent")) == nil)
        try await store.close()
        await expectStoreError(.unavailable) { _ = try await store.get(key("k")) }
    }

    @Test("connections are durable: WAL, synchronous=FULL, foreign keys on")
    func pragmas() async throws {
        let store = try SQLiteStore.temporary()
        #expect(try await store.writerPragma("journal_mode") == "wal")
        #expect(try await store.writerPragma("synchronous") == "2")  // FULL
        #expect(try await store.writerPragma("foreign_keys") == "1")
        // The store's own busy handler waits for locks (SQLite's timeout is off); the test with a
        // second process holding the lock checks that it waits, and for how long.
        #expect(try await store.writerPragma("busy_timeout") == "0")
        try await store.close()
    }

    @Test("concurrent commits share transactions")
    func groupCommitGroups() async throws {
        let store = try SQLiteStore.temporary()
        try await withThrowingTaskGroup(of: Void.self) { group in
            for index in 0..<200 {
                group.addTask {
                    try await store.commit([.insert(key("k\(index)"), label: nil, data: Data())])
                }
            }
            try await group.waitForAll()
        }
        let statistics = store.groupCommitStatistics
        #expect(statistics.batches == 200)
        #expect(statistics.transactions < 200)
        #expect(try await store.count(partition: "p", kind: "key") == 200)
        try await store.close()
    }

    @Test("maxBatchesPerTransaction bounds each transaction")
    func groupSizeLimit() async throws {
        let store = try SQLiteStore.temporary(options: SQLiteStore.Options(maxBatchesPerTransaction: 1))
        try await withThrowingTaskGroup(of: Void.self) { group in
            for index in 0..<40 {
                group.addTask {
                    try await store.commit([.insert(key("k\(index)"), label: nil, data: Data())])
                }
            }
            try await group.waitForAll()
        }
        #expect(store.groupCommitStatistics.transactions == 40)
        try await store.close()
    }

    @Test(
        "invalid options are rejected",
        arguments: [
            SQLiteStore.Options(maxBatchesPerTransaction: 0),
            SQLiteStore.Options(maximumReaderCount: 0),
            SQLiteStore.Options(busyTimeout: .seconds(-1)),
            SQLiteStore.Options(busyTimeout: .seconds(100_000_000)),
        ])
    func invalidOptions(_ options: SQLiteStore.Options) async throws {
        let directory = try TemporaryDirectory()
        await expectStoreError(.invalidArgument) { try SQLiteStore(path: directory.path("s.sqlite"), options: options) }
        #expect(!FileManager.default.fileExists(atPath: directory.path("s.sqlite")))
    }

    @Test("a file that is not a database is reported as corrupt")
    func notADatabase() async throws {
        let directory = try TemporaryDirectory()
        let path = directory.path("garbage.sqlite")
        try Data(repeating: 0xA5, count: 8192).write(to: URL(fileURLWithPath: path))
        await expectStoreError(.corrupt) { try SQLiteStore(path: path) }
    }

    @Test("an unreachable path is reported as unavailable")
    func unreachablePath() async throws {
        let directory = try TemporaryDirectory()
        await expectStoreError(.unavailable) { try SQLiteStore(path: directory.path("missing/dir/store.sqlite")) }
    }

    @Test("temporary stores delete their files on close")
    func temporaryCleansUp() async throws {
        let store = try SQLiteStore.temporary()
        let path = store.pool.path
        try await store.commit([.insert(key("k"), label: nil, data: Data())])
        #expect(FileManager.default.fileExists(atPath: path))
        try await store.close()
        #expect(!FileManager.default.fileExists(atPath: path))
    }

    // The time limits here catch a hang, not slowness: in a full run on 2 cores every test of the
    // first minute waits 45-75 s for a thread, so one minute was too tight.
    @Test("pending commits finish before close", .timeLimit(.minutes(5)))
    func closeDrainsPendingCommits() async throws {
        let directory = try TemporaryDirectory()
        let path = directory.path("store.sqlite")
        let store = try SQLiteStore(path: path)
        let accepted = await withTaskGroup(of: Bool.self) { group in
            for index in 0..<50 {
                group.addTask {
                    (try? await store.commit([.insert(key("k\(index)"), label: nil, data: Data())])) != nil
                }
            }
            group.addTask {
                try? await store.close()
                return false
            }
            var accepted = 0
            for await success in group where success {
                accepted += 1
            }
            return accepted
        }
        let reopened = try SQLiteStore(path: path)
        // Every commit that reported success is on disk; the others were refused.
        #expect(try await reopened.count(partition: "p", kind: "key") == accepted)
        try await reopened.close()
    }

    /// Throughput of small durable inserts from many concurrent callers.
    /// Run with `REDOUBT_STORE_BENCH=1 swift test -c release --filter throughput`.
    @Test(
        "throughput",
        .enabled(if: ProcessInfo.processInfo.environment["REDOUBT_STORE_BENCH"] != nil),
        arguments: [1, 8, 64])
    func throughput(callers: Int) async throws {
        let store = try SQLiteStore.temporary()
        let perCaller = 6400 / callers
        let clock = ContinuousClock()
        let elapsed = try await clock.measure {
            try await withThrowingTaskGroup(of: Void.self) { group in
                for caller in 0..<callers {
                    group.addTask {
                        for index in 0..<perCaller {
                            try await store.commit([
                                .insert(key("c\(caller)-\(index)"), label: "bench", data: Data(repeating: 7, count: 256)),
                                .appendAudit(partition: "p", payload: Data(repeating: 1, count: 64)),
                            ])
                        }
                    }
                }
                try await group.waitForAll()
            }
        }
        let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
        let statistics = store.groupCommitStatistics
        print(
            "SQLiteStore, \(callers) callers: \(callers * perCaller) commits in \(seconds) s = \(Int(Double(callers * perCaller) / seconds))/s, \(statistics.transactions) transactions"
        )
        try await store.close()
    }
}
