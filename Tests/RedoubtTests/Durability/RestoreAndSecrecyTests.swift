import Foundation
import Redoubt
import RedoubtStore
import Testing

/// A fresh temporary directory with an initialised HSM, a partition and a crypto user.
struct HSMDirectory {
    let dir: URL
    let store: SQLiteStore
    let hsm: LocalHSM
    let operatorSession: SessionToken
    let user: SessionToken
    let officerAPIKey: String
    static let passphrase = "restore test passphrase"

    static func make() async throws -> HSMDirectory {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("redoubt-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        let store = try SQLiteStore(path: dir.appendingPathComponent("redoubt.sqlite").path)
        var config = LocalHSM.Configuration.defaults
        config.passwordCostLog2 = 10
        config.passphraseScrypt = ScryptParameters(n: 1 << 10)
        let created = try await LocalHSM.initialize(store: store, passphrase: passphrase, configuration: config)
        let op = try await created.hsm.openSession(partition: "", credential: .apiKey(created.operatorAPIKey))
        let partition = try await created.hsm.createPartition(op.token, id: "vault", settings: .defaults)
        let so = try await created.hsm.openSession(partition: "vault", credential: .apiKey(partition.securityOfficerAPIKey))
        let user = try await created.hsm.addUser(so.token, name: "user", role: .cryptoUser, password: nil)
        let session = try await created.hsm.openSession(partition: "vault", credential: .apiKey(user.apiKey))
        return HSMDirectory(
            dir: dir, store: store, hsm: created.hsm, operatorSession: op.token, user: session.token,
            officerAPIKey: partition.securityOfficerAPIKey)
    }

    func remove() { try? FileManager.default.removeItem(at: dir) }

    /// Every file in the directory (store, WAL, backups), concatenated.
    func allFileBytes() throws -> [(String, Data)] {
        try FileManager.default.contentsOfDirectory(atPath: dir.path).compactMap { name in
            FileManager.default.contents(atPath: dir.appendingPathComponent(name).path).map { (name, $0) }
        }
    }
}

@Suite("Backup, restore and secrecy at rest")
struct RestoreAndSecrecyTests {
    @Test("a backup restores into a fresh store with every key usable")
    func backupRestore() async throws {
        let h = try await HSMDirectory.make()
        defer { h.remove() }
        var keys: [KeyInfo] = []
        for i in 0..<20 {
            keys.append(try await h.hsm.generateKey(h.user, spec: KeySpec(algorithm: i % 2 == 0 ? .p256 : .ed25519, label: "k\(i)")))
        }
        let aes = try await h.hsm.generateKey(h.user, spec: KeySpec(algorithm: .aes256, label: "aes"))
        let sealedBox = try await h.hsm.encrypt(h.user, key: aes.id, plaintext: Data("kept".utf8), scheme: .aesGCM, aad: Data())
        let backupPath = h.dir.appendingPathComponent("backup.rdb").path
        let done = ProgressBox()
        let summary = try await h.hsm.backup(h.operatorSession, to: backupPath, progress: { p in done.set(p.recordsDone) })
        #expect(summary.header.recordCount > 20)
        #expect(done.value == summary.header.recordCount, "progress reaches the total")

        let target = FileManager.default.temporaryDirectory.appendingPathComponent("redoubt-restore-\(UUID().uuidString).sqlite").path
        defer { for s in ["", "-wal", "-shm"] { try? FileManager.default.removeItem(atPath: target + s) } }
        let fresh = try SQLiteStore(path: target)
        let restored = try await LocalHSM.restore(from: backupPath, into: fresh, unseal: .passphrase(HSMDirectory.passphrase))
        // Sessions are in the store too; keys sign and verify; the ciphertext still opens.
        for key in keys {
            let algorithmScheme: SignatureScheme = key.algorithm == .p256 ? .ecdsa(.sha256) : .ed25519
            let sig = try await restored.sign(h.user, key: key.id, input: .message(Data("x".utf8)), scheme: algorithmScheme)
            #expect(
                try await restored.verify(
                    h.user, key: key.id, input: .message(Data("x".utf8)), signature: sig.signature,
                    scheme: algorithmScheme, version: sig.version))
        }
        #expect(try await restored.decrypt(h.user, key: aes.id, ciphertext: sealedBox, scheme: .aesGCM, aad: Data()) == Data("kept".utf8))
        #expect(try await restored.verifyAudit(h.operatorSession).isValid)
        try await fresh.close()
    }

    @Test("a partition backup holds that partition only and restores it")
    func partitionBackup() async throws {
        let h = try await HSMDirectory.make()
        defer { h.remove() }
        let other = try await h.hsm.createPartition(h.operatorSession, id: "other", settings: .defaults)
        let otherSO = try await h.hsm.openSession(partition: "other", credential: .apiKey(other.securityOfficerAPIKey))
        _ = try await h.hsm.generateKey(otherSO.token, spec: KeySpec(algorithm: .p256, label: "not in the backup"))
        let key = try await h.hsm.generateKey(h.user, spec: KeySpec(algorithm: .p256, label: "in the backup"))
        let user = try await h.hsm.addUser(
            try await h.hsm.openSession(partition: "vault", credential: .apiKey(h.officerAPIKey)).token,
            name: "later", role: .cryptoUser, password: nil)
        let path = h.dir.appendingPathComponent("vault.rdb").path
        let summary = try await h.hsm.backup(h.operatorSession, to: path, partition: "vault")
        #expect(summary.header.scope == .partition("vault"))

        let fresh = try SQLiteStore.temporary()
        let restored = try await LocalHSM.restore(from: path, into: fresh, unseal: .passphrase(HSMDirectory.passphrase))
        #expect(try await fresh.count(partition: "", kind: "partition") == 1, "only the backed-up partition")
        #expect(try await fresh.count(partition: "other", kind: "key") == 0)
        let session = try await restored.openSession(partition: "vault", credential: .apiKey(user.apiKey))
        let sig = try await restored.sign(session.token, key: key.id, input: .message(Data("p".utf8)), scheme: .ecdsa(.sha256))
        #expect(
            try await restored.verify(
                session.token, key: key.id, input: .message(Data("p".utf8)), signature: sig.signature,
                scheme: .ecdsa(.sha256), version: sig.version))
        await #expect(throws: HSMError.self) {
            _ = try await restored.openSession(partition: "other", credential: .apiKey(other.securityOfficerAPIKey))
        }
        try await fresh.close()
    }

    @Test("a damaged or foreign backup is refused and restores nothing")
    func damagedBackup() async throws {
        let h = try await HSMDirectory.make()
        defer { h.remove() }
        _ = try await h.hsm.generateKey(h.user, spec: KeySpec(algorithm: .p256, label: "k"))
        let path = h.dir.appendingPathComponent("b.rdb").path
        try await h.hsm.backup(h.operatorSession, to: path)
        var bytes = try #require(FileManager.default.contents(atPath: path))
        bytes[bytes.count - 40] ^= 0x01
        let damaged = h.dir.appendingPathComponent("damaged.rdb").path
        #expect(FileManager.default.createFile(atPath: damaged, contents: bytes))

        let target = try SQLiteStore.temporary()
        await #expect(throws: HSMError.self) {
            _ = try await LocalHSM.restore(from: damaged, into: target, unseal: .passphrase(HSMDirectory.passphrase))
        }
        #expect(try await target.count(partition: "", kind: "partition") == 0, "nothing restored")
        await #expect(throws: HSMError.self) {
            _ = try await LocalHSM.restore(from: path, into: target, unseal: .passphrase("not the right passphrase"))
        }
        #expect(try await target.count(partition: "", kind: "partition") == 0)
        try await target.close()
    }

    @Test("no plaintext key material in the store file, WAL or backup")
    func noPlaintextAtRest() async throws {
        let h = try await HSMDirectory.make()
        defer { h.remove() }
        let spec = KeySpec(algorithm: .aes256, label: "exportable", extractable: true, sensitive: false)
        let key = try await h.hsm.generateKey(h.user, spec: spec)
        let secret = try await h.hsm.exportPlaintext(h.user, id: key.id).exportedBytes()
        #expect(secret.count == 32)
        let ec = try await h.hsm.generateKey(h.user, spec: KeySpec(algorithm: .p256, label: "ec", extractable: true, sensitive: false))
        let pkcs8 = try await h.hsm.exportPlaintext(h.user, id: ec.id).exportedBytes()
        #expect(try PrivateKey(pkcs8DER: pkcs8).algorithm == .p256)
        // The 32-byte private scalar inside the SEC 1 structure: version 1, OCTET STRING of 32.
        let marker = Data([0x02, 0x01, 0x01, 0x04, 0x20])
        let at = try #require(pkcs8.range(of: marker))
        let scalar = pkcs8.subdata(in: at.upperBound..<(at.upperBound + 32))
        try await h.hsm.backup(h.operatorSession, to: h.dir.appendingPathComponent("b.rdb").path)
        // Checkpointing is not needed: the WAL file is searched too.
        let needles: [(String, Data)] = [
            ("AES key", secret), ("AES key (base64)", Data(secret.base64EncodedString().utf8)),
            ("PKCS#8", pkcs8), ("PKCS#8 (base64)", Data(pkcs8.base64EncodedString().utf8)),
            ("EC scalar", scalar), ("EC scalar (base64)", Data(scalar.base64EncodedString().utf8)),
        ]
        let files = try h.allFileBytes()
        #expect(files.contains { $0.0.hasSuffix("-wal") } || files.contains { $0.0.hasSuffix(".sqlite") })
        for (file, bytes) in files {
            for (what, needle) in needles {
                #expect(bytes.range(of: needle) == nil, "\(what) found in the clear in \(file)")
                // Nor half of a raw key (a PKCS#8 ends with the public key, which is not secret).
                if !what.hasPrefix("PKCS#8") {
                    #expect(bytes.range(of: needle.suffix(16)) == nil, "part of the \(what) found in \(file)")
                }
            }
        }
    }
}

final class ProgressBox: @unchecked Sendable {
    private let lock = NSLock()
    private var latest = 0
    func set(_ v: Int) {
        lock.lock()
        latest = max(latest, v)
        lock.unlock()
    }
    var value: Int {
        lock.lock()
        defer { lock.unlock() }
        return latest
    }
}
