import Foundation

extension LocalHSM {
    /// Checks that `key` may do `usage` now and returns the material of `version` (latest if nil).
    /// Originating uses (sign, encrypt, wrap, MAC, derive) stop at expiry; verify, decrypt and
    /// unwrap go on, as NIST SP 800-57 allows for protected data.
    ///
    /// A key whose policy has a use rule runs a `governed` use only when `approved` (a request's
    /// execution): sign, decrypt and MAC come here as approved requests; derive, wrap, unwrap and
    /// decapsulate, which have no request, are refused. Uses that make nothing only the key's
    /// secret could make — verify, encrypt, MAC verification, encapsulate (`governed: false`) —
    /// run as on any key: the policy guards what the secret produces, not its public side.
    func usableMaterial(
        _ key: LoadedKey, _ usage: KeyUsage, originating: Bool, version: Int? = nil,
        approved: Bool = false, governed: Bool = true
    ) throws -> (LoadedMaterial, Int) {
        let r = key.record
        switch r.state {
        case .active: break
        case .blocked: throw HSMError.precondition("key '\(r.id)' is blocked")
        case .destroyed: throw HSMError.precondition("key '\(r.id)' is destroyed (in the trash)")
        }
        if governed, !approved, let policy = r.policy, !policy.use.isEmpty {
            // Sign, decrypt and MAC become requests before they get here; the other uses have none.
            throw HSMError.precondition(
                "key '\(r.id)' is governed by an approval policy: sign, decrypt and MAC run on it as approved requests, "
                    + "verify, encrypt, MAC verification and encapsulation as usual; \(Self.usageName(usage)) is refused")
        }
        if r.notBefore != nil || r.expiresAt != nil {  // (the clock is read only for keys with dates)
            let now = self.now
            if let nb = r.notBefore, now < nb { throw HSMError.precondition("key '\(r.id)' is not valid before \(nb)") }
            if originating, let exp = r.expiresAt, now >= exp { throw HSMError.precondition("key '\(r.id)' expired at \(exp)") }
        }
        guard r.usage.contains(usage) else {
            throw HSMError.precondition("key '\(r.id)' does not allow \(Self.usageName(usage))")
        }
        let v = version ?? r.latestVersion
        guard v >= r.minimumVersion else {
            throw HSMError.precondition("version \(v) of key '\(r.id)' is below its minimum version \(r.minimumVersion)")
        }
        guard let material = key.materials[v] else { throw HSMError.notFound("key '\(r.id)' has no version \(v)") }
        return (material, v)
    }

    static func usageName(_ usage: KeyUsage) -> String {
        let names: [(KeyUsage, String)] = [
            (.sign, "sign"), (.verify, "verify"), (.encrypt, "encrypt"), (.decrypt, "decrypt"),
            (.wrap, "wrap"), (.unwrap, "unwrap"), (.derive, "derive"), (.mac, "mac"),
            (.encapsulate, "encapsulate"), (.decapsulate, "decapsulate"),
        ]
        return names.filter { usage.contains($0.0) }.map(\.1).joined(separator: ", ")
    }

    /// Runs a key use for a crypto user: loads the key, runs `body`, audits the outcome.
    /// A use that can be a request (`submits`) on a key whose use rule is not empty does not run:
    /// it is submitted as that request (audited as a submission) and
    /// ``HSMError/approvalPending(_:)`` thrown.
    nonisolated(nonsending) func use<T>(
        _ session: SessionToken, _ keyID: String, _ operation: AuditOperation, submits request: ApprovalOperation? = nil,
        _ body: nonisolated(nonsending) (Caller, LoadedKey) async throws -> T
    ) async throws -> T {
        let caller = try await authenticate(session)
        let pending: ApprovalRequest
        do {
            // A refused role or an unknown key is audited too: probing leaves a trace.
            guard caller.role == .cryptoUser else {
                throw HSMError.denied("using keys needs the CRYPTO_USER role; this session is \(caller.role.rawValue)")
            }
            let key = try await loadKey(caller, keyID)
            if let request, Self.governs(key.record, request.kind) {
                pending = try await submit(caller, keyID, request, loaded: key)
            } else {
                let result = try await body(caller, key)
                try await recordUse(caller, operation, key: keyID, result: "ok")
                return result
            }
        } catch let error as HSMError {
            try? await recordUse(caller, operation, key: keyID, result: error.code.description)
            throw error
        } catch let error as CryptoError {
            let mapped = HSMError(error)
            try? await recordUse(caller, operation, key: keyID, result: mapped.code.description)
            throw mapped
        }
        throw HSMError.approvalPending(pending)
    }

    public nonisolated(nonsending) func sign(_ session: SessionToken, key: String, input: SigningInput, scheme: SignatureScheme) async throws -> SignatureResult
    {
        try await use(session, key, .keySign, submits: .sign(input: input, scheme: scheme)) { _, k in try signing(k, input: input, scheme: scheme) }
    }

    /// Signs with `k` (for a direct call, or a request's execution when `approved`).
    func signing(_ k: LoadedKey, input: SigningInput, scheme: SignatureScheme, approved: Bool = false) throws -> SignatureResult {
        let (material, version) = try usableMaterial(k, .sign, originating: true, approved: approved)
        guard case .privateKey(let pk) = material else { throw HSMError.precondition("key '\(k.record.id)' cannot sign") }
        return SignatureResult(signature: try SigningKey(pk).signature(for: input, scheme: scheme), version: version)
    }

    public nonisolated(nonsending) func verify(
        _ session: SessionToken, key: String, input: SigningInput, signature: Data, scheme: SignatureScheme,
        version: Int?
    ) async throws -> Bool {
        try await use(session, key, .keyVerify) { _, k in
            let (material, _) = try usableMaterial(k, .verify, originating: false, version: version, governed: false)
            guard let pub = material.publicKey else { throw HSMError.precondition("key '\(key)' cannot verify") }
            do {
                return try VerifyingKey(pub).isValidSignature(signature, for: input, scheme: scheme)
            } catch let e as CryptoError where e.code == .malformedSignature {
                return false
            }
        }
    }

    public nonisolated(nonsending) func encrypt(_ session: SessionToken, key: String, plaintext: Data, scheme: EncryptionScheme, aad: Data) async throws -> Data
    {
        try await use(session, key, .keyEncrypt) { _, k in
            let (material, version) = try usableMaterial(k, .encrypt, originating: true, governed: false)
            switch (material, scheme) {
            // The version header is written ahead of the ciphertext, in the same allocation.
            case (.secret(let s), .aesGCM): return try s.encrypt(plaintext, scheme: .aesGCM, aad: aad, prefix: VersionedBlob.header(version: version))
            case (.secret(let s), .chaCha20Poly1305):
                return try s.encrypt(plaintext, scheme: .chaCha20Poly1305, aad: aad, prefix: VersionedBlob.header(version: version))
            case (.secret(let s), .aesCBCPKCS7):
                return try s.encrypt(plaintext, scheme: .aesCBCPKCS7, aad: aad, prefix: VersionedBlob.header(version: version))
            case (_, .rsaOAEPSHA256):
                guard aad.isEmpty else { throw HSMError.invalid("aad: RSA-OAEP takes no additional data") }
                guard let pub = material.publicKey else { throw HSMError.precondition("key '\(key)' cannot encrypt with RSA-OAEP") }
                return VersionedBlob.encode(version: version, try EncryptionKey(pub).encrypt(plaintext))
            default:
                throw HSMError.precondition("a \(k.record.algorithm) key cannot encrypt with \(scheme.rawValue)")
            }
        }
    }

    public nonisolated(nonsending) func decrypt(_ session: SessionToken, key: String, ciphertext: Data, scheme: EncryptionScheme, aad: Data) async throws
        -> Data
    {
        try await use(session, key, .keyDecrypt, submits: .decrypt(ciphertext: ciphertext, scheme: scheme, aad: aad)) { _, k in
            try decrypting(k, ciphertext: ciphertext, scheme: scheme, aad: aad)
        }
    }

    /// Decrypts with `k` (for a direct call, or a request's execution when `approved`).
    func decrypting(_ k: LoadedKey, ciphertext: Data, scheme: EncryptionScheme, aad: Data, approved: Bool = false) throws -> Data {
        let (version, body) = try VersionedBlob.decode(ciphertext, what: "ciphertext")
        let (material, _) = try usableMaterial(k, .decrypt, originating: false, version: version, approved: approved)
        switch (material, scheme) {
        case (.secret(let s), .aesGCM): return try s.decrypt(body, scheme: .aesGCM, aad: aad)
        case (.secret(let s), .chaCha20Poly1305): return try s.decrypt(body, scheme: .chaCha20Poly1305, aad: aad)
        case (.secret(let s), .aesCBCPKCS7): return try s.decrypt(body, scheme: .aesCBCPKCS7, aad: aad)
        case (.privateKey(let p), .rsaOAEPSHA256):
            guard aad.isEmpty else { throw HSMError.invalid("aad: RSA-OAEP takes no additional data") }
            return try DecryptionKey(p).decrypt(body).exportedBytes()
        default:
            throw HSMError.precondition("a \(k.record.algorithm) key cannot decrypt with \(scheme.rawValue)")
        }
    }

    public nonisolated(nonsending) func mac(_ session: SessionToken, key: String, data: Data, hash: HashAlgorithm) async throws -> Data {
        try await use(session, key, .keyMAC, submits: .mac(data: data, hash: hash)) { _, k in try macing(k, data: data, hash: hash) }
    }

    /// MACs with `k` (for a direct call, or a request's execution when `approved`).
    func macing(_ k: LoadedKey, data: Data, hash: HashAlgorithm, approved: Bool = false) throws -> Data {
        let (material, version) = try usableMaterial(k, .mac, originating: true, approved: approved)
        guard case .secret(let s) = material else { throw HSMError.precondition("key '\(k.record.id)' is not a secret key") }
        return VersionedBlob.encode(version: version, s.mac(data, hash: hash))
    }

    public nonisolated(nonsending) func verifyMAC(_ session: SessionToken, key: String, data: Data, tag: Data, hash: HashAlgorithm) async throws -> Bool {
        try await use(session, key, .keyVerifyMAC) { _, k in
            let (version, body) = try VersionedBlob.decode(tag, what: "tag")
            let (material, _) = try usableMaterial(k, .mac, originating: false, version: version, governed: false)
            guard case .secret(let s) = material else { throw HSMError.precondition("key '\(key)' is not a secret key") }
            return s.isValidMAC(body, for: data, hash: hash)
        }
    }

    public func deriveKey(_ session: SessionToken, key: String, peer: PublicKey, derivation: KeyDerivation, spec: KeySpec) async throws -> KeyInfo {
        let secret: SecretBytes = try await use(session, key, .keyDerive) { _, k in
            let (material, _) = try usableMaterial(k, .derive, originating: true)
            guard case .privateKey(let p) = material else { throw HSMError.precondition("key '\(key)' cannot derive") }
            return try AgreementKey(p).deriveKey(with: peer, derivation: derivation)
        }
        return try await storeDerived(session, secret, spec: spec, creation: .storeDerived)
    }

    public func deriveKey(_ session: SessionToken, key: String, derivation: KeyDerivation, spec: KeySpec) async throws -> KeyInfo {
        let secret: SecretBytes = try await use(session, key, .keyDerive) { _, k in
            let (material, _) = try usableMaterial(k, .derive, originating: true)
            guard case .secret(let s) = material else {
                throw HSMError.precondition("key '\(key)' is not a secret key: derive from a private key with its peer's public key")
            }
            guard !derivation.isIdentity else { throw HSMError.invalid("derivation: a secret key derives through HKDF; identity is for key agreement") }
            return try KDF.derive(s.material, derivation)
        }
        return try await storeDerived(session, secret, spec: spec, creation: .storeDerived)
    }

    public func encapsulate(_ session: SessionToken, key: String, spec: KeySpec) async throws -> EncapsulationResult {
        let result: Encapsulation = try await use(session, key, .keyEncapsulate) { _, k in
            let (material, _) = try usableMaterial(k, .encapsulate, originating: true, governed: false)
            guard let pub = material.publicKey else { throw HSMError.precondition("key '\(key)' cannot encapsulate") }
            return try EncapsulationKey(pub).encapsulate()
        }
        let info = try await storeDerived(session, result.sharedSecret, spec: spec, creation: .storeEncapsulated)
        return EncapsulationResult(key: info, encapsulated: result.encapsulated)
    }

    public func decapsulate(_ session: SessionToken, key: String, encapsulated: Data, spec: KeySpec) async throws -> KeyInfo {
        let secret: SecretBytes = try await use(session, key, .keyDecapsulate) { _, k in
            let (material, _) = try usableMaterial(k, .decapsulate, originating: false)
            guard case .privateKey(let p) = material else { throw HSMError.precondition("key '\(key)' cannot decapsulate") }
            return try DecapsulationKey(p).decapsulate(encapsulated)
        }
        return try await storeDerived(session, secret, spec: spec, creation: .storeDecapsulated)
    }

    /// A derived or agreed secret becomes a secret key object (AES of the right length, or a generic secret).
    func storeDerived(_ session: SessionToken, _ secret: SecretBytes, spec: KeySpec, creation: KeyCreation) async throws -> KeyInfo {
        let caller = try await authenticate(session)
        try requireKeyCreator(caller)
        guard spec.algorithm.isSymmetric else { throw HSMError.invalid("spec.algorithm must be a secret-key algorithm for a derived key") }
        let key: SecretKey
        do { key = try SecretKey(algorithm: spec.algorithm, material: secret) } catch let e as CryptoError {
            throw HSMError.invalid("the derived secret does not fit \(spec.algorithm): \(e.message)")
        }
        return try await createKey(caller, spec: spec, material: .secret(key), local: true, creation: creation)
    }

    public nonisolated(nonsending) func random(_ session: SessionToken, count: Int) async throws -> Data {
        let caller = try await authorize(session, [.cryptoUser, .securityOfficer], "random bytes")
        try HSMArgumentChecks.randomCount(count)
        do {
            let bytes = try Random.bytes(count: count)
            try await recordUse(caller, .randomGenerate, key: "-", result: "ok")
            return bytes
        } catch let e as CryptoError { throw HSMError(e) }
    }

    /// Unwraps key bytes with a key of the partition (for import).
    func unwrapBytes(_ caller: Caller, _ wrapping: LoadedKey, _ blob: Data, scheme: WrapScheme) throws -> SecretBytes {
        guard caller.role == .cryptoUser || caller.role == .securityOfficer else { throw HSMError.denied("unwrapping needs a partition role") }
        let (version, body) = try VersionedBlob.decode(blob, what: "wrapped key")
        let (material, _) = try usableMaterial(wrapping, .unwrap, originating: false, version: version)
        do {
            switch (material, scheme) {
            case (.secret(let k), .aesKW), (.secret(let k), .aesKWP), (.secret(let k), .aesGCM):
                return try k.unwrap(body, scheme: scheme)
            case (.privateKey(let k), .rsaOAEP):
                return try DecryptionKey(k).unwrap(body)
            default:
                throw HSMError.precondition("a \(wrapping.record.algorithm) key cannot unwrap with \(scheme.rawValue)")
            }
        } catch let e as CryptoError { throw HSMError(e) }
    }
}
