import Foundation
import Redoubt
@testable import RedoubtTesting
import RedoubtStore
import Testing

/// `redoubt audit verify` (LocalHSM.verifyAudit) over a store file whose audit table was
/// tampered with by hand: an altered, a dropped and a reordered record are each detected.
@Suite("Audit tampering")
struct AuditTamperTests {
    static func sqlite(_ db: String, _ sql: String) async throws {
        let p = ChildProcess()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/sqlite3")
        p.arguments = [db, sql]
        try p.run()
        await p.exited()
        #expect(p.terminationStatus == 0, "sqlite3 failed on: \(sql)")
    }

    @Test(
        "an intact log verifies; altered, dropped and reordered records do not",
        arguments: ["alter", "drop", "reorder"])
    func tamper(_ how: String) async throws {
        let h = try await HSMDirectory.make()
        defer { h.remove() }
        let key = try await h.hsm.generateKey(h.user, spec: KeySpec(algorithm: .p256, label: "audited"))
        for i in 0..<5 {
            _ = try await h.hsm.sign(h.user, key: key.id, input: .message(Data([UInt8(i)])), scheme: .ecdsa(.sha256))
        }
        try await h.hsm.close()
        let intact = try await h.hsm.verifyAudit(h.operatorSession)
        #expect(intact.isValid)
        let db = h.dir.appendingPathComponent("redoubt.sqlite").path
        // Tamper with the partition's log (not the operator's), behind the HSM's back.
        switch how {
        case "alter":
            try await Self.sqlite(
                db, "UPDATE audit SET payload = CAST(replace(CAST(payload AS TEXT), 'ok', 'no') AS BLOB) WHERE partition = 'vault' AND seq = 4;")
        case "drop":
            try await Self.sqlite(db, "DELETE FROM audit WHERE partition = 'vault' AND seq = 3;")
        default:
            // Records 3 and 4 trade places (each keeps its own payload and hash).
            try await Self.sqlite(
                db,
                """
                CREATE TEMP TABLE t AS SELECT seq, payload, hash FROM audit WHERE partition = 'vault' AND seq IN (3, 4);
                UPDATE audit SET payload = (SELECT payload FROM t WHERE seq = 4), hash = (SELECT hash FROM t WHERE seq = 4)
                  WHERE partition = 'vault' AND seq = 3;
                UPDATE audit SET payload = (SELECT payload FROM t WHERE seq = 3), hash = (SELECT hash FROM t WHERE seq = 3)
                  WHERE partition = 'vault' AND seq = 4;
                """)
        }
        let store = try SQLiteStore(path: db)
        let hsm = try await LocalHSM.open(store: store, unseal: .passphrase(HSMDirectory.passphrase))
        let so = try await hsm.openSession(partition: "vault", credential: .apiKey(h.officerAPIKey))
        let verdict = try await hsm.verifyAudit(so.token)
        #expect(!verdict.isValid, "\(how): the tampered chain must not verify")
        #expect(verdict.failure != nil)
        try await store.close()
    }
}
