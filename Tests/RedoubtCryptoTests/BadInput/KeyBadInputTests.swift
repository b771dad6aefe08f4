import Foundation
import PropertyBased
import RedoubtCrypto
import Testing

/// Malformed, truncated, oversized, garbage and wrong-curve keys: every one is a typed
/// `CryptoError` (never a trap, never another error type).
@Suite("Bad input: keys")
struct KeyBadInputTests {
    static let p256 = Result { try PrivateKey.generate(.p256) }
    static let p384 = Result { try PrivateKey.generate(.p384) }
    static let secp256k1 = Result { try PrivateKey.generate(.secp256k1) }
    static let ed25519 = Result { try PrivateKey.generate(.ed25519) }

    @Test("SPKI: empty, truncated, oversized, trailing data, garbage", arguments: EncodingRoundTripTests.algorithms)
    func spki(_ algorithm: KeyAlgorithm) async throws {
        let der = try EncodingRoundTripTests.key(algorithm).publicKey.spkiDER
        expectCryptoError(.invalidKey, "empty SPKI") { try PublicKey(spkiDER: Data()) }
        expectCryptoError(.invalidKey, "SPKI + trailing byte") { try PublicKey(spkiDER: der + [0]) }
        expectCryptoError(.invalidKey, "oversized SPKI") { try PublicKey(spkiDER: der + Data(count: 16 * 1024)) }
        await propertyCheck(count: 30, input: Gen.int(in: 0...(der.count - 1)), Bytes.data(1...512)) { cut, garbage in
            expectCryptoError(.invalidKey, "\(algorithm) SPKI truncated to \(cut)") { try PublicKey(spkiDER: der.prefix(cut)) }
            expectCryptoError(.invalidKey, "garbage SPKI") { try PublicKey(spkiDER: garbage) }
            expectCryptoError(.invalidKey, "garbage PEM") { try PublicKey(pem: garbage.base64EncodedString()) }
        }
    }

    @Test("PKCS#8: empty, truncated, oversized, trailing data, garbage", arguments: EncodingRoundTripTests.algorithms)
    func pkcs8(_ algorithm: KeyAlgorithm) async throws {
        let der = try EncodingRoundTripTests.key(algorithm).pkcs8Representation().exportedBytes()
        expectCryptoError(.invalidKey, "empty PKCS#8") { try PrivateKey(pkcs8DER: Data()) }
        expectCryptoError(.invalidKey, "PKCS#8 + trailing byte") { try PrivateKey(pkcs8DER: der + [0]) }
        expectCryptoError(.invalidKey, "oversized PKCS#8") { try PrivateKey(pkcs8DER: der + Data(count: 16 * 1024)) }
        await propertyCheck(count: 30, input: Gen.int(in: 0...(der.count - 1)), Bytes.data(1...512)) { cut, garbage in
            expectCryptoError(.invalidKey, "\(algorithm) PKCS#8 truncated to \(cut)") { try PrivateKey(pkcs8DER: der.prefix(cut)) }
            expectCryptoError(.invalidKey, "garbage PKCS#8") { try PrivateKey(pkcs8DER: garbage) }
        }
    }

    @Test("PKCS#8 whose embedded public key belongs to another key")
    func pkcs8PublicMismatch() throws {
        // EC: the ECPrivateKey's [1] public point swapped for another key's.
        for algorithm in KeyAlgorithm.ecdsaCurves {
            let a = try PrivateKey.generate(algorithm), b = try PrivateKey.generate(algorithm)
            let der = try a.pkcs8Representation().exportedBytes()
            let range = try #require(der.range(of: a.publicKey.rawRepresentation))
            var swapped = der
            swapped.replaceSubrange(range, with: b.publicKey.rawRepresentation)
            expectCryptoError(.invalidKey, "\(algorithm) PKCS#8 with a foreign public point") { try PrivateKey(pkcs8DER: swapped) }
        }
        // Ed25519 OneAsymmetricKey (v2) with a [1] public key: matching imports, foreign is refused.
        let seed = try Random.bytes(count: 32)
        let key = try PrivateKey(rawRepresentation: seed, algorithm: .ed25519)
        let other = try PrivateKey.generate(.ed25519)
        func v2(_ pub: Data) -> Data {
            Data([0x30, 0x51, 0x02, 0x01, 0x01, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x04, 0x22, 0x04, 0x20]) + seed
                + Data([0x81, 0x21, 0x00]) + pub
        }
        #expect(try PrivateKey(pkcs8DER: v2(key.publicKey.rawRepresentation)).publicKey == key.publicKey)
        expectCryptoError(.invalidKey, "Ed25519 v2 with a foreign public key") { try PrivateKey(pkcs8DER: v2(other.publicKey.rawRepresentation)) }
    }

    @Test("PEM: wrong label, no armour, bad base64, two blocks, oversized")
    func pem() throws {
        let key = try Self.p256.get()
        let pkcs8 = try key.pkcs8Representation().exportedBytes()
        let publicPEM = key.publicKey.pem
        expectCryptoError(.invalidKey, "empty PEM") { try PublicKey(pem: "") }
        expectCryptoError(.invalidKey, "private label for a public key") { try PublicKey(pem: pemEncode(key.publicKey.spkiDER, label: "PRIVATE KEY")) }
        expectCryptoError(.invalidKey, "public label for a private key") { try PrivateKey(pkcs8PEM: publicPEM) }
        expectCryptoError(.invalidKey, "bare base64") { try PublicKey(pem: key.publicKey.spkiDER.base64EncodedString()) }
        expectCryptoError(.invalidKey, "bad base64") { try PublicKey(pem: publicPEM.replacingOccurrences(of: "M", with: "!")) }
        expectCryptoError(.invalidKey, "two blocks") { try PublicKey(pem: publicPEM + publicPEM) }
        expectCryptoError(.invalidKey, "empty body") { try PublicKey(pem: "-----BEGIN PUBLIC KEY-----\n-----END PUBLIC KEY-----") }
        expectCryptoError(.invalidKey, "PEM over 64 KiB") { try PublicKey(pem: publicPEM + String(repeating: " ", count: 64 * 1024)) }
        expectCryptoError(.invalidKey, "truncated PEM body") {
            try PrivateKey(pkcs8PEM: pemEncode(pkcs8.prefix(pkcs8.count - 3), label: "PRIVATE KEY"))
        }
        // Surrounding whitespace is fine.
        #expect(try PublicKey(pem: "\n  " + publicPEM + "\n\n") == key.publicKey)
    }

    @Test("JWK: malformed, incomplete, private, wrong sizes, non-canonical base64url")
    func jwk() throws {
        let key = try Self.p256.get().publicKey
        let json = try #require(try JSONSerialization.jsonObject(with: Data(key.jwk().utf8)) as? [String: String])
        func variant(_ change: (inout [String: String]) -> Void) throws -> Data {
            var j = json
            change(&j)
            return try JSONSerialization.data(withJSONObject: j)
        }
        expectCryptoError(.invalidKey, "empty") { try PublicKey(jwk: Data()) }
        expectCryptoError(.invalidKey, "not JSON") { try PublicKey(jwk: Data("kty=EC".utf8)) }
        expectCryptoError(.invalidKey, "JSON array") { try PublicKey(jwk: Data("[]".utf8)) }
        expectCryptoError(.invalidKey, "no kty") { try PublicKey(jwk: variant { $0["kty"] = nil }) }
        expectCryptoError(.invalidKey, "unknown kty") { try PublicKey(jwk: variant { $0["kty"] = "oct" }) }
        expectCryptoError(.invalidKey, "unknown crv") { try PublicKey(jwk: variant { $0["crv"] = "P-192" }) }
        expectCryptoError(.invalidKey, "no y") { try PublicKey(jwk: variant { $0["y"] = nil }) }
        expectCryptoError(.invalidKey, "private d") { try PublicKey(jwk: variant { $0["d"] = $0["x"] }) }
        expectCryptoError(.invalidKey, "padded base64url") { try PublicKey(jwk: variant { $0["x"] = ($0["x"] ?? "") + "=" }) }
        expectCryptoError(.invalidKey, "standard base64") {
            try PublicKey(jwk: variant { $0["x"] = Data(key.rawRepresentation.dropFirst().prefix(32)).base64EncodedString() })
        }
        expectCryptoError(.invalidKey, "short x") { try PublicKey(jwk: variant { $0["x"] = String(($0["x"] ?? "").dropLast(4)) }) }
        expectCryptoError(.invalidKey, "P-384 coordinates as P-256") {
            try PublicKey(
                jwk: variant { j in
                    let p384 = (try? Self.p384.get().publicKey.jwk()).flatMap { try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: String] }
                    j["x"] = p384?["x"]
                    j["y"] = p384?["y"]
                })
        }
        expectCryptoError(.invalidKey, "point off the curve") {
            try PublicKey(jwk: variant { $0["y"] = $0["x"] })
        }
        expectCryptoError(.invalidKey, "oversized JWK") { try PublicKey(jwk: Data(count: 64 * 1024 + 1)) }
        expectCryptoError(.invalidKey, "RSA with a 1024-bit modulus") {
            try PublicKey(jwk: Data(#"{"kty":"RSA","n":"\#(String(repeating: "w", count: 171))w","e":"AQAB"}"#.utf8))
        }
        expectCryptoError(.invalidKey, "AKP of an unknown algorithm") {
            try PublicKey(jwk: Data(#"{"kty":"AKP","alg":"ML-DSA-44","pub":"AAAA"}"#.utf8))
        }
        expectCryptoError(.invalidKey, "OKP with a short key") { try PublicKey(jwk: Data(#"{"kty":"OKP","crv":"Ed25519","x":"AAAA"}"#.utf8)) }
    }

    @Test("Raw EC points: empty, wrong length, wrong prefix, off the curve, wrong curve", arguments: KeyAlgorithm.ecdsaCurves)
    func rawPoints(_ algorithm: KeyAlgorithm) throws {
        let point = try PrivateKey.generate(algorithm).publicKey.rawRepresentation
        let field = (point.count - 1) / 2
        expectCryptoError(.invalidKey, "empty") { try PublicKey(rawRepresentation: Data(), algorithm: algorithm) }
        expectCryptoError(.invalidKey, "one byte short") { try PublicKey(rawRepresentation: point.dropLast(), algorithm: algorithm) }
        expectCryptoError(.invalidKey, "one byte long") { try PublicKey(rawRepresentation: point + [0], algorithm: algorithm) }
        expectCryptoError(.invalidKey, "prefix 05") { try PublicKey(rawRepresentation: [0x05] + point.dropFirst(), algorithm: algorithm) }
        expectCryptoError(.invalidKey, "point at infinity") { try PublicKey(rawRepresentation: [0x00], algorithm: algorithm) }
        expectCryptoError(.invalidKey, "all-zero coordinates") {
            try PublicKey(rawRepresentation: [0x04] + [UInt8](repeating: 0, count: 2 * field), algorithm: algorithm)
        }
        expectCryptoError(.invalidKey, "y flipped (off the curve)") {
            try PublicKey(rawRepresentation: point.flippingBit(point.count * 8 - 1), algorithm: algorithm)
        }
        expectCryptoError(.invalidKey, "oversized") { try PublicKey(rawRepresentation: Data(count: 5000), algorithm: algorithm) }
        // A point of another curve of a different size.
        let other: KeyAlgorithm = field == 32 ? .p384 : .p256
        let foreign = try PrivateKey.generate(other).publicKey.rawRepresentation
        expectCryptoError(.invalidKey, "\(other) point as \(algorithm)") { try PublicKey(rawRepresentation: foreign, algorithm: algorithm) }
    }

    @Test("Wrong-curve keys: P-384 as P-256, secp256k1 where P-256 is expected, curve OID swapped")
    func wrongCurve() throws {
        let p256 = try Self.p256.get(), p384 = try Self.p384.get(), k1 = try Self.secp256k1.get()
        // P-384 point given as P-256.
        expectCryptoError(.invalidKey, "P-384 point as P-256") { try PublicKey(rawRepresentation: p384.publicKey.rawRepresentation, algorithm: .p256) }
        // A secp256k1 point of the same size is (with overwhelming probability) off P-256.
        expectCryptoError(.invalidKey, "secp256k1 point as P-256") { try PublicKey(rawRepresentation: k1.publicKey.rawRepresentation, algorithm: .p256) }
        // secp256k1 SPKI where a P-256 key is expected: it imports as secp256k1, and ECDH refuses it.
        let imported = try PublicKey(spkiDER: k1.publicKey.spkiDER)
        #expect(imported.algorithm == .secp256k1)
        expectCryptoError(.invalidKey, "ECDH P-256 with a secp256k1 peer") { try AgreementKey(p256).sharedSecret(with: imported) }
        expectCryptoError(.invalidKey, "ECDH P-256 with a P-384 peer") { try AgreementKey(p256).sharedSecret(with: p384.publicKey) }
        // A P-384 SPKI whose curve OID says P-256: the point does not fit.
        let p256OID = Data([0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07])
        let p384OID = Data([0x06, 0x05, 0x2b, 0x81, 0x04, 0x00, 0x22])
        let swapped = try #require(swapOID(in: p384.publicKey.spkiDER, from: p384OID, to: p256OID))
        expectCryptoError(.invalidKey, "P-384 SPKI relabelled P-256") { try PublicKey(spkiDER: swapped) }
        // The secp256k1 SPKI relabelled as P-256 (same lengths): the point is off P-256.
        let k1OID = Data([0x06, 0x05, 0x2b, 0x81, 0x04, 0x00, 0x0a])
        let relabelled = try #require(swapOID(in: k1.publicKey.spkiDER, from: k1OID, to: p256OID))
        expectCryptoError(.invalidKey, "secp256k1 SPKI relabelled P-256") { try PublicKey(spkiDER: relabelled) }
        // An unknown curve OID (secp224r1).
        let unknown = try #require(swapOID(in: k1.publicKey.spkiDER, from: k1OID, to: Data([0x06, 0x05, 0x2b, 0x81, 0x04, 0x00, 0x21])))
        expectCryptoError(.invalidKey, "unsupported curve") { try PublicKey(spkiDER: unknown) }
    }

    /// Replaces one DER OID by another and fixes the two enclosing SEQUENCE lengths (short form).
    func swapOID(in der: Data, from: Data, to: Data) -> Data? {
        guard let range = der.range(of: from) else { return nil }
        var out = der
        out.replaceSubrange(range, with: to)
        let delta = to.count - from.count
        guard out.count > 4, out[out.startIndex] == 0x30, out[out.startIndex + 1] < 0x80, out[out.startIndex + 2] == 0x30 else { return nil }
        out[out.startIndex + 1] = UInt8(Int(out[out.startIndex + 1]) + delta)
        out[out.startIndex + 3] = UInt8(Int(out[out.startIndex + 3]) + delta)
        return out
    }

    /// Group orders (from `openssl ecparam -param_enc explicit`), field width.
    static let curveOrders: [(KeyAlgorithm, String)] = [
        (.p256, "ffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551"),
        (.p384, "ffffffffffffffffffffffffffffffffffffffffffffffffc7634d81f4372ddf581a0db248b0a77aecec196accc52973"),
        (.p521, "01fffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffa51868783bf2f966b7fcc0148f709a5d03bb5c9b8899c47aebb6fb71e91386409"),
        (.secp256k1, "fffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141"),
        (.brainpoolP256r1, "a9fb57dba1eea9bc3e660a909d838d718c397aa3b561a6f7901e0e82974856a7"),
        (.brainpoolP384r1, "8cb91e82a3386d280f5d6f7e50e641df152f7109ed5456b31f166e6cac0425a7cf3ab6af6b7fc3103b883202e9046565"),
    ]

    @Test("Raw private keys and other key material out of range")
    func rawPrivate() throws {
        for algorithm in KeyAlgorithm.ecdsaCurves + [.ed25519, .x25519, .mldsa65, .mlkem768] {
            expectCryptoError(.invalidKey, "\(algorithm) empty") { try PrivateKey(rawRepresentation: Data(), algorithm: algorithm) }
            expectCryptoError(.invalidKey, "\(algorithm) 31 bytes") { try PrivateKey(rawRepresentation: Data(count: 31), algorithm: algorithm) }
            expectCryptoError(.invalidKey, "\(algorithm) 100 bytes") { try PrivateKey(rawRepresentation: Data(count: 100), algorithm: algorithm) }
        }
        for algorithm in KeyAlgorithm.ecdsaCurves {
            let width = algorithm == .p521 ? 66 : algorithm.bitSize / 8
            expectCryptoError(.invalidKey, "\(algorithm) zero scalar") { try PrivateKey(rawRepresentation: Data(count: width), algorithm: algorithm) }
            expectCryptoError(.invalidKey, "\(algorithm) scalar ≥ n") {
                try PrivateKey(rawRepresentation: Data(repeating: 0xff, count: width), algorithm: algorithm)
            }
        }
        // The boundary: n − 1 is the largest valid scalar, n the smallest invalid one.
        for (algorithm, order) in Self.curveOrders {
            let n = try #require(Data(hex: order))
            expectCryptoError(.invalidKey, "\(algorithm) scalar = n") { try PrivateKey(rawRepresentation: n, algorithm: algorithm) }
            var nMinusOne = n
            nMinusOne[nMinusOne.count - 1] -= 1
            #expect(throws: Never.self, "\(algorithm) scalar = n − 1") { try PrivateKey(rawRepresentation: nMinusOne, algorithm: algorithm) }
            #expect(throws: Never.self, "\(algorithm) scalar = 1") {
                try PrivateKey(rawRepresentation: Data(count: n.count - 1) + [1], algorithm: algorithm)
            }
        }
        expectCryptoError(.unsupportedOperation, "RSA raw private") { try PrivateKey(rawRepresentation: Data(count: 256), algorithm: .rsa2048) }
        expectCryptoError(.unsupportedOperation, "RSA raw public") { try PublicKey(rawRepresentation: Data(count: 256), algorithm: .rsa2048) }
        expectCryptoError(.unsupportedOperation, "AES private key") { try PrivateKey.generate(.aes128) }
        expectCryptoError(.unsupportedOperation, "AES public key") { try PublicKey(rawRepresentation: Data(count: 16), algorithm: .aes128) }
        expectCryptoError(.invalidKey, "AES-128 with 15 bytes") { try SecretKey(algorithm: .aes128, material: SecretBytes(Data(count: 15))) }
        expectCryptoError(.invalidKey, "generic secret of 15 bytes") { try SecretKey(algorithm: .genericSecret, material: SecretBytes(Data(count: 15))) }
        expectCryptoError(.invalidKey, "generic secret of 129 bytes") { try SecretKey(algorithm: .genericSecret, material: SecretBytes(Data(count: 129))) }
        expectCryptoError(.unsupportedOperation, "P-256 secret key") { try SecretKey(algorithm: .p256, material: SecretBytes(Data(count: 32))) }
        expectCryptoError(.invalidInput, "AES-256 of 16 bytes") { try SecretKey.generate(.aes256, byteCount: 16) }
        expectCryptoError(.unsupportedOperation, "Ed25519 secret key") { try SecretKey.generate(.ed25519) }
    }

    @Test("RSA public numbers: wrong size, even modulus, bad exponent")
    func rsaNumbers() throws {
        let n = try SharedKeys.rsa2048.get().publicKey.rawRepresentation
        let e = Data([1, 0, 1])
        expectCryptoError(.invalidKey, "1024-bit modulus") { try PublicKey(rsaModulus: n.prefix(128), exponent: e) }
        expectCryptoError(.invalidKey, "2040-bit modulus") { try PublicKey(rsaModulus: Data([0x7f]) + n.dropFirst(), exponent: e) }
        expectCryptoError(.invalidKey, "even modulus") { try PublicKey(rsaModulus: n.flippingBit(n.count * 8 - 1), exponent: e) }
        expectCryptoError(.invalidKey, "exponent 1") { try PublicKey(rsaModulus: n, exponent: Data([1])) }
        expectCryptoError(.invalidKey, "even exponent") { try PublicKey(rsaModulus: n, exponent: Data([1, 0, 0])) }
        expectCryptoError(.invalidKey, "empty exponent") { try PublicKey(rsaModulus: n, exponent: Data()) }
        expectCryptoError(.invalidKey, "empty modulus") { try PublicKey(rsaModulus: Data(), exponent: e) }
        expectCryptoError(.invalidKey, "exponent over 64 bits") { try PublicKey(rsaModulus: n, exponent: Data(repeating: 0xff, count: 9)) }
        #expect(
            try PublicKey(rsaModulus: Data([0, 0]) + n, exponent: Data([0]) + e) == PublicKey(rsaModulus: n, exponent: e),
            "leading zero bytes are not significant")
    }
}
