import Foundation
import GRPCCore
import RedoubtCore
import RedoubtProto

// Keys (KeyService) and cryptographic operations (CryptoService) of RemoteHSM.

extension RemoteHSM {
    // MARK: Keys

    /// A KeyService call that names one key and answers it.
    private func keyCall<Request: KeyIDRequest, Response: KeyResponse>(
        _ session: SessionToken, _ request: Request,
        _ send: (Request, Metadata, CallOptions) async throws -> Response
    ) async throws -> KeyInfo {
        try await call(.session(session)) {
            try await send(request, $0, $1)
        } decode: {
            try $0.decodedKey()
        }
    }

    public func generateKey(_ session: SessionToken, spec: KeySpec) async throws -> KeyInfo {
        try HSMArgumentChecks.keySpec(spec)
        let request = Redoubt_V1_CreateKeyRequest(spec: spec)
        return try await call(.session(session)) {
            try await keys.createKey(request, metadata: $0, options: $1)
        } decode: {
            try $0.decodedKey()
        }
    }

    public func importKey(_ session: SessionToken, spec: KeySpec, material: KeyMaterial) async throws -> KeyInfo {
        try HSMArgumentChecks.keySpec(spec)
        let request = Redoubt_V1_ImportKeyRequest(spec: spec, material: material)
        return try await call(.session(session)) {
            try await keys.importKey(request, metadata: $0, options: $1)
        } decode: {
            try $0.decodedKey()
        }
    }

    public func getKey(_ session: SessionToken, id: String) async throws -> KeyInfo {
        try await keyCall(session, Redoubt_V1_GetKeyRequest(keyID: id)) { try await keys.getKey($0, metadata: $1, options: $2) }
    }

    public func listKeys(_ session: SessionToken, filter: KeyFilter) async throws -> [KeyInfo] {
        try HSMArgumentChecks.keyList(filter)
        let request = Redoubt_V1_ListKeysRequest(filter)
        return try await call(.session(session)) {
            try await keys.listKeys(request, metadata: $0, options: $1)
        } decode: {
            try $0.decoded().keys
        }
    }

    public func updateKey(_ session: SessionToken, id: String, update: KeyAttributeUpdate) async throws -> KeyInfo {
        let request = Redoubt_V1_UpdateKeyRequest(id: id, update: update)
        return try await governedCall(.session(session)) {
            try await keys.updateKey(request, metadata: $0, options: $1)
        } decode: {
            try $0.decodedKey()
        }
    }

    public func rotateKey(_ session: SessionToken, id: String) async throws -> KeyInfo {
        try await keyCall(session, Redoubt_V1_RotateKeyRequest(keyID: id)) { try await keys.rotateKey($0, metadata: $1, options: $2) }
    }

    public func blockKey(_ session: SessionToken, id: String) async throws -> KeyInfo {
        let request = Redoubt_V1_BlockKeyRequest(keyID: id)
        return try await governedCall(.session(session)) {
            try await keys.blockKey(request, metadata: $0, options: $1)
        } decode: {
            try $0.decodedKey()
        }
    }

    public func unblockKey(_ session: SessionToken, id: String) async throws -> KeyInfo {
        let request = Redoubt_V1_UnblockKeyRequest(keyID: id)
        return try await governedCall(.session(session)) {
            try await keys.unblockKey(request, metadata: $0, options: $1)
        } decode: {
            try $0.decodedKey()
        }
    }

    public func destroyKey(_ session: SessionToken, id: String) async throws -> KeyInfo {
        try await keyCall(session, Redoubt_V1_DestroyKeyRequest(keyID: id)) { try await keys.destroyKey($0, metadata: $1, options: $2) }
    }

    public func restoreKey(_ session: SessionToken, id: String) async throws -> KeyInfo {
        try await keyCall(session, Redoubt_V1_RestoreKeyRequest(keyID: id)) { try await keys.restoreKey($0, metadata: $1, options: $2) }
    }

    public func purgeKey(_ session: SessionToken, id: String) async throws {
        let request = Redoubt_V1_PurgeKeyRequest(keyID: id)
        try await call(.session(session)) {
            try await keys.purgeKey(request, metadata: $0, options: $1)
        } decode: { _ in
        }
    }

    public func exportPublicKey(_ session: SessionToken, id: String, version: Int?) async throws -> PublicKey {
        let request = Redoubt_V1_ExportPublicKeyRequest(id: id, version: version)
        return try await call(.session(session)) {
            try await keys.exportPublicKey(request, metadata: $0, options: $1)
        } decode: {
            try $0.decoded()
        }
    }

    public func exportWrapped(_ session: SessionToken, id: String, wrappingKey: String, scheme: WrapScheme) async throws -> Data {
        let request = Redoubt_V1_ExportWrappedRequest(id: id, wrappingKey: wrappingKey, scheme: scheme)
        return try await call(.session(session)) {
            try await keys.exportWrapped(request, metadata: $0, options: $1)
        } decode: {
            $0.wrappedKey
        }
    }

    /// Through `CryptoService.Wrap` with `standard` set: the broker strips the version prefix.
    public func exportWrappedStandard(_ session: SessionToken, id: String, wrappingKey: String, scheme: WrapScheme) async throws -> StandardWrappedKey {
        let request = Redoubt_V1_WrapRequest(id: id, wrappingKey: wrappingKey, scheme: scheme, standard: true)
        return try await call(.session(session)) {
            try await crypto.wrap(request, metadata: $0, options: $1)
        } decode: {
            $0.standardWrappedKey
        }
    }

    /// Through `CryptoService.Unwrap` with `standard` set (the broker names the latest version when
    /// `version` is nil).
    public func importWrappedStandard(
        _ session: SessionToken, spec: KeySpec, wrapped: Data, wrappingKey: String, scheme: WrapScheme, version: Int?
    ) async throws -> KeyInfo {
        try HSMArgumentChecks.keySpec(spec)
        try HSMArgumentChecks.keyVersion(version)
        let request = Redoubt_V1_UnwrapRequest(standardWrappedKey: wrapped, wrappingKey: wrappingKey, scheme: scheme, version: version, spec: spec)
        return try await call(.session(session)) {
            try await crypto.unwrap(request, metadata: $0, options: $1)
        } decode: {
            try $0.decodedKey()
        }
    }

    /// The key bytes in the clear, as ``SecretBytes`` (which never prints them); they
    /// travel inside the TLS connection only.
    public func exportPlaintext(_ session: SessionToken, id: String) async throws -> SecretBytes {
        let request = Redoubt_V1_ExportPlaintextRequest(keyID: id)
        return try await call(.session(session)) {
            try await keys.exportPlaintext(request, metadata: $0, options: $1)
        } decode: {
            SecretBytes($0.keyMaterial)
        }
    }

    // MARK: Cryptographic operations

    public func sign(_ session: SessionToken, key: String, input: SigningInput, scheme: SignatureScheme) async throws -> SignatureResult {
        let item = SignItem(key: key, input: input, scheme: scheme)
        return try await coalesced(coalescers?.sign, session, item, batch: { try await $0.signBatch($1, $2) }) {
            let request = Redoubt_V1_SignRequest(key: key, input: input, scheme: scheme)
            return try await governedCall(.session(session)) {
                try await crypto.sign(request, metadata: $0, options: $1)
            } decode: {
                $0.model
            }
        }
    }

    public func verify(
        _ session: SessionToken, key: String, input: SigningInput, signature: Data, scheme: SignatureScheme,
        version: Int?
    ) async throws -> Bool {
        let item = VerifyItem(key: key, input: input, signature: signature, scheme: scheme, version: version)
        return try await coalesced(coalescers?.verify, session, item, batch: { try await $0.verifyBatch($1, $2) }) {
            let request = Redoubt_V1_VerifyRequest(key: key, input: input, signature: signature, scheme: scheme, version: version)
            return try await call(.session(session)) {
                try await crypto.verify(request, metadata: $0, options: $1)
            } decode: {
                $0.valid
            }
        }
    }

    public func encrypt(_ session: SessionToken, key: String, plaintext: Data, scheme: EncryptionScheme, aad: Data) async throws -> Data {
        let item = EncryptItem(key: key, plaintext: plaintext, scheme: scheme, aad: aad)
        return try await coalesced(coalescers?.encrypt, session, item, batch: { try await $0.encryptBatch($1, $2) }) {
            let request = Redoubt_V1_EncryptRequest(key: key, plaintext: plaintext, scheme: scheme, aad: aad)
            return try await call(.session(session)) {
                try await crypto.encrypt(request, metadata: $0, options: $1)
            } decode: {
                $0.ciphertext
            }
        }
    }

    public func decrypt(_ session: SessionToken, key: String, ciphertext: Data, scheme: EncryptionScheme, aad: Data) async throws -> Data {
        let item = DecryptItem(key: key, ciphertext: ciphertext, scheme: scheme, aad: aad)
        return try await coalesced(coalescers?.decrypt, session, item, batch: { try await $0.decryptBatch($1, $2) }) {
            let request = Redoubt_V1_DecryptRequest(key: key, ciphertext: ciphertext, scheme: scheme, aad: aad)
            return try await governedCall(.session(session)) {
                try await crypto.decrypt(request, metadata: $0, options: $1)
            } decode: {
                $0.plaintext
            }
        }
    }

    public func mac(_ session: SessionToken, key: String, data: Data, hash: HashAlgorithm) async throws -> Data {
        let item = MACItem(key: key, data: data, hash: hash)
        return try await coalesced(coalescers?.mac, session, item, batch: { try await $0.macBatch($1, $2) }) {
            let request = Redoubt_V1_MacRequest(key: key, data: data, hash: hash)
            return try await governedCall(.session(session)) {
                try await crypto.mac(request, metadata: $0, options: $1)
            } decode: {
                $0.tag
            }
        }
    }

    public func verifyMAC(_ session: SessionToken, key: String, data: Data, tag: Data, hash: HashAlgorithm) async throws -> Bool {
        let request = Redoubt_V1_VerifyMacRequest(key: key, data: data, tag: tag, hash: hash)
        return try await call(.session(session)) {
            try await crypto.verifyMac(request, metadata: $0, options: $1)
        } decode: {
            $0.valid
        }
    }

    public func encryptStandard(
        _ session: SessionToken, key: String, plaintext: Data, scheme: EncryptionScheme, parameters: StandardCipherParameters
    ) async throws -> StandardEncryption {
        let request = Redoubt_V1_EncryptRequest(key: key, plaintext: plaintext, scheme: scheme, parameters: parameters)
        return try await call(.session(session)) {
            try await crypto.encrypt(request, metadata: $0, options: $1)
        } decode: {
            $0.standardEncryption
        }
    }

    public func decryptStandard(
        _ session: SessionToken, key: String, ciphertext: Data, scheme: EncryptionScheme, parameters: StandardCipherParameters
    ) async throws -> Data {
        let request = Redoubt_V1_DecryptRequest(key: key, ciphertext: ciphertext, scheme: scheme, parameters: parameters)
        return try await call(.session(session)) {
            try await crypto.decrypt(request, metadata: $0, options: $1)
        } decode: {
            $0.plaintext
        }
    }

    public func macStandard(_ session: SessionToken, key: String, data: Data, hash: HashAlgorithm, version: Int?) async throws -> Data {
        let request = Redoubt_V1_MacRequest(key: key, data: data, hash: hash, version: version)
        return try await call(.session(session)) {
            try await crypto.mac(request, metadata: $0, options: $1)
        } decode: {
            $0.tag
        }
    }

    public func verifyMACStandard(
        _ session: SessionToken, key: String, data: Data, tag: Data, hash: HashAlgorithm, version: Int?
    ) async throws -> Bool {
        let request = Redoubt_V1_VerifyMacRequest(key: key, data: data, tag: tag, hash: hash, version: version)
        return try await call(.session(session)) {
            try await crypto.verifyMac(request, metadata: $0, options: $1)
        } decode: {
            $0.valid
        }
    }

    public func deriveKey(_ session: SessionToken, key: String, peer: PublicKey, derivation: KeyDerivation, spec: KeySpec) async throws -> KeyInfo {
        try HSMArgumentChecks.keySpec(spec)
        let request = Redoubt_V1_DeriveKeyRequest(key: key, peer: peer, derivation: derivation, spec: spec)
        return try await call(.session(session)) {
            try await crypto.deriveKey(request, metadata: $0, options: $1)
        } decode: {
            try $0.decodedKey()
        }
    }

    public func deriveKey(_ session: SessionToken, key: String, derivation: KeyDerivation, spec: KeySpec) async throws -> KeyInfo {
        try HSMArgumentChecks.keySpec(spec)
        let request = Redoubt_V1_DeriveKeyRequest(key: key, derivation: derivation, spec: spec)
        return try await call(.session(session)) {
            try await crypto.deriveKey(request, metadata: $0, options: $1)
        } decode: {
            try $0.decodedKey()
        }
    }

    public func encapsulate(_ session: SessionToken, key: String, spec: KeySpec) async throws -> EncapsulationResult {
        try HSMArgumentChecks.keySpec(spec)
        let request = Redoubt_V1_EncapsulateRequest(key: key, spec: spec)
        return try await call(.session(session)) {
            try await crypto.encapsulate(request, metadata: $0, options: $1)
        } decode: {
            try $0.decoded()
        }
    }

    public func decapsulate(_ session: SessionToken, key: String, encapsulated: Data, spec: KeySpec) async throws -> KeyInfo {
        try HSMArgumentChecks.keySpec(spec)
        let request = Redoubt_V1_DecapsulateRequest(key: key, encapsulated: encapsulated, spec: spec)
        return try await call(.session(session)) {
            try await crypto.decapsulate(request, metadata: $0, options: $1)
        } decode: {
            try $0.decodedKey()
        }
    }

    public func random(_ session: SessionToken, count: Int) async throws -> Data {
        try HSMArgumentChecks.randomCount(count)
        let request = Redoubt_V1_RandomRequest(count: count)
        return try await call(.session(session)) {
            try await crypto.random(request, metadata: $0, options: $1)
        } decode: {
            $0.data
        }
    }
}
