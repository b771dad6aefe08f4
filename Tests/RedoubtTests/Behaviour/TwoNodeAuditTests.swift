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
    @Test("interleaved flushes of two nodes: each signs the chain's head, with nothing of its own left waiting, and the chain verifies")
    func interleaved() async throws {
        let directory = try StoreDirectory()
        defer { directory.remove() }
        let configuration = LocalHSMSupport.configuration()
        let storeA = HookedStore(try directory.open())
        let created = try await LocalHSM.initialize(store: storeA, passphrase: LocalHSMSupport.passphrase, configuration: configuration)
        let nodeA = created.hsm
        let nodeB = try await LocalHSM.open(store: try directory.open(), unseal: .passphrase(LocalHSMSupport.passphrase), configuration: configuration)
        let f = try await HSMFixture.make(nodeA, operatorAPIKey: created.operatorAPIKey)
        let key = try await nodeA.generateKey(f.alpha.user.token, spec: KeySpec(algorithm: .aes256, label: "two-nodes"))
        let sessionB = try await nodeB.openSession(partition: f.alpha.id, credential: .apiKey(f.alpha.user.apiKey)).token
        let auditorB = try await nodeB.openSession(partition: f.alpha.id, credential: .apiKey(f.alpha.auditor.apiKey)).token
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
}
