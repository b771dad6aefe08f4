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
            Case("an aggregating partition counts successful uses per key, operation and session, and records each refusal") {
                try await $0.aggregatedKeyUseAudit()
            },
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

extension HSMFixture {
    func aggregatedKeyUseAudit() async throws {
        let user = alpha.user
        var settings = try #require(try await hsm.listPartitions(operatorToken).first { $0.id == alpha.id }).settings
        #expect(settings.keyUseAudit == .everyUse, "every use is the default")
        settings.keyUseAudit = .aggregated
        #expect(try await hsm.updatePartition(operatorToken, id: alpha.id, settings: settings).settings.keyUseAudit == .aggregated)
        #expect(try await hsm.listPartitions(operatorToken).first { $0.id == alpha.id }?.settings.keyUseAudit == .aggregated)

        let aes = try await hsm.generateKey(user.token, spec: KeySpec(algorithm: .aes256, label: "aggregated"))
        let second = try await hsm.openSession(partition: alpha.id, credential: .apiKey(user.apiKey))
        let start = try await auditLog().count
        let uses = 40
        for i in 0..<uses {
            _ = try await hsm.encrypt(user.token, key: aes.id, plaintext: Data("use \(i)".utf8), scheme: .aesGCM, aad: Data())
        }
        for _ in 0..<3 {
            _ = try await hsm.encrypt(second.token, key: aes.id, plaintext: Data("other session".utf8), scheme: .aesGCM, aad: Data())
        }
        // Refused uses: each keeps its own record.
        for _ in 0..<2 {
            await expectHSMError(.invalidArgument) {
                try await hsm.decrypt(user.token, key: aes.id, ciphertext: Data([0x01, 0, 0, 0, 1, 9, 9]), scheme: .aesGCM, aad: Data())
            }
        }
        let records = Array(try await auditLog().dropFirst(start))
        func recorded(_ session: SessionInfo, _ operation: AuditOperation, ok: Bool = true) -> [AuditRecord] {
            records.filter { $0.session == session.id && $0.operation == operation.rawValue && ($0.result == "ok") == ok }
        }
        let first = recorded(user.session, .keyEncrypt)
        // How many records the uses become depends on the implementation's commit windows (a
        // node that commits every use at once writes counts of 1); the sum may not.
        #expect(first.map(\.count).reduce(0, +) == uses, "every use is counted: \(first.map(\.count))")
        for record in first {
            #expect(record.object == aes.id && record.actor == user.user.id && record.role == Role.cryptoUser.rawValue)
            if record.count > 1 {
                let firstTime = try #require(record.firstTime, "an aggregated record has its first use's time")
                #expect(firstTime <= record.time)
            } else {
                #expect(record.firstTime == nil)
            }
        }
        #expect(recorded(second, .keyEncrypt).map(\.count).reduce(0, +) == 3, "another session gets its own record")
        let refused = recorded(user.session, .keyDecrypt, ok: false)
        #expect(refused.count == 2 && refused.allSatisfy { $0.count == 1 && $0.firstTime == nil }, "\(refused)")
        #expect(try await hsm.verifyAudit(alpha.auditor.token).isValid)

        // Back to every use: one record per use again.
        settings.keyUseAudit = .everyUse
        _ = try await hsm.updatePartition(operatorToken, id: alpha.id, settings: settings)
        let before = try await auditLog().count
        for _ in 0..<3 {
            _ = try await hsm.encrypt(user.token, key: aes.id, plaintext: Data("single".utf8), scheme: .aesGCM, aad: Data())
        }
        let singles = try await auditLog().dropFirst(before).filter { $0.operation == AuditOperation.keyEncrypt.rawValue }
        #expect(singles.count == 3 && singles.allSatisfy { $0.count == 1 }, "\(singles.map(\.count))")
    }
}
