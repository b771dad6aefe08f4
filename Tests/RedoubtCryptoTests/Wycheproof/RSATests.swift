import Foundation
import RedoubtCrypto
import Testing

// Wycheproof RSA vectors:
// - RSASSA-PSS 2048/SHA-256/MGF1-SHA-256/salt 32 (rsassa_pss_verify_schema_v1) through
//   `VerifyingKey.isValidSignature` with `.rsaPSS(.sha256)`, message and digest input;
//   the key comes from `publicKeyDer` and must equal the `publicKeyJwk` import.
// - RSAES-OAEP 2048/SHA-256/MGF1-SHA-256 (rsaes_oaep_decrypt_schema_v1) through
//   `DecryptionKey.decrypt` with the key from `privateKeyPkcs8`. Rejection must be a throw.
// - rsa_pkcs1_2048_test.json is RSAES-PKCS1-v1_5 *decryption* (rsaes_pkcs1_decrypt_schema_v1),
//   not signatures. The engine deliberately offers no PKCS#1 v1.5 decryption (Bleichenbacher),
//   so every case is not applicable: the key must import, and the only RSA decryption the
//   engine has (OAEP) must refuse every one of these ciphertexts.
//
// | Case                                   | Decision                                            |
// |----------------------------------------|-----------------------------------------------------|
// | acceptable                             | none in these files                                 |
// | PSS group ≠ (2048/3072/4096, same hash | not applicable (none in this file): the engine's    |
// | for MGF1, salt = hash length)          | PSS is fixed to those; verify must refuse           |
// | OAEP with a non-empty label            | not applicable: the engine has no label parameter;  |
// |                                        | decryption (without the label) must fail            |
// | RSAES-PKCS1-v1_5, all cases            | not applicable: OAEP decryption must refuse them    |

struct RSAPSSGroup: Decodable, Sendable {
    let keySize: Int
    let sha: String
    let mgf: String
    let mgfSha: String
    let sLen: Int
    let publicKeyDer: Hex
    let publicKeyJwk: [String: String]
    let tests: [SignatureCase]
}

struct RSADecryptGroup: Decodable, Sendable {
    let sha: String?
    let mgfSha: String?
    let privateKeyPkcs8: Hex
    let tests: [RSADecryptCase]
}

struct RSADecryptCase: Decodable, Sendable {
    let tcId: Int
    let comment: String
    let flags: [String]
    let msg: Hex
    let ct: Hex
    let label: Hex?
    let result: WycheproofResult
}

enum RSARunner {
    static func runPSS() throws -> Tally {
        let vectors = try WycheproofFile<RSAPSSGroup>.load("rsa_pss_2048_sha256_mgf1_32_test")
        var tally = Tally(family: "RSA-PSS 2048/SHA-256", declaredTests: vectors.numberOfTests)
        for group in vectors.testGroups {
            let hash = HashAlgorithm(wycheproof: group.sha)
            var notApplicable: String?
            if ![2048, 3072, 4096].contains(group.keySize) {
                notApplicable = "RSA-\(group.keySize)"
            } else if hash == nil || group.mgf != "MGF1" || group.mgfSha != group.sha || group.sLen != hash?.byteCount {
                notApplicable = "PSS \(group.sha)/\(group.mgf)-\(group.mgfSha)/salt \(group.sLen)"
            }
            let key = Result { try VerifyingKey(PublicKey(spkiDER: group.publicKeyDer.data)) }
            let keyProblem: String? = {
                guard notApplicable == nil else { return nil }
                guard let k = try? key.get(), k.publicKey.algorithm == .rsa2048 else { return "SPKI import failed" }
                let json = try? JSONEncoder().encode(group.publicKeyJwk)
                let jwk = json.flatMap { try? PublicKey(jwk: $0) }
                return jwk == k.publicKey ? nil : "SPKI and JWK imports differ"
            }()
            let scheme = SignatureScheme.rsaPSS(hash ?? .sha256)
            for test in group.tests {
                let message = Outcome.check {
                    try key.get().isValidSignature(test.sig.data, for: .message(test.msg.data), scheme: scheme)
                }
                let digest = Outcome.check {
                    try key.get().isValidSignature(
                        test.sig.data, for: .digest(Hashing.digest(test.msg.data, hash ?? .sha256)),
                        scheme: scheme)
                }
                var outcome = message.agreeing(with: digest, "message and digest input")
                if let keyProblem { outcome = .broken(keyProblem) }
                tally.record(tcId: test.tcId, result: test.result, notApplicable: notApplicable, outcome)
            }
        }
        return tally
    }

    static func runOAEP() throws -> Tally {
        let vectors = try WycheproofFile<RSADecryptGroup>.load("rsa_oaep_2048_sha256_mgf1sha256_test")
        var tally = Tally(family: "RSA-OAEP 2048/SHA-256", declaredTests: vectors.numberOfTests)
        for group in vectors.testGroups {
            let key = Result { try DecryptionKey(PrivateKey(pkcs8DER: group.privateKeyPkcs8.data)) }
            let groupNA = group.sha != "SHA-256" || group.mgfSha != "SHA-256" ? "OAEP \(group.sha ?? "?")/MGF1-\(group.mgfSha ?? "?")" : nil
            for test in group.tests {
                var outcome = Outcome.of(expecting: test.msg.data) { try key.get().decrypt(test.ct.data).exportedBytes() }
                if case .rejected(let code) = outcome, code != CryptoError.Code.authenticationFailure.description {
                    // Every OAEP decryption failure must be the same coarse error (no padding oracle).
                    outcome = .broken("decryption failed with \(code), not the coarse authentication failure")
                }
                let hasLabel = !(test.label?.data.isEmpty ?? true)
                tally.record(tcId: test.tcId, result: test.result, notApplicable: groupNA ?? (hasLabel ? "OAEP label" : nil), outcome)
            }
        }
        return tally
    }

    static func runPKCS1Decrypt() throws -> Tally {
        let vectors = try WycheproofFile<RSADecryptGroup>.load("rsa_pkcs1_2048_test")
        var tally = Tally(family: "RSAES-PKCS1-v1_5 2048 (decrypt)", declaredTests: vectors.numberOfTests)
        var imported = 0
        for group in vectors.testGroups {
            let key = Result { try DecryptionKey(PrivateKey(pkcs8DER: group.privateKeyPkcs8.data)) }
            if (try? key.get()) != nil { imported += 1 }
            for test in group.tests {
                var outcome = Outcome.of(expecting: test.msg.data) { try key.get().decrypt(test.ct.data).exportedBytes() }
                if (try? key.get()) == nil { outcome = .broken("2048-bit PKCS#8 key did not import") }
                tally.record(tcId: test.tcId, result: test.result, notApplicable: "RSAES-PKCS1-v1_5 not offered", outcome)
            }
        }
        tally.notes.append("\(imported)/\(vectors.testGroups.count) PKCS#8 keys imported")
        return tally
    }
}

extension WycheproofRuns {
    static let rsaPSS = TallyResult { try RSARunner.runPSS() }
    static let rsaOAEP = TallyResult { try RSARunner.runOAEP() }
    static let rsaPKCS1Decrypt = TallyResult { try RSARunner.runPKCS1Decrypt() }
}

@Suite("Wycheproof RSA")
struct WycheproofRSATests {
    @Test func pss() throws {
        try WycheproofRuns.rsaPSS.get().expectClean()
    }

    @Test func oaep() throws {
        let tally = try WycheproofRuns.rsaOAEP.get()
        tally.expectClean()
        #expect(tally.validTotal > 0)
    }

    @Test func pkcs1v15DecryptionIsRefused() throws {
        let tally = try WycheproofRuns.rsaPKCS1Decrypt.get()
        tally.expectClean()
        #expect(tally.notApplicableTotal == tally.total)
    }
}
