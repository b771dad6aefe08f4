import Foundation
import PropertyBased
import RedoubtCrypto
import Testing

// Helpers shared by the round-trip, bad-input and secrecy tests.

/// Generators of byte strings.
enum Bytes {
    /// Random bytes with a length in `range`.
    static func data(_ range: ClosedRange<Int>) -> Generator<Data, some SendableSequenceType> {
        Gen.uint8().array(of: range).map { Data($0) }
    }

    /// Messages of 0…4 KiB.
    static let message: Generator<Data, some SendableSequenceType> = data(0...4096)
    /// Additional authenticated data of 0…64 bytes.
    static let aad: Generator<Data, some SendableSequenceType> = data(0...64)
}

extension Data {
    /// A copy with bit `bit` (counted from the first byte's high bit) flipped; an empty value gains a byte.
    func flippingBit(_ bit: Int) -> Data {
        guard !isEmpty else { return Data([0x01]) }
        var copy = self
        let index = copy.index(copy.startIndex, offsetBy: (bit / 8) % count)
        copy[index] ^= UInt8(0x80) >> UInt8(bit % 8)
        return copy
    }
}

/// Checks that `body` throws a `CryptoError` with `code` (and never traps or throws another type).
func expectCryptoError<T>(
    _ code: CryptoError.Code, _ what: @autoclosure () -> String = "",
    sourceLocation: SourceLocation = #_sourceLocation, _ body: () throws -> T
) {
    do {
        _ = try body()
        Issue.record("\(what()): expected CryptoError \(code), but the call succeeded", sourceLocation: sourceLocation)
    } catch let error as CryptoError {
        #expect(error.code == code, "\(what()): expected \(code), got \(error)", sourceLocation: sourceLocation)
    } catch {
        Issue.record("\(what()): expected CryptoError \(code), got \(type(of: error)): \(error)", sourceLocation: sourceLocation)
    }
}

/// Keys that are slow to make, generated once and shared by the tests that need them.
enum SharedKeys {
    static let rsa2048 = Result { try PrivateKey.generate(.rsa2048) }
}

/// Test-side big-endian arithmetic and DER for ECDSA signatures.
enum ECDSAMath {
    /// The order of secp256k1.
    static let secp256k1Order: [UInt8] = Array(Data(hex: "fffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141") ?? Data())

    /// `a − b` for equal-width big-endian values with a ≥ b.
    static func subtract(_ a: [UInt8], _ b: [UInt8]) -> [UInt8] {
        precondition(a.count == b.count)
        var out = [UInt8](repeating: 0, count: a.count)
        var borrow = 0
        for i in stride(from: a.count - 1, through: 0, by: -1) {
            var d = Int(a[i]) - Int(b[i]) - borrow
            borrow = d < 0 ? 1 : 0
            if d < 0 { d += 256 }
            out[i] = UInt8(d)
        }
        return out
    }

    /// DER `SEQUENCE { r, s }` from fixed-width big-endian values (short lengths only).
    static func der(r: [UInt8], s: [UInt8]) -> Data {
        func integer(_ v: [UInt8]) -> [UInt8] {
            var body = Array(v.drop(while: { $0 == 0 }))
            if body.isEmpty { body = [0] }
            if body[0] & 0x80 != 0 { body.insert(0, at: 0) }
            return [0x02, UInt8(body.count)] + body
        }
        let content = integer(r) + integer(s)
        return Data([0x30, UInt8(content.count)] + content)
    }
}

/// PEM armour written by the test itself (64-character lines, RFC 7468).
func pemEncode(_ der: Data, label: String) -> String {
    let b64 = der.base64EncodedString()
    var lines: [String] = []
    var rest = Substring(b64)
    while !rest.isEmpty {
        lines.append(String(rest.prefix(64)))
        rest = rest.dropFirst(64)
    }
    return "-----BEGIN \(label)-----\n" + lines.joined(separator: "\n") + "\n-----END \(label)-----\n"
}

extension KeyAlgorithm {
    /// Every asymmetric algorithm.
    static let asymmetric = allCases.filter { !$0.isSymmetric }
    /// Every ECDSA curve.
    static let ecdsaCurves = allCases.filter(\.isECDSA)
}
