import Foundation
import Redoubt
import Testing

/// The canonical challenge: deterministic, bound to every field, parsed strictly.
@Suite("Approvals: challenge format")
struct ApprovalChallengeTests {
    let sample = ApprovalChallenge(
        requestID: "r" + String(repeating: "ab", count: 16), partition: "alpha",
        keyID: "k" + String(repeating: "01", count: 16), operation: .sign,
        operationDigest: Data(repeating: 7, count: 32), decision: .approve)

    @Test("encoding round-trips and every field changes the bytes")
    func roundTrip() throws {
        #expect(try ApprovalChallenge.parse(sample.bytes) == sample)
        #expect(sample.bytes.starts(with: Data("redoubt-approval-v1\n".utf8)))
        var variants = [sample]
        variants[0].decision = .reject
        var other = sample
        other.partition = "beta"
        variants.append(other)
        other = sample
        other.operation = .block
        variants.append(other)
        other = sample
        other.operationDigest = Data(repeating: 8, count: 32)
        variants.append(other)
        other = sample
        other.requestID = "r" + String(repeating: "cd", count: 16)
        variants.append(other)
        for variant in variants {
            #expect(variant.bytes != sample.bytes)
            #expect(try ApprovalChallenge.parse(variant.bytes) == variant)
        }
    }

    @Test("truncations, trailing bytes and bad fields are refused with INVALID_ARGUMENT")
    func strict() {
        let bytes = sample.bytes
        for n in 0..<bytes.count {
            #expect(throws: HSMError.self) { try ApprovalChallenge.parse(bytes.prefix(n)) }
        }
        #expect(throws: HSMError.self) { try ApprovalChallenge.parse(bytes + Data([0])) }
        var bad = sample
        bad.operationDigest = Data(repeating: 1, count: 31)
        #expect(throws: HSMError.self) { try ApprovalChallenge.parse(bad.bytes) }
        bad = sample
        bad.keyID = "not-a-key"
        #expect(throws: HSMError.self) { try ApprovalChallenge.parse(bad.bytes) }
        var flipped = bytes
        flipped[flipped.startIndex] ^= 1
        #expect(throws: HSMError.self) { try ApprovalChallenge.parse(flipped) }
    }

    @Test("the operation digest covers the operation's data")
    func digest() {
        let a = ApprovalOperation.sign(input: .message(Data("a".utf8)), scheme: .ed25519)
        let b = ApprovalOperation.sign(input: .message(Data("b".utf8)), scheme: .ed25519)
        let c = ApprovalOperation.sign(input: .digest(Data("a".utf8)), scheme: .ed25519)
        #expect(Set([a.digest, b.digest, c.digest]).count == 3)
        #expect(a.digest.count == 32)
        #expect(ApprovalOperation.update(KeyAttributeUpdate(label: "x")).digest != ApprovalOperation.update(KeyAttributeUpdate(label: "y")).digest)
    }
}
