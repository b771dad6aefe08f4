import Foundation

// The standard forms of encryption and MAC (``StandardCipherParameters``): the same keys, uses,
// checks and audit records as the versioned forms; only the bytes in and out differ. A governed
// key refuses the forms that produce with its secret (decrypt, MAC): its requests carry the
// versioned form.

extension LocalHSM {
    public nonisolated(nonsending) func encryptStandard(
        _ session: SessionToken, key: String, plaintext: Data, scheme: EncryptionScheme, parameters: StandardCipherParameters
    ) async throws -> StandardEncryption {
        try await use(session, key, .keyEncrypt) { _, k in try encryptingStandard(k, plaintext: plaintext, scheme: scheme, parameters: parameters) }
    }

    public nonisolated(nonsending) func decryptStandard(
        _ session: SessionToken, key: String, ciphertext: Data, scheme: EncryptionScheme, parameters: StandardCipherParameters
    ) async throws -> Data {
        try await use(session, key, .keyDecrypt) { _, k in try decryptingStandard(k, ciphertext: ciphertext, scheme: scheme, parameters: parameters) }
    }

    public nonisolated(nonsending) func macStandard(_ session: SessionToken, key: String, data: Data, hash: HashAlgorithm, version: Int?) async throws -> Data {
        try await use(session, key, .keyMAC) { _, k in try macking(k, data: data, hash: hash, version: version) }
    }

    public nonisolated(nonsending) func verifyMACStandard(
        _ session: SessionToken, key: String, data: Data, tag: Data, hash: HashAlgorithm, version: Int?
    ) async throws -> Bool {
        try await use(session, key, .keyVerifyMAC) { _, k in try verifyingMAC(k, data: data, tag: tag, hash: hash, version: version) }
    }

    // The operations' bodies, shared by the calls above and those that run without waiting
    // (LocalHSM+Immediate.swift).

    func encryptingStandard(_ k: LoadedKey, plaintext: Data, scheme: EncryptionScheme, parameters: StandardCipherParameters) throws -> StandardEncryption {
        let (material, version) = try usableMaterial(k, .encrypt, originating: true, version: parameters.version, governed: false)
        switch (material, scheme.cipher) {
        case (.secret(let s), let cipher?):
            guard parameters.label.isEmpty else { throw HSMError.invalid("label: only RSA-OAEP takes a label") }
            let out = try s.encryptStandard(
                plaintext, scheme: cipher, iv: parameters.iv, aad: parameters.aad, tagByteCount: parameters.tagByteCount)
            return StandardEncryption(iv: out.iv, ciphertext: out.ciphertext, version: version)
        case (_, nil):
            try Self.checkOAEP(parameters)
            guard let pub = material.publicKey else { throw HSMError.precondition("key '\(k.record.id)' cannot encrypt with RSA-OAEP") }
            return StandardEncryption(iv: Data(), ciphertext: try EncryptionKey(pub).encrypt(plaintext, label: parameters.label), version: version)
        default:
            throw HSMError.precondition("a \(k.record.algorithm) key cannot encrypt with \(scheme.rawValue)")
        }
    }

    func decryptingStandard(_ k: LoadedKey, ciphertext: Data, scheme: EncryptionScheme, parameters: StandardCipherParameters) throws -> Data {
        let (material, _) = try usableMaterial(k, .decrypt, originating: false, version: parameters.version)
        switch (material, scheme.cipher) {
        case (.secret(let s), let cipher?):
            guard parameters.label.isEmpty else { throw HSMError.invalid("label: only RSA-OAEP takes a label") }
            guard let iv = parameters.iv else { throw HSMError.invalid("iv: decrypting \(scheme.rawValue) needs the IV the ciphertext was made with") }
            return try s.decryptStandard(ciphertext, scheme: cipher, iv: iv, aad: parameters.aad, tagByteCount: parameters.tagByteCount)
        case (.privateKey(let p), nil):
            try Self.checkOAEP(parameters)
            return try DecryptionKey(p).decrypt(ciphertext, label: parameters.label).exportedBytes()
        default:
            throw HSMError.precondition("a \(k.record.algorithm) key cannot decrypt with \(scheme.rawValue)")
        }
    }

    func macking(_ k: LoadedKey, data: Data, hash: HashAlgorithm, version: Int?) throws -> Data {
        let (material, _) = try usableMaterial(k, .mac, originating: true, version: version)
        guard case .secret(let s) = material else { throw HSMError.precondition("key '\(k.record.id)' is not a secret key") }
        return s.mac(data, hash: hash)
    }

    func verifyingMAC(_ k: LoadedKey, data: Data, tag: Data, hash: HashAlgorithm, version: Int?) throws -> Bool {
        let (material, _) = try usableMaterial(k, .mac, originating: false, version: version, governed: false)
        guard case .secret(let s) = material else { throw HSMError.precondition("key '\(k.record.id)' is not a secret key") }
        return s.isValidMAC(tag, for: data, hash: hash)
    }

    /// RSA-OAEP takes neither IV nor AAD.
    private static func checkOAEP(_ parameters: StandardCipherParameters) throws {
        guard parameters.iv?.isEmpty ?? true else { throw HSMError.invalid("iv: RSA-OAEP takes no IV") }
        guard parameters.aad.isEmpty else { throw HSMError.invalid("aad: RSA-OAEP takes no additional data") }
    }
}

extension EncryptionScheme {
    /// The engine's symmetric scheme; nil for RSA-OAEP.
    var cipher: CipherScheme? {
        switch self {
        case .aesGCM: .aesGCM
        case .chaCha20Poly1305: .chaCha20Poly1305
        case .aesCBCPKCS7: .aesCBCPKCS7
        case .rsaOAEPSHA256: nil
        }
    }
}
