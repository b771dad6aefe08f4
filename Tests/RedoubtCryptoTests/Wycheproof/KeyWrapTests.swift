import Foundation
import RedoubtCrypto
import Testing

// Wycheproof AES key wrap vectors (keywrap_test_schema_v1, RFC 3394 / NIST SP 800-38F KW),
// run through `SecretKey.unwrap(_:scheme: .aesKW)`; valid cases must also wrap back to
// exactly `ct` with `SecretKey.wrap` (KW is deterministic).
//
// Rejection must be a thrown CryptoError: an unwrap that returns bytes for a modified
// IV is a failure, not a mismatch that counts as rejection.
//
// | Flag (acceptable)  | Decision                                                            |
// |--------------------|---------------------------------------------------------------------|
// | ShortKey           | refused: the engine wraps 16 bytes or more (SP 800-38F), so an      |
// |                    | 8-byte key (one-block RFC 3394 special case) neither wraps nor      |
// |                    | unwraps                                                             |

struct KeyWrapGroup: Decodable, Sendable {
    let keySize: Int
    let tests: [KeyWrapCase]
}

struct KeyWrapCase: Decodable, Sendable {
    let tcId: Int
    let comment: String
    let flags: [String]
    let key: Hex
    let msg: Hex
    let ct: Hex
    let result: WycheproofResult
}

enum KeyWrapRunner {
    static func aesKey(_ bytes: Data) throws -> SecretKey {
        let algorithm: KeyAlgorithm = bytes.count == 16 ? .aes128 : bytes.count == 24 ? .aes192 : .aes256
        return try SecretKey(algorithm: algorithm, material: SecretBytes(bytes))
    }

    static func run() throws -> Tally {
        let vectors = try WycheproofFile<KeyWrapGroup>.load("aes_wrap_test")
        var tally = Tally(family: "AES-KW", declaredTests: vectors.numberOfTests)
        for group in vectors.testGroups {
            for test in group.tests {
                let unwrapped = Outcome.of(expecting: test.msg.data) {
                    try aesKey(test.key.data).unwrap(test.ct.data, scheme: .aesKW).exportedBytes()
                }
                var outcome = unwrapped
                if test.result != .invalid {
                    // Valid: the wrap direction must reproduce the ciphertext. Acceptable
                    // (ShortKey, refused): wrapping must be refused too.
                    let wrapped = Outcome.of(expecting: test.ct.data) {
                        try aesKey(test.key.data).wrap(SecretBytes(test.msg.data), scheme: .aesKW)
                    }
                    outcome = unwrapped.agreeing(with: wrapped, "unwrap and wrap")
                }
                let decision: (String, Bool)? = test.flags.contains("ShortKey") ? ("ShortKey→refused", false) : nil
                tally.record(tcId: test.tcId, result: test.result, decision: decision, outcome)
            }
        }
        return tally
    }
}

extension WycheproofRuns {
    static let aesKW = TallyResult { try KeyWrapRunner.run() }
}

@Suite("Wycheproof AES-KW")
struct WycheproofKeyWrapTests {
    @Test func aesKW() throws {
        try WycheproofRuns.aesKW.get().expectClean()
    }
}
