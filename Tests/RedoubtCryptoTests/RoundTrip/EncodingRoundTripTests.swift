import Foundation
import PropertyBased
import RedoubtCrypto
import Testing

/// encode → decode to equal keys, for every asymmetric algorithm: PKCS#8 DER and PEM,
/// SPKI DER and PEM, raw, JWK.
@Suite("Round trip: key encodings")
struct EncodingRoundTripTests {
    /// A fresh key, except RSA: one shared 2048-bit key (generation is slow), plus fresh keys of
    /// the other sizes only in the dedicated RSA test.
    static func key(_ algorithm: KeyAlgorithm) throws -> PrivateKey {
        algorithm == .rsa2048 ? try SharedKeys.rsa2048.get() : try PrivateKey.generate(algorithm)
    }

    static let algorithms = KeyAlgorithm.asymmetric.filter { $0 != .rsa3072 && $0 != .rsa4096 }

    /// Checks every encoding of `key`.
    static func checkEncodings(_ key: PrivateKey, sourceLocation: SourceLocation = #_sourceLocation) throws {
        let algorithm = key.algorithm
        let pub = key.publicKey
        #expect(pub.algorithm == algorithm, sourceLocation: sourceLocation)

        // PKCS#8 DER and PEM.
        let pkcs8 = try key.pkcs8Representation().exportedBytes()
        let back = try PrivateKey(pkcs8DER: pkcs8)
        #expect(back.algorithm == algorithm, sourceLocation: sourceLocation)
        #expect(back.publicKey == pub, "\(algorithm): PKCS#8 round trip changed the key", sourceLocation: sourceLocation)
        #expect(try back.pkcs8Representation().exportedBytes() == pkcs8, "\(algorithm): PKCS#8 not canonical", sourceLocation: sourceLocation)
        let fromPEM = try PrivateKey(pkcs8PEM: pemEncode(pkcs8, label: "PRIVATE KEY"))
        #expect(fromPEM.publicKey == pub, sourceLocation: sourceLocation)

        // SPKI DER and PEM.
        #expect(try PublicKey(spkiDER: pub.spkiDER) == pub, sourceLocation: sourceLocation)
        #expect(try PublicKey(pem: pub.pem) == pub, sourceLocation: sourceLocation)
        #expect(pub.pem == pemEncode(pub.spkiDER, label: "PUBLIC KEY"), sourceLocation: sourceLocation)

        // Raw (RSA: modulus and exponent instead).
        if algorithm.isRSA {
            let jwk = try #require(try JSONSerialization.jsonObject(with: Data(pub.jwk().utf8)) as? [String: String])
            let e = try #require(jwk["e"].flatMap(base64URLDecode))
            #expect(try PublicKey(rsaModulus: pub.rawRepresentation, exponent: e) == pub, sourceLocation: sourceLocation)
            #expect(pub.rawRepresentation.count == algorithm.bitSize / 8, sourceLocation: sourceLocation)
        } else {
            #expect(try PublicKey(rawRepresentation: pub.rawRepresentation, algorithm: algorithm) == pub, sourceLocation: sourceLocation)
        }

        // JWK.
        let jwk = pub.jwk()
        #expect(try PublicKey(jwk: Data(jwk.utf8)) == pub, "\(algorithm): JWK round trip", sourceLocation: sourceLocation)
        #expect(!jwk.contains("\"d\""), "a public JWK never carries d", sourceLocation: sourceLocation)
    }

    @Test("PKCS#8, PEM, SPKI, raw and JWK round trips", arguments: algorithms)
    func encodings(_ algorithm: KeyAlgorithm) throws {
        // Five fresh keys per algorithm (RSA: the shared key).
        for _ in 0..<(algorithm.isRSA ? 1 : 5) {
            try Self.checkEncodings(Self.key(algorithm))
        }
    }

    @Test("RSA-3072 and RSA-4096 encodings (one key each)", arguments: [KeyAlgorithm.rsa3072, .rsa4096])
    func rsaSizes(_ algorithm: KeyAlgorithm) throws {
        try Self.checkEncodings(PrivateKey.generate(algorithm))
    }

    @Test("Raw private keys re-import to the same key", arguments: algorithms.filter { !$0.isRSA })
    func rawPrivate(_ algorithm: KeyAlgorithm) async throws {
        let width: Int
        switch algorithm {
        case .p384, .brainpoolP384r1: width = 48
        case .p521: width = 66
        case .mlkem768, .mlkem1024: width = 64
        default: width = 32
        }
        await propertyCheck(count: 10, input: Bytes.data(width...width)) { seed in
            var raw = seed
            if algorithm == .p521 { raw[raw.startIndex] &= 0x01 }  // below the P-521 order
            let key: PrivateKey
            do { key = try PrivateKey(rawRepresentation: raw, algorithm: algorithm) } catch let error as CryptoError {
                // Only an out-of-range EC scalar may be refused (probability ≈ 2⁻³² or less).
                #expect(algorithm.isECDSA && error.code == .invalidKey, "\(algorithm): \(error)")
                return
            }
            let again = try PrivateKey(rawRepresentation: raw, algorithm: algorithm)
            #expect(again.publicKey == key.publicKey, "\(algorithm): raw import is deterministic")
            #expect(try PrivateKey(pkcs8DER: key.pkcs8Representation().exportedBytes()).publicKey == key.publicKey)
        }
    }
}

/// Unpadded base64url decoding (test side).
func base64URLDecode(_ text: String) -> Data? {
    var s = text.replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/")
    s += String(repeating: "=", count: (4 - s.count % 4) % 4)
    return Data(base64Encoded: s)
}
