import Foundation
import RedoubtCore
import Testing

extension HSMBehaviour {
    static var sessionCases: [Case] {
        [
            Case("a wrong secret and an unknown credential read the same") { try await $0.invalidCredentials() },
            Case("password login works and a wrong password fails") { try await $0.passwordLogin() },
            Case("a closed session is refused; others of the same user go on") { try await $0.closedSession() },
            Case("malformed tokens and credentials are refused, never a crash") { try await $0.malformedTokens() },
            Case("removing a user ends its sessions and credentials") { try await $0.removedUser() },
            Case("session objects live and die with their session") { try await $0.sessionObjects() },
        ]
    }
}

extension HSMFixture {
    func invalidCredentials() async throws {
        let parts = alpha.user.apiKey.split(separator: ".")
        try #require(parts.count == 3 && parts[0] == "rdk1")
        let wrongSecret = "rdk1.\(parts[1]).\(String(parts[2].reversed()))"
        let unknownID = "rdk1.c\(String(repeating: "0", count: 24)).\(parts[2])"
        let attempts: [(String, String, Credential)] = [
            ("a wrong secret", "alpha", .apiKey(wrongSecret)),
            ("an unknown credential id", "alpha", .apiKey(unknownID)),
            ("another partition's API key", "beta", .apiKey(alpha.user.apiKey)),
            ("a partition API key for the operator", "", .apiKey(alpha.officer.apiKey)),
            ("the operator's API key for a partition", "alpha", .apiKey(operatorAPIKey)),
            ("an unknown partition", "gamma", .apiKey(alpha.user.apiKey)),
            ("an API key as a password", "alpha", .password(user: HSMFixture.userName, password: alpha.user.apiKey)),
        ]
        var messages: Set<String> = []
        for (what, partition, credential) in attempts {
            let error = await expectHSMError(.unauthenticated, "invalid credentials") {
                try await hsm.openSession(partition: partition, credential: credential)
            }
            #expect(error != nil, "\(what) opened a session")
            if let error { messages.insert(error.message) }
        }
        // No oracle: every failure reads exactly the same.
        #expect(messages == ["invalid credentials"])
        // The right key still works (two failures are below any sensible lockout).
        let session = try await hsm.openSession(partition: "alpha", credential: .apiKey(alpha.user.apiKey))
        #expect(session.user == alpha.user.user.id && session.role == .cryptoUser)
    }

    func passwordLogin() async throws {
        let session = try await hsm.openSession(partition: "alpha", credential: .password(user: HSMFixture.userName, password: HSMFixture.userPassword))
        #expect(session.partition == "alpha")
        #expect(session.user == alpha.user.user.id)
        #expect(session.role == .cryptoUser)
        #expect(session.id != alpha.user.session.id)
        #expect(session.expiresAt > Date() && session.expiresAt <= Date().addingTimeInterval(PartitionSettings.defaults.maximumSessionLifetime + 60))
        #expect(session.idleTimeout == PartitionSettings.defaults.sessionIdleTimeout)
        _ = try await hsm.random(session.token, count: 8)
        #expect(try await hsm.listUsers(alpha.officer.token).first { $0.id == alpha.user.user.id }?.hasPassword == true)

        await expectHSMError(.unauthenticated, "invalid credentials") {
            try await hsm.openSession(partition: "alpha", credential: .password(user: HSMFixture.userName, password: "correct horse battery stapler"))
        }
        await expectHSMError(.unauthenticated, "invalid credentials") {
            try await hsm.openSession(partition: "alpha", credential: .password(user: "nobody", password: HSMFixture.userPassword))
        }
        // A user without a password cannot log in with one.
        await expectHSMError(.unauthenticated, "invalid credentials") {
            try await hsm.openSession(partition: "alpha", credential: .password(user: "audrey", password: HSMFixture.userPassword))
        }
        // The same name in another partition is another user.
        await expectHSMError(.unauthenticated, "invalid credentials") {
            try await hsm.openSession(partition: "beta", credential: .password(user: HSMFixture.userName, password: "not carol's beta password"))
        }
        // Passwords shorter than 12 bytes are refused when set.
        await expectHSMError(.invalidArgument, "password") {
            try await hsm.addUser(alpha.officer.token, name: "shorty", role: .cryptoUser, password: "short")
        }
    }

    func closedSession() async throws {
        let second = try await newSession(alpha.user)
        try await hsm.closeSession(alpha.user.token)
        let refusals: [(String, () async throws -> Void)] = [
            ("random", { _ = try await hsm.random(alpha.user.token, count: 8) }),
            ("listKeys", { _ = try await hsm.listKeys(alpha.user.token, filter: KeyFilter()) }),
            ("generateKey", { _ = try await hsm.generateKey(alpha.user.token, spec: KeySpec(algorithm: .aes128, label: "late")) }),
            ("closeSession", { try await hsm.closeSession(alpha.user.token) }),
        ]
        for (what, call) in refusals {
            let error = await expectHSMError(.unauthenticated) { try await call() }
            #expect(error != nil, "\(what) on a closed session")
        }
        #expect(try await hsm.random(second, count: 8).count == 8)
    }

    func malformedTokens() async throws {
        let valid = alpha.user.token.value
        let parts = valid.split(separator: ".", omittingEmptySubsequences: false)
        try #require(parts.count == 3)
        let tokens = [
            "", ".", "..", "garbage", "rds1", "rds1..", "rds1.x.y", "rds1.\(parts[1]).", "rds1.\(parts[1]).\(parts[2]).extra",
            "rds1.\(parts[1]).\(String(parts[2].reversed()))", valid + "x", "rdk1.\(parts[1]).\(parts[2])", "rds1.\(parts[1])\u{0}.\(parts[2])",
            "rds1.../../\(parts[2])", "rds1.ß🙂.\(parts[2])", String(repeating: "A", count: 100_000),
            "rds1." + String(repeating: "s", count: 10_000) + "." + parts[2], alpha.user.apiKey,
        ]
        for text in tokens {
            let error = await expectHSMError(.unauthenticated) { try await hsm.random(SessionToken(text), count: 8) }
            #expect(error != nil, "token of \(text.utf8.count) bytes was not refused")
            await expectHSMError(.unauthenticated) { try await hsm.listKeys(SessionToken(text), filter: KeyFilter()) }
        }
        let credentials: [Credential] = [
            .apiKey(""), .apiKey("rdk1"), .apiKey("rdk1.."), .apiKey("rdk1.x.y.z"), .apiKey(String(repeating: "k", count: 100_000)),
            .apiKey("rdk1.\u{0}.x"), .apiKey("rdk1.../.."), .password(user: "", password: ""),
            .password(user: String(repeating: "u", count: 10_000), password: HSMFixture.userPassword),
            .password(user: HSMFixture.userName, password: String(repeating: "p", count: 100_000)),
            .password(user: "pw.\(HSMFixture.userName)", password: HSMFixture.userPassword), .password(user: "../carol", password: "x"),
        ]
        for credential in credentials {
            await expectHSMError(.unauthenticated, "invalid credentials") { try await hsm.openSession(partition: "alpha", credential: credential) }
        }
        for partition in ["../alpha", "alpha/", String(repeating: "p", count: 10_000), "al\u{0}pha", " alpha"] {
            await expectHSMError(.unauthenticated, "invalid credentials") {
                try await hsm.openSession(partition: partition, credential: .apiKey(alpha.user.apiKey))
            }
        }
        // The real session survived all of that.
        #expect(try await hsm.random(alpha.user.token, count: 8).count == 8)
    }

    func removedUser() async throws {
        let extra = try await hsm.openSession(partition: "alpha", credential: .password(user: HSMFixture.userName, password: HSMFixture.userPassword))
        try await hsm.removeUser(alpha.officer.token, id: alpha.user.user.id)
        for token in [alpha.user.token, extra.token] {
            await expectHSMError(.unauthenticated) { try await hsm.random(token, count: 8) }
        }
        await expectHSMError(.unauthenticated, "invalid credentials") {
            try await hsm.openSession(partition: "alpha", credential: .apiKey(alpha.user.apiKey))
        }
        await expectHSMError(.unauthenticated, "invalid credentials") {
            try await hsm.openSession(partition: "alpha", credential: .password(user: HSMFixture.userName, password: HSMFixture.userPassword))
        }
        #expect(try await hsm.listUsers(alpha.officer.token).contains { $0.id == alpha.user.user.id } == false)
        await expectHSMError(.notFound) { try await hsm.removeUser(alpha.officer.token, id: alpha.user.user.id) }
        await expectHSMError(.failedPrecondition, "itself") { try await hsm.removeUser(alpha.officer.token, id: alpha.officer.user.id) }
        // Beta's user of the same name is untouched.
        #expect(try await hsm.random(beta.user.token, count: 8).count == 8)
    }

    func sessionObjects() async throws {
        let owner = alpha.user.token
        let ephemeral = try await hsm.generateKey(owner, spec: KeySpec(algorithm: .p256, label: "ephemeral", persistent: false))
        #expect(ephemeral.persistent == false)
        let stored = try await generate(KeySpec(algorithm: .p256, label: "stored"))
        #expect(stored.persistent)

        // Usable in its own session.
        let signature = try await hsm.sign(owner, key: ephemeral.id, input: .message(message), scheme: .ecdsa(.sha256))
        #expect(
            try await hsm.verify(
                owner, key: ephemeral.id, input: .message(message), signature: signature.signature,
                scheme: .ecdsa(.sha256), version: nil))
        #expect(try await hsm.getKey(owner, id: ephemeral.id).id == ephemeral.id)

        // Invisible to another session of the same user, and never listed (it is not stored).
        let other = try await newSession(alpha.user)
        let unknown = unknownKeyID()
        let missing = await expectHSMError(.notFound) { try await hsm.getKey(other, id: unknown) }
        let hidden = await expectHSMError(.notFound) { try await hsm.getKey(other, id: ephemeral.id) }
        #expect(
            hidden?.message.replacingOccurrences(of: ephemeral.id, with: "<id>")
                == missing?.message.replacingOccurrences(of: unknown, with: "<id>"))
        await expectHSMError(.notFound) {
            try await hsm.sign(other, key: ephemeral.id, input: .message(message), scheme: .ecdsa(.sha256))
        }
        for lister in [owner, other, alpha.officer.token] {
            let listed = Set(try await hsm.listKeys(lister, filter: KeyFilter(includeDestroyed: true, limit: 1000)).map(\.id))
            #expect(listed.contains(stored.id))
            #expect(!listed.contains(ephemeral.id))
        }

        // Its session may destroy and purge a session object it made; never a stored key.
        let doomed = try await hsm.generateKey(owner, spec: KeySpec(algorithm: .p256, label: "doomed", persistent: false))
        await expectHSMError(.notFound) { try await hsm.destroyKey(other, id: doomed.id) }
        #expect(try await hsm.destroyKey(owner, id: doomed.id).state == .destroyed)
        try await hsm.purgeKey(owner, id: doomed.id)
        await expectHSMError(.notFound) { try await hsm.getKey(owner, id: doomed.id) }
        await expectHSMError(.permissionDenied, "session objects it made") { try await hsm.destroyKey(owner, id: stored.id) }
        await expectHSMError(.permissionDenied, "session objects it made") { try await hsm.purgeKey(owner, id: stored.id) }
        #expect(try await hsm.getKey(owner, id: stored.id).state == .active)

        // Gone with its session.
        try await hsm.closeSession(owner)
        let after = try await newSession(alpha.user)
        for token in [after, other] {
            await expectHSMError(.notFound) { try await hsm.getKey(token, id: ephemeral.id) }
            await expectHSMError(.notFound) {
                try await hsm.sign(token, key: ephemeral.id, input: .message(message), scheme: .ecdsa(.sha256))
            }
        }
        #expect(try await hsm.getKey(after, id: stored.id).id == stored.id)
    }
}
