import Foundation

/// A person who approves requests by signing their ``ApprovalChallenge`` offline, registered
/// in a partition by its security officer.
///
/// A user with the ``Role/approver`` role and the same name acts as this approver when it
/// logs in; the signature, not the session, is what counts.
public struct Approver: Sendable, Hashable {
    /// The approver's name, unique in the partition (1-64 of A-Z a-z 0-9 . _ -).
    public var name: String
    /// The key that verifies the approver's signatures: Ed25519, P-256 or ML-DSA-65.
    public var publicKey: PublicKey

    /// An approver.
    public init(name: String, publicKey: PublicKey) {
        self.name = name
        self.publicKey = publicKey
    }

    /// The algorithms approver keys may use.
    public static let algorithms: Set<KeyAlgorithm> = [.ed25519, .p256, .mldsa65]

    /// The signature scheme an approver key of `algorithm` signs challenges with: pure Ed25519,
    /// ECDSA P-256 with SHA-256 in DER, or pure ML-DSA-65 with an empty context.
    public static func scheme(for algorithm: KeyAlgorithm) -> SignatureScheme? {
        switch algorithm {
        case .ed25519: return .ed25519
        case .p256: return .ecdsa(.sha256, encoding: .der)
        case .mldsa65: return .mldsa()
        default: return nil
        }
    }

    /// Whether `signature` is this approver's signature of `challenge`. Malformed signatures are
    /// simply not valid.
    public func isValidSignature(_ signature: Data, for challenge: Data) -> Bool {
        guard let scheme = Self.scheme(for: publicKey.algorithm), signature.count <= 8192,
            let verifier = try? VerifyingKey(publicKey)
        else { return false }
        return (try? verifier.isValidSignature(signature, for: .message(challenge), scheme: scheme)) ?? false
    }

    /// Approver names: 1–64 of [A-Za-z0-9._-], starting alphanumeric (as user names).
    public static func isValidName(_ name: String) -> Bool {
        guard (1...64).contains(name.utf8.count), let first = name.utf8.first, Self.alnum(first) else { return false }
        return name.utf8.allSatisfy { Self.alnum($0) || $0 == UInt8(ascii: ".") || $0 == UInt8(ascii: "_") || $0 == UInt8(ascii: "-") }
    }

    private static func alnum(_ b: UInt8) -> Bool {
        (48...57).contains(b) || (65...90).contains(b) || (97...122).contains(b)
    }
}
