import Foundation
import Redoubt
@testable import RedoubtTesting
import RedoubtStore
import Testing

/// An intruder who can write the store file but does not hold the master key rewrites the audit
/// log and recomputes every hash, cuts its tail, forges a record, or rolls the stored checkpoint
/// back: each is caught by the record MACs, the HSM's signed checkpoint, or a checkpoint the
/// auditor kept outside.
@Suite("Audit tampering against signed checkpoints")
struct AuditCheckpointTamperTests {
    /// A store with a partition "vault" whose log holds some key uses, and an auditor's
    /// checkpoint exported half way.
    struct Scene {
        let h: HSMDirectory
        let kept: AuditCheckpoint
        /// The auditor's export after every use.
        let latest: AuditCheckpoint
        var db: String { h.dir.appendingPathComponent("redoubt.sqlite").path }
        /// The stored checkpoint row of "vault" as SQL values (data, revision) when `kept` was exported.
        let keptRow: (data: String, revision: Int64)

        static func make() async throws -> Scene {
            let h = try await HSMDirectory.make()
            let key = try await h.hsm.generateKey(h.user, spec: KeySpec(algorithm: .p256, label: "audited"))
            let so = try await h.hsm.openSession(partition: "vault", credential: .apiKey(h.officerAPIKey))
            for i in 0..<3 {
                _ = try await h.hsm.sign(h.user, key: key.id, input: .message(Data([UInt8(i)])), scheme: .ecdsa(.sha256))
            }
            let kept = try await h.hsm.auditCheckpoint(so.token)
            let stored = try #require(try await h.store.get(ObjectKey(partition: "vault", kind: "audit-checkpoint", id: "head")))
            for i in 3..<8 {
                _ = try await h.hsm.sign(h.user, key: key.id, input: .message(Data([UInt8(i)])), scheme: .ecdsa(.sha256))
            }
            let latest = try await h.hsm.auditCheckpoint(so.token)
            #expect(latest.sequence > kept.sequence)
            #expect(try await h.hsm.verifyAudit(so.token, against: kept).isValid)
            // From here on the file is only opened by one store at a time (and by sqlite3).
            try await h.hsm.close()
            try await h.store.close()
            return Scene(h: h, kept: kept, latest: latest, keptRow: ("X'\(hex(stored.data))'", stored.revision))
        }

        /// The partition's whole log as stored.
        func entries() async throws -> [AuditEntry] {
            let store = try SQLiteStore(path: db)
            let log = try await store.audit(partition: "vault", from: 1, limit: 10_000)
            try await store.close()
            return log
        }

        /// Replaces the log from `sequence` on with `payloads`, renumbered and rehashed so that the
        /// plain chain is intact again: what someone with write access and no keys can do.
        func rewrite(from sequence: Int64, _ payloads: [Data]) async throws {
            let log = try await entries()
            var previous = sequence == 1 ? AuditEntry.genesisHash : log[Int(sequence) - 2].hash
            var sql = "BEGIN; DELETE FROM audit WHERE partition = 'vault' AND seq >= \(sequence);"
            for (offset, payload) in payloads.enumerated() {
                let seq = sequence + Int64(offset)
                let hash = AuditEntry.chainHash(previousHash: previous, sequence: seq, payload: payload)
                sql += "INSERT INTO audit VALUES ('vault', \(seq), X'\(hex(payload))', X'\(hex(hash))');"
                previous = hash
            }
            try await AuditTamperTests.sqlite(db, sql + "COMMIT;")
        }

        /// Reopens the store with a fresh HSM (that has seen no checkpoint) and verifies as the officer.
        func verify(against checkpoint: AuditCheckpoint? = nil) async throws -> AuditVerification {
            let store = try SQLiteStore(path: db)
            let hsm = try await LocalHSM.open(store: store, unseal: .passphrase(HSMDirectory.passphrase))
            let so = try await hsm.openSession(partition: "vault", credential: .apiKey(h.officerAPIKey))
            let verdict = try await hsm.verifyAudit(so.token, against: checkpoint)
            try await hsm.close()
            try await store.close()
            return verdict
        }
    }

    static func hex(_ data: Data) -> String { data.map { String(format: "%02x", $0) }.joined() }

    @Test("a record rewritten with every later hash recomputed is caught by its MAC, signed or stripped")
    func rewrittenRecord() async throws {
        let scene = try await Scene.make()
        defer { scene.h.remove() }
        let log = try await scene.entries()
        let target = log[3]
        let text = try #require(String(data: target.payload, encoding: .utf8))
        let actor = try #require(text.range(of: #""actor":"[^"]*""#, options: .regularExpression))
        let changed = text.replacingCharacters(in: actor, with: #""actor":"somebody-else""#)
        try await scene.rewrite(from: target.sequence, [Data(changed.utf8)] + log[4...].map(\.payload))
        let verdict = try await scene.verify()
        #expect(!verdict.isValid && verdict.failure?.contains("record \(target.sequence): its MAC does not match") == true, "\(verdict)")

        // Dropping the MAC field instead does not help.
        let stripped = try #require(changed.range(of: #","mac":"[0-9a-f]{64}""#, options: .regularExpression))
        try await scene.rewrite(
            from: target.sequence, [Data(changed.replacingCharacters(in: stripped, with: "").utf8)] + log[4...].map(\.payload))
        let unsigned = try await scene.verify()
        #expect(!unsigned.isValid && unsigned.failure?.contains("carries no MAC") == true, "\(unsigned)")
    }

    @Test("a forged record appended with a valid chain hash is caught")
    func forgedAppend() async throws {
        let scene = try await Scene.make()
        defer { scene.h.remove() }
        let log = try await scene.entries()
        let forged = Data(
            #"{"actor":"u-ceo","object":"k","operation":"key.sign","result":"ok","role":"CRYPTO_USER","session":"s","time":1}"#.utf8)
        try await scene.rewrite(from: Int64(log.count + 1), [forged])
        let verdict = try await scene.verify()
        #expect(!verdict.isValid && verdict.failure?.contains("record \(log.count + 1) carries no MAC") == true, "\(verdict)")

        // A node that goes on working over the forged log keeps serving, but signs no head over it.
        let store = try SQLiteStore(path: scene.db)
        let hsm = try await LocalHSM.open(store: store, unseal: .passphrase(HSMDirectory.passphrase))
        let so = try await hsm.openSession(partition: "vault", credential: .apiKey(scene.h.officerAPIKey))
        _ = try await hsm.listUsers(so.token)
        await expectHSMError(.failedPrecondition, "nothing was signed") { _ = try await hsm.auditCheckpoint(so.token) }
        try await hsm.close()
        let head = try #require(try await store.get(ObjectKey(partition: "vault", kind: "audit-checkpoint", id: "head")))
        #expect(try JSONDecoder().decode(StoredSequence.self, from: head.data).sequence <= Int64(log.count), "a head over the forged record was signed")
        try await store.close()
    }

    struct StoredSequence: Decodable { var sequence: Int64 }

    @Test("a record dropped from the middle, the rest renumbered and rehashed, is caught by the signed checkpoint")
    func droppedAndRehashed() async throws {
        let scene = try await Scene.make()
        defer { scene.h.remove() }
        let log = try await scene.entries()
        // Every remaining record keeps its valid MAC; only the signed head can tell.
        try await scene.rewrite(from: 3, log[3...].map(\.payload))
        let verdict = try await scene.verify()
        #expect(!verdict.isValid && verdict.failure?.contains("the HSM's latest signed checkpoint") == true, "\(verdict.failure ?? "")")
    }

    @Test("a cut tail is caught by the stored checkpoint; cut back to an old checkpoint, by the one the auditor kept")
    func truncatedTail() async throws {
        let scene = try await Scene.make()
        defer { scene.h.remove() }
        let log = try await scene.entries()
        try await AuditTamperTests.sqlite(scene.db, "DELETE FROM audit WHERE partition = 'vault' AND seq > \(log.count - 2);")
        let cut = try await scene.verify()
        #expect(!cut.isValid && cut.failure?.contains("records were removed") == true, "\(cut)")

        // The intruder also puts back the older checkpoint row and cuts the log to match it: the
        // store agrees with itself now, so only a checkpoint kept outside can tell.
        try await AuditTamperTests.sqlite(
            scene.db,
            "DELETE FROM audit WHERE partition = 'vault' AND seq > \(scene.kept.sequence);"
                + "UPDATE objects SET data = \(scene.keptRow.data), revision = \(scene.keptRow.revision) "
                + "WHERE partition = 'vault' AND kind = 'audit-checkpoint';")
        let selfConsistent = try await scene.verify()
        #expect(selfConsistent.isValid, "a store rolled back whole agrees with itself: \(selfConsistent)")
        let caught = try await scene.verify(against: scene.latest)
        #expect(
            !caught.isValid && caught.failure?.contains("the checkpoint handed in") == true
                && caught.failure?.contains("records were removed") == true, "\(caught)")
        #expect(try await scene.verify(against: scene.kept).isValid, "the older kept checkpoint still holds")
    }
}
