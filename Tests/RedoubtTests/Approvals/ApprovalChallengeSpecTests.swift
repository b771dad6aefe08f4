import Foundation
import Redoubt
import Testing

/// The approval challenge and operation digest exactly as `docs/approval-challenge.md` specifies
/// them: the worked example's bytes are pinned here, and every layout is rebuilt from the spec
/// alone (a spec that drifted from the code fails here).
@Suite("Approvals: the challenge spec")
struct ApprovalChallengeSpecTests {
    static let requestID = "r" + String(repeating: "0", count: 31) + "1"
    static let keyID = "k" + String(repeating: "ab", count: 16)
    static let payment = Data("pay 100 EUR to ACME".utf8)

    static func hex(_ data: Data) -> String { data.map { String(format: "%02x", $0) }.joined() }

    /// The spec's field: a 4-byte big-endian length, then the bytes.
    static func field(_ bytes: Data) -> Data {
        let n = UInt32(bytes.count)
        return Data([UInt8(n >> 24), UInt8((n >> 16) & 0xff), UInt8((n >> 8) & 0xff), UInt8(n & 0xff)]) + bytes
    }
    static func field(_ text: String) -> Data { field(Data(text.utf8)) }

    @Test("the worked example: sign a message with Ed25519, approve")
    func workedExample() throws {
        let operation = ApprovalOperation.sign(input: .message(Self.payment), scheme: .ed25519)
        let canonical = Self.field("sign") + Self.field("message") + Self.field(Self.payment) + Self.field("ED25519") + Self.field(Data())
        #expect(operation.canonicalData == canonical)
        #expect(Self.hex(operation.canonicalData) == Self.exampleCanonical)
        #expect(Self.hex(operation.digest) == Self.exampleDigest)

        let challenge = ApprovalChallenge(
            requestID: Self.requestID, partition: "payments", keyID: Self.keyID, operation: .sign,
            operationDigest: operation.digest, decision: .approve)
        var expected = Data("redoubt-approval-v1\n".utf8)
        for part in [Data(Self.requestID.utf8), Data("payments".utf8), Data(Self.keyID.utf8), Data("sign".utf8), operation.digest, Data("approve".utf8)] {
            expected += Data([UInt8(part.count >> 8), UInt8(part.count & 0xff)]) + part
        }
        #expect(challenge.bytes == expected)
        #expect(Self.hex(challenge.bytes) == Self.exampleChallenge)
    }

    @Test("every operation's layout, rebuilt from the spec")
    func layouts() {
        let digestInput = Data(repeating: 0x11, count: 32)
        let cases: [(ApprovalOperation, Data)] = [
            (
                .sign(input: .digest(digestInput), scheme: .ecdsa(.sha256)),
                Self.field("sign") + Self.field("digest") + Self.field(digestInput) + Self.field("ECDSA-SHA-256-DER-STANDARD") + Self.field(Data())
            ),
            (
                .sign(input: .message(Self.payment), scheme: .ecdsa(.sha384, encoding: .raw, lowS: .strict)),
                Self.field("sign") + Self.field("message") + Self.field(Self.payment) + Self.field("ECDSA-SHA-384-RAW-STRICT") + Self.field(Data())
            ),
            (
                .sign(input: .message(Self.payment), scheme: .rsaPSS(.sha512)),
                Self.field("sign") + Self.field("message") + Self.field(Self.payment) + Self.field("RSA-PSS-SHA-512") + Self.field(Data())
            ),
            (
                .sign(input: .message(Self.payment), scheme: .mldsa(context: Data("ctx".utf8))),
                Self.field("sign") + Self.field("message") + Self.field(Self.payment) + Self.field("ML-DSA") + Self.field("ctx")
            ),
            (
                .decrypt(ciphertext: Data([1, 2, 3]), scheme: .aesGCM, aad: Data("aad".utf8)),
                Self.field("decrypt") + Self.field(Data([1, 2, 3])) + Self.field("AES-GCM") + Self.field("aad")
            ),
            (.mac(data: Self.payment, hash: .sha256), Self.field("mac") + Self.field(Self.payment) + Self.field("SHA-256")),
            (.block, Self.field("block")),
            (.unblock, Self.field("unblock")),
            (
                .update(KeyAttributeUpdate(label: "new", usage: [.sign, .verify], extractable: false, notBefore: Date(timeIntervalSince1970: 1.5))),
                Self.field("update") + Self.field("new") + Self.field("3") + Self.field("false") + Self.field("-") + Self.field("-")
                    + Self.field("-") + Self.field("1500") + Self.field("-") + Self.field("-")
            ),
            (
                // An update of the application identifier (or subject) adds both fields at the end.
                .update(KeyAttributeUpdate(applicationID: Data([0x01, 0xa2]))),
                Self.field("update") + Self.field("-") + Self.field("-") + Self.field("-") + Self.field("-") + Self.field("-")
                    + Self.field("-") + Self.field("-") + Self.field("-") + Self.field("-") + Self.field("01a2") + Self.field("-")
            ),
            (
                .update(KeyAttributeUpdate(subject: Data())),
                Self.field("update") + Self.field("-") + Self.field("-") + Self.field("-") + Self.field("-") + Self.field("-")
                    + Self.field("-") + Self.field("-") + Self.field("-") + Self.field("-") + Self.field("-") + Self.field("")
            ),
            (
                .setPolicy(
                    KeyPolicy(
                        use: ApprovalRule(tokens: [
                            ApprovalToken(groups: [ApproverGroup(approvers: ["ann", "bob"], quorum: 2)], timelock: 60, timeout: 3600)
                        ]))),
                Self.field("set_policy") + Self.field("1") + Self.field("60000") + Self.field("3600000") + Self.field("1") + Self.field("2")
                    + Self.field("2") + Self.field("ann") + Self.field("bob") + Self.field("0") + Self.field("0") + Self.field("0")
            ),
        ]
        for (operation, expected) in cases {
            #expect(operation.canonicalData == expected, "\(operation.kind): \(Self.hex(operation.canonicalData))")
        }
    }

    static let exampleCanonical =
        "000000047369676e000000076d65737361676500000013706179203130302045555220746f2041434d45000000074544323535313900000000"
    static let exampleDigest = "2578086545212c37a7f41258c591578f1d669e81f28f8120e623bcad819fa7d4"
    static let exampleChallenge =
        "7265646f7562742d617070726f76616c2d76310a002172303030303030303030303030303030303030303030303030303030"
        + "303030303100087061796d656e747300216b6162616261626162616261626162616261626162616261626162616261626162"
        + "00047369676e00202578086545212c37a7f41258c591578f1d669e81f28f8120e623bcad819fa7d40007617070726f7665"
}
