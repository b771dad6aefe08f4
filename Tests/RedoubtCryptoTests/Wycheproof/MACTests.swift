import Foundation
import RedoubtCrypto
import Testing

// Wycheproof HMAC-SHA256 (mac_test_schema_v1) and HKDF-SHA256 (hkdf_test_schema_v1).
//
// HMAC runs through `SecretKey.isValidMAC` (and, for valid cases, `SecretKey.mac` must
// start with the tag). HKDF runs through `KDF.derive`; for HKDF a wrong output counts
// as rejection (the API returns output), a thrown CryptoError too.
//
// | Case                                    | Decision                                         |
// |-----------------------------------------|--------------------------------------------------|
// | acceptable                              | none in these files                              |
// | HMAC tag shorter than the engine's      | not applicable: `isValidMAC` checks truncated    |
// | minimum (max(10, hash/2) = 16 bytes)    | tags of ≥ 16 bytes only; must return false       |
// | HMAC key outside 16…128 bytes           | not applicable: no generic secret of that size   |
// |                                         | exists; key construction must throw              |
// | HKDF output > 255 × 32 bytes            | invalid in Wycheproof; `derive` must throw       |

struct MACGroup: Decodable, Sendable {
    let keySize: Int
    let tagSize: Int
    let tests: [MACCase]
}

struct MACCase: Decodable, Sendable {
    let tcId: Int
    let comment: String
    let flags: [String]
    let key: Hex
    let msg: Hex
    let tag: Hex
    let result: WycheproofResult
}

struct HKDFGroup: Decodable, Sendable {
    let keySize: Int
    let tests: [HKDFCase]
}

struct HKDFCase: Decodable, Sendable {
    let tcId: Int
    let comment: String
    let flags: [String]
    let ikm: Hex
    let salt: Hex
    let info: Hex
    let size: Int
    let okm: Hex
    let result: WycheproofResult
}

enum MACRunner {
    /// The engine's minimum truncated HMAC-SHA256 tag (see `SecretKey.isValidMAC`).
    static let minimumTag = max(10, HashAlgorithm.sha256.byteCount / 2)

    static func runHMAC() throws -> Tally {
        let vectors = try WycheproofFile<MACGroup>.load("hmac_sha256_test")
        var tally = Tally(family: "HMAC-SHA256", declaredTests: vectors.numberOfTests)
        for group in vectors.testGroups {
            for test in group.tests {
                var notApplicable: String?
                if test.tag.data.count < minimumTag {
                    notApplicable = "tag under \(minimumTag) bytes"
                } else if !SecretKey.genericSecretByteRange.contains(test.key.data.count) {
                    notApplicable = "key of \(test.key.data.count) bytes"
                }
                let outcome = Outcome.check {
                    let key = try SecretKey(algorithm: .genericSecret, material: SecretBytes(test.key.data))
                    let ok = key.isValidMAC(test.tag.data, for: test.msg.data, hash: .sha256)
                    let computed = key.mac(test.msg.data, hash: .sha256).prefix(test.tag.data.count)
                    // `mac` and `isValidMAC` must agree on every case.
                    guard ok == (computed == test.tag.data) || notApplicable != nil else {
                        throw MACDisagreement()
                    }
                    return ok
                }
                tally.record(tcId: test.tcId, result: test.result, notApplicable: notApplicable, outcome)
            }
        }
        return tally
    }

    struct MACDisagreement: Error {}

    static func runHKDF() throws -> Tally {
        let vectors = try WycheproofFile<HKDFGroup>.load("hkdf_sha256_test")
        var tally = Tally(family: "HKDF-SHA256", declaredTests: vectors.numberOfTests, outputMismatchRejects: true)
        for group in vectors.testGroups {
            for test in group.tests {
                let outcome = Outcome.of(expecting: test.okm.data) {
                    try KDF.derive(
                        SecretBytes(test.ikm.data),
                        .hkdf(.sha256, salt: test.salt.data, info: test.info.data, outputByteCount: test.size)
                    )
                    .exportedBytes()
                }
                tally.record(tcId: test.tcId, result: test.result, outcome)
            }
        }
        return tally
    }
}

extension WycheproofRuns {
    static let hmacSHA256 = TallyResult { try MACRunner.runHMAC() }
    static let hkdfSHA256 = TallyResult { try MACRunner.runHKDF() }
}

@Suite("Wycheproof MAC and KDF")
struct WycheproofMACTests {
    @Test func hmacSHA256() throws {
        try WycheproofRuns.hmacSHA256.get().expectClean()
    }

    @Test func hkdfSHA256() throws {
        let tally = try WycheproofRuns.hkdfSHA256.get()
        tally.expectClean()
    }
}
