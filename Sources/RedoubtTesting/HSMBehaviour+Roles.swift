import Foundation
import RedoubtCore
import Testing

extension HSMBehaviour {
    static var roleCases: [Case] {
        [
            Case("each role is denied what it may not do") { try await $0.roleDenials() },
            Case("each role may do its own work") { try await $0.roleAllowances() },
        ]
    }
}

/// One thing a role may not do: who, what, which words the refusal must contain, and the call.
struct Denial: Sendable {
    var who: String
    var what: String
    var code: HSMError.Code
    var fragment: String
    var call: @Sendable (SessionToken) async throws -> Void

    init(
        _ who: String, _ what: String, _ fragment: String, code: HSMError.Code = .permissionDenied,
        _ call: @escaping @Sendable (SessionToken) async throws -> Void
    ) {
        self.who = who
        self.what = what
        self.code = code
        self.fragment = fragment
        self.call = call
    }
}

extension HSMFixture {
    /// Keys (made by alpha's officer) that the denial table aims at.
    struct RoleTargets: Sendable {
        var signer: KeyInfo
        var aes: KeyInfo
        var wrapper: KeyInfo
        var signature: Data
        var ciphertext: Data
    }

    func roleTargets() async throws -> RoleTargets {
        let signer = try await generate(KeySpec(algorithm: .p256, label: "signer"), by: alpha.officer)
        let aes = try await generate(KeySpec(algorithm: .aes256, label: "aes", extractable: true, sensitive: false), by: alpha.officer)
        let wrapper = try await generate(KeySpec(algorithm: .aes256, label: "wrapper"), by: alpha.officer)
        let signature = try await hsm.sign(alpha.user.token, key: signer.id, input: .message(message), scheme: .ecdsa(.sha256)).signature
        let ciphertext = try await hsm.encrypt(alpha.user.token, key: aes.id, plaintext: message, scheme: .aesGCM, aad: Data())
        return RoleTargets(signer: signer, aes: aes, wrapper: wrapper, signature: signature, ciphertext: ciphertext)
    }

    /// The table: every row must fail with its code and name its check.
    func denials(_ t: RoleTargets) -> [Denial] {
        let hsm = self.hsm
        let p256 = KeySpec(algorithm: .p256, label: "denied")
        let secret = KeyMaterial.secret(SecretBytes(Data(repeating: 7, count: 32)))
        let aesSpec = KeySpec(algorithm: .aes256, label: "denied")
        let auditorID = alpha.auditor.user.id
        let use = "CRYPTO_USER"
        let manage = "SECURITY_OFFICER"
        let create = "SECURITY_OFFICER or CRYPTO_USER"

        var rows: [Denial] = []
        // The operator runs the service and never touches a partition's keys.
        rows += [
            Denial("operator", "generate a key", create) { _ = try await hsm.generateKey($0, spec: p256) },
            Denial("operator", "import a key", create) { _ = try await hsm.importKey($0, spec: aesSpec, material: secret) },
            Denial("operator", "sign", use) { _ = try await hsm.sign($0, key: t.signer.id, input: .message(message), scheme: .ecdsa(.sha256)) },
            Denial("operator", "decrypt", use) { _ = try await hsm.decrypt($0, key: t.aes.id, ciphertext: t.ciphertext, scheme: .aesGCM, aad: Data()) },
            Denial("operator", "list keys", "listing keys") { _ = try await hsm.listKeys($0, filter: KeyFilter()) },
            Denial("operator", "read a key", "reading keys") { _ = try await hsm.getKey($0, id: t.signer.id) },
            Denial("operator", "export in the clear", use) { _ = try await hsm.exportPlaintext($0, id: t.aes.id) },
            Denial("operator", "export wrapped", use) { _ = try await hsm.exportWrapped($0, id: t.aes.id, wrappingKey: t.wrapper.id, scheme: .aesKWP) },
            Denial("operator", "export a public key", "exporting public keys") { _ = try await hsm.exportPublicKey($0, id: t.signer.id, version: nil) },
            Denial("operator", "block a key", manage) { _ = try await hsm.blockKey($0, id: t.signer.id) },
            Denial("operator", "add a crypto user", "security officer") { _ = try await hsm.addUser($0, name: "mallory", role: .cryptoUser, password: nil) },
        ]
        // The security officer manages; crypto operations need CRYPTO_USER.
        rows += [
            Denial("officer", "sign", use) { _ = try await hsm.sign($0, key: t.signer.id, input: .message(message), scheme: .ecdsa(.sha256)) },
            Denial("officer", "verify", use) {
                _ = try await hsm.verify($0, key: t.signer.id, input: .message(message), signature: t.signature, scheme: .ecdsa(.sha256), version: nil)
            },
            Denial("officer", "encrypt", use) { _ = try await hsm.encrypt($0, key: t.aes.id, plaintext: message, scheme: .aesGCM, aad: Data()) },
            Denial("officer", "decrypt", use) { _ = try await hsm.decrypt($0, key: t.aes.id, ciphertext: t.ciphertext, scheme: .aesGCM, aad: Data()) },
            Denial("officer", "export in the clear", use) { _ = try await hsm.exportPlaintext($0, id: t.aes.id) },
            Denial("officer", "create a partition", "OPERATOR") { _ = try await hsm.createPartition($0, id: "gamma", settings: .defaults) },
            Denial("officer", "list partitions", "OPERATOR") { _ = try await hsm.listPartitions($0) },
        ]
        // The crypto user uses keys but manages nothing.
        rows += [
            Denial("user", "add a user", manage) { _ = try await hsm.addUser($0, name: "mallory", role: .cryptoUser, password: nil) },
            Denial("user", "add a security officer", manage) { _ = try await hsm.addUser($0, name: "mallory", role: .securityOfficer, password: nil) },
            Denial("user", "remove a user", manage) { try await hsm.removeUser($0, id: auditorID) },
            Denial("user", "block a key", manage) { _ = try await hsm.blockKey($0, id: t.signer.id) },
            Denial("user", "destroy a key", manage) { _ = try await hsm.destroyKey($0, id: t.signer.id) },
            Denial("user", "rotate a key", manage) { _ = try await hsm.rotateKey($0, id: t.signer.id) },
            Denial("user", "update a key", manage) { _ = try await hsm.updateKey($0, id: t.signer.id, update: KeyAttributeUpdate(label: "renamed")) },
            Denial("user", "restore a key", manage) { _ = try await hsm.restoreKey($0, id: t.signer.id) },
            Denial("user", "purge a key", manage) { try await hsm.purgeKey($0, id: t.signer.id) },
            Denial("user", "change a partition", "OPERATOR") { _ = try await hsm.updatePartition($0, id: "alpha", settings: .defaults) },
        ]
        // The auditor reads the audit log and key metadata only.
        rows += [
            Denial("auditor", "sign", use) { _ = try await hsm.sign($0, key: t.signer.id, input: .message(message), scheme: .ecdsa(.sha256)) },
            Denial("auditor", "encrypt", use) { _ = try await hsm.encrypt($0, key: t.aes.id, plaintext: message, scheme: .aesGCM, aad: Data()) },
            Denial("auditor", "generate a key", create) { _ = try await hsm.generateKey($0, spec: p256) },
            Denial("auditor", "import a key", create) { _ = try await hsm.importKey($0, spec: aesSpec, material: secret) },
            Denial("auditor", "export in the clear", use) { _ = try await hsm.exportPlaintext($0, id: t.aes.id) },
            Denial("auditor", "random bytes", "random bytes") { _ = try await hsm.random($0, count: 16) },
            Denial("auditor", "block a key", manage) { _ = try await hsm.blockKey($0, id: t.signer.id) },
            Denial("auditor", "add a user", manage) { _ = try await hsm.addUser($0, name: "mallory", role: .auditor, password: nil) },
        ]
        // The approver has nothing to approve yet, so it may do nothing.
        rows += [
            Denial("approver", "generate a key", create) { _ = try await hsm.generateKey($0, spec: p256) },
            Denial("approver", "import a key", create) { _ = try await hsm.importKey($0, spec: aesSpec, material: secret) },
            Denial("approver", "sign", use) { _ = try await hsm.sign($0, key: t.signer.id, input: .message(message), scheme: .ecdsa(.sha256)) },
            Denial("approver", "list keys", "listing keys") { _ = try await hsm.listKeys($0, filter: KeyFilter()) },
            Denial("approver", "read a key", "reading keys") { _ = try await hsm.getKey($0, id: t.signer.id) },
            Denial("approver", "export a public key", "exporting public keys") { _ = try await hsm.exportPublicKey($0, id: t.signer.id, version: nil) },
            Denial("approver", "block a key", manage) { _ = try await hsm.blockKey($0, id: t.signer.id) },
            Denial("approver", "add a user", manage) { _ = try await hsm.addUser($0, name: "mallory", role: .cryptoUser, password: nil) },
            Denial("approver", "list users", "listing users") { _ = try await hsm.listUsers($0) },
            Denial("approver", "read the audit log", "audit") { _ = try await hsm.auditRecords($0, from: 1, limit: 10) },
            Denial("approver", "verify the audit log", "audit") { _ = try await hsm.verifyAudit($0) },
            Denial("approver", "export an audit checkpoint", "audit") { _ = try await hsm.auditCheckpoint($0) },
            Denial("approver", "random bytes", "random bytes") { _ = try await hsm.random($0, count: 16) },
        ]
        return rows
    }

    func token(for who: String) -> SessionToken {
        switch who {
        case "operator": return operatorToken
        case "officer": return alpha.officer.token
        case "user": return alpha.user.token
        case "auditor": return alpha.auditor.token
        default: return alpha.approver.token
        }
    }

    func roleDenials() async throws {
        let targets = try await roleTargets()
        for row in denials(targets) {
            let token = token(for: row.who)
            do {
                try await row.call(token)
                Issue.record("\(row.who) may \(row.what), but should be refused with \(row.code)")
            } catch let error as HSMError {
                #expect(error.code == row.code, "\(row.who) \(row.what): expected \(row.code), got \(error)")
                #expect(error.message.contains(row.fragment), "\(row.who) \(row.what): \"\(error.message)\" does not name \"\(row.fragment)\"")
            } catch {
                Issue.record("\(row.who) \(row.what): expected HSMError \(row.code), got \(error)")
            }
        }
        // Nothing the table tried changed anything.
        let signer = try await hsm.getKey(alpha.officer.token, id: targets.signer.id)
        #expect(signer.state == .active && signer.latestVersion == 1 && signer.label == "signer")
        #expect(try await hsm.listUsers(alpha.officer.token).map(\.name).sorted() == ["april", "audrey", "carol", "officer"])
        #expect(try await hsm.listPartitions(operatorToken).map(\.id).sorted() == ["alpha", "beta"])
    }

    /// The positive side of the table, so a refusal above is a rule, not a broken call.
    func roleAllowances() async throws {
        let t = try await roleTargets()
        // Operator: partitions and operators.
        #expect(try await hsm.listPartitions(operatorToken).count == 2)
        let op2 = try await hsm.addUser(operatorToken, name: "second-operator", role: .operator, password: nil)
        #expect(op2.user.role == .operator && op2.user.partition == "")
        // Officer: users, keys, lifecycle.
        let user2 = try await hsm.addUser(alpha.officer.token, name: "dave", role: .cryptoUser, password: nil)
        #expect(user2.user.partition == "alpha" && user2.user.role == .cryptoUser)
        #expect(try await hsm.blockKey(alpha.officer.token, id: t.signer.id).state == .blocked)
        #expect(try await hsm.unblockKey(alpha.officer.token, id: t.signer.id).state == .active)
        #expect(try await hsm.exportPublicKey(alpha.officer.token, id: t.signer.id, version: nil) == t.signer.publicKey)
        // Crypto user: every use, and creating keys (allowed by default).
        #expect(
            try await hsm.verify(
                alpha.user.token, key: t.signer.id, input: .message(message), signature: t.signature,
                scheme: .ecdsa(.sha256), version: nil))
        #expect(try await hsm.decrypt(alpha.user.token, key: t.aes.id, ciphertext: t.ciphertext, scheme: .aesGCM, aad: Data()) == message)
        #expect(try await hsm.exportPlaintext(alpha.user.token, id: t.aes.id).count == 32)
        _ = try await generate(KeySpec(algorithm: .ed25519, label: "user-made"))
        // Auditor: the audit log and key metadata.
        #expect(try await hsm.auditRecords(alpha.auditor.token, from: 1, limit: 1000).isEmpty == false)
        #expect(try await hsm.verifyAudit(alpha.auditor.token).isValid)
        #expect(try await hsm.getKey(alpha.auditor.token, id: t.signer.id).id == t.signer.id)
        #expect(try await listedIDs(alpha.auditor).contains(t.signer.id))
    }
}
