import Crypto
import Foundation

/// Hash functions and random bytes.
public enum Hashing {
    /// The digest of `data` under `algorithm`.
    public static func digest(_ data: some DataProtocol, _ algorithm: HashAlgorithm) -> Data {
        switch algorithm {
        case .sha256: return Data(SHA256.hash(data: data))
        case .sha384: return Data(SHA384.hash(data: data))
        case .sha512: return Data(SHA512.hash(data: data))
        }
    }
}

/// Random bytes from the system CSPRNG.
public enum Random {
    /// The most bytes one call returns.
    public static let maximumByteCount = 1 << 20

    /// `count` random bytes (1 to ``maximumByteCount``).
    public static func bytes(count: Int) throws -> Data {
        guard count > 0, count <= maximumByteCount else {
            throw CryptoError.invalidInput("random length must be 1 to \(maximumByteCount) bytes, got \(count)")
        }
        return try SecretBytes.random(count: count).exportedBytes()
    }
}

/// A caller-supplied digest, handed to swift-crypto's ECDSA as is.
struct PrehashedDigest: Digest {
    let bytes: [UInt8]
    init(_ bytes: [UInt8]) { self.bytes = bytes }
    static var byteCount: Int { 64 }
    func withUnsafeBytes<R>(_ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R { try bytes.withUnsafeBytes(body) }
    func makeIterator() -> IndexingIterator<[UInt8]> { bytes.makeIterator() }
    var description: String { "PrehashedDigest(\(bytes.count) bytes)" }
}

extension SigningInput {
    /// The digest to sign: the message hashed with `hash`, or the caller's digest checked for length.
    func digest(_ hash: HashAlgorithm) throws -> [UInt8] {
        switch self {
        case .message(let m):
            switch hash {
            case .sha256: return Array(SHA256.hash(data: m))
            case .sha384: return Array(SHA384.hash(data: m))
            case .sha512: return Array(SHA512.hash(data: m))
            }
        case .digest(let d):
            guard d.count == hash.byteCount else {
                throw CryptoError.invalidInput("a \(hash.rawValue) digest is \(hash.byteCount) bytes, got \(d.count)")
            }
            return Array(d)
        }
    }
}
