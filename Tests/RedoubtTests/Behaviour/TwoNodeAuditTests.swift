import Foundation
@testable import Redoubt
@testable import RedoubtTesting
import RedoubtStore
import Testing

/// Two nodes appending key-use records to one partition's chain: each node's records that land
/// behind the other's wait (parked) for its verified point, and signing a head reads only the other
/// node's records in between, then extends over its own.
@Suite("LocalHSM audit heads with two nodes on one store")
struct TwoNodeAuditTests {
    /// Nodes A (its store counting the audit entries read back) and B on one store, a partition
    /// with an AES key, and B's sessions of its user and its auditor.
    static func twoNodes(
        _ directory: StoreDirectory, _ configuration: LocalHSM.Configuration
    ) async throws -> (HookedStore, LocalHSM, LocalHSM, HSMFixture, KeyInfo, SessionToken, SessionToken) {
        let storeA = HookedStore(try directory.open())
        let created = try await LocalHSM.initialize(store: storeA, passphrase: LocalHSMSupport.passphrase, configuration: configuration)
        let nodeA = created.hsm
        let nodeB = try await LocalHSM.open(store: try directory.open(), unseal: .passphrase(LocalHSMSupport.passphrase), configuration: configuration)
        let f = try await HSMFixture.make(nodeA, operatorAPIKey: created.operatorAPIKey)
        let key = try await nodeA.generateKey(f.alpha.user.token, spec: KeySpec(algorithm: .aes256, label: "two-nodes"))
        let sessionB = try await nodeB.openSession(partition: f.alpha.id, credential: .apiKey(f.alpha.user.apiKey)).token
        let auditorB = try await nodeB.openSession(partition: f.alpha.id, credential: .apiKey(f.alpha.auditor.apiKey)).token
        return (storeA, nodeA, nodeB, f, key, sessionB, auditorB)
    }

    @Test("interleaved flushes of two nodes: each signs the chain's head, with nothing of its own left waiting, and the chain verifies")
    func interleaved() async throws {
        let directory = try StoreDirectory()
        defer { directory.remove() }
        let (storeA, nodeA, nodeB, f, key, sessionB, auditorB) = try await Self.twoNodes(directory, LocalHSMSupport.configuration())
        // A signs a head first: from then on its point is extended over its own commits.
        _ = try await nodeA.auditCheckpoint(f.alpha.auditor.token)
        for round in 0..<5 {
            for index in 0..<20 {
                _ = try await nodeA.encrypt(f.alpha.user.token, key: key.id, plaintext: Data("a \(round) \(index)".utf8), scheme: .aesGCM, aad: Data())
            }
            try await nodeA.flushAudit(force: true)
            for index in 0..<7 {
                _ = try await nodeB.encrypt(sessionB, key: key.id, plaintext: Data("b \(round) \(index)".utf8), scheme: .aesGCM, aad: Data())
            }
            try await nodeB.flushAudit(force: true)
        }
        // A's own segments after the first of B's wait for a walk over B's records.
        #expect(nodeA.checkpoints.withLock { $0.parked[f.alpha.id]?.count ?? 0 } >= 3)
        let head = try #require(try await nodeA.store.auditHead(partition: f.alpha.id))
        storeA.auditEntriesRead.withLock { $0 = 0 }
        let checkpoint = try await nodeA.auditCheckpoint(f.alpha.auditor.token)
        #expect(checkpoint.sequence == head.sequence && checkpoint.hash == head.hash)
        // A read B's 5 × 7 records to sign, none of its own 5 × 20.
        #expect(storeA.auditEntriesRead.withLock { $0 } == 35)
        #expect(nodeA.checkpoints.withLock { $0.parked[f.alpha.id] } == nil)
        #expect(nodeA.checkpoints.withLock { $0.verified[f.alpha.id] } == ChainPoint(sequence: head.sequence, hash: head.hash))
        let fromB = try await nodeB.auditCheckpoint(auditorB)
        #expect(fromB.sequence == head.sequence)
        #expect(try await nodeA.verifyAudit(f.alpha.auditor.token, against: checkpoint).isValid)
        try await nodeB.close()
        try await nodeA.close()
    }

    @Test("a node whose records another node's checkpoint covers, or soon will, leaves the head to it and reads nothing back")
    func leftToTheSigningNode() async throws {
        let directory = try StoreDirectory()
        defer { directory.remove() }
        let clock = TestClock()
        let (storeA, nodeA, nodeB, f, key, sessionB, auditorB) = try await Self.twoNodes(directory, LocalHSMSupport.configuration(clock: clock))
        func use(_ node: LocalHSM, _ session: SessionToken, _ count: Int) async throws {
            for index in 0..<count {
                _ = try await node.encrypt(session, key: key.id, plaintext: Data("use \(index)".utf8), scheme: .aesGCM, aad: Data())
            }
            try await node.flushAudit(force: true)
        }
        let partition = f.alpha.id
        func dirty() -> Bool { nodeA.checkpoints.withLock { $0.dirty.contains(partition) } }
        func reads() -> Int { storeA.auditEntriesRead.withLock { $0 } }

        // A's few records, then B's many; B signs the head (as its run() does every interval).
        try await use(nodeA, f.alpha.user.token, 3)
        try await use(nodeB, sessionB, 40)
        clock.advance(by: 5)
        let fromB = try await nodeB.auditCheckpoint(auditorB)
        #expect(dirty())
        storeA.auditEntriesRead.withLock { $0 = 0 }
        await nodeA.signDueCheckpoints(force: false)
        #expect(!dirty(), "B's checkpoint covers A's records")
        #expect(reads() == 0)
        #expect(nodeA.checkpoints.withLock { $0.verified[partition] } == ChainPoint(sequence: fromB.sequence, hash: fromB.hash))

        // B appends more, then A; B's checkpoint is recent and A's records young: A waits for B.
        try await use(nodeB, sessionB, 10)
        try await use(nodeA, f.alpha.user.token, 2)
        clock.advance(by: 1)
        await nodeA.signDueCheckpoints(force: false)
        #expect(dirty(), "left for B's next checkpoint")
        #expect(reads() == 0)
        #expect(try await nodeA.storedCheckpoint(partition)?.0.sequence == fromB.sequence, "A signed nothing")

        // B signs past A's two records; then A appends one more and B five. B's checkpoint is recent
        // and covers some of A's records: A waits again, though its first record is 2.9 s old.
        let again = try await nodeB.auditCheckpoint(auditorB)
        try await use(nodeA, f.alpha.user.token, 1)
        try await use(nodeB, sessionB, 5)
        storeA.auditEntriesRead.withLock { $0 = 0 }
        clock.advance(by: 1.9)
        await nodeA.signDueCheckpoints(force: false)
        #expect(dirty(), "left for B's next checkpoint")
        #expect(reads() == 0)
        #expect(nodeA.checkpoints.withLock { $0.verified[partition]?.sequence } == again.sequence + 1, "over B's checkpoint and A's own record")

        // B signs no more: past two intervals A walks B's five records and signs the head itself.
        clock.advance(by: 2.5)
        await nodeA.signDueCheckpoints(force: false)
        #expect(!dirty())
        #expect(reads() == 5)
        let head = try #require(try await nodeA.store.auditHead(partition: partition))
        #expect(try await nodeA.storedCheckpoint(partition)?.0.sequence == head.sequence)
        #expect(try await nodeA.verifyAudit(f.alpha.auditor.token, against: nil).isValid)

        // A node never waits for its own checkpoint: B signs, appends, and signs again an interval later.
        try await use(nodeB, sessionB, 1)
        let own = try await nodeB.auditCheckpoint(auditorB)
        #expect(try await nodeB.storedCheckpoint(partition)?.0.sequence == own.sequence)
        try await use(nodeB, sessionB, 4)
        clock.advance(by: 1.1)
        await nodeB.signDueCheckpoints(force: false)
        let last = try #require(try await nodeB.store.auditHead(partition: partition))
        #expect(try await nodeB.storedCheckpoint(partition)?.0.sequence == last.sequence)
        try await nodeB.close()
        try await nodeA.close()
    }
}
