import Foundation
import RedoubtCore
import Testing

extension HSMBehaviour {
    static var auditCases: [Case] {
        [
            Case("the audit log records management and key uses in order, and verifies") { try await $0.auditTrail() },
            Case("key uses keep their place among sessions opened meanwhile") { try await $0.auditOrder() },
            Case("uses refused before the key is reached are audited too") { try await $0.auditRefusals() },
            Case("a partition's audit log never shows another partition's records") { try await $0.auditIsolation() },
        ]
    }
}

/// The parts of an audit record a case predicts.
struct Expected: Equatable, CustomStringConvertible {
    var operation: String
    var actor: String
    var role: String
    var session: String
    var object: String
    var result: String

    init(_ operation: AuditOperation, _ member: HSMFixture.Member, _ object: String, _ result: String = "ok") {
        self.init(operation.rawValue, member.user.id, member.user.role.rawValue, member.session.id, object, result)
    }

    init(_ operation: String, _ actor: String, _ role: String, _ session: String, _ object: String, _ result: String) {
        self.operation = operation
        self.actor = actor
        self.role = role
        self.session = session
        self.object = object
        self.result = result
    }

    init(_ record: AuditRecord) {
        self.init(record.operation, record.actor, record.role, record.session, record.object, record.result)
    }

    var description: String { "\(operation) by \(actor)/\(role) on \(object): \(result)" }
}

extension HSMFixture {
    /// Every record of `tenant`'s log, read by its auditor.
    func auditLog(_ tenant: Tenant? = nil) async throws -> [AuditRecord] {
        let token = (tenant ?? alpha).auditor.token
        var out: [AuditRecord] = []
        while true {
            let page = try await hsm.auditRecords(token, from: Int64(out.count + 1), limit: 1000)
            out += page
            if page.count < 1000 { return out }
        }
    }

    func auditTrail() async throws {
        let officer = alpha.officer
        let user = alpha.user
        let start = try await auditLog().count
        #expect(start > 0, "the partition's creation and its users are not in its log")

        let signer = try await generate(KeySpec(algorithm: .p256, label: "signer"), by: officer)
        let aes = try await generate(KeySpec(algorithm: .aes256, label: "aes"), by: officer)
        _ = try await hsm.sign(user.token, key: signer.id, input: .message(message), scheme: .ecdsa(.sha256))
        await expectHSMError(.failedPrecondition) {
            try await hsm.encrypt(user.token, key: signer.id, plaintext: message, scheme: .aesGCM, aad: Data())
        }
        _ = try await hsm.blockKey(officer.token, id: signer.id)
        await expectHSMError(.failedPrecondition, "blocked") {
            try await hsm.sign(user.token, key: signer.id, input: .message(message), scheme: .ecdsa(.sha256))
        }
        _ = try await hsm.unblockKey(officer.token, id: signer.id)
        let sealed = try await hsm.encrypt(user.token, key: aes.id, plaintext: message, scheme: .aesGCM, aad: Data("a".utf8))
        await expectHSMError(.invalidArgument) {
            try await hsm.decrypt(user.token, key: aes.id, ciphertext: sealed, scheme: .aesGCM, aad: Data("b".utf8))
        }
        _ = try await hsm.updateKey(officer.token, id: aes.id, update: KeyAttributeUpdate(label: "renamed"))
        _ = try await hsm.destroyKey(officer.token, id: aes.id)

        let expected = [
            Expected(.keyGenerate, officer, signer.id),
            Expected(.keyGenerate, officer, aes.id),
            Expected(.keySign, user, signer.id),
            Expected(.keyEncrypt, user, signer.id, "FAILED_PRECONDITION"),
            Expected(.keyBlock, officer, signer.id),
            Expected(.keySign, user, signer.id, "FAILED_PRECONDITION"),
            Expected(.keyUnblock, officer, signer.id),
            Expected(.keyEncrypt, user, aes.id),
            Expected(.keyDecrypt, user, aes.id, "INVALID_ARGUMENT"),
            Expected(.keyUpdate, officer, aes.id),
            Expected(.keyDestroy, officer, aes.id),
        ]
        let log = try await auditLog()
        #expect(log.map(\.sequence) == Array(1...Int64(log.count)), "sequences are not 1, 2, 3…")
        #expect(zip(log, log.dropFirst()).allSatisfy { $0.time <= $1.time }, "times go backwards")
        let series = log.dropFirst(start).map(Expected.init)
        #expect(series == expected)

        // A failed login is recorded against the user, without a session.
        await expectHSMError(.unauthenticated) {
            try await hsm.openSession(partition: "alpha", credential: .password(user: HSMFixture.userName, password: "not the password!"))
        }
        let failed = try #require(try await auditLog().last)
        #expect(failed.operation == AuditOperation.sessionOpen.rawValue && failed.actor == user.user.id && failed.result != "ok")

        let verification = try await hsm.verifyAudit(alpha.auditor.token)
        #expect(verification.isValid, "\(verification.failure ?? "")")
        #expect(verification.records == Int64(log.count + 1))
        // The officer reads the same log; reads page.
        #expect(try await hsm.auditRecords(officer.token, from: 1, limit: 1000) == hsm.auditRecords(alpha.auditor.token, from: 1, limit: 1000))
        #expect(try await hsm.auditRecords(alpha.auditor.token, from: 3, limit: 2).map(\.sequence) == [3, 4])
        #expect(try await hsm.auditRecords(alpha.auditor.token, from: Int64(log.count + 100), limit: 10).isEmpty)
        await expectHSMError(.invalidArgument, "from") { try await hsm.auditRecords(alpha.auditor.token, from: 0, limit: 10) }
        await expectHSMError(.invalidArgument, "limit") { try await hsm.auditRecords(alpha.auditor.token, from: 1, limit: 0) }
        await expectHSMError(.invalidArgument, "limit") { try await hsm.auditRecords(alpha.auditor.token, from: 1, limit: 1_000_000) }
    }

    func auditOrder() async throws {
        let user = alpha.user
        let signer = try await generate(KeySpec(algorithm: .p256, label: "signer"), by: alpha.officer)
        let start = try await auditLog().count
        _ = try await hsm.sign(user.token, key: signer.id, input: .message(message), scheme: .ecdsa(.sha256))
        let late = try await hsm.openSession(partition: "alpha", credential: .apiKey(alpha.auditor.apiKey))
        _ = try await hsm.sign(user.token, key: signer.id, input: .message(message), scheme: .ecdsa(.sha256))
        await expectHSMError(.unauthenticated) {
            try await hsm.openSession(partition: "alpha", credential: .password(user: HSMFixture.userName, password: "not the password!"))
        }
        _ = try await hsm.sign(user.token, key: signer.id, input: .message(message), scheme: .ecdsa(.sha256))

        let series = try await auditLog().dropFirst(start)
        let shape = series.map { "\($0.operation) \($0.result == "ok" ? "ok" : "failed") \($0.actor == user.user.id ? "user" : "auditor")" }
        let (sign, open) = (AuditOperation.keySign.rawValue, AuditOperation.sessionOpen.rawValue)
        #expect(shape == ["\(sign) ok user", "\(open) ok auditor", "\(sign) ok user", "\(open) failed user", "\(sign) ok user"])
        #expect(series.first { $0.operation == open }?.session == late.id)
        #expect(zip(series, series.dropFirst()).allSatisfy { $0.time <= $1.time }, "times go backwards")
    }

    /// "Failed uses are recorded with their error code" — including a key that is not there and a role that may not.
    func auditRefusals() async throws {
        let missing = unknownKeyID()
        let signer = try await generate(KeySpec(algorithm: .p256, label: "signer"), by: alpha.officer)
        let start = try await auditLog().count
        await expectHSMError(.notFound) {
            try await hsm.sign(alpha.user.token, key: missing, input: .message(message), scheme: .ecdsa(.sha256))
        }
        await expectHSMError(.permissionDenied) {
            try await hsm.sign(alpha.officer.token, key: signer.id, input: .message(message), scheme: .ecdsa(.sha256))
        }
        let series = try await auditLog().dropFirst(start).map(Expected.init)
        #expect(
            series == [
                Expected(.keySign, alpha.user, missing, "NOT_FOUND"),
                Expected(.keySign, alpha.officer, signer.id, "PERMISSION_DENIED"),
            ])
    }

    func auditIsolation() async throws {
        let alphaKey = try await generate(KeySpec(algorithm: .p256, label: "alpha"))
        _ = try await hsm.sign(alpha.user.token, key: alphaKey.id, input: .message(message), scheme: .ecdsa(.sha256))
        _ = try await hsm.blockKey(alpha.officer.token, id: alphaKey.id)
        let betaKey = try await generate(KeySpec(algorithm: .p256, label: "beta"), by: beta.user)
        _ = try await hsm.sign(beta.user.token, key: betaKey.id, input: .message(message), scheme: .ecdsa(.sha256))
        // Beta probing alpha's key leaves nothing in alpha's log either.
        await expectHSMError(.notFound) { try await hsm.getKey(beta.user.token, id: alphaKey.id) }

        let members = { (t: Tenant) in [t.officer, t.user, t.auditor, t.approver] }
        let alphaActors = Set(members(alpha).map(\.user.id))
        let alphaSessions = Set(members(alpha).map(\.session.id))
        let betaActors = Set(members(beta).map(\.user.id))
        let betaSessions = Set(members(beta).map(\.session.id))
        let alphaLog = try await auditLog(alpha)
        let betaLog = try await auditLog(beta)
        #expect(!alphaLog.isEmpty && !betaLog.isEmpty)
        for record in betaLog {
            #expect(
                !alphaActors.contains(record.actor) && !alphaSessions.contains(record.session) && record.object != alphaKey.id
                    && record.object != "alpha", "alpha in beta's log: \(Expected(record))")
        }
        for record in alphaLog {
            #expect(
                !betaActors.contains(record.actor) && !betaSessions.contains(record.session) && record.object != betaKey.id,
                "beta in alpha's log: \(Expected(record))")
        }
        #expect(betaLog.contains { $0.operation == AuditOperation.keySign.rawValue && $0.object == betaKey.id })
        #expect(alphaLog.contains { $0.operation == AuditOperation.keyBlock.rawValue && $0.object == alphaKey.id })
        #expect(try await hsm.verifyAudit(alpha.auditor.token).records == Int64(alphaLog.count))
        #expect(try await hsm.verifyAudit(beta.auditor.token).records == Int64(betaLog.count))
    }
}
