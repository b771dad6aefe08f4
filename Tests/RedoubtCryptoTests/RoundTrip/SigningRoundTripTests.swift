import Foundation
import PropertyBased
import RedoubtCrypto
import Testing

/// sign → verify over generated messages, for every signing algorithm and every scheme
/// that fits it; a flipped message bit must not verify.
@Suite("Round trip: signatures")
struct SigningRoundTripTests {
    /// Signs `message` (as a message and, where the scheme hashes, as a digest), verifies it,
    /// and checks that a flipped bit fails. Returns the message signature.
    @discardableResult
    static func roundTrip(
        _ key: SigningKey, _ scheme: SignatureScheme, message: Data, bit: Int,
        sourceLocation: SourceLocation = #_sourceLocation
    ) throws -> Data {
        let verifier = key.verifyingKey
        let tampered = message.flippingBit(bit)
        var inputs: [(SigningInput, SigningInput)] = [(.message(message), .message(tampered))]
        if let hash = scheme.hash {
            inputs.append((.digest(Hashing.digest(message, hash)), .digest(Hashing.digest(tampered, hash))))
        }
        var first = Data()
        for (input, bad) in inputs {
            let signature = try key.signature(for: input, scheme: scheme)
            if first.isEmpty { first = signature }
            #expect(
                try verifier.isValidSignature(signature, for: input, scheme: scheme),
                "\(key.privateKey.algorithm) \(scheme): own signature does not verify", sourceLocation: sourceLocation)
            #expect(
                try !verifier.isValidSignature(signature, for: bad, scheme: scheme),
                "\(key.privateKey.algorithm) \(scheme): verifies after a flipped bit", sourceLocation: sourceLocation)
            // A message signature and a signature over its digest are interchangeable.
            if case .digest = input {
                #expect(
                    try verifier.isValidSignature(signature, for: .message(message), scheme: scheme),
                    sourceLocation: sourceLocation)
            }
        }
        return first
    }

    @Test("ECDSA, every curve × hash × encoding × input", arguments: KeyAlgorithm.ecdsaCurves)
    func ecdsa(_ algorithm: KeyAlgorithm) async throws {
        let key = try SigningKey(PrivateKey.generate(algorithm))
        let field = algorithm == .p521 ? 66 : algorithm.bitSize / 8
        await propertyCheck(count: 20, input: Bytes.message, Gen.int(in: 0...32767)) { message, bit in
            for hash in HashAlgorithm.allCases {
                for encoding in [ECDSASignatureEncoding.der, .raw] {
                    let scheme = SignatureScheme.ecdsa(hash, encoding: encoding)
                    let signature = try Self.roundTrip(key, scheme, message: message, bit: bit)
                    if encoding == .raw {
                        #expect(signature.count == 2 * field, "\(algorithm) raw signature length")
                    } else {
                        #expect(signature.first == 0x30 && signature.count <= 2 * field + 9, "\(algorithm) DER signature shape")
                    }
                }
            }
        }
    }

    @Test("secp256k1 signs low-S; .strict refuses the high-S twin that .standard accepts")
    func secp256k1LowS() async throws {
        let key = try SigningKey(PrivateKey.generate(.secp256k1))
        let verifier = key.verifyingKey
        let n = ECDSAMath.secp256k1Order
        let halfOrder = try #require(Data(hex: "7fffffffffffffffffffffffffffffff5d576e7357a4501ddfe92f46681b20a0"))
        await propertyCheck(count: 30, input: Bytes.message) { message in
            let input = SigningInput.message(message)
            let raw = try key.signature(for: input, scheme: .ecdsa(.sha256, encoding: .raw))
            let r = Array(raw.prefix(32)), s = Array(raw.suffix(32))
            #expect(!ECDSADER.isGreater(s, than: Array(halfOrder)), "secp256k1 produced a high-S signature")
            #expect(try verifier.isValidSignature(raw, for: input, scheme: .ecdsa(.sha256, encoding: .raw, lowS: .strict)))
            let der = try key.signature(for: input, scheme: .ecdsa(.sha256, encoding: .der))
            #expect(try verifier.isValidSignature(der, for: input, scheme: .ecdsa(.sha256, encoding: .der, lowS: .strict)))

            // The twin (r, n − s) is the same signature in high-S form.
            let twinS = ECDSAMath.subtract(n, s)
            #expect(ECDSADER.isGreater(twinS, than: Array(halfOrder)))
            for (encoding, twin) in [(ECDSASignatureEncoding.raw, Data(r + twinS)), (.der, ECDSAMath.der(r: r, s: twinS))] {
                #expect(
                    try verifier.isValidSignature(twin, for: input, scheme: .ecdsa(.sha256, encoding: encoding, lowS: .standard)),
                    "\(encoding): .standard must accept the high-S twin")
                #expect(
                    try verifier.isValidSignature(twin, for: input, scheme: .ecdsa(.sha256, encoding: encoding, lowS: .strict)) == false,
                    "\(encoding): .strict must refuse the high-S twin")
            }
        }
    }

    @Test("RSA-PSS, RSA-PKCS#1 v1.5 and raw PKCS#1 v1.5 over a DigestInfo (2048) × hash × input")
    func rsa() async throws {
        let key = try SigningKey(SharedKeys.rsa2048.get())
        await propertyCheck(count: 10, input: Bytes.message, Gen.int(in: 0...32767)) { message, bit in
            for hash in HashAlgorithm.allCases {
                for scheme in [SignatureScheme.rsaPSS(hash), .rsaPKCS1v15(hash)] {
                    let signature = try Self.roundTrip(key, scheme, message: message, bit: bit)
                    #expect(signature.count == 256)
                }
                // PKCS#1 v1.5 is deterministic; PSS is salted.
                let p1 = try key.signature(for: .message(message), scheme: .rsaPKCS1v15(hash))
                #expect(try p1 == key.signature(for: .message(message), scheme: .rsaPKCS1v15(hash)))
                let pss = try key.signature(for: .message(message), scheme: .rsaPSS(hash))
                #expect(try pss != key.signature(for: .message(message), scheme: .rsaPSS(hash)))
                // A PSS signature is not a PKCS#1 v1.5 signature, and the hash is bound.
                #expect(try !key.verifyingKey.isValidSignature(pss, for: .message(message), scheme: .rsaPKCS1v15(hash)))
                let other: HashAlgorithm = hash == .sha256 ? .sha384 : .sha256
                #expect(try !key.verifyingKey.isValidSignature(p1, for: .message(message), scheme: .rsaPKCS1v15(other)))
                // Raw PKCS#1 v1.5 over the DigestInfo the caller encoded is the same signature.
                let digestInfo = hash.digestInfoPrefix + Hashing.digest(message, hash)
                let raw = try key.signature(for: .message(digestInfo), scheme: .rsaPKCS1v15Raw)
                #expect(raw == p1, "raw PKCS#1 v1.5 over a \(hash) DigestInfo")
                #expect(try key.verifyingKey.isValidSignature(p1, for: .message(digestInfo), scheme: .rsaPKCS1v15Raw))
                #expect(try !key.verifyingKey.isValidSignature(pss, for: .message(digestInfo), scheme: .rsaPKCS1v15Raw))
            }
        }
    }

    @Test("Ed25519")
    func ed25519() async throws {
        let key = try SigningKey(PrivateKey.generate(.ed25519))
        await propertyCheck(count: 50, input: Bytes.message, Gen.int(in: 0...32767)) { message, bit in
            let signature = try Self.roundTrip(key, .ed25519, message: message, bit: bit)
            #expect(signature.count == 64)
            // Ed25519 is deterministic.
            #expect(try signature == key.signature(for: .message(message), scheme: .ed25519))
        }
    }

    @Test("ML-DSA with and without context", arguments: [KeyAlgorithm.mldsa65, .mldsa87])
    func mldsa(_ algorithm: KeyAlgorithm) async throws {
        let key = try SigningKey(PrivateKey.generate(algorithm))
        let signatureLength = algorithm == .mldsa65 ? 3309 : 4627
        await propertyCheck(count: 15, input: Bytes.message, Bytes.data(0...255), Gen.int(in: 0...32767)) { message, context, bit in
            for ctx in [Data(), context] {
                let signature = try Self.roundTrip(key, .mldsa(context: ctx), message: message, bit: bit)
                #expect(signature.count == signatureLength)
                // The context is bound into the signature.
                #expect(
                    try !key.verifyingKey.isValidSignature(
                        signature, for: .message(message),
                        scheme: .mldsa(context: ctx.flippingBit(bit))))
            }
        }
    }
}
