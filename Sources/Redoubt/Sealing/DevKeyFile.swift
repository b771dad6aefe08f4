import Foundation
import RedoubtCore

/// The local key file of a development cluster: the master key in the clear.
///
/// For development only: anyone who reads the file can unseal the HSM. It is
/// written with mode 0600, says so in a `"warning"` field, and is refused for
/// a cluster whose envelope is not marked ``MasterKeyEnvelope/dev``, or when
/// its permissions let other users read it.
///
/// ```swift
/// let (master, envelope, _) = try MasterKey.create(passphrase: nil, shares: nil, dev: true)
/// try DevKeyFile.write(master, envelope: envelope, to: "/tmp/redoubt-dev.key")
/// let again = try DevKeyFile.read("/tmp/redoubt-dev.key", envelope: envelope)
/// ```
public enum DevKeyFile {
    /// The text of the file's `"warning"` field.
    public static let warning = "DEVELOPMENT ONLY: this file unseals the HSM; never use it in production"
    /// The file format version.
    static let formatVersion = 1

    private struct Contents: Codable {
        var warning: String
        var format: Int
        var keyID: String
        var keyCheckValue: String
        var masterKey: Data
    }

    /// Writes `key` to a new file at `path` with mode 0600.
    ///
    /// The file appears atomically, complete and flushed.
    /// - Parameter overwrite: Replace an existing file; otherwise an existing file is an error.
    /// - Throws: ``SealingError/Code/invalidArgument`` if the envelope is not a
    ///   development envelope or does not belong to `key`;
    ///   ``SealingError/Code/fileAccess`` if the file cannot be written.
    public static func write(_ key: MasterKey, envelope: MasterKeyEnvelope, to path: String, overwrite: Bool = false) throws {
        try envelope.validate()
        guard envelope.dev else {
            throw SealingError.invalidArgument("this cluster is not in development mode: a key file would bypass its passphrase and shares, so none is written")
        }
        guard envelope.keyID == key.keyID, constantTimeEqual(key.keyCheckValue, envelope.keyCheckValue) else {
            throw SealingError.wrongCluster("the master key does not belong to this envelope (key id \(envelope.keyID))")
        }
        var raw = key.key.material.exportedBytes()
        defer { Bytes.zeroize(&raw) }
        let contents = Contents(
            warning: warning, format: formatVersion, keyID: key.keyID,
            keyCheckValue: Hex.encode(key.keyCheckValue), masterKey: raw)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        var json = try sealingCall { try encoder.encode(contents) }
        defer { Bytes.zeroize(&json) }
        json.append(UInt8(ascii: "\n"))

        let temporary = FileDescriptor.temporarySibling(of: path, purpose: "tmp")
        do {
            let file = try FileDescriptor.createExclusive(path: temporary)
            try file.write(json)
            try file.sync()
            try file.close()
            try FileDescriptor.move(temporary, to: path, replace: overwrite)
        } catch let failure as SystemCallFailure {
            FileDescriptor.removeQuietly(temporary)
            let hint = failure.errno == EEXIST ? " (the file exists: remove it or pass overwrite: true)" : ""
            throw SealingError.fileAccess("cannot write the development key file: \(failure.reason)\(hint)")
        }
    }

    /// Reads the master key from a development key file, checking it against `envelope`.
    ///
    /// - Throws: ``SealingError/Code/invalidArgument`` if the envelope is not a
    ///   development envelope; ``SealingError/Code/fileAccess`` if the file
    ///   cannot be read or other users may read it; ``SealingError/Code/wrongCluster``
    ///   if it holds another cluster's key; ``SealingError/Code/authenticationFailure``
    ///   if its key does not match the envelope's key-check value.
    public static func read(_ path: String, envelope: MasterKeyEnvelope) throws -> MasterKey {
        try envelope.validate()
        guard envelope.dev else {
            throw SealingError.invalidArgument("this cluster is not in development mode: unseal it with its passphrase or shares")
        }
        var json: Data
        do {
            let file = try FileDescriptor.openForReading(path: path)
            let status = try file.status()
            guard status.mode & 0o077 == 0 else {
                throw SealingError.fileAccess(
                    "the development key file \(path) may be read by other users (mode \(String(status.mode, radix: 8))): run chmod 600 on it")
            }
            guard status.size <= 1 << 16 else {
                throw SealingError.fileAccess("\(path) is too large to be a development key file")
            }
            json = try file.read(upTo: 1 << 16)
        } catch let failure as SystemCallFailure {
            throw SealingError.fileAccess("cannot read the development key file: \(failure.reason)")
        }
        defer { Bytes.zeroize(&json) }
        guard var contents = try? JSONDecoder().decode(Contents.self, from: json) else {
            throw SealingError.fileAccess("\(path) is not a Redoubt development key file (not the expected JSON)")
        }
        defer { Bytes.zeroize(&contents.masterKey) }
        guard contents.format == formatVersion else {
            throw SealingError(.unsupportedVersion, "development key file format \(contents.format) is not supported (this build reads \(formatVersion))")
        }
        guard contents.keyID == envelope.keyID else {
            throw SealingError.wrongCluster("the development key file holds master key \(contents.keyID), not this cluster's key \(envelope.keyID)")
        }
        let failure = SealingError(.authenticationFailure, "the development key file does not match this cluster's key-check value: it is damaged")
        return try MasterKey(material: SecretBytes(contents.masterKey), envelope: envelope, failure: failure)
    }
}
