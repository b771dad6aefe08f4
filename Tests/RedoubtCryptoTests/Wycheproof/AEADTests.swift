import Foundation
import RedoubtCrypto
import Testing

// Wycheproof AEAD vectors (aead_test_schema_v1): AES-GCM and ChaCha20-Poly1305, run
// through `SecretKey.open(nonce:ciphertext:tag:aad:scheme:)`, and for 12-byte nonces also
// through `SecretKey.decrypt` of the combined `nonce ‖ ct ‖ tag` (both paths must agree).
//
// Rejection of an invalid case must be a thrown CryptoError: returning any plaintext for a
// tampered box is a failure, never a "mismatch that counts as rejection".
//
// | Case                               | Decision                                                  |
// |------------------------------------|-----------------------------------------------------------|
// | acceptable                         | none in these files                                       |
// | group tag size ≠ 128 bits          | not applicable: the engine only offers 16-byte tags;      |
// |                                    | the case must be rejected (open refuses other lengths)    |
// | AES-GCM IV of 1…128 bytes ≠ 12     | applicable: `open` takes these (libcrypto path)           |
// | AES-GCM IV over 128 bytes          | not applicable: libcrypto's limit (GCM_IV_MAX_SIZE); open  |
// |                                    | must refuse with invalidInput, never "auth failure"       |
// | ChaCha20 nonce ≠ 12 bytes          | applicable: Wycheproof marks them invalid; must be refused |

struct AEADGroup: Decodable, Sendable {
    let ivSize: Int
    let keySize: Int
    let tagSize: Int
    let tests: [AEADCase]
}

struct AEADCase: Decodable, Sendable {
    let tcId: Int
    let comment: String
    let flags: [String]
    let key: Hex
    let iv: Hex
    let aad: Hex
    let msg: Hex
    let ct: Hex
    let tag: Hex
    let result: WycheproofResult
}

enum AEADRunner {
    /// The longest AES-GCM nonce `SecretKey.open` takes.
    static let maximumGCMNonce = 128

    static func key(_ bytes: Data, scheme: CipherScheme) throws -> SecretKey {
        let algorithm: KeyAlgorithm
        switch (scheme, bytes.count) {
        case (.aesGCM, 16): algorithm = .aes128
        case (.aesGCM, 24): algorithm = .aes192
        case (.aesGCM, 32): algorithm = .aes256
        default: algorithm = .genericSecret
        }
        return try SecretKey(algorithm: algorithm, material: SecretBytes(bytes))
    }

    static func run(file: String, family: String, scheme: CipherScheme) throws -> Tally {
        let vectors = try WycheproofFile<AEADGroup>.load(file)
        var tally = Tally(family: family, declaredTests: vectors.numberOfTests)
        var nonDefaultNonces = 0
        for group in vectors.testGroups {
            for test in group.tests {
                var notApplicable: String?
                if group.tagSize != 128 {
                    notApplicable = "tag of \(group.tagSize) bits"
                } else if scheme == .aesGCM && test.iv.data.count > maximumGCMNonce {
                    notApplicable = "IV over \(maximumGCMNonce) bytes"
                }
                var outcome = Outcome.of(expecting: test.msg.data) {
                    let k = try key(test.key.data, scheme: scheme)
                    return try k.open(
                        nonce: test.iv.data, ciphertext: test.ct.data, tag: test.tag.data,
                        aad: test.aad.data, scheme: scheme)
                }
                if test.iv.data.count == 12 && test.tag.data.count == 16 {
                    let combined = Outcome.of(expecting: test.msg.data) {
                        let k = try key(test.key.data, scheme: scheme)
                        return try k.decrypt(test.iv.data + test.ct.data + test.tag.data, scheme: scheme, aad: test.aad.data)
                    }
                    outcome = outcome.agreeing(with: combined, "open and decrypt")
                } else if test.result == .valid {
                    nonDefaultNonces += 1
                }
                if notApplicable != nil, case .rejected(let code) = outcome, code != CryptoError.Code.invalidInput.description {
                    // The engine must say why (a parameter it does not offer), not fail authentication.
                    outcome = .broken("refused with \(code), expected invalid input")
                }
                tally.record(tcId: test.tcId, result: test.result, notApplicable: notApplicable, outcome)
            }
        }
        if nonDefaultNonces > 0 { tally.notes.append("\(nonDefaultNonces) valid cases with a non-96-bit IV (open only)") }
        return tally
    }
}

extension WycheproofRuns {
    static let aesGCM = TallyResult { try AEADRunner.run(file: "aes_gcm_test", family: "AES-GCM", scheme: .aesGCM) }
    static let chaCha20Poly1305 = TallyResult {
        try AEADRunner.run(file: "chacha20_poly1305_test", family: "ChaCha20-Poly1305", scheme: .chaCha20Poly1305)
    }
}

@Suite("Wycheproof AEAD")
struct WycheproofAEADTests {
    @Test func aesGCM() throws {
        try WycheproofRuns.aesGCM.get().expectClean()
    }

    @Test func chaCha20Poly1305() throws {
        try WycheproofRuns.chaCha20Poly1305.get().expectClean()
    }
}
