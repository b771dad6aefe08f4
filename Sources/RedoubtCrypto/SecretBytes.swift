import Crypto
import Foundation

/// Secret bytes: key material, shared secrets, unwrapped keys.
///
/// The bytes live in memory that is zeroized when the last copy goes away,
/// compare in constant time, and never print: `description` shows only the
/// length. Use ``withUnsafeBytes(_:)`` to hand them to a primitive, and
/// ``exportedBytes()`` only where the bytes must leave the engine (an export
/// that policy allowed).
public struct SecretBytes: Sendable, Equatable, CustomStringConvertible, CustomDebugStringConvertible {
    let storage: SymmetricKey

    /// Copies the given bytes into zeroizing storage.
    public init(_ bytes: some ContiguousBytes) {
        self.storage = SymmetricKey(data: bytes)
    }

    init(symmetricKey: SymmetricKey) {
        self.storage = symmetricKey
    }

    /// Fresh random bytes from the system CSPRNG.
    public static func random(count: Int) throws -> SecretBytes {
        guard count > 0, count <= 1 << 20 else {
            throw CryptoError.invalidInput("random secret length must be 1 to 1048576 bytes, got \(count)")
        }
        return SecretBytes(symmetricKey: SymmetricKey(size: .init(bitCount: count * 8)))
    }

    /// The number of bytes.
    public var count: Int { storage.bitCount / 8 }

    /// Calls `body` with the secret bytes. Do not let the pointer escape.
    public func withUnsafeBytes<R>(_ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R {
        try storage.withUnsafeBytes(body)
    }

    /// A plain copy of the bytes, for an export that policy allowed. The caller owns its secrecy.
    public func exportedBytes() -> Data {
        storage.withUnsafeBytes { Data($0) }
    }

    /// The bytes as a swift-crypto `SymmetricKey`.
    public var symmetricKey: SymmetricKey { storage }

    /// Constant-time comparison.
    public static func == (lhs: SecretBytes, rhs: SecretBytes) -> Bool {
        lhs.withUnsafeBytes { a in rhs.withUnsafeBytes { b in constantTimeEqual(a, b) } }
    }

    /// `SecretBytes(<redacted>, N bytes)`.
    public var description: String { "SecretBytes(<redacted>, \(count) bytes)" }
    /// Same as ``description``.
    public var debugDescription: String { description }
}

/// Compares two byte buffers in time that depends only on their lengths.
public func constantTimeEqual(_ a: UnsafeRawBufferPointer, _ b: UnsafeRawBufferPointer) -> Bool {
    guard a.count == b.count else { return false }
    var diff: UInt8 = 0
    for i in 0..<a.count { diff |= a[i] ^ b[i] }
    return diff == 0
}

/// Compares two byte sequences in time that depends only on their lengths.
public func constantTimeEqual(_ a: some DataProtocol, _ b: some DataProtocol) -> Bool {
    let x = Array(a), y = Array(b)
    return x.withUnsafeBytes { p in y.withUnsafeBytes { q in constantTimeEqual(p, q) } }
}
