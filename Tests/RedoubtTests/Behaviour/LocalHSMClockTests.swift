import Foundation
import Redoubt
@testable import RedoubtTesting
import Testing

/// LocalHSM behaviour that needs the clock in hand: lockout, session lifetimes, key validity dates.
@Suite("LocalHSM with a controlled clock")
struct LocalHSMClockTests {
    let clock = TestClock()

    func configuration(_ change: (inout LocalHSM.Configuration) -> Void = { _ in }) -> LocalHSM.Configuration {
        LocalHSMSupport.configuration(clock: clock) {
            $0.lockoutThreshold = 3
            $0.lockoutDuration = 60
            change(&$0)
        }
    }

    @Test("after lockoutThreshold failures an API key is locked, even with the right secret, until lockoutDuration passes; a lock answers like a wrong secret")
    func apiKeyLockout() async throws {
        try await LocalHSMSupport.withFixture(configuration()) { f, hsm in
            let key = f.alpha.user.apiKey
            let parts = key.split(separator: ".")
            let wrong = Credential.apiKey("rdk1.\(parts[1]).\(String(parts[2].reversed()))")
            for _ in 0..<3 {
                await expectHSMError(.unauthenticated, "invalid credentials") { try await hsm.openSession(partition: "alpha", credential: wrong) }
            }
            // Locked: the right secret is refused with the same answer as a wrong one.
            await expectHSMError(.unauthenticated, "invalid credentials") { try await hsm.openSession(partition: "alpha", credential: .apiKey(key)) }
            await expectHSMError(.unauthenticated, "invalid credentials") { try await hsm.openSession(partition: "alpha", credential: wrong) }
            // Sessions opened before the lockout go on; other credentials are not affected.
            #expect(try await hsm.random(f.alpha.user.token, count: 4).count == 4)
            _ = try await hsm.openSession(partition: "alpha", credential: .password(user: HSMFixture.userName, password: HSMFixture.userPassword))
            _ = try await hsm.openSession(partition: "alpha", credential: .apiKey(f.alpha.auditor.apiKey))

            clock.advance(by: 30)
            await expectHSMError(.unauthenticated, "invalid credentials") { try await hsm.openSession(partition: "alpha", credential: .apiKey(key)) }
            clock.advance(by: 31)
            let session = try await hsm.openSession(partition: "alpha", credential: .apiKey(key))
            #expect(session.user == f.alpha.user.user.id)
        }
    }

    @Test("a lock holds for the source address that failed, not for the owner's: an insider who knows a key id cannot lock it out")
    func lockoutPerSource() async throws {
        try await LocalHSMSupport.withFixture(configuration()) { f, hsm in
            let key = f.alpha.officer.apiKey
            let parts = key.split(separator: ".")
            // The auditor read the officer's key id in a session.open record and guesses from its own address.
            let guess = Credential.apiKey("rdk1.\(parts[1]).\(String(repeating: "A", count: 43))")
            await HSMCallContext.$sourceAddress.withValue("10.9.9.9") {
                for _ in 0..<5 {
                    await expectHSMError(.unauthenticated, "invalid credentials") { try await hsm.openSession(partition: "alpha", credential: guess) }
                }
                // Locked for that address, even with the right key.
                await expectHSMError(.unauthenticated, "invalid credentials") { try await hsm.openSession(partition: "alpha", credential: .apiKey(key)) }
            }
            // The officer, from her own address (and in-process callers), signs in as usual.
            let session = try await HSMCallContext.$sourceAddress.withValue("10.1.2.3") {
                try await hsm.openSession(partition: "alpha", credential: .apiKey(key))
            }
            #expect(session.role == .securityOfficer)
            _ = try await hsm.openSession(partition: "alpha", credential: .apiKey(key))
            // The lock and the refused attempts are in the partition's audit log.
            let records = try await hsm.auditRecords(f.alpha.auditor.token, from: 1, limit: 1000)
            let refusals = records.filter { $0.operation == AuditOperation.sessionOpen.rawValue && $0.object == String(parts[1]) }.map(\.result)
            #expect(refusals.filter { $0 == "invalid_credentials" }.count == 2 && refusals.filter { $0 == "locked" }.count == 4, "\(refusals)")
        }
    }

    @Test("an unknown name, partition or key id answers like a wrong secret, and the attempt is audited")
    func unknownCredentials() async throws {
        try await LocalHSMSupport.withFixture(configuration()) { f, hsm in
            for (partition, credential) in [
                ("alpha", Credential.password(user: "nobody", password: "no such user anywhere")),
                ("alpha", .apiKey("rdk1.c00112233445566778899aabb.secret")),
                ("nowhere", .password(user: HSMFixture.userName, password: HSMFixture.userPassword)),
            ] {
                await expectHSMError(.unauthenticated, "invalid credentials") { try await hsm.openSession(partition: partition, credential: credential) }
            }
            let alpha = try await hsm.auditRecords(f.alpha.auditor.token, from: 1, limit: 1000)
            #expect(alpha.contains { $0.object == "pw.nobody" && $0.result == "invalid_credentials" })
            #expect(alpha.contains { $0.object == "c00112233445566778899aabb" && $0.result == "invalid_credentials" })
        }
    }

    @Test("only consecutive password failures count; a success resets them")
    func passwordLockout() async throws {
        try await LocalHSMSupport.withFixture(configuration()) { f, hsm in
            let right = Credential.password(user: HSMFixture.userName, password: HSMFixture.userPassword)
            let wrong = Credential.password(user: HSMFixture.userName, password: "guess guess guess")
            func fail() async {
                await expectHSMError(.unauthenticated, "invalid credentials") { try await hsm.openSession(partition: "alpha", credential: wrong) }
            }
            await fail()
            await fail()
            _ = try await hsm.openSession(partition: "alpha", credential: right)
            await fail()
            await fail()
            _ = try await hsm.openSession(partition: "alpha", credential: right)
            await fail()
            await fail()
            await fail()
            await expectHSMError(.unauthenticated, "invalid credentials") { try await hsm.openSession(partition: "alpha", credential: right) }
            // The API key of the same user is another credential.
            _ = try await hsm.openSession(partition: "alpha", credential: .apiKey(f.alpha.user.apiKey))
            clock.advance(by: 61)
            _ = try await hsm.openSession(partition: "alpha", credential: right)
        }
    }

    /// Timing-dependent: concurrent failures race on the credential record. Each must still count
    /// and read "invalid credentials"; a lost update would let an attacker guess in parallel.
    @Test("concurrent failed logins all count towards the lockout")
    func concurrentFailures() async throws {
        try await LocalHSMSupport.withFixture(configuration { $0.lockoutThreshold = 5 }) { f, hsm in
            let wrong = Credential.password(user: HSMFixture.userName, password: "parallel guess!")
            let codes = await withTaskGroup(of: String.self) { group in
                for _ in 0..<8 {
                    group.addTask {
                        do {
                            _ = try await hsm.openSession(partition: "alpha", credential: wrong)
                            return "opened"
                        } catch let error as HSMError {
                            return error.code.description
                        } catch {
                            return "\(error)"
                        }
                    }
                }
                return await group.reduce(into: [String]()) { $0.append($1) }
            }
            #expect(codes.allSatisfy { $0 == "UNAUTHENTICATED" }, "\(codes)")
            await expectHSMError(.unauthenticated, "invalid credentials") {
                try await hsm.openSession(partition: "alpha", credential: .password(user: HSMFixture.userName, password: HSMFixture.userPassword))
            }
        }
    }

    @Test("a session ends at its partition's maximum lifetime, however busy")
    func sessionLifetime() async throws {
        try await LocalHSMSupport.withFixture(configuration()) { f, hsm in
            try await f.updateSettings {
                $0.maximumSessionLifetime = 600
                $0.sessionIdleTimeout = 600
            }
            let session = try await hsm.openSession(partition: "alpha", credential: .apiKey(f.alpha.user.apiKey))
            #expect(session.expiresAt == clock.now.addingTimeInterval(600))
            #expect(session.idleTimeout == 600)
            for _ in 0..<3 {
                clock.advance(by: 199)
                #expect(try await hsm.random(session.token, count: 1).count == 1)
            }
            clock.advance(by: 4)
            await expectHSMError(.unauthenticated) { try await hsm.random(session.token, count: 1) }
            await expectHSMError(.unauthenticated) { try await hsm.random(session.token, count: 1) }
            // Sessions opened under the old settings keep theirs.
            #expect(try await hsm.random(f.alpha.user.token, count: 1).count == 1)
        }
    }

    @Test("a session left idle past its idle timeout ends; use keeps it alive")
    func sessionIdle() async throws {
        try await LocalHSMSupport.withFixture(configuration()) { f, hsm in
            let idle = PartitionSettings.defaults.sessionIdleTimeout
            let busy = f.alpha.user.token
            let lazy = f.alpha.auditor.token
            for _ in 0..<3 {
                clock.advance(by: idle - 1)
                #expect(try await hsm.random(busy, count: 1).count == 1)
            }
            await expectHSMError(.unauthenticated) { try await hsm.listKeys(lazy, filter: KeyFilter()) }
            clock.advance(by: idle + 1)
            await expectHSMError(.unauthenticated) { try await hsm.random(busy, count: 1) }
            await expectHSMError(.unauthenticated) { try await hsm.listPartitions(f.operatorToken) }
            // The credential still opens a new one.
            let again = try await f.newSession(f.alpha.user)
            #expect(try await hsm.random(again, count: 1).count == 1)
        }
    }

    @Test("keys are unusable before notBefore; after expiresAt they only verify, decrypt and unwrap")
    func keyValidity() async throws {
        try await LocalHSMSupport.withFixture(configuration()) { f, hsm in
            let user = f.alpha.user.token
            let notBefore = wholeSeconds(100, from: clock.now)
            let expiresAt = wholeSeconds(1000, from: clock.now)
            let signer = try await f.generate(KeySpec(algorithm: .p256, label: "dated", notBefore: notBefore, expiresAt: expiresAt))
            let aes = try await f.generate(KeySpec(algorithm: .aes256, label: "dated", notBefore: notBefore, expiresAt: expiresAt))
            let target = try await f.generate(KeySpec(algorithm: .aes128, label: "target", extractable: true))

            await expectHSMError(.failedPrecondition, "not valid before") {
                try await hsm.sign(user, key: signer.id, input: .message(message), scheme: .ecdsa(.sha256))
            }
            await expectHSMError(.failedPrecondition, "not valid before") {
                try await hsm.encrypt(user, key: aes.id, plaintext: message, scheme: .aesGCM, aad: Data())
            }
            clock.advance(by: 150)
            let signature = try await hsm.sign(user, key: signer.id, input: .message(message), scheme: .ecdsa(.sha256))
            let sealed = try await hsm.encrypt(user, key: aes.id, plaintext: message, scheme: .aesGCM, aad: Data())
            let wrapped = try await hsm.exportWrapped(user, id: target.id, wrappingKey: aes.id, scheme: .aesKWP)

            clock.advance(by: 900)
            await expectHSMError(.failedPrecondition, "expired") {
                try await hsm.sign(user, key: signer.id, input: .message(message), scheme: .ecdsa(.sha256))
            }
            await expectHSMError(.failedPrecondition, "expired") {
                try await hsm.encrypt(user, key: aes.id, plaintext: message, scheme: .aesGCM, aad: Data())
            }
            await expectHSMError(.failedPrecondition, "expired") {
                try await hsm.exportWrapped(user, id: target.id, wrappingKey: aes.id, scheme: .aesKWP)
            }
            let peer = try await hsm.exportPublicKey(user, id: signer.id, version: nil)
            await expectHSMError(.failedPrecondition, "expired") {
                try await hsm.deriveKey(
                    user, key: signer.id, peer: peer, derivation: .hkdf(.sha256, outputByteCount: 32),
                    spec: KeySpec(algorithm: .aes256, label: "late"))
            }
            #expect(try await hsm.verify(user, key: signer.id, input: .message(message), signature: signature.signature, scheme: .ecdsa(.sha256), version: nil))
            #expect(try await hsm.decrypt(user, key: aes.id, ciphertext: sealed, scheme: .aesGCM, aad: Data()) == message)
            let unwrapped = try await hsm.importKey(
                user, spec: KeySpec(algorithm: .aes128, label: "unwrapped"),
                material: .wrapped(wrapped, wrappingKey: aes.id, scheme: .aesKWP))
            #expect(unwrapped.algorithm == .aes128)

            // Moving the expiry earlier takes effect at once.
            let fresh = try await f.generate(KeySpec(algorithm: .p256, label: "fresh"))
            _ = try await hsm.updateKey(f.alpha.officer.token, id: fresh.id, update: KeyAttributeUpdate(expiresAt: wholeSeconds(-1, from: clock.now)))
            await expectHSMError(.failedPrecondition, "expired") {
                try await hsm.sign(user, key: fresh.id, input: .message(message), scheme: .ecdsa(.sha256))
            }
        }
    }
}
