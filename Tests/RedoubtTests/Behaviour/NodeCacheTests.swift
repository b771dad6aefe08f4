import Foundation
@testable import Redoubt
@testable import RedoubtTesting
import RedoubtStore
import Synchronization
import Testing

/// A node's caches at scale: a bounded cache of unsealed keys (memory that does not grow with the
/// key count), and its own commits never taken for another node's (which would drop what it just
/// cached and recount its partition's keys).
@Suite("Node caches at scale")
struct NodeCacheTests {
    @Test("a full cache evicts an entry not read since the hand passed, never the one just read")
    func clockEviction() {
        var cache = BoundedCache<String, Int>(capacity: 3)
        cache["a"] = 1
        cache["b"] = 2
        cache["c"] = 3
        #expect(cache["a"] == 1)  // read: spared by the next eviction
        cache["d"] = 4
        #expect(cache.count == 3)
        #expect(cache["a"] == 1)
        #expect(cache["d"] == 4)
        #expect([cache["b"], cache["c"]].compactMap { $0 }.count == 1)
        // Replacing an entry evicts nothing; removing one frees its place.
        cache["d"] = 40
        #expect(cache.count == 3)
        #expect(cache["d"] == 40)
        cache["a"] = nil
        #expect(cache["a"] == nil)
        #expect(cache.count == 2)
        cache["e"] = 5
        #expect(cache.count == 3)
        #expect(cache["d"] == 40 && cache["e"] == 5)
        cache.removeAll()
        #expect(cache.count == 0 && cache["e"] == nil)
        // Every entry read: a whole turn clears the marks, then one goes.
        for (i, key) in ["p", "q", "r"].enumerated() { cache[key] = i }
        for key in ["p", "q", "r"] { _ = cache[key] }
        cache["s"] = 9
        #expect(cache.count == 3)
        #expect(cache["s"] == 9)
    }

    @Test("a LocalHSM keeps at most keyCacheCapacity keys unsealed, and evicted keys still sign")
    func localHSMBound() async throws {
        let configuration = LocalHSMSupport.configuration { $0.keyCacheCapacity = 4 }
        try await LocalHSMSupport.withFixture(configuration) { fixture, hsm in
            let user = fixture.alpha.user.token
            var keys: [KeyInfo] = []
            for i in 0..<10 { keys.append(try await fixture.generate(KeySpec(algorithm: .p256, label: "k\(i)"))) }
            #expect(hsm.state.withLock { $0.keys.count } <= 4)
            let message = Data("bounded".utf8)
            for _ in 0..<2 {
                for key in keys {
                    let signed = try await hsm.sign(user, key: key.id, input: .message(message), scheme: .ecdsa(.sha256))
                    #expect(
                        try VerifyingKey(try #require(key.publicKey)).isValidSignature(
                            signed.signature, for: .message(message), scheme: .ecdsa(.sha256)))
                    #expect(hsm.state.withLock { $0.keys.count } <= 4)
                }
            }
            #expect(hsm.state.withLock { $0.keys.count } == 4)
        }
    }

    @Test("own commits that end out of order are accounted for; another node's in between is not")
    func ownCommitsOutOfOrder() {
        var state = LocalHSM.State()
        state.knownChangeCounter = 10
        state.noteOwnCommit(12)  // 11 has not ended yet
        #expect(state.knownChangeCounter == 10)
        #expect(state.accountedFor(12) && !state.accountedFor(11))
        state.noteOwnCommit(11)
        #expect(state.knownChangeCounter == 12 && state.ownCommits.isEmpty)
        // 13 is another node's: own 14 waits until the change log has been read past 13.
        state.noteOwnCommit(14)
        #expect(state.knownChangeCounter == 12 && !state.accountedFor(13) && state.accountedFor(14))
        state.advanceKnown(to: 13)
        #expect(state.knownChangeCounter == 14 && state.ownCommits.isEmpty)
        // A commit at or below the known counter (the log was read past it first) changes nothing.
        state.noteOwnCommit(14)
        #expect(state.knownChangeCounter == 14 && state.ownCommits.isEmpty)
        // Reading the log past own commits forgets them.
        state.noteOwnCommit(17)
        state.advanceKnown(to: 18)
        #expect(state.knownChangeCounter == 18 && state.ownCommits.isEmpty)
    }

    @Test("a node's concurrent key creations, with refreshes among them, keep its key count and cached keys")
    func concurrentCreatesKeepCaches() async throws {
        let clock = TestClock()
        try await LocalHSMSupport.withFixture(LocalHSMSupport.configuration(clock: clock)) { fixture, hsm in
            let first = try await fixture.generate(KeySpec(algorithm: .p256, label: "first"))
            let user = fixture.alpha.user.token
            let keys = try await withThrowingTaskGroup(of: [KeyInfo].self) { group in
                for i in 0..<16 {
                    group.addTask { [try await fixture.generate(KeySpec(algorithm: .p256, label: "c\(i)"))] }
                }
                // Refreshes while the creations commit: each reads the store's counter and log.
                group.addTask {
                    for _ in 0..<20 {
                        clock.advance(by: 1)
                        _ = try await hsm.getKey(user, id: first.id)
                        await Task.yield()
                    }
                    return []
                }
                return try await group.reduce(into: [KeyInfo]()) { $0 += $1 }
            }
            clock.advance(by: 1)
            _ = try await hsm.getKey(user, id: first.id)
            let (count, cached, known, own) = hsm.state.withLock { s in
                (
                    s.keyCounts["alpha"], (keys + [first]).filter { s.keys[LocalHSM.cacheKey("alpha", $0.id)] != nil }.count,
                    s.knownChangeCounter, s.ownCommits
                )
            }
            // Nothing was dropped: no recount, every key still cached, the counter caught up.
            #expect(count == 17)
            #expect(cached == 17)
            #expect(known == (try await hsm.store.changeCounter()))
            #expect(own.isEmpty)
        }
    }

    @Test("an own commit that ends while a refresh reads the store's counter drops nothing")
    func ownCommitDuringRefresh() async throws {
        let clock = TestClock()
        let store = HookedStore(try SQLiteStore.temporary())
        let created = try await LocalHSM.initialize(
            store: store, passphrase: LocalHSMSupport.passphrase, configuration: LocalHSMSupport.configuration(clock: clock))
        let hsm = created.hsm
        let fixture = try await HSMFixture.make(hsm, operatorAPIKey: created.operatorAPIKey)
        let first = try await fixture.generate(KeySpec(algorithm: .p256, label: "first"))
        // The next refresh reads the counter; before it goes on, this node commits a new key.
        let made = Mutex<KeyInfo?>(nil)
        store.afterChangeCounter.withLock {
            $0 = {
                made.withLock { $0 = nil }
                let key = try await fixture.generate(KeySpec(algorithm: .p256, label: "during"))
                made.withLock { $0 = key }
            }
        }
        clock.advance(by: 1)
        _ = try await hsm.getKey(fixture.alpha.user.token, id: first.id)
        let during = try #require(made.withLock { $0 })
        let (count, cached) = hsm.state.withLock { s in (s.keyCounts["alpha"], s.keys[LocalHSM.cacheKey("alpha", during.id)] != nil) }
        #expect(count == 2, "the partition's key count was dropped (a recount)")
        #expect(cached, "the key made during the refresh was dropped from the cache")
        try await hsm.close()
        try await store.close()
    }
}

/// A store that runs a hook (once) after reading the change counter, before returning it, and
/// can fail its next commit.
final class HookedStore: ObjectStore {
    let base: SQLiteStore
    let afterChangeCounter = Mutex<(@Sendable () async throws -> Void)?>(nil)
    let failNextCommit = Mutex(false)
    /// The number of operations of each commit that reached the store.
    let commitSizes = Mutex<[Int]>([])
    /// Awaited by every commit before it reaches the store, while set.
    let beforeCommit = Mutex<(@Sendable () async -> Void)?>(nil)
    /// The number of audit entries read back through `audit(partition:from:limit:)`.
    let auditEntriesRead = Mutex(0)

    init(_ base: SQLiteStore) { self.base = base }

    func changeCounter() async throws -> Int64 {
        let counter = try await base.changeCounter()
        if let hook = afterChangeCounter.withLock({ h in
            defer { h = nil }
            return h
        }) {
            try await hook()
        }
        return counter
    }

    func get(_ key: ObjectKey) async throws -> StoredObject? { try await base.get(key) }
    func list(partition: String, kind: String, label: String?, after id: String?, limit: Int) async throws -> [StoredObject] {
        try await base.list(partition: partition, kind: kind, label: label, after: id, limit: limit)
    }
    func count(partition: String, kind: String) async throws -> Int { try await base.count(partition: partition, kind: kind) }
    func commit(_ batch: WriteBatch) async throws -> CommitResult {
        if failNextCommit.withLock({ f in
            defer { f = false }
            return f
        }) {
            throw StoreError(code: .unavailable, message: "injected commit failure")
        }
        if let hook = beforeCommit.withLock({ $0 }) {
            await hook()
        }
        commitSizes.withLock { $0.append(batch.operations.count) }
        return try await base.commit(batch)
    }
    func audit(partition: String, from sequence: Int64, limit: Int) async throws -> [AuditEntry] {
        let entries = try await base.audit(partition: partition, from: sequence, limit: limit)
        auditEntriesRead.withLock { $0 += entries.count }
        return entries
    }
    func auditHead(partition: String) async throws -> AuditEntry? { try await base.auditHead(partition: partition) }
    func auditPartitions() async throws -> [String] { try await base.auditPartitions() }
    func requestClaim(partition: String, requestID: String) async throws -> ObjectKey? {
        try await base.requestClaim(partition: partition, requestID: requestID)
    }
    func changes(after counter: Int64, limit: Int) async throws -> [StoreChange]? { try await base.changes(after: counter, limit: limit) }
    func exportAll() -> AsyncThrowingStream<StoreRecord, Error> { base.exportAll() }
    func importAll(_ records: some AsyncSequence<StoreRecord, Error> & Sendable) async throws { try await base.importAll(records) }
    func close() async throws { try await base.close() }
}
