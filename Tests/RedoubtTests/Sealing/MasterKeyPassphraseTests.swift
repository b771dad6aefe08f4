import Foundation
import Redoubt
import Testing

@Suite("Master key: create and unseal by passphrase")
struct MasterKeyPassphraseTests {
    @Test("a passphrase unseals the key it sealed")
    func roundTrip() throws {
        let (master, envelope, shares) = try MasterKey.create(passphrase: testPassphrase, shares: nil, dev: false, scrypt: fastScrypt)
        #expect(shares.isEmpty)
        #expect(envelope.keyID == master.keyID)
        #expect(envelope.keyID.count == 32)
        #expect(envelope.passphrase?.scrypt == fastScrypt)
        #expect(envelope.passphrase?.salt.count == 32)
        #expect(envelope.keyCheckValue.count == 8)
        let unsealed = try MasterKey.unseal(envelope: envelope, passphrase: testPassphrase)
        #expect(unsealed == master)
    }

    @Test("a wrong passphrase is refused with one coarse message")
    func wrongPassphrase() throws {
        let (_, envelope, _) = try MasterKey.create(passphrase: testPassphrase, shares: nil, dev: false, scrypt: fastScrypt)
        for attempt in ["correct horse battery stapl", "Correct horse battery staple", "", String(repeating: "x", count: 2000)] {
            let error = expectSealingError(.authenticationFailure) { try MasterKey.unseal(envelope: envelope, passphrase: attempt) }
            #expect(error?.message == "wrong passphrase or damaged envelope")
        }
    }

    @Test("the envelope survives serialization and holds no key bytes")
    func serializedEnvelope() throws {
        let (master, envelope, shares) = try MasterKey.create(
            passphrase: testPassphrase, shares: (threshold: 2, count: 3), dev: false, scrypt: fastScrypt)
        let stored = try envelope.serialized()
        let loaded = try MasterKeyEnvelope(serialized: stored)
        #expect(loaded == envelope)
        #expect(try MasterKey.unseal(envelope: loaded, passphrase: testPassphrase) == master)
        let text = String(decoding: stored, as: UTF8.self)
        #expect(!leaks(try masterBytes(from: shares), in: text))
        for share in shares { #expect(!leaks(share.bytes.exportedBytes(), in: text)) }
    }

    @Test("a damaged envelope is refused without trying absurd scrypt costs")
    func damagedEnvelope() throws {
        let (_, envelope, _) = try MasterKey.create(passphrase: testPassphrase, shares: nil, dev: false, scrypt: fastScrypt)
        var json = try #require(try JSONSerialization.jsonObject(with: envelope.serialized()) as? [String: Any])
        var slot = try #require(json["passphrase"] as? [String: Any])
        slot["scrypt"] = ["n": 1 << 30, "r": 8, "p": 1]
        json["passphrase"] = slot
        expectSealingError(.malformedEnvelope) { try MasterKeyEnvelope(serialized: try JSONSerialization.data(withJSONObject: json)) }

        json = try #require(try JSONSerialization.jsonObject(with: envelope.serialized()) as? [String: Any])
        json["version"] = 2
        expectSealingError(.unsupportedVersion) { try MasterKeyEnvelope(serialized: try JSONSerialization.data(withJSONObject: json)) }

        // A different key-check value: the right passphrase no longer unseals (coarse error).
        json = try #require(try JSONSerialization.jsonObject(with: envelope.serialized()) as? [String: Any])
        json["keyCheckValue"] = Data(repeating: 0, count: 8).base64EncodedString()
        let altered = try MasterKeyEnvelope(serialized: try JSONSerialization.data(withJSONObject: json))
        expectSealingError(.authenticationFailure) { try MasterKey.unseal(envelope: altered, passphrase: testPassphrase) }

        expectSealingError(.malformedEnvelope) { try MasterKeyEnvelope(serialized: Data("{}".utf8)) }
    }

    @Test("creation validates its parameters with clear errors")
    func validation() throws {
        let short = expectSealingError(.invalidArgument) {
            try MasterKey.create(passphrase: "short pass", shares: nil, dev: false, scrypt: fastScrypt)
        }
        #expect(short?.message.contains("at least 12 characters") == true)
        let none = expectSealingError(.invalidArgument) { try MasterKey.create(passphrase: nil, shares: nil, dev: false) }
        #expect(none?.message.contains("at least one unseal method") == true)
        let one = expectSealingError(.invalidArgument) { try MasterKey.create(passphrase: nil, shares: (1, 3), dev: false) }
        #expect(one?.message.contains("at least 2") == true)
        expectSealingError(.invalidArgument) { try MasterKey.create(passphrase: nil, shares: (4, 3), dev: false) }
        expectSealingError(.invalidArgument) { try MasterKey.create(passphrase: nil, shares: (2, 17), dev: false) }
        expectSealingError(.invalidArgument) {
            try MasterKey.create(passphrase: testPassphrase, shares: nil, dev: false, scrypt: ScryptParameters(n: 1000))
        }
        // Exactly 12 characters is enough; 16 shares is the limit.
        _ = try MasterKey.create(passphrase: "twelve chars", shares: (16, 16), dev: false, scrypt: fastScrypt)
    }

    @Test("production defaults use scrypt N = 2^15")
    func defaults() throws {
        #expect(ScryptParameters.defaults == ScryptParameters(n: 1 << 15, r: 8, p: 1))
        let (master, envelope, _) = try MasterKey.create(passphrase: testPassphrase, shares: nil, dev: false)
        #expect(envelope.passphrase?.scrypt.n == 1 << 15)
        #expect(try MasterKey.unseal(envelope: envelope, passphrase: testPassphrase) == master)
    }

    @Test("a passphrase unseals whatever its Unicode normalization")
    func unicodeNormalization() throws {
        let composed = "caf\u{E9} au lait, s'il vous pla\u{EE}t"
        let decomposed = "cafe\u{301} au lait, s'il vous plai\u{302}t"
        #expect(Array(composed.utf8) != Array(decomposed.utf8))
        let (master, envelope, _) = try MasterKey.create(passphrase: composed, shares: nil, dev: false, scrypt: fastScrypt)
        #expect(try MasterKey.unseal(envelope: envelope, passphrase: decomposed) == master)
    }

    @Test("an envelope without a passphrase slot says how to unseal instead")
    func noPassphraseSlot() throws {
        let (_, envelope, _) = try MasterKey.create(passphrase: nil, shares: (2, 3), dev: false)
        let error = expectSealingError(.invalidArgument) { try MasterKey.unseal(envelope: envelope, passphrase: testPassphrase) }
        #expect(error?.message.contains("shares") == true)
    }
}
