import Foundation
import RedoubtCrypto
import Testing

// Wycheproof Ed25519 (eddsa_verify_schema_v1) and ML-DSA-65 (mldsa_verify_schema)
// verification through `VerifyingKey.isValidSignature(_:for: .message(msg), scheme:)`.
//
// Keys come from `publicKeyDer` (SPKI) and must equal the raw-key import
// (`publicKey.pk` for Ed25519, `publicKey` for ML-DSA) and, for Ed25519, the `publicKeyJwk` import.
//
// | Case                                     | Decision                                           |
// |------------------------------------------|----------------------------------------------------|
// | acceptable                               | none in these files                                |
// | ML-DSA IncorrectPublicKeyLength groups   | not applicable: the engine only takes FIPS 204     |
// |                                          | encoded keys (1952 bytes for ML-DSA-65); the SPKI  |
// |                                          | import must throw invalidKey                       |
// | ML-DSA context over 255 bytes            | invalid in Wycheproof; the scheme must be refused  |
// |                                          | (invalidInput)                                     |
// | ML-DSA ZeroPublicKey, valid              | accepted (verification is all a verifier can do)   |

struct EdDSAGroup: Decodable, Sendable {
    struct Key: Decodable, Sendable { let pk: Hex }
    let publicKey: Key
    let publicKeyDer: Hex
    let publicKeyJwk: [String: String]
    let tests: [SignatureCase]
}

struct MLDSAGroup: Decodable, Sendable {
    let publicKey: Hex
    let publicKeyDer: Hex
    let tests: [SignatureCase]
}

enum EdDSARunner {
    static func run() throws -> Tally {
        let vectors = try WycheproofFile<EdDSAGroup>.load("ed25519_test")
        var tally = Tally(family: "Ed25519", declaredTests: vectors.numberOfTests)
        for group in vectors.testGroups {
            let key = Result { try VerifyingKey(PublicKey(spkiDER: group.publicKeyDer.data)) }
            let keyProblem: String? = {
                guard let k = try? key.get(), k.publicKey.algorithm == .ed25519 else { return "SPKI import failed" }
                let raw = try? PublicKey(rawRepresentation: group.publicKey.pk.data, algorithm: .ed25519)
                let jwk = (try? JSONEncoder().encode(group.publicKeyJwk)).flatMap { try? PublicKey(jwk: $0) }
                return raw == k.publicKey && jwk == k.publicKey ? nil : "SPKI, raw and JWK imports differ"
            }()
            for test in group.tests {
                var outcome = Outcome.check {
                    try key.get().isValidSignature(test.sig.data, for: .message(test.msg.data), scheme: .ed25519)
                }
                if let keyProblem { outcome = .broken(keyProblem) }
                tally.record(tcId: test.tcId, result: test.result, outcome)
            }
        }
        return tally
    }
}

enum MLDSARunner {
    static func run() throws -> Tally {
        let vectors = try WycheproofFile<MLDSAGroup>.load("mldsa_65_verify_test")
        var tally = Tally(family: "ML-DSA-65 verify", declaredTests: vectors.numberOfTests)
        var withContext = 0
        for group in vectors.testGroups {
            let key = Result { try VerifyingKey(PublicKey(spkiDER: group.publicKeyDer.data)) }
            let badKeyEncoding = group.tests.contains { $0.flags.contains("IncorrectPublicKeyLength") }
            let keyProblem: String? = {
                if badKeyEncoding {
                    // Both import paths must refuse it, with invalidKey.
                    let spki = Outcome.check {
                        _ = try key.get()
                        return true
                    }
                    let raw = Outcome.check {
                        _ = try PublicKey(rawRepresentation: group.publicKey.data, algorithm: .mldsa65)
                        return true
                    }
                    let expected = Outcome.rejected(CryptoError.Code.invalidKey.description)
                    return spki == expected && raw == expected ? nil : "bad key encoding: SPKI \(spki), raw \(raw)"
                }
                guard let k = try? key.get(), k.publicKey.algorithm == .mldsa65 else { return "SPKI import failed" }
                let raw = try? PublicKey(rawRepresentation: group.publicKey.data, algorithm: .mldsa65)
                return raw == k.publicKey ? nil : "SPKI and raw imports differ"
            }()
            for test in group.tests {
                let context = test.ctx?.data ?? Data()
                if !context.isEmpty { withContext += 1 }
                var outcome = Outcome.check {
                    try key.get().isValidSignature(test.sig.data, for: .message(test.msg.data), scheme: .mldsa(context: context))
                }
                if let keyProblem { outcome = .broken(keyProblem) }
                if context.count > 255, test.result == .invalid, outcome != .rejected(CryptoError.Code.invalidInput.description) {
                    outcome = .broken("over-long context not refused as invalid input: \(outcome)")
                }
                tally.record(
                    tcId: test.tcId, result: test.result,
                    notApplicable: badKeyEncoding ? "public key not 1952 bytes" : nil, outcome)
            }
        }
        tally.notes.append("\(withContext) cases with a context string")
        return tally
    }
}

extension WycheproofRuns {
    static let ed25519 = TallyResult { try EdDSARunner.run() }
    static let mldsa65 = TallyResult { try MLDSARunner.run() }
}

@Suite("Wycheproof EdDSA and ML-DSA")
struct WycheproofEdDSAAndMLDSATests {
    @Test func ed25519() throws {
        try WycheproofRuns.ed25519.get().expectClean()
    }

    @Test func mldsa65() throws {
        let tally = try WycheproofRuns.mldsa65.get()
        tally.expectClean()
        #expect(tally.notApplicableTotal == 4, "the four IncorrectPublicKeyLength cases")
    }
}
