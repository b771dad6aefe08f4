import Foundation
import Logging
import RedoubtStore

/// How a node unseals the cluster master key at start.
public enum UnsealMethod: Sendable {
    /// The passphrase given at `redoubt init`.
    case passphrase(String)
    /// At least M of the N key-ceremony shares (their text form).
    case shares([String])
    /// A development key file (never for production).
    case devKeyFile(String)
}

/// What `initialize` hands back once: the HSM, the first operator's API key, the shares.
public struct InitializedHSM: Sendable {
    /// The unsealed HSM.
    public var hsm: LocalHSM
    /// The API key of the first operator (stored only as a hash).
    public var operatorAPIKey: String
    /// The operator's user id.
    public var operatorID: String
    /// Key-ceremony shares, if requested: give one to each custodian.
    public var shares: [String]
}

extension LocalHSM {
    static let envelopeKey = ObjectKey(partition: "", kind: ObjectKind.cluster, id: "master")

    /// Initialises an empty store: creates the cluster master key, sealed under a passphrase
    /// and/or split into M-of-N shares (or, for development only, a key file), and the first
    /// operator.
    public static func initialize(
        store: any ObjectStore, passphrase: String?, shares: (threshold: Int, count: Int)? = nil,
        devKeyFile: String? = nil, configuration: Configuration = .defaults,
        logger: Logger = Logger(label: "redoubt")
    ) async throws -> InitializedHSM {
        if try await storeCall({ try await store.get(envelopeKey) }) != nil {
            throw HSMError(.alreadyExists, "this store is already initialised")
        }
        let created: (MasterKey, MasterKeyEnvelope, [MasterKeyShare])
        do {
            created = try MasterKey.create(passphrase: passphrase, shares: shares, dev: devKeyFile != nil, scrypt: configuration.passphraseScrypt)
        } catch let error as SealingError {
            throw HSMError.invalid(error.message)
        }
        let (master, envelope, shareList) = created
        if let devKeyFile {
            do { try DevKeyFile.write(master, envelope: envelope, to: devKeyFile) } catch {
                throw HSMError.invalid("cannot write the dev key file at \(devKeyFile): \(error)")
            }
            logger.warning(
                "DEVELOPMENT MODE: the master key is in a key file; never use this in production",
                metadata: ["redoubt.dev_key_file": "\(devKeyFile)"])
        }
        let hsm = try await LocalHSM(store: store, master: master, configuration: configuration, logger: logger)
        let operatorUser = UserRecord(
            id: Identifiers.random("u_"), name: "operator", role: .operator, partition: "",
            createdAt: hsm.now, passwordCredential: nil)
        let (credential, apiKey) = hsm.makeAPIKey(user: operatorUser.id, partition: "")
        var batch = WriteBatch([
            .insert(envelopeKey, label: nil, data: try RecordCoding.encode(envelope)),
            .insert(
                ObjectKey(partition: "", kind: ObjectKind.user, id: operatorUser.id), label: operatorUser.name,
                data: try RecordCoding.encode(operatorUser)),
            .insert(
                ObjectKey(partition: "", kind: ObjectKind.credential, id: credential.id), label: nil,
                data: try RecordCoding.encode(credential)),
        ])
        batch.operations.append(
            .appendAudit(
                partition: "",
                payload: hsm.auditPayload(
                    actor: operatorUser.id, role: "-", session: "-", operation: .clusterInit, object: envelope.keyID, result: "ok")))
        try await hsm.commit(batch)
        return InitializedHSM(
            hsm: hsm, operatorAPIKey: apiKey, operatorID: operatorUser.id,
            shares: shareList.map { $0.textRepresentation })
    }

    /// Opens an initialised store, unsealing the master key.
    public static func open(
        store: any ObjectStore, unseal: UnsealMethod, configuration: Configuration = .defaults,
        logger: Logger = Logger(label: "redoubt")
    ) async throws -> LocalHSM {
        guard let object = try await storeCall({ try await store.get(envelopeKey) }) else {
            throw HSMError.precondition("this store is not initialised: run `redoubt init` first")
        }
        let envelope = try RecordCoding.decode(MasterKeyEnvelope.self, object.data)
        let master = try unsealMaster(envelope, unseal, logger: logger)
        return try await LocalHSM(store: store, master: master, configuration: configuration, logger: logger)
    }

    /// Unseals the master key from its envelope by the given method.
    static func unsealMaster(_ envelope: MasterKeyEnvelope, _ method: UnsealMethod, logger: Logger) throws -> MasterKey {
        do {
            switch method {
            case .passphrase(let p): return try MasterKey.unseal(envelope: envelope, passphrase: p)
            case .shares(let texts):
                return try MasterKey.unseal(envelope: envelope, shares: try texts.map { try MasterKeyShare(textRepresentation: $0) })
            case .devKeyFile(let path):
                logger.warning("DEVELOPMENT MODE: unsealing with a key file; never use this in production")
                return try DevKeyFile.read(path, envelope: envelope)
            }
        } catch let error as SealingError {
            throw HSMError(.unauthenticated, error.message)
        }
    }
}
