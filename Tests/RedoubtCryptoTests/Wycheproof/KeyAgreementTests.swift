import Foundation
import RedoubtCrypto
import Testing

// Wycheproof ECDH P-256 (ecdh_test_schema_v1, public key as SPKI DER) and X25519
// (xdh_comp_schema_v1, raw keys), through `AgreementKey(PrivateKey(rawRepresentation:))`
// and `sharedSecret(with:)`. The API returns output, so a different shared secret counts
// as a rejection for invalid cases (and as a failure for valid ones).
//
// Wycheproof private scalars may carry a leading 00 or be shorter than the field: they are
// normalised to the field width (32 bytes) before import.
//
// | Flag (acceptable)                          | Decision                                      |
// |--------------------------------------------|-----------------------------------------------|
// | ECDH CompressedPublic / CompressedPoint    | accepted: compressed SEC 1 points import      |
// |                                            | (the result must be the expected secret)      |
// | ECDH UnnamedCurve (explicit parameters:    | refused: SPKI must name its curve             |
// | WrongOrder, ModifiedGenerator,             | (RFC 5480); `PublicKey(spkiDER:)` throws      |
// | ModifiedCofactor, NoCofactor, UnusedParam, |                                               |
// | ModifiedCurveParameter)                    |                                               |
// | ECDH InvalidAsn (BER, non-minimal lengths, | refused: strict DER only                      |
// | wrong tags, trailing data, …)              |                                               |
// | X25519 ZeroSharedSecret / LowOrderPublic   | refused: an all-zero shared secret is refused |
// |                                            | (contributory behaviour), invalidKey          |
// | X25519 Twist, NonCanonicalPublic,          | accepted: RFC 7748 semantics (high bit        |
// | SpecialPublicKey, SmallPublicKey,          | masked, u reduced mod p); the result must be  |
// | EdgeCase*, Ktv (non-zero secret)           | the expected secret                           |

struct ECDHGroup: Decodable, Sendable {
    let curve: String
    let encoding: String
    let tests: [AgreementCase]
}

struct XDHGroup: Decodable, Sendable {
    let curve: String
    let tests: [AgreementCase]
}

struct AgreementCase: Decodable, Sendable {
    let tcId: Int
    let comment: String
    let flags: [String]
    let `public`: Hex
    let `private`: Hex
    let shared: Hex
    let result: WycheproofResult
}

enum AgreementRunner {
    /// A big-endian scalar left-padded or stripped of leading zeros to `width` bytes.
    static func normalised(_ scalar: Data, width: Int) -> Data {
        let trimmed = scalar.drop(while: { $0 == 0 })
        guard trimmed.count <= width else { return Data(trimmed) }  // left as is: the import must refuse it
        return Data(repeating: 0, count: width - trimmed.count) + trimmed
    }

    static func ecdhDecision(_ flags: [String]) -> (String, Bool)? {
        if flags.contains("UnnamedCurve") { return ("UnnamedCurve→refused", false) }
        if flags.contains("InvalidAsn") { return ("InvalidAsn→refused", false) }
        if flags.contains("CompressedPublic") || flags.contains("CompressedPoint") { return ("CompressedPublic→accepted", true) }
        return nil
    }

    static func runECDH() throws -> Tally {
        let vectors = try WycheproofFile<ECDHGroup>.load("ecdh_secp256r1_test")
        var tally = Tally(family: "ECDH P-256", declaredTests: vectors.numberOfTests, outputMismatchRejects: true)
        for group in vectors.testGroups {
            try #require(group.curve == "secp256r1" && group.encoding == "asn")
            for test in group.tests {
                let outcome = Outcome.of(expecting: test.shared.data) {
                    let mine = try AgreementKey(PrivateKey(rawRepresentation: normalised(test.private.data, width: 32), algorithm: .p256))
                    let peer = try PublicKey(spkiDER: test.public.data)
                    return try mine.sharedSecret(with: peer).exportedBytes()
                }
                tally.record(tcId: test.tcId, result: test.result, decision: ecdhDecision(test.flags), outcome)
            }
        }
        return tally
    }

    static func xdhDecision(_ test: AgreementCase) -> (String, Bool) {
        if test.flags.contains("ZeroSharedSecret") || test.shared.data.allSatisfy({ $0 == 0 }) {
            return ("ZeroSharedSecret→refused", false)
        }
        let label = test.flags.contains("Twist") ? "Twist" : test.flags.contains("NonCanonicalPublic") ? "NonCanonicalPublic" : "SpecialPublicKey"
        return ("\(label)→accepted", true)
    }

    static func runX25519() throws -> Tally {
        let vectors = try WycheproofFile<XDHGroup>.load("x25519_test")
        var tally = Tally(family: "X25519", declaredTests: vectors.numberOfTests, outputMismatchRejects: true)
        for group in vectors.testGroups {
            try #require(group.curve == "curve25519")
            for test in group.tests {
                var outcome = Outcome.of(expecting: test.shared.data) {
                    let mine = try AgreementKey(PrivateKey(rawRepresentation: test.private.data, algorithm: .x25519))
                    let peer = try PublicKey(rawRepresentation: test.public.data, algorithm: .x25519)
                    return try mine.sharedSecret(with: peer).exportedBytes()
                }
                let decision = xdhDecision(test)
                if !decision.1, outcome != .rejected(CryptoError.Code.invalidKey.description) {
                    outcome = .broken("all-zero secret not refused as invalid key: \(outcome)")
                }
                tally.record(tcId: test.tcId, result: test.result, decision: decision, outcome)
            }
        }
        return tally
    }
}

extension WycheproofRuns {
    static let ecdhP256 = TallyResult { try AgreementRunner.runECDH() }
    static let x25519 = TallyResult { try AgreementRunner.runX25519() }
}

@Suite("Wycheproof key agreement")
struct WycheproofKeyAgreementTests {
    @Test func ecdhP256() throws {
        let tally = try WycheproofRuns.ecdhP256.get()
        tally.expectClean()
        #expect(tally.acceptable["CompressedPublic→accepted"] == 1)
    }

    @Test func x25519() throws {
        let tally = try WycheproofRuns.x25519.get()
        tally.expectClean()
        #expect(tally.acceptable["ZeroSharedSecret→refused"] == 31)
    }
}
