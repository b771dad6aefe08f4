import Foundation
import RedoubtCrypto
import Testing

// Wycheproof ECDSA verification (ecdsa_verify_schema_v1, DER signatures) for P-256/SHA-256,
// P-384/SHA-384 and secp256k1/SHA-256, through `VerifyingKey.isValidSignature` with
// `.ecdsa(hash, encoding: .der, lowS: .standard)`.
//
// Every case runs twice: as `.message(msg)` and as `.digest(SHA(msg))`; both must agree.
// Valid cases are also converted to fixed-width `r ‖ s` and must verify with `.raw`.
// The key comes from `publicKeyDer` (SPKI) and must equal the raw `uncompressed` point import.
//
// | Case                                  | Decision                                              |
// |---------------------------------------|-------------------------------------------------------|
// | acceptable                            | none in these files                                   |
// | BER / non-minimal DER encodings       | invalid in Wycheproof; refused (strict DER)           |
// | secp256k1 high-S (s > n/2), valid     | accepted under `.standard` (X9.62); under `.strict`   |
// |                                       | every valid case is re-checked: strict must accept    |
// |                                       | exactly the low-S ones and refuse the high-S ones     |

struct ECDSAGroup: Decodable, Sendable {
    struct Key: Decodable, Sendable {
        let curve: String
        let uncompressed: Hex
    }
    let publicKey: Key
    let publicKeyDer: Hex
    let sha: String
    let tests: [SignatureCase]
}

/// A signature-verification case (ECDSA, EdDSA, RSA-PSS, ML-DSA share this shape).
struct SignatureCase: Decodable, Sendable {
    let tcId: Int
    let comment: String
    let flags: [String]
    let msg: Hex
    let sig: Hex
    let ctx: Hex?
    let result: WycheproofResult
}

extension HashAlgorithm {
    init?(wycheproof name: String) {
        switch name {
        case "SHA-256": self = .sha256
        case "SHA-384": self = .sha384
        case "SHA-512": self = .sha512
        default: return nil
        }
    }
}

/// A minimal strict-DER reader for `SEQUENCE { r INTEGER, s INTEGER }` (test side, valid cases only).
enum ECDSADER {
    static func split(_ der: Data) -> (r: [UInt8], s: [UInt8])? {
        var bytes = ArraySlice(der)
        func length() -> Int? {
            guard let first = bytes.popFirst() else { return nil }
            if first < 0x80 { return Int(first) }
            let n = Int(first & 0x7f)
            guard n >= 1, n <= 2, bytes.count >= n else { return nil }
            var value = 0
            for _ in 0..<n { value = value << 8 | Int(bytes.removeFirst()) }
            return value
        }
        func integer() -> [UInt8]? {
            guard bytes.popFirst() == 0x02, let n = length(), n >= 1, bytes.count >= n else { return nil }
            let value = Array(bytes.prefix(n))
            bytes = bytes.dropFirst(n)
            return Array(value.drop(while: { $0 == 0 }))
        }
        guard bytes.popFirst() == 0x30, let total = length(), total == bytes.count,
            let r = integer(), let s = integer(), bytes.isEmpty
        else { return nil }
        return (r, s)
    }

    static func raw(_ der: Data, fieldBytes: Int) -> Data? {
        guard let (r, s) = split(der), r.count <= fieldBytes, s.count <= fieldBytes else { return nil }
        func pad(_ v: [UInt8]) -> [UInt8] { [UInt8](repeating: 0, count: fieldBytes - v.count) + v }
        return Data(pad(r) + pad(s))
    }

    /// Big-endian comparison of unsigned magnitudes (no leading zeros on either side).
    static func isGreater(_ a: [UInt8], than b: [UInt8]) -> Bool {
        let a = Array(a.drop(while: { $0 == 0 })), b = Array(b.drop(while: { $0 == 0 }))
        if a.count != b.count { return a.count > b.count }
        for (x, y) in zip(a, b) where x != y { return x > y }
        return false
    }

    /// ⌊n/2⌋ for secp256k1.
    static let secp256k1HalfOrder = Array(Data(hex: "7fffffffffffffffffffffffffffffff5d576e7357a4501ddfe92f46681b20a0") ?? Data())
}

enum ECDSARunner {
    static func run(file: String, family: String, algorithm: KeyAlgorithm, fieldBytes: Int) throws -> Tally {
        let vectors = try WycheproofFile<ECDSAGroup>.load(file)
        var tally = Tally(family: family, declaredTests: vectors.numberOfTests)
        var highS = 0, strictChecked = 0
        for group in vectors.testGroups {
            let hash = try #require(HashAlgorithm(wycheproof: group.sha))
            let key = Result { try VerifyingKey(PublicKey(spkiDER: group.publicKeyDer.data)) }
            let rawKey = Result { try PublicKey(rawRepresentation: group.publicKey.uncompressed.data, algorithm: algorithm) }
            let keyProblem: String? = {
                guard let k = try? key.get(), let r = try? rawKey.get() else { return "key import failed" }
                guard k.publicKey.algorithm == algorithm else { return "SPKI imported as \(k.publicKey.algorithm)" }
                return k.publicKey == r ? nil : "SPKI and raw imports differ"
            }()
            let scheme = SignatureScheme.ecdsa(hash, encoding: .der, lowS: .standard)
            for test in group.tests {
                let message = Outcome.check {
                    try key.get().isValidSignature(test.sig.data, for: .message(test.msg.data), scheme: scheme)
                }
                let digest = Outcome.check {
                    try key.get().isValidSignature(test.sig.data, for: .digest(Hashing.digest(test.msg.data, hash)), scheme: scheme)
                }
                var outcome = message.agreeing(with: digest, "message and digest input")
                if let keyProblem { outcome = .broken(keyProblem) }
                if test.result == .valid, outcome == .accepted {
                    // The same signature in fixed-width form must verify with `.raw`.
                    let raw = Outcome.check {
                        guard let raw = ECDSADER.raw(test.sig.data, fieldBytes: fieldBytes) else { return false }
                        return try key.get().isValidSignature(
                            raw, for: .message(test.msg.data),
                            scheme: .ecdsa(hash, encoding: .raw, lowS: .standard))
                    }
                    outcome = outcome.agreeing(with: raw, "DER and raw encodings")
                    if algorithm == .secp256k1, let (_, s) = ECDSADER.split(test.sig.data) {
                        let isHigh = ECDSADER.isGreater(s, than: ECDSADER.secp256k1HalfOrder)
                        if isHigh { highS += 1 }
                        strictChecked += 1
                        let strict = Outcome.check {
                            try key.get().isValidSignature(
                                test.sig.data, for: .message(test.msg.data),
                                scheme: .ecdsa(hash, encoding: .der, lowS: .strict))
                        }
                        let strictOK = strict == .accepted
                        if strictOK == isHigh {
                            outcome = .broken(".strict \(strictOK ? "accepted" : "refused") a \(isHigh ? "high" : "low")-S signature")
                        }
                    }
                }
                tally.record(tcId: test.tcId, result: test.result, outcome)
            }
        }
        if algorithm == .secp256k1 {
            tally.counters["highS"] = highS
            tally.counters["strictChecked"] = strictChecked
            tally.notes.append(
                "strict low-S re-check of \(strictChecked) valid cases: \(highS) high-S refused by .strict, "
                    + "\(strictChecked - highS) low-S accepted")
        }
        return tally
    }
}

extension WycheproofRuns {
    static let ecdsaP256 = TallyResult {
        try ECDSARunner.run(file: "ecdsa_secp256r1_sha256_test", family: "ECDSA P-256/SHA-256", algorithm: .p256, fieldBytes: 32)
    }
    static let ecdsaP384 = TallyResult {
        try ECDSARunner.run(file: "ecdsa_secp384r1_sha384_test", family: "ECDSA P-384/SHA-384", algorithm: .p384, fieldBytes: 48)
    }
    static let ecdsaSecp256k1 = TallyResult {
        try ECDSARunner.run(file: "ecdsa_secp256k1_sha256_test", family: "ECDSA secp256k1/SHA-256", algorithm: .secp256k1, fieldBytes: 32)
    }
}

@Suite("Wycheproof ECDSA")
struct WycheproofECDSATests {
    @Test func p256() throws { try WycheproofRuns.ecdsaP256.get().expectClean() }
    @Test func p384() throws { try WycheproofRuns.ecdsaP384.get().expectClean() }
    @Test func secp256k1() throws {
        let tally = try WycheproofRuns.ecdsaSecp256k1.get()
        tally.expectClean()
        // The file has high-S valid signatures, so the strict re-check has something to refuse.
        #expect(tally.counters["highS", default: 0] > 0)
        #expect(tally.counters["strictChecked"] == tally.validTotal)
    }
}
