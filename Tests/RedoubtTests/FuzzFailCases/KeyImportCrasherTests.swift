import Foundation
import RedoubtCrypto
import Testing

/// Crashers of `FuzzPublicKeyImport` and `FuzzPrivateKeyImport`: encodings libcrypto and
/// libsecp256k1 read leniently, which the importers accepted although they are not the key's
/// canonical encoding (public keys) or not a consistent key pair (private keys).
@Suite("Fuzz crashers: public and private key import")
struct FuzzFailCaseKeyImportTests {
    // FuzzPublicKeyImport: byte 0 (mod 4) 0 SPKI DER, 1 PEM, 2 JWK, 3 raw; raw only: byte 1 picks
    // the algorithm (KeyAlgorithm.allCases, mod count); the rest is the encoding.

    @Test(
        "an RSA SPKI whose RSAPublicKey is BER, not DER, is refused; its DER form is accepted",
        arguments: [
            // The RSAPublicKey SEQUENCE's length in long form with a leading zero (83 00 01 0a).
            "rsa-spki-ber-length",
            // The modulus INTEGER with a superfluous leading zero byte (02 82 01 02 00 00 df …).
            "rsa-spki-padded-integer",
        ])
    func rsaSPKINotDER(name: String) throws {
        var input = FuzzCrasherReader(try fuzzCrasher("FuzzPublicKeyImport", name))
        try #require(input.byte() % 4 == 0, "not FuzzPublicKeyImport's SPKI mode")
        let der = input.rest()

        expectInvalidKey("RSA public key is not DER-encoded") { try PublicKey(spkiDER: der) }

        // The key itself is a good RSA-2048 key (modulus, then exponent 65537, end the input):
        // only its encoding is refused, and the canonical SPKI of the same key imports.
        #expect(der.suffix(5) == [0x02, 0x03, 0x01, 0x00, 0x01])
        let key = try PublicKey(rsaModulus: der.dropLast(5).suffix(256), exponent: [0x01, 0x00, 0x01])
        #expect(key.algorithm == .rsa2048)
        #expect(Array(key.spkiDER) != der)
        #expect(try PublicKey(spkiDER: key.spkiDER) == key)
    }

    @Test("a raw secp256k1 point in the X9.62 hybrid form (06/07 ‖ x ‖ y) is refused; the same point uncompressed is accepted")
    func secp256k1HybridPoint() throws {
        var input = FuzzCrasherReader(try fuzzCrasher("FuzzPublicKeyImport", "secp256k1-raw-hybrid-point"))
        try #require(input.byte() % 4 == 3, "not FuzzPublicKeyImport's raw mode")
        let algorithm = KeyAlgorithm.allCases[Int(input.byte()) % KeyAlgorithm.allCases.count]
        let raw = input.rest()
        #expect(algorithm == .secp256k1)
        #expect(raw.count == 65 && (raw.first == 0x06 || raw.first == 0x07))

        expectInvalidKey("EC-SECP256K1 public key: not an uncompressed or compressed point of this curve") {
            try PublicKey(rawRepresentation: raw, algorithm: algorithm)
        }

        // libsecp256k1 parses the hybrid form: the point is on the curve, only the encoding is wrong.
        let uncompressed = [0x04] + raw.dropFirst()
        let key = try PublicKey(rawRepresentation: uncompressed, algorithm: .secp256k1)
        #expect(Array(key.rawRepresentation) == uncompressed)
    }

    // FuzzPrivateKeyImport: byte 0 (mod 3) 0 PKCS#8 DER, 1 PKCS#8 PEM (the rest as UTF-8), 2 raw.

    @Test("an RSA PKCS#8 key with a changed modulus byte is refused as an inconsistent pair")
    func rsaPKCS8ModulusByteChanged() throws {
        var input = FuzzCrasherReader(try fuzzCrasher("FuzzPrivateKeyImport", "rsa-pkcs8-modulus-byte-changed"))
        try #require(input.byte() % 3 == 1, "not FuzzPrivateKeyImport's PEM mode")
        let pem = String(decoding: input.rest(), as: UTF8.self)

        expectInvalidKey("RSA PKCS#8 key: its private and public parts do not match") { try PrivateKey(pkcs8PEM: pem) }
    }
}

/// Runs `body`, expecting a ``CryptoError`` ``CryptoError/Code/invalidKey`` with exactly `message`.
private func expectInvalidKey<R>(_ message: String, sourceLocation: SourceLocation = #_sourceLocation, _ body: () throws -> R) {
    do {
        let accepted = try body()
        Issue.record("expected CryptoError invalidKey (\(message)), but the import succeeded: \(accepted)", sourceLocation: sourceLocation)
    } catch let error as CryptoError {
        #expect(error.code == .invalidKey, sourceLocation: sourceLocation)
        #expect(error.message == message, sourceLocation: sourceLocation)
    } catch {
        Issue.record("expected CryptoError invalidKey, got \(type(of: error)): \(error)", sourceLocation: sourceLocation)
    }
}
