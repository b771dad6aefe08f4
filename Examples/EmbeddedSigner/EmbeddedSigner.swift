// EmbeddedSigner: a Swift program that embeds Redoubt — no server, no network.
//
//   swift run EmbeddedSigner [DIR]
//
// It initialises an HSM store in DIR (a fresh temporary folder by default) under a
// passphrase, creates a partition and a crypto user, generates a P-256 key, signs a
// message, verifies the signature, and prints the audit trail.
import Foundation
import Redoubt
import RedoubtStore

@main
struct EmbeddedSigner {
    static func main() async {
        do {
            try await run()
        } catch {
            FileHandle.standardError.write(Data("EmbeddedSigner: \(error)\n".utf8))
            exit(1)
        }
    }

    static func run() async throws {
        let dir =
            CommandLine.arguments.dropFirst().first
            ?? FileManager.default.temporaryDirectory.appendingPathComponent("redoubt-example-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        let store = try SQLiteStore(path: dir + "/redoubt.sqlite")
        let passphrase = "an example passphrase, not for production"

        // 1. Initialise (first run) or unseal (later runs).
        let hsm: LocalHSM
        var operatorKey: String?
        do {
            let created = try await LocalHSM.initialize(store: store, passphrase: passphrase)
            hsm = created.hsm
            operatorKey = created.operatorAPIKey
        } catch let error as HSMError where error.code == .alreadyExists {
            hsm = try await LocalHSM.open(store: store, unseal: .passphrase(passphrase))
        }
        guard let operatorKey else {
            print("store in \(dir) was initialised by an earlier run; use a new folder to run the whole example")
            return
        }

        // 2. The operator creates a partition; its security officer adds a crypto user.
        let op = try await hsm.openSession(partition: "", credential: .apiKey(operatorKey))
        let created = try await hsm.createPartition(op.token, id: "example", settings: .defaults)
        let officer = try await hsm.openSession(partition: "example", credential: .apiKey(created.securityOfficerAPIKey))
        let user = try await hsm.addUser(officer.token, name: "signer", role: .cryptoUser, password: nil)

        // 3. The crypto user generates a key, signs and verifies.
        let session = try await hsm.openSession(partition: "example", credential: .apiKey(user.apiKey))
        let key = try await hsm.generateKey(session.token, spec: KeySpec(algorithm: .p256, label: "invoice-signer"))
        let message = Data("pay 100 EUR to ACME".utf8)
        let signed = try await hsm.sign(session.token, key: key.id, input: .message(message), scheme: .ecdsa(.sha256))
        let ok = try await hsm.verify(
            session.token, key: key.id, input: .message(message), signature: signed.signature,
            scheme: .ecdsa(.sha256), version: signed.version)
        print("key \(key.id) (\(key.algorithm)) signed \(message.count) bytes: \(signed.signature.count)-byte signature, valid: \(ok)")
        if let pem = key.publicKey?.pem { print(pem) }

        // 4. The audit trail, as the security officer sees it.
        for record in try await hsm.auditRecords(officer.token, from: 1, limit: 100) {
            print("audit #\(record.sequence) \(record.operation) \(record.object) by \(record.role): \(record.result)")
        }
        let verdict = try await hsm.verifyAudit(officer.token)
        print("audit chain: \(verdict.records) records, \(verdict.isValid ? "intact" : "BROKEN: \(verdict.failure ?? "")")")
        try await hsm.close()
        try await store.close()
    }
}
