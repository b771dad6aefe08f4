import Crypto
import Foundation

/// The byte layout of a backup file, shared by writer and reader.
///
/// ```
/// "REDOUBT-BACKUP\n"  format version (UInt16 BE)  header length (UInt32 BE)  header JSON
/// { chunk length (UInt32 BE)  nonce (12) ‖ AES-256-GCM(zstd(JSON [records])) ‖ tag (16) } …
/// ```
///
/// Chunk AAD = SHA-256(preamble: magic through header JSON) ‖ chunk index
/// (UInt32 BE) ‖ last-chunk flag (1 byte). The backup key is
/// HKDF-SHA256(master key, header salt, "redoubt/backup/v1").
enum BackupFormat {
    static let magic = Data("REDOUBT-BACKUP\n".utf8)
    static let version: UInt16 = 1
    static let maximumHeaderByteCount = 1 << 16
    static let maximumChunkByteCount = 64 << 20
    static let maximumChunkPlaintextByteCount = 64 << 20
    static let maximumRecordsPerChunk = 1000
    /// A chunk is closed once its JSON reaches this size…
    static let chunkFlushByteCount = 8 << 20
    /// …and one record's JSON may not exceed this, so a chunk stays under 64 MiB.
    static let maximumRecordByteCount = 32 << 20
    static let saltByteCount = 32
    static let minimumSealedByteCount = 28

    /// The JSON form of ``BackupHeader``.
    struct HeaderJSON: Codable {
        var createdAt: Date
        var scope: String
        var masterKeyID: String
        var recordCount: Int
        var salt: Data
        var masterEnvelope: Data?
    }

    /// The preamble bytes for `header`.
    static func preamble(_ header: BackupHeader) throws -> Data {
        let json = HeaderJSON(
            createdAt: header.createdAt, scope: header.scope.description, masterKeyID: header.masterKeyID,
            recordCount: header.recordCount, salt: header.salt, masterEnvelope: header.masterEnvelope)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        encoder.dateEncodingStrategy = .iso8601
        let body: Data
        do {
            body = try encoder.encode(json)
        } catch {
            throw BackupError.internalFailure("cannot encode the backup header")
        }
        guard body.count <= maximumHeaderByteCount else {
            throw BackupError(.invalidArgument, "the backup header exceeds \(maximumHeaderByteCount) bytes: shorten the partition id")
        }
        var out = magic
        Bytes.append(version, to: &out)
        Bytes.append(UInt32(body.count), to: &out)
        out.append(body)
        return out
    }

    /// Decodes and checks header JSON.
    static func decodeHeader(_ body: Data) throws -> BackupHeader {
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .iso8601
        guard let json = try? decoder.decode(HeaderJSON.self, from: body) else {
            throw BackupError.damaged("the backup header is not valid: the file is damaged")
        }
        guard let scope = BackupScope(json.scope) else {
            throw BackupError.damaged("the backup header has an unknown scope: the file is damaged")
        }
        guard Bytes.isLowercaseHex(json.masterKeyID, byteCount: 16), json.salt.count == saltByteCount, json.recordCount >= 0 else {
            throw BackupError.damaged("the backup header has invalid fields: the file is damaged")
        }
        return BackupHeader(
            formatVersion: version, createdAt: json.createdAt, scope: scope, masterKeyID: json.masterKeyID,
            recordCount: json.recordCount, salt: json.salt, masterEnvelope: json.masterEnvelope)
    }

    /// The AES-256 key for the chunks of a backup with `salt`.
    static func backupKey(master: MasterKey, salt: Data) throws -> SecretKey {
        do {
            let bytes = try RedoubtCrypto.KDF.derive(
                master.key.material,
                .hkdf(.sha256, salt: salt, info: Data("redoubt/backup/v1".utf8), outputByteCount: 32))
            return try SecretKey(algorithm: .aes256, material: bytes)
        } catch {
            throw BackupError.internalFailure("cannot derive the backup key: \(error)")
        }
    }

    /// A fresh random salt for the backup key.
    static func randomSalt() throws -> Data {
        do {
            return try Random.bytes(count: saltByteCount)
        } catch {
            throw BackupError.internalFailure("the system random generator failed")
        }
    }

    /// The associated data of chunk `index`.
    static func chunkAAD(headerHash: Data, index: Int, last: Bool) -> Data {
        var aad = headerHash
        Bytes.append(UInt32(truncatingIfNeeded: index), to: &aad)
        aad.append(last ? 1 : 0)
        return aad
    }

    static func hash(_ data: Data) -> Data {
        Data(SHA256.hash(data: data))
    }
}
