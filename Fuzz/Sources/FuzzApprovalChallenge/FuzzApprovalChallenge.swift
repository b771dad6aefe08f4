// Approval challenges (the bytes approvers sign) and key policies (as stored and validated).
//
// Input layout:
//   byte 0 (mod 3): mode
//     0 ApprovalChallenge.parse of the rest
//     1 a challenge built from carved fields (request id, partition, key id: short fields; then an
//       operation index, 32 digest bytes, a decision bit), encoded and parsed back
//     2 KeyPolicy decoded from the rest as JSON (its stored form), then validated
//
// Invariants:
//   - parsing throws HSMError INVALID_ARGUMENT only, never traps;
//   - an accepted challenge re-encodes to exactly the input bytes (the encoding is canonical) and
//     parses again to an equal challenge;
//   - a challenge built from well-formed fields always parses back to itself; one built from a
//     malformed field never parses;
//   - decoding a policy throws DecodingError only; validating it throws HSMError INVALID_ARGUMENT
//     only; an accepted policy's quorums are within 1…N, it names no approver twice in a token, and
//     its JSON re-encoding decodes to an equal policy.
import Foundation
import FuzzSupport
import Redoubt
import RedoubtCrypto

// The libFuzzer entry points.
@_cdecl("LLVMFuzzerInitialize")
public func fuzzInitialize(_ argc: UnsafeMutablePointer<CInt>, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?>) -> CInt {
    Seeds.writeIfRequested(makeApprovalSeeds)
    Warmup.prepare(target: "FuzzApprovalChallenge", build: {}, entry: fuzzTestOneInput)
    return 0
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzTestOneInput(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    fuzzApprovalChallenge(data, size)
}

/// One input: checks every invariant of the header comment; a broken one stops the process.
func fuzzApprovalChallenge(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    var input = FuzzInput(data, size)
    switch input.byte() % 3 {
    case 0:
        checkParse(input.rest())
    case 1:
        let requestID = String(decoding: input.shortField(), as: UTF8.self)
        let partition = String(decoding: input.shortField(), as: UTF8.self)
        let keyID = String(decoding: input.shortField(), as: UTF8.self)
        let operation = input.pick(ApprovalOperation.Kind.allCases)
        let digest = Data(input.take(Int(input.byte() % 40)))
        let decision: ApprovalChallenge.Decision = input.bool() ? .approve : .reject
        checkBuilt(
            ApprovalChallenge(
                requestID: requestID, partition: partition, keyID: keyID, operation: operation,
                operationDigest: digest, decision: decision))
    default:
        checkPolicy(Data(input.rest()))
    }
    return 0
}

private func parsed(_ bytes: [UInt8]) -> ApprovalChallenge? {
    guard let challenge = expectOnly(HSMError.self, "ApprovalChallenge.parse", { try ApprovalChallenge.parse(bytes) }) else {
        return nil
    }
    return challenge
}

private func checkParse(_ bytes: [UInt8]) {
    do {
        let challenge = try ApprovalChallenge.parse(bytes)
        fuzzCheck(Array(challenge.bytes) == bytes, "an accepted challenge does not re-encode to its input")
        fuzzCheck(parsed(Array(challenge.bytes)) == challenge, "a re-encoded challenge parses to another challenge")
    } catch let error as HSMError {
        fuzzCheck(error.code == .invalidArgument, "challenge parsing failed with \(error.code), not INVALID_ARGUMENT")
    } catch {
        fuzzFail("challenge parsing threw \(type(of: error))")
    }
}

private func checkBuilt(_ challenge: ApprovalChallenge) {
    let wellFormed =
        ApprovalRequest.isRequestID(challenge.requestID) && Approver.isValidName(challenge.partition)
        && challenge.keyID.utf8.count == 33 && challenge.keyID.hasPrefix("k")
        && challenge.keyID.utf8.dropFirst().allSatisfy { (48...57).contains($0) || (97...102).contains($0) }
        && challenge.operationDigest.count == 32
    let result = parsed(Array(challenge.bytes))
    if wellFormed {
        fuzzCheck(result == challenge, "a challenge of well-formed fields does not parse back to itself")
    } else {
        fuzzCheck(result == nil, "a challenge with a malformed field parsed")
    }
}

private func checkPolicy(_ json: Data) {
    guard let policy = expectOnly(DecodingError.self, "decode KeyPolicy", { try JSONDecoder().decode(KeyPolicy.self, from: json) }) else {
        return
    }
    do {
        try policy.validate(field: "policy")
    } catch let error as HSMError {
        fuzzCheck(error.code == .invalidArgument && error.message.hasPrefix("policy."), "policy validation failed without naming the field: \(error)")
        return
    } catch {
        fuzzFail("policy validation threw \(type(of: error))")
    }
    for rule in [policy.use, policy.block, policy.unblock, policy.modify] {
        fuzzCheck(rule.tokens.count <= KeyPolicy.maximumTokens, "an accepted rule has too many tokens")
        for token in rule.tokens {
            let names = token.groups.flatMap(\.approvers)
            fuzzCheck(Set(names).count == names.count, "an accepted token names an approver twice")
            fuzzCheck(token.groups.allSatisfy { (1...$0.approvers.count).contains($0.quorum) }, "an accepted group's quorum is out of range")
            fuzzCheck(token.timeout >= 1 && token.timelock >= 0, "an accepted token has a negative timelock or no timeout")
        }
    }
    guard let encoded = try? JSONEncoder().encode(policy), let again = try? JSONDecoder().decode(KeyPolicy.self, from: encoded) else {
        fuzzFail("an accepted policy does not round-trip through JSON")
    }
    fuzzCheck(again == policy, "a policy's JSON round trip changed it")
}

// MARK: Seeds

private func makeApprovalSeeds() throws -> [(name: String, bytes: [UInt8])] {
    let sample = ApprovalChallenge(
        requestID: "r" + String(repeating: "0f", count: 16), partition: "payments",
        keyID: "k" + String(repeating: "a5", count: 16), operation: .sign,
        operationDigest: Data(repeating: 0x42, count: 32), decision: .approve)
    var reject = sample
    reject.decision = .reject
    reject.operation = .setPolicy
    let policy = KeyPolicy(
        use: ApprovalRule(tokens: [
            ApprovalToken(groups: [ApproverGroup(approvers: ["ann", "bob", "cat"], quorum: 2)], timelock: 60, timeout: 3600),
            ApprovalToken(groups: [ApproverGroup(approvers: ["dan"], quorum: 1), ApproverGroup(approvers: ["eve"], quorum: 1)], timeout: 600),
        ]), block: ApprovalRule(tokens: [ApprovalToken(groups: [ApproverGroup(approvers: ["ann"], quorum: 1)], timeout: 60)]))
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.sortedKeys]
    func field(_ s: String) -> [UInt8] { [UInt8(s.utf8.count)] + Array(s.utf8) }
    return [
        ("parse-approve", [0] + Array(sample.bytes)),
        ("parse-reject", [0] + Array(reject.bytes)),
        ("parse-prefix-only", [0] + Array(ApprovalChallenge.prefix)),
        (
            "build-valid",
            [1] + field(sample.requestID) + field(sample.partition) + field(sample.keyID) + [0, 32]
                + Array(repeating: 7, count: 32) + [1]
        ),
        (
            "build-short-digest",
            [1] + field(sample.requestID) + field("p") + field(sample.keyID) + [3, 31]
                + Array(repeating: 7, count: 31) + [0]
        ),
        ("policy", [2] + Array(try encoder.encode(policy))),
        ("policy-empty", [2] + Array(try encoder.encode(KeyPolicy()))),
        (
            "policy-bad-quorum",
            [2]
                + Array(
                    #"{"use":{"tokens":[{"groups":[{"approvers":["a"],"quorum":2}],"timelock":0,"timeout":5}]},"block":{"tokens":[]},"unblock":{"tokens":[]},"modify":{"tokens":[]}}"#
                        .utf8)
        ),
    ]
}
