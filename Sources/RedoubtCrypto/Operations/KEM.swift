import Crypto
import Foundation

/// The result of encapsulation: a shared secret and the ciphertext to send.
public struct Encapsulation: Sendable {
    /// The 32-byte shared secret.
    public let sharedSecret: SecretBytes
    /// The encapsulated key (ciphertext) for the holder of the private key.
    public let encapsulated: Data
}

/// An ML-KEM public key in its encapsulation role.
public struct EncapsulationKey: Sendable, Hashable {
    /// The underlying public key.
    public let publicKey: PublicKey

    /// Takes the encapsulation view of `key` (ML-KEM-768 or ML-KEM-1024).
    public init(_ key: PublicKey) throws {
        guard key.algorithm == .mlkem768 || key.algorithm == .mlkem1024 else {
            throw CryptoError.unsupported("\(key.algorithm) keys cannot encapsulate")
        }
        self.publicKey = key
    }

    /// Encapsulates a fresh shared secret.
    public func encapsulate() throws -> Encapsulation {
        let result: KEM.EncapsulationResult
        switch publicKey.storage {
        case .mlkem768(let k): result = try wrapped { try k.encapsulate() }
        case .mlkem1024(let k): result = try wrapped { try k.encapsulate() }
        default: throw CryptoError.unsupported("\(publicKey.algorithm) keys cannot encapsulate")
        }
        return Encapsulation(sharedSecret: SecretBytes(symmetricKey: result.sharedSecret), encapsulated: result.encapsulated)
    }
}

/// An ML-KEM private key in its decapsulation role.
public struct DecapsulationKey: Sendable, CustomStringConvertible {
    /// The underlying private key.
    public let privateKey: PrivateKey

    /// Takes the decapsulation view of `key` (ML-KEM-768 or ML-KEM-1024).
    public init(_ key: PrivateKey) throws {
        guard key.algorithm == .mlkem768 || key.algorithm == .mlkem1024 else {
            throw CryptoError.unsupported("\(key.algorithm) keys cannot decapsulate")
        }
        self.privateKey = key
    }

    /// Recovers the shared secret. A ciphertext of the wrong length is refused; a
    /// tampered one yields an unrelated secret (implicit rejection, FIPS 203).
    public func decapsulate(_ encapsulated: some DataProtocol) throws -> SecretBytes {
        let expected = privateKey.algorithm == .mlkem768 ? 1088 : 1568
        guard encapsulated.count == expected else {
            throw CryptoError.invalidInput("\(privateKey.algorithm) ciphertext must be \(expected) bytes, got \(encapsulated.count)")
        }
        let bad = CryptoError.invalidInput("malformed \(privateKey.algorithm) ciphertext")
        switch privateKey.storage {
        case .mlkem768(let k): return SecretBytes(symmetricKey: try mapped(bad) { try k.decapsulate(encapsulated) })
        case .mlkem1024(let k): return SecretBytes(symmetricKey: try mapped(bad) { try k.decapsulate(encapsulated) })
        default: throw CryptoError.unsupported("\(privateKey.algorithm) keys cannot decapsulate")
        }
    }

    /// `DecapsulationKey(<algorithm>, <redacted>)`.
    public var description: String { "DecapsulationKey(\(privateKey.algorithm), <redacted>)" }
}
