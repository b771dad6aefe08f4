import Foundation
@testable import Redoubt
@testable import RedoubtCore
import Testing

@Suite("Shamir secret sharing over GF(2^8)")
struct ShamirTests {
    @Test("field arithmetic matches FIPS-197 and every element has an inverse")
    func field() {
        #expect(GF256.multiply(0x57, 0x83) == 0xC1)
        #expect(GF256.multiply(0x57, 0x13) == 0xFE)
        #expect(GF256.inverse(0) == 0)
        for a in 1...255 {
            #expect(GF256.multiply(UInt8(a), GF256.inverse(UInt8(a))) == 1)
        }
    }

    @Test("random secrets round-trip through any threshold-sized subset (property)")
    func roundTripProperty() throws {
        var rng = SystemRandomNumberGenerator()
        for _ in 0..<300 {
            let length = Int.random(in: 1...64, using: &rng)
            let threshold = Int.random(in: 2...8, using: &rng)
            let count = Int.random(in: threshold...12, using: &rng)
            let secret = try SecretBytes.random(count: length)
            let shares = try Shamir.split(secret, threshold: threshold, count: count)
            #expect(shares.count == count)
            #expect(shares.map(\.index) == (1...count).map { UInt8($0) })
            #expect(shares.allSatisfy { $0.bytes.count == length })
            let size = Int.random(in: threshold...count, using: &rng)
            let subset = Array(shares.shuffled(using: &rng).prefix(size))
            #expect(try Shamir.combine(subset) == secret, "M=\(threshold) N=\(count) k=\(size) length=\(length)")
        }
    }

    @Test("threshold − 1 shares do not give the secret back")
    func belowThreshold() throws {
        for threshold in 2...6 {
            let secret = try SecretBytes.random(count: 32)
            let shares = try Shamir.split(secret, threshold: threshold, count: threshold + 2)
            #expect(try Shamir.combine(Array(shares.prefix(threshold - 1))) != secret)
            #expect(shares.allSatisfy { $0.bytes != secret })
        }
    }

    @Test("two splits of one secret differ: coefficients are random")
    func randomized() throws {
        let secret = try SecretBytes.random(count: 32)
        let a = try Shamir.split(secret, threshold: 2, count: 3)
        let b = try Shamir.split(secret, threshold: 2, count: 3)
        #expect(a[0].bytes != b[0].bytes)
    }

    @Test("bad parameters and bad share sets are refused")
    func badInput() throws {
        let secret = try SecretBytes.random(count: 16)
        expectSealingError(.invalidArgument) { try Shamir.split(secret, threshold: 1, count: 3) }
        expectSealingError(.invalidArgument) { try Shamir.split(secret, threshold: 4, count: 3) }
        expectSealingError(.invalidArgument) { try Shamir.split(secret, threshold: 2, count: 256) }
        _ = try Shamir.split(secret, threshold: 2, count: 255)

        let shares = try Shamir.split(secret, threshold: 2, count: 3)
        expectSealingError(.invalidShare) { try Shamir.combine([]) }
        expectSealingError(.invalidShare) { try Shamir.combine([shares[0], shares[0]]) }
        expectSealingError(.invalidShare) { try Shamir.combine([(index: 0, bytes: shares[0].bytes), shares[1]]) }
        let short = try SecretBytes.random(count: 8)
        expectSealingError(.invalidShare) { try Shamir.combine([shares[0], (index: 2, bytes: short)]) }
    }
}
