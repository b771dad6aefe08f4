import Foundation
import RedoubtCrypto
import Testing

/// Secrets stay secret: no printed form of a secret-holding value (description,
/// debugDescription, interpolation, `dump`) and no error message contains key bytes,
/// in hex (either case), base64 or base64url, whole or as an 8-byte window.
@Suite("Secrets stay secret")
struct SecrecyTests {
    /// Every way a value can end up printed.
    static func renderings(_ value: Any) -> [String] {
        var dumped = ""
        dump(value, to: &dumped)
        return [String(describing: value), String(reflecting: value), "\(value)", dumped]
    }

    /// Forms of `secret` that must not appear: whole encodings, and hex of every 8-byte window.
    static func forbidden(_ secret: Data) -> [String] {
        let b64 = secret.base64EncodedString()
        let b64url = b64.replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_").replacingOccurrences(of: "=", with: "")
        var forms = [secret.hex, secret.hex.uppercased(), String(b64.dropLast(4)), String(b64url.dropLast(4))]
        let bytes = Array(secret)
        if bytes.count >= 8 {
            for i in 0...(bytes.count - 8) {
                let window = Data(bytes[i..<(i + 8)]).hex
                forms += [window, window.uppercased()]
            }
        }
        return forms.filter { $0.count >= 8 }
    }

    static func expectNoLeak(_ value: Any, of secret: Data, _ what: String, sourceLocation: SourceLocation = #_sourceLocation) {
        let forms = forbidden(secret)
        for text in renderings(value) {
            let leaked = forms.first { text.contains($0) }
            #expect(leaked == nil, "\(what) prints key bytes (\(leaked ?? "")) in: \(text.prefix(200))", sourceLocation: sourceLocation)
        }
    }

    /// The detector itself: leaky renderings in every encoding are caught, clean ones are not.
    @Test("The leak detector catches hex, base64 and partial leaks")
    func detector() throws {
        let secret = try Random.bytes(count: 32)
        struct Printed: CustomStringConvertible { let description: String }
        func leaks(_ text: String) -> Bool {
            let forms = Self.forbidden(secret)
            return Self.renderings(Printed(description: text)).contains { t in forms.contains { t.contains($0) } }
        }
        #expect(leaks("key=\(secret.hex)"))
        #expect(leaks("KEY=\(secret.hex.uppercased())"))
        #expect(leaks(secret.base64EncodedString()))
        #expect(leaks(String(secret.base64EncodedString().prefix(40))))
        #expect(leaks("…" + Data(secret[7..<15]).hex + "…"), "an 8-byte window")
        #expect(!leaks("SecretKey(AES-256, <redacted>)"))
    }

    @Test("SecretBytes and SecretKey")
    func secretKeys() throws {
        for algorithm in [KeyAlgorithm.aes128, .aes192, .aes256, .genericSecret] {
            let key = try SecretKey.generate(algorithm)
            let bytes = key.material.exportedBytes()
            Self.expectNoLeak(key, of: bytes, "SecretKey(\(algorithm))")
            Self.expectNoLeak(key.material, of: bytes, "SecretBytes")
            #expect(key.description.contains("redacted"))
            #expect(key.material.description == "SecretBytes(<redacted>, \(bytes.count) bytes)")
        }
        let random = try SecretBytes.random(count: 64)
        Self.expectNoLeak(random, of: random.exportedBytes(), "random SecretBytes")
        let derived = try KDF.derive(random, .hkdf(.sha256, outputByteCount: 48))
        Self.expectNoLeak(derived, of: derived.exportedBytes(), "derived SecretBytes")
    }

    @Test("PrivateKey and its role views", arguments: EncodingRoundTripTests.algorithms)
    func privateKeys(_ algorithm: KeyAlgorithm) throws {
        let key = try EncodingRoundTripTests.key(algorithm)
        let pkcs8 = try key.pkcs8Representation()
        let pkcs8Bytes = pkcs8.exportedBytes()
        let secretPart = privatePart(of: pkcs8Bytes, publicKey: key.publicKey)
        Self.expectNoLeak(key, of: secretPart, "PrivateKey(\(algorithm))")
        Self.expectNoLeak(pkcs8, of: pkcs8Bytes, "PKCS#8 SecretBytes")
        if let signing = try? SigningKey(key) { Self.expectNoLeak(signing, of: secretPart, "SigningKey(\(algorithm))") }
        if let agreement = try? AgreementKey(key) { Self.expectNoLeak(agreement, of: secretPart, "AgreementKey(\(algorithm))") }
        if let decryption = try? DecryptionKey(key) { Self.expectNoLeak(decryption, of: secretPart, "DecryptionKey(\(algorithm))") }
        if let decapsulation = try? DecapsulationKey(key) { Self.expectNoLeak(decapsulation, of: secretPart, "DecapsulationKey(\(algorithm))") }
        #expect(key.description == "PrivateKey(\(algorithm), <redacted>)")
    }

    /// A stretch of PKCS#8 bytes that is private: the bytes not shared with the public key
    /// encoding (EC: the scalar before the public point; others: the last 32 non-public bytes).
    func privatePart(of pkcs8: Data, publicKey: PublicKey) -> Data {
        var bytes = pkcs8
        let pub = publicKey.rawRepresentation
        if pub.count >= 8, let range = bytes.range(of: pub) { bytes.removeSubrange(range) }
        if publicKey.algorithm.isRSA, let range = bytes.range(of: pub.dropFirst()) { bytes.removeSubrange(range) }
        return bytes.suffix(32)
    }

    @Test(
        "Raw private values never appear, whatever the algorithm",
        arguments: [
            (KeyAlgorithm.p256, 32), (.p384, 48), (.secp256k1, 32), (.brainpoolP256r1, 32), (.ed25519, 32),
            (.x25519, 32), (.mldsa65, 32), (.mlkem768, 64),
        ])
    func knownRawValues(_ algorithm: KeyAlgorithm, _ width: Int) throws {
        var raw = try Random.bytes(count: width)
        raw[0] &= 0x7f  // below every curve order
        let key = try PrivateKey(rawRepresentation: raw, algorithm: algorithm)
        Self.expectNoLeak(key, of: raw, "PrivateKey(\(algorithm))")
        if let signing = try? SigningKey(key) { Self.expectNoLeak(signing, of: raw, "SigningKey(\(algorithm))") }
        if let agreement = try? AgreementKey(key) { Self.expectNoLeak(agreement, of: raw, "AgreementKey(\(algorithm))") }
    }

    @Test("Error messages never carry key bytes")
    func errors() throws {
        let secret = Data((0..<48).map { UInt8(truncatingIfNeeded: $0 &* 37 &+ 11) })
        var errors: [Error] = []
        func collect(_ body: () throws -> Any) { do { _ = try body() } catch { errors.append(error) } }
        collect { try PrivateKey(rawRepresentation: secret, algorithm: .p256) }
        collect { try PrivateKey(rawRepresentation: secret.prefix(32), algorithm: .mlkem768) }
        collect { try PrivateKey(pkcs8DER: secret) }
        collect { try SecretKey(algorithm: .aes256, material: SecretBytes(secret)) }
        collect { try SecretKey(algorithm: .aes256, material: SecretBytes(secret.prefix(32))).decrypt(secret, scheme: .aesGCM) }
        collect { try SecretKey(algorithm: .aes256, material: SecretBytes(secret.prefix(32))).unwrap(secret, scheme: .aesKW) }
        collect { try PublicKey(jwk: Data(#"{"kty":"EC","crv":"P-256","x":"AA","y":"AA","d":"\#(secret.base64EncodedString())"}"#.utf8)) }
        #expect(errors.count == 7)
        for error in errors {
            Self.expectNoLeak(error, of: secret, "error \(type(of: error))")
            Self.expectNoLeak(error, of: secret.prefix(32), "error \(type(of: error))")
        }
    }
}
