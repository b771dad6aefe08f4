import Foundation
import RedoubtCrypto
import Testing

// One generic loader for Project Wycheproof vector files, shared by every
// per-family runner (the swift-crypto approach: `Tests/CryptoTests/Utils/Wycheproof.swift`).
// The vectors live in `Vectors/` (Apache-2.0, see `Vectors/README.md`).

/// A Wycheproof file: its header and its test groups, decoded as `Group`.
struct WycheproofFile<Group: Decodable & Sendable>: Decodable, Sendable {
    let algorithm: String
    let numberOfTests: Int
    let testGroups: [Group]

    /// Loads `Vectors/<name>.json` from the test bundle.
    static func load(_ name: String) throws -> WycheproofFile<Group> {
        let url = try #require(
            Bundle.module.url(forResource: name, withExtension: "json", subdirectory: "Vectors")
                ?? Bundle.module.url(forResource: name, withExtension: "json"),
            "Wycheproof vector file \(name).json is missing from the test bundle"
        )
        return try JSONDecoder().decode(WycheproofFile<Group>.self, from: Data(contentsOf: url))
    }
}

/// The expected result of one Wycheproof case.
enum WycheproofResult: String, Decodable, Sendable {
    case valid, invalid, acceptable
}

/// Bytes written as a hex string in the JSON.
struct Hex: Decodable, Sendable, Hashable {
    let data: Data

    init(_ data: Data) { self.data = data }

    init(from decoder: any Decoder) throws {
        let text = try decoder.singleValueContainer().decode(String.self)
        guard let data = Data(hex: text) else {
            throw DecodingError.dataCorrupted(.init(codingPath: decoder.codingPath, debugDescription: "not hex: \(text.prefix(16))…"))
        }
        self.data = data
    }
}

extension Data {
    /// Parses an even-length hex string (no prefix, either case).
    init?(hex: String) {
        let chars = Array(hex.utf8)
        guard chars.count % 2 == 0 else { return nil }
        var out = Data(capacity: chars.count / 2)
        func nibble(_ c: UInt8) -> UInt8? {
            switch c {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): return c - UInt8(ascii: "0")
            case UInt8(ascii: "a")...UInt8(ascii: "f"): return c - UInt8(ascii: "a") + 10
            case UInt8(ascii: "A")...UInt8(ascii: "F"): return c - UInt8(ascii: "A") + 10
            default: return nil
            }
        }
        var i = 0
        while i < chars.count {
            guard let hi = nibble(chars[i]), let lo = nibble(chars[i + 1]) else { return nil }
            out.append(hi << 4 | lo)
            i += 2
        }
        self = out
    }

    /// Lowercase hex.
    var hex: String { map { String(format: "%02x", $0) }.joined() }
}

/// What the engine did with one case.
enum Outcome: Sendable, Equatable {
    /// Accepted: the verify/MAC check passed, or the operation returned exactly the expected output.
    case accepted
    /// Rejected with a `CryptoError` (its code) or a `false` from a check.
    case rejected(String)
    /// The operation returned output, but not the expected output.
    case wrongOutput
    /// Something other than a `CryptoError` escaped, or two API paths disagreed: always a mismatch.
    case broken(String)

    /// Runs `body`; equal output is `.accepted`, a thrown `CryptoError` is `.rejected`.
    static func of(expecting expected: Data, _ body: () throws -> Data) -> Outcome {
        do { return try body() == expected ? .accepted : .wrongOutput } catch { return rejection(error) }
    }

    /// Runs a check; `true` is `.accepted`, `false` or a thrown `CryptoError` is `.rejected`.
    static func check(_ body: () throws -> Bool) -> Outcome {
        do { return try body() ? .accepted : .rejected("false") } catch { return rejection(error) }
    }

    static func rejection(_ error: any Error) -> Outcome {
        guard let error = error as? CryptoError else { return .broken("non-CryptoError \(type(of: error)): \(error)") }
        return .rejected(error.code.description)
    }

    /// Combines two paths that must agree (e.g. `open` and `decrypt` of the same box).
    func agreeing(with other: Outcome, _ what: String) -> Outcome {
        switch (self, other) {
        case (.accepted, .accepted), (.wrongOutput, .wrongOutput), (.rejected, .rejected): return self
        case (.broken, _): return self
        case (_, .broken): return other
        default: return .broken("\(what) disagree: \(self) vs \(other)")
        }
    }
}

/// What the runner expects for one case.
enum Expectation: Sendable {
    /// `valid`: must be accepted (with exactly the expected output).
    case accept
    /// `invalid`: must be rejected (see `Tally.outputMismatchRejects` for what counts).
    case reject
    /// `acceptable`: the engine's documented decision for this flag.
    case decided(String, accept: Bool)
    /// Parameters the engine deliberately does not offer: the engine must reject.
    case notApplicable(String)
}

/// Per-family counts, printed as one line and checked for zero mismatches.
struct Tally: Sendable {
    let family: String
    let declaredTests: Int
    /// Whether a returned-but-different output counts as a rejection (ECDH/HKDF), or as a failure (AEAD, unwrap).
    let outputMismatchRejects: Bool
    var validTotal = 0, validAccepted = 0
    var invalidTotal = 0, invalidRejected = 0
    /// Rejections that were a different output rather than an error (only where `outputMismatchRejects`).
    var rejectedByMismatch = 0
    /// Decision label → count (decisions are asserted: a deviation is a mismatch).
    var acceptable: [String: Int] = [:]
    var acceptableTotal = 0
    var notApplicable: [String: Int] = [:]
    var notApplicableTotal = 0
    var mismatches: [String] = []
    /// Extra facts a runner wants printed (e.g. high-S counts).
    var notes: [String] = []
    /// Named counters a family test may assert on.
    var counters: [String: Int] = [:]

    init(family: String, declaredTests: Int, outputMismatchRejects: Bool = false) {
        self.family = family
        self.declaredTests = declaredTests
        self.outputMismatchRejects = outputMismatchRejects
    }

    var total: Int { validTotal + invalidTotal + acceptableTotal + notApplicableTotal }

    private func isRejection(_ outcome: Outcome) -> Bool {
        switch outcome {
        case .rejected: return true
        case .wrongOutput: return outputMismatchRejects
        case .accepted, .broken: return false
        }
    }

    /// Records one case.
    mutating func record(tcId: Int, _ expectation: Expectation, _ outcome: Outcome) {
        func fail(_ why: String) { mismatches.append("tcId \(tcId): \(why), got \(outcome)") }
        switch expectation {
        case .accept:
            validTotal += 1
            if outcome == .accepted { validAccepted += 1 } else { fail("valid case not accepted") }
        case .reject:
            invalidTotal += 1
            if isRejection(outcome) { invalidRejected += 1 } else { fail("invalid case not rejected") }
            if outcome == .wrongOutput && outputMismatchRejects { rejectedByMismatch += 1 }
        case .decided(let label, let accept):
            acceptableTotal += 1
            acceptable[label, default: 0] += 1
            if accept ? outcome != .accepted : !isRejection(outcome) {
                fail("acceptable case: decision \"\(label)\" not honoured")
            }
        case .notApplicable(let reason):
            notApplicableTotal += 1
            notApplicable[reason, default: 0] += 1
            if !isRejection(outcome) { fail("not-applicable case (\(reason)) was not rejected") }
        }
    }

    /// Records a case whose expectation follows directly from its Wycheproof result
    /// (`acceptable` must then be handled by the caller through `decision`).
    mutating func record(
        tcId: Int, result: WycheproofResult, decision: @autoclosure () -> (String, Bool)? = nil,
        notApplicable: String? = nil, _ outcome: Outcome
    ) {
        if let notApplicable {
            record(tcId: tcId, .notApplicable(notApplicable), outcome)
            return
        }
        switch result {
        case .valid: record(tcId: tcId, .accept, outcome)
        case .invalid: record(tcId: tcId, .reject, outcome)
        case .acceptable:
            guard let (label, accept) = decision() else {
                acceptableTotal += 1
                mismatches.append("tcId \(tcId): acceptable case without a decision in the runner")
                return
            }
            record(tcId: tcId, .decided(label, accept: accept), outcome)
        }
    }

    private static func list(_ counts: [String: Int]) -> String {
        counts.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)" }.joined(separator: ", ")
    }

    /// `wycheproof <family>: valid N/N accepted, invalid M/M rejected, acceptable K (decided: …), not applicable P`.
    var line: String {
        var s =
            "wycheproof \(family): valid \(validAccepted)/\(validTotal) accepted, "
            + "invalid \(invalidRejected)/\(invalidTotal) rejected"
            + (rejectedByMismatch > 0 ? " (\(rejectedByMismatch) by a different output)" : "")
            + ", acceptable \(acceptableTotal)"
        if !acceptable.isEmpty { s += " (decided: \(Self.list(acceptable)))" }
        s += ", not applicable \(notApplicableTotal)"
        if !notApplicable.isEmpty { s += " (all rejected: \(Self.list(notApplicable)))" }
        if !notes.isEmpty { s += "; " + notes.joined(separator: "; ") }
        return s
    }

    /// Prints the line and records a test issue per problem: mismatches, and cases not accounted for.
    func expectClean(sourceLocation: SourceLocation = #_sourceLocation) {
        print(line)
        let mismatchCount = mismatches.count
        let firstMismatches = mismatches.prefix(8).joined(separator: " | ")
        #expect(mismatchCount == 0, "\(family): \(mismatchCount) mismatches; first: \(firstMismatches)", sourceLocation: sourceLocation)
        #expect(total == declaredTests, "\(family): ran \(total) cases, the file declares \(declaredTests)", sourceLocation: sourceLocation)
        #expect(total > 0, "\(family): no cases ran", sourceLocation: sourceLocation)
    }
}

/// Each family's tally, computed once (lazily, thread-safely) and shared by the family
/// test and the table test. Runners add their members in their own files.
enum WycheproofRuns {}

/// A runner's result: its tally, or the error that stopped it (missing file, bad JSON).
typealias TallyResult = Result<Tally, any Error>
