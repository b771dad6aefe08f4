import Foundation
import Redoubt
@testable import RedoubtTesting
import Testing

/// LocalHSM's key uses that run without an `async` call (what the PKCS #11 module's embedded
/// slots call first): the ordinary call's results and audit records when all is in memory, and
/// nil, with nothing recorded, whenever the ordinary call would have to wait or the use fails.
@Suite("LocalHSM immediate key uses")
struct ImmediateUseTests {
    let clock = TestClock()
    let data = Data("a record for the vault".utf8)

    @Test("with the session known and the key cached: the same outputs as the ordinary calls, one audit record each")
    func sameAsTheCall() async throws {
        try await LocalHSMSupport.withFixture(LocalHSMSupport.configuration(clock: clock)) { f, hsm in
            let token = f.alpha.user.token
            let aes = try await hsm.generateKey(token, spec: KeySpec(algorithm: .aes256, label: "aes"))
            let hmac = try await hsm.generateKey(token, spec: KeySpec(algorithm: .genericSecret, label: "hmac"))
            let signer = try await hsm.generateKey(token, spec: KeySpec(algorithm: .p256, label: "signer"))
            let gcm = StandardCipherParameters(tagByteCount: 16)
            // The ordinary calls load the keys and refresh the node's cache.
            let sealed = try await hsm.encryptStandard(token, key: aes.id, plaintext: data, scheme: .aesGCM, parameters: gcm)
            let tag = try await hsm.macStandard(token, key: hmac.id, data: data, hash: .sha256, version: nil)
            _ = try await hsm.sign(token, key: signer.id, input: .message(data), scheme: .ecdsa(.sha256))
            let start = try await f.auditLog().count

            let opening = StandardCipherParameters(iv: sealed.iv, tagByteCount: 16)
            #expect(hsm.decryptStandardImmediately(token, key: aes.id, ciphertext: sealed.ciphertext, scheme: .aesGCM, parameters: opening) == data)
            let mine = try #require(hsm.encryptStandardImmediately(token, key: aes.id, plaintext: data, scheme: .aesGCM, parameters: gcm))
            #expect(mine.iv != sealed.iv && mine.version == sealed.version)
            let reopened = StandardCipherParameters(iv: mine.iv, tagByteCount: 16)
            #expect(try await hsm.decryptStandard(token, key: aes.id, ciphertext: mine.ciphertext, scheme: .aesGCM, parameters: reopened) == data)
            #expect(hsm.macStandardImmediately(token, key: hmac.id, data: data, hash: .sha256, version: nil) == tag)
            #expect(hsm.verifyMACStandardImmediately(token, key: hmac.id, data: data, tag: tag, hash: .sha256, version: nil) == true)
            #expect(hsm.verifyMACStandardImmediately(token, key: hmac.id, data: data + [0], tag: tag, hash: .sha256, version: nil) == false)
            let signature = try #require(hsm.signImmediately(token, key: signer.id, input: .message(data), scheme: .ecdsa(.sha256)))
            #expect(try await hsm.verify(token, key: signer.id, input: .message(data), signature: signature.signature, scheme: .ecdsa(.sha256), version: nil))

            let records = Array(try await f.auditLog().dropFirst(start))
            #expect(
                records.map(\.operation) == [
                    "key.decrypt", "key.encrypt", "key.decrypt", "key.mac", "key.verify_mac", "key.verify_mac", "key.sign", "key.verify",
                ],
                "\(records.map(\.operation))")
            #expect(records.allSatisfy { $0.result == "ok" && $0.session == f.alpha.user.session.id })
            #expect(records.map(\.object) == [aes.id, aes.id, aes.id, hmac.id, hmac.id, hmac.id, signer.id, signer.id])
            #expect(try await hsm.verifyAudit(f.alpha.auditor.token).isValid)
        }
    }

    @Test("nil, and nothing recorded, for an unknown session, another role, a key not in memory, a failing use or a refresh due")
    func nilWhenItWouldWait() async throws {
        try await LocalHSMSupport.withFixture(LocalHSMSupport.configuration(clock: clock)) { f, hsm in
            let token = f.alpha.user.token
            let aes = try await hsm.generateKey(token, spec: KeySpec(algorithm: .aes256, label: "aes"))
            let gcm = StandardCipherParameters(tagByteCount: 16)
            let sealed = try await hsm.encryptStandard(token, key: aes.id, plaintext: data, scheme: .aesGCM, parameters: gcm)
            let start = try await f.auditLog().count

            let stranger = SessionToken("rds1.nosuchsession.secret")
            #expect(hsm.encryptStandardImmediately(stranger, key: aes.id, plaintext: data, scheme: .aesGCM, parameters: gcm) == nil)
            #expect(hsm.encryptStandardImmediately(f.alpha.auditor.token, key: aes.id, plaintext: data, scheme: .aesGCM, parameters: gcm) == nil)
            #expect(hsm.encryptStandardImmediately(token, key: "no-such-key", plaintext: data, scheme: .aesGCM, parameters: gcm) == nil)
            #expect(hsm.signImmediately(token, key: aes.id, input: .message(data), scheme: .ecdsa(.sha256)) == nil, "an AES key signs nothing")
            var altered = sealed.ciphertext
            altered[0] ^= 1
            let opening = StandardCipherParameters(iv: sealed.iv, tagByteCount: 16)
            #expect(hsm.decryptStandardImmediately(token, key: aes.id, ciphertext: altered, scheme: .aesGCM, parameters: opening) == nil)
            #expect(try await f.auditLog().count == start, "a use that did not run here was recorded")

            // A cache refresh due is the ordinary call's to make; after it, the use runs here again.
            clock.advance(by: 1)
            #expect(hsm.encryptStandardImmediately(token, key: aes.id, plaintext: data, scheme: .aesGCM, parameters: gcm) == nil)
            _ = try await hsm.encryptStandard(token, key: aes.id, plaintext: data, scheme: .aesGCM, parameters: gcm)
            #expect(hsm.encryptStandardImmediately(token, key: aes.id, plaintext: data, scheme: .aesGCM, parameters: gcm) != nil)
        }
    }

    @Test("a key under an approval policy never signs here: the ordinary call makes the request")
    func governedKeysWait() async throws {
        try await ApprovalKit.with(clock) { kit in
            let hsm = try kit.local
            let key = try await kit.governedSigner(KeyPolicy(use: ApprovalKit.rule(["ann"], quorum: 1)))
            await expectHSMError(.failedPrecondition, "approval policy") { try await hsm.sign(kit.user, key: key.id, input: .message(data), scheme: .ed25519) }
            #expect(hsm.signImmediately(kit.user, key: key.id, input: .message(data), scheme: .ed25519) == nil)
        }
    }
}
