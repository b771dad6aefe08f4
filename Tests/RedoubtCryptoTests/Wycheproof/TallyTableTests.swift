import Foundation
import RedoubtCrypto
import Testing

/// Prints the tally of every Wycheproof family as one table, and checks the whole
/// set: every file ran, every case was accounted for, no mismatches anywhere.
@Suite("Wycheproof tally")
struct WycheproofTallyTableTests {
    static let families: [(file: String, result: TallyResult)] = [
        ("aes_gcm_test", WycheproofRuns.aesGCM),
        ("aes_wrap_test", WycheproofRuns.aesKW),
        ("chacha20_poly1305_test", WycheproofRuns.chaCha20Poly1305),
        ("ecdh_secp256r1_test", WycheproofRuns.ecdhP256),
        ("ecdsa_secp256k1_sha256_test", WycheproofRuns.ecdsaSecp256k1),
        ("ecdsa_secp256r1_sha256_test", WycheproofRuns.ecdsaP256),
        ("ecdsa_secp384r1_sha384_test", WycheproofRuns.ecdsaP384),
        ("ed25519_test", WycheproofRuns.ed25519),
        ("hkdf_sha256_test", WycheproofRuns.hkdfSHA256),
        ("hmac_sha256_test", WycheproofRuns.hmacSHA256),
        ("mldsa_65_verify_test", WycheproofRuns.mldsa65),
        ("rsa_oaep_2048_sha256_mgf1sha256_test", WycheproofRuns.rsaOAEP),
        ("rsa_pkcs1_2048_test", WycheproofRuns.rsaPKCS1Decrypt),
        ("rsa_pss_2048_sha256_mgf1_32_test", WycheproofRuns.rsaPSS),
        ("x25519_test", WycheproofRuns.x25519),
    ]

    @Test func fullTable() throws {
        var rows: [String] = []
        var sum = Tally(family: "total", declaredTests: 0)
        var mismatchTotal = 0
        func pad(_ s: String, _ n: Int) -> String { s.count >= n ? s : s + String(repeating: " ", count: n - s.count) }
        func right(_ s: String, _ n: Int) -> String { String(repeating: " ", count: max(0, n - s.count)) + s }
        func row(_ t: Tally, mismatches: Int) -> String {
            pad(t.family, 34) + right(String(t.total), 6) + right("\(t.validAccepted)/\(t.validTotal)", 11)
                + right("\(t.invalidRejected)/\(t.invalidTotal)", 11) + right(String(t.acceptableTotal), 12)
                + right(String(t.notApplicableTotal), 7) + right(String(mismatches), 12)
        }
        rows.append(
            pad("family", 34) + right("cases", 6) + right("valid", 11) + right("invalid", 11)
                + right("acceptable", 12) + right("n/a", 7) + right("mismatches", 12))
        for (file, result) in Self.families {
            let tally = try #require(try? result.get(), "the \(file) runner failed to run")
            sum.validTotal += tally.validTotal
            sum.validAccepted += tally.validAccepted
            sum.invalidTotal += tally.invalidTotal
            sum.invalidRejected += tally.invalidRejected
            sum.acceptableTotal += tally.acceptableTotal
            sum.notApplicableTotal += tally.notApplicableTotal
            mismatchTotal += tally.mismatches.count
            rows.append(row(tally, mismatches: tally.mismatches.count))
            #expect(tally.total == tally.declaredTests, "\(file): \(tally.total) of \(tally.declaredTests) cases ran")
            let mismatchCount = tally.mismatches.count
            #expect(mismatchCount == 0, "\(file): first mismatches \(tally.mismatches.prefix(5))")
        }
        rows.append(row(sum, mismatches: mismatchTotal))
        print("Wycheproof tally\n" + rows.joined(separator: "\n"))
        for (_, result) in Self.families { if let line = try? result.get().line { print(line) } }
        #expect(mismatchTotal == 0)
        #expect(Self.families.count == 15)
    }

    /// Every JSON file shipped in Vectors/ has a runner (no file silently unused).
    @Test func everyVectorFileHasARunner() throws {
        let folder = try #require(Bundle.module.url(forResource: "Vectors", withExtension: nil))
        let shipped = try FileManager.default.contentsOfDirectory(atPath: folder.path)
            .filter { $0.hasSuffix(".json") }.map { String($0.dropLast(5)) }
        #expect(Set(shipped) == Set(Self.families.map(\.file)))
        #expect(FileManager.default.fileExists(atPath: folder.appendingPathComponent("LICENSE").path))
    }
}
