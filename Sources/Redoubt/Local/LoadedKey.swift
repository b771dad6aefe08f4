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
///
/// A value type over one immutable box: taking a key out of the cache for every use costs one
/// reference count, not one per field of its record. A change makes a new box.
struct LoadedKey: Sendable {
    private struct Fields: Sendable {
        var record: KeyRecord
        var revision: Int64
        var persistent: Bool
        var materials: [Int: LoadedMaterial]
        var partition: String
    }

    private final class Box: Sendable {
        let fields: Fields
        init(_ fields: Fields) { self.fields = fields }
    }

    private var box: Box

    init(record: KeyRecord, revision: Int64, persistent: Bool, materials: [Int: LoadedMaterial], partition: String) {
        box = Box(Fields(record: record, revision: revision, persistent: persistent, materials: materials, partition: partition))
    }

    /// A new box with `body`'s change.
    private mutating func change(_ body: (inout Fields) -> Void) {
        var fields = box.fields
        body(&fields)
        box = Box(fields)
    }

    var record: KeyRecord {
        _read { yield box.fields.record }
        set { change { $0.record = newValue } }
    }
    var revision: Int64 {
        get { box.fields.revision }
        set { change { $0.revision = newValue } }
    }
    var persistent: Bool {
        get { box.fields.persistent }
        set { change { $0.persistent = newValue } }
    }
    var materials: [Int: LoadedMaterial] {
        _read { yield box.fields.materials }
        set { change { $0.materials = newValue } }
    }
    var partition: String { box.fields.partition }

    var info: KeyInfo { record.info(persistent: persistent) }
}
