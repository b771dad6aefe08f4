import Foundation
@testable import Redoubt
@testable import RedoubtTesting
import RedoubtStore
import Testing

/// A flush of many key-use records commits them in chunks of `auditBatchSize × 8`, so other
/// nodes' commits wait for one chunk at most; the chain keeps every record, in order.
@Suite("LocalHSM audit flush chunks")
struct AuditFlushChunkTests {
    @Test("100 queued records with auditBatchSize 4 commit as 32, 32, 32 and 4, in order, and the chain verifies")
    func chunks() async throws {
        let clock = TestClock()
        let store = HookedStore(try SQLiteStore.temporary())
        let configuration = LocalHSMSupport.configuration(clock: clock) {
            $0.auditBatchSize = 4
            $0.auditMaxDelay = 3600  // the flusher never fires on its own here
        }
        let created = try await LocalHSM.initialize(store: store, passphrase: LocalHSMSupport.passphrase, configuration: configuration)
        let hsm = created.hsm
        // With the flusher running, uses queue up to auditBatchSize × 64 before a caller commits them.
        let flusher = Task { try await hsm.run() }
        do {
            while !hsm.runningFlusher { try await Task.sleep(for: .milliseconds(1)) }
            let f = try await HSMFixture.make(hsm, operatorAPIKey: created.operatorAPIKey)
            let aes = try await hsm.generateKey(f.alpha.user.token, spec: KeySpec(algorithm: .aes256, label: "chunks"))
            let start = try await f.auditLog().count
            store.commitSizes.withLock { $0 = [] }
            var ciphertexts: [Data] = []
            for index in 0..<100 {
                ciphertexts.append(
                    try await hsm.encrypt(f.alpha.user.token, key: aes.id, plaintext: Data("use \(index)".utf8), scheme: .aesGCM, aad: Data()))
            }
            #expect(store.commitSizes.withLock { $0 } == [], "nothing is committed before the flush")
            let records = Array(try await f.auditLog().dropFirst(start))
            #expect(store.commitSizes.withLock { $0 }.prefix(4) == [32, 32, 32, 4])
            #expect(records.count == 100)
            #expect(records.allSatisfy { $0.operation == AuditOperation.keyEncrypt.rawValue && $0.object == aes.id && $0.result == "ok" })
            #expect(records.map(\.sequence) == Array(records.first!.sequence...records.last!.sequence))
            #expect(try await hsm.verifyAudit(f.alpha.auditor.token).isValid)
        } catch {
            flusher.cancel()
            try? await hsm.close()
            try? await store.close()
            throw error
        }
        flusher.cancel()
        _ = try? await flusher.value
        try await hsm.close()
        try await store.close()
    }
}
