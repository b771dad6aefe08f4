import Foundation

/// A key's material, unsealed, in the form the engine uses.
enum LoadedMaterial: Sendable {
    case secret(SecretKey)
    case privateKey(PrivateKey)
    case publicKey(PublicKey)

    var publicKey: PublicKey? {
        switch self {
        case .secret: return nil
        case .privateKey(let k): return k.publicKey
        case .publicKey(let k): return k
        }
    }

    /// The bytes that are sealed (and exported): raw for secret keys, PKCS#8 for private keys.
    func exportable() throws -> SecretBytes {
        switch self {
        case .secret(let k): return k.material
        case .privateKey(let k):
            do { return try k.pkcs8Representation() } catch { throw HSMError(.internalError, "cannot encode the private key") }
        case .publicKey: throw HSMError.precondition("a public-only key has no private material")
        }
    }

    /// Rebuilds material from sealed bytes.
    static func from(_ bytes: SecretBytes, algorithm: KeyAlgorithm) throws -> LoadedMaterial {
        if algorithm.isSymmetric {
            return .secret(try SecretKey(algorithm: algorithm, material: bytes))
        }
        return .privateKey(try bytes.withUnsafeBytes { try PrivateKey(pkcs8DER: $0) })
    }

    /// Fresh material for `algorithm`.
    static func generate(_ algorithm: KeyAlgorithm, secretByteCount: Int?) throws -> LoadedMaterial {
        if algorithm.isSymmetric {
            return .secret(try SecretKey.generate(algorithm, byteCount: algorithm == .genericSecret ? (secretByteCount ?? 32) : nil))
        }
        return .privateKey(try PrivateKey.generate(algorithm))
    }
}

/// A key object with its unsealed versions, as cached in memory.
struct LoadedKey: Sendable {
    var record: KeyRecord
    var revision: Int64
    var persistent: Bool
    var materials: [Int: LoadedMaterial]
    var partition: String

    var info: KeyInfo { record.info(persistent: persistent) }
}
