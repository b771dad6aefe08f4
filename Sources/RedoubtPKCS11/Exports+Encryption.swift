import CPKCS11
import Foundation
import RedoubtCore
import RedoubtCrypto

// RSA-OAEP (SHA-256, MGF1-SHA-256, no label): encryption here with the public key, decryption in
// the HSM; single-part only, as the standard has it for CKM_RSA_PKCS_OAEP. AES-GCM and
// AES-CBC-PAD, single and multi-part, in the HSM: SymmetricCipher.swift.

@_cdecl("C_EncryptInit")
public func C_EncryptInit(_ hSession: CK_SESSION_HANDLE, _ pMechanism: UnsafeMutablePointer<CK_MECHANISM>?, _ hKey: CK_OBJECT_HANDLE) -> CK_RV {
    entry("C_EncryptInit") { () throws(P11Error) in
        let runtime = try Module.runtime()
        // Read in place: a copy of the whole session state costs more than the rest.
        let (slot, idle) = try runtime.updateSession(hSession) { (s: inout SessionState) in (s.slot, s.encrypt == nil) }
        guard let pMechanism else { throw .argumentsBad }
        guard idle else { throw .operationActive }
        let operation = try runtime.cipherOperation(slot: slot, pMechanism.pointee, hKey, encrypting: true)
        try runtime.updateSession(hSession) { (s: inout SessionState) throws(P11Error) in
            guard s.encrypt == nil else { throw .operationActive }
            s.encrypt = operation
        }
    }
}

@_cdecl("C_Encrypt")
public func C_Encrypt(
    _ hSession: CK_SESSION_HANDLE, _ pData: UnsafeMutablePointer<CK_BYTE>?, _ ulDataLen: CK_ULONG, _ pOut: UnsafeMutablePointer<CK_BYTE>?,
    _ pulOutLen: UnsafeMutablePointer<CK_ULONG>?
) -> CK_RV {
    entry("C_Encrypt") { () throws(P11Error) in
        let runtime = try Module.runtime()
        try runtime.finishCipher(hSession, encrypting: true, single: { () throws(P11Error) in try input(pData, ulDataLen) }, pOut, pulOutLen)
    }
}

@_cdecl("C_EncryptUpdate")
public func C_EncryptUpdate(
    _ hSession: CK_SESSION_HANDLE, _ pPart: UnsafeMutablePointer<CK_BYTE>?, _ ulPartLen: CK_ULONG, _ pOut: UnsafeMutablePointer<CK_BYTE>?,
    _ pulOutLen: UnsafeMutablePointer<CK_ULONG>?
) -> CK_RV {
    entry("C_EncryptUpdate") { () throws(P11Error) in
        try Module.runtime().updateCipher(hSession, encrypting: true, part: { () throws(P11Error) in try input(pPart, ulPartLen) }, pOut, pulOutLen)
    }
}

@_cdecl("C_EncryptFinal")
public func C_EncryptFinal(_ hSession: CK_SESSION_HANDLE, _ pOut: UnsafeMutablePointer<CK_BYTE>?, _ pulOutLen: UnsafeMutablePointer<CK_ULONG>?) -> CK_RV {
    entry("C_EncryptFinal") { () throws(P11Error) in try Module.runtime().finishCipher(hSession, encrypting: true, single: nil, pOut, pulOutLen) }
}

@_cdecl("C_DecryptInit")
public func C_DecryptInit(_ hSession: CK_SESSION_HANDLE, _ pMechanism: UnsafeMutablePointer<CK_MECHANISM>?, _ hKey: CK_OBJECT_HANDLE) -> CK_RV {
    entry("C_DecryptInit") { () throws(P11Error) in
        let runtime = try Module.runtime()
        // Read in place: a copy of the whole session state costs more than the rest.
        let (slot, idle) = try runtime.updateSession(hSession) { (s: inout SessionState) in (s.slot, s.decrypt == nil) }
        guard let pMechanism else { throw .argumentsBad }
        guard idle else { throw .operationActive }
        let operation = try runtime.cipherOperation(slot: slot, pMechanism.pointee, hKey, encrypting: false)
        try runtime.updateSession(hSession) { (s: inout SessionState) throws(P11Error) in
            guard s.decrypt == nil else { throw .operationActive }
            s.decrypt = operation
        }
    }
}

@_cdecl("C_Decrypt")
public func C_Decrypt(
    _ hSession: CK_SESSION_HANDLE, _ pData: UnsafeMutablePointer<CK_BYTE>?, _ ulDataLen: CK_ULONG, _ pOut: UnsafeMutablePointer<CK_BYTE>?,
    _ pulOutLen: UnsafeMutablePointer<CK_ULONG>?
) -> CK_RV {
    entry("C_Decrypt") { () throws(P11Error) in
        let runtime = try Module.runtime()
        try runtime.finishCipher(hSession, encrypting: false, single: { () throws(P11Error) in try input(pData, ulDataLen) }, pOut, pulOutLen)
    }
}

@_cdecl("C_DecryptUpdate")
public func C_DecryptUpdate(
    _ hSession: CK_SESSION_HANDLE, _ pPart: UnsafeMutablePointer<CK_BYTE>?, _ ulPartLen: CK_ULONG, _ pOut: UnsafeMutablePointer<CK_BYTE>?,
    _ pulOutLen: UnsafeMutablePointer<CK_ULONG>?
) -> CK_RV {
    entry("C_DecryptUpdate") { () throws(P11Error) in
        try Module.runtime().updateCipher(hSession, encrypting: false, part: { () throws(P11Error) in try input(pPart, ulPartLen) }, pOut, pulOutLen)
    }
}

@_cdecl("C_DecryptFinal")
public func C_DecryptFinal(_ hSession: CK_SESSION_HANDLE, _ pOut: UnsafeMutablePointer<CK_BYTE>?, _ pulOutLen: UnsafeMutablePointer<CK_ULONG>?) -> CK_RV {
    entry("C_DecryptFinal") { () throws(P11Error) in try Module.runtime().finishCipher(hSession, encrypting: false, single: nil, pOut, pulOutLen) }
}

extension Runtime {
    /// Checks the mechanism and the key of an Encrypt/DecryptInit.
    func cipherOperation(slot: Int, _ mechanism: CK_MECHANISM, _ hKey: CK_OBJECT_HANDLE, encrypting: Bool) throws(P11Error) -> CipherOperation {
        let (ref, snapshot) = try keyObject(hKey, slot: slot)
        guard case .key(let key) = snapshot else { throw P11Error(CK_RV(CKR_KEY_HANDLE_INVALID), "a certificate is not a key") }
        if mechanism.mechanism == CK_MECHANISM_TYPE(CKM_RSA_PKCS_OAEP) {
            let label = try Self.checkOAEP(mechanism, ref: ref, key: key, encrypting: encrypting)
            let oaepKey = CipherOperation.OAEPKey(modulusBytes: key.algorithm.bitSize / 8, publicKey: key.publicKey, latestVersion: key.latestVersion)
            return CipherOperation(key: ref, mechanism: .rsaOAEP(label: label, oaepKey))
        }
        return try standardCipherOperation(mechanism, ref: ref, key: key, encrypting: encrypting)
    }

    /// RSA-OAEP with SHA-256 and MGF1-SHA-256 on an RSA key; the label (`CKZ_DATA_SPECIFIED`,
    /// at most 64 KiB; empty for none).
    static func checkOAEP(_ mechanism: CK_MECHANISM, ref: ObjectRef, key: KeyInfo, encrypting: Bool) throws(P11Error) -> Data {
        guard mechanism.ulParameterLen == CK_ULONG(MemoryLayout<CK_RSA_PKCS_OAEP_PARAMS>.size), let raw = mechanism.pParameter else {
            throw P11Error(CK_RV(CKR_MECHANISM_PARAM_INVALID), "RSA-OAEP needs CK_RSA_PKCS_OAEP_PARAMS")
        }
        let p = raw.loadUnaligned(as: CK_RSA_PKCS_OAEP_PARAMS.self)
        guard p.hashAlg == CK_MECHANISM_TYPE(CKM_SHA256), p.mgf == CK_RSA_PKCS_MGF_TYPE(CKG_MGF1_SHA256) else {
            throw P11Error(CK_RV(CKR_MECHANISM_PARAM_INVALID), "RSA-OAEP is offered with SHA-256 and MGF1-SHA-256")
        }
        var label = Data()
        if p.ulSourceDataLen > 0 {
            guard p.source == CK_RSA_PKCS_OAEP_SOURCE_TYPE(CKZ_DATA_SPECIFIED), let source = p.pSourceData, p.ulSourceDataLen <= 1 << 16 else {
                throw P11Error(CK_RV(CKR_MECHANISM_PARAM_INVALID), "an RSA-OAEP label is CKZ_DATA_SPECIFIED data of at most 64 KiB")
            }
            label = Data(bytes: source, count: Int(p.ulSourceDataLen))
        }
        guard key.algorithm.isRSA else { throw P11Error(CK_RV(CKR_KEY_TYPE_INCONSISTENT), "RSA-OAEP needs an RSA key") }
        if encrypting {
            guard ref.kind == .publicKey || ref.kind == .privateKey, key.publicKey != nil else { throw P11Error(CK_RV(CKR_KEY_TYPE_INCONSISTENT)) }
            guard key.usage.contains(.encrypt) else { throw P11Error(CK_RV(CKR_KEY_FUNCTION_NOT_PERMITTED), "the key may not encrypt") }
        } else {
            guard ref.kind == .privateKey else { throw P11Error(CK_RV(CKR_KEY_TYPE_INCONSISTENT), "decrypt with the private key object") }
            guard key.usage.contains(.decrypt) else { throw P11Error(CK_RV(CKR_KEY_FUNCTION_NOT_PERMITTED), "the key may not decrypt") }
        }
        return label
    }

    /// C_Encrypt / C_Decrypt (with `single`) or their Final calls (without): a size query or a
    /// short buffer keeps the operation; anything else ends it.
    func finishCipher(
        _ hSession: CK_SESSION_HANDLE, encrypting: Bool, single: (() throws(P11Error) -> Data)?,
        _ pOut: UnsafeMutablePointer<CK_BYTE>?, _ pulOutLen: UnsafeMutablePointer<CK_ULONG>?
    ) throws(P11Error) {
        guard let op = try updateSession(hSession, { encrypting ? $0.encrypt : $0.decrypt }) else { throw .operationNotInitialized }
        func end() {
            _ = try? updateSession(hSession) { (s: inout SessionState) throws(P11Error) in
                if encrypting { s.encrypt = nil } else { s.decrypt = nil }
            }
        }
        do throws(P11Error) {
            guard let pulOutLen else { throw P11Error.argumentsBad }
            let verb = encrypting ? "Encrypt" : "Decrypt"
            if single != nil, op.updated { throw P11Error(CK_RV(CKR_OPERATION_ACTIVE), "C_\(verb)Update was called: end with C_\(verb)Final") }
            let done: Bool
            switch op.mechanism {
            case .rsaOAEP(let label, let key):
                guard let single else { throw P11Error(CK_RV(CKR_FUNCTION_NOT_SUPPORTED), "RSA-OAEP is single-part: use C_\(verb)") }
                done = try finishOAEP(op, label: label, key: key, encrypting: encrypting, try single(), pOut, pulOutLen)
            case .standard:
                done = try finishStandardCipher(hSession, op, encrypting: encrypting, data: try single?() ?? op.data, pOut, pulOutLen)
            }
            if done { end() }
        } catch {
            if error.rv != CK_RV(CKR_BUFFER_TOO_SMALL) { end() }
            throw error
        }
    }

    /// RSA-OAEP's single call; false for a size query.
    private func finishOAEP(
        _ op: CipherOperation, label: Data, key: CipherOperation.OAEPKey, encrypting: Bool, _ data: Data, _ pOut: UnsafeMutablePointer<CK_BYTE>?,
        _ pulOutLen: UnsafeMutablePointer<CK_ULONG>
    ) throws(P11Error) -> Bool {
        let modulusBytes = key.modulusBytes
        guard data.count <= modulusBytes else {
            throw P11Error(CK_RV(encrypting ? CKR_DATA_LEN_RANGE : CKR_ENCRYPTED_DATA_LEN_RANGE), "input longer than \(modulusBytes) bytes")
        }
        // Encryption gives a modulus-sized ciphertext; decryption at most modulus − 66 bytes.
        let bound = encrypting ? modulusBytes : modulusBytes - 66
        if pOut == nil {
            pulOutLen.pointee = CK_ULONG(bound)
            return false
        }
        let result: Data
        if encrypting {
            guard data.count <= modulusBytes - 66 else {
                throw P11Error(CK_RV(CKR_DATA_LEN_RANGE), "RSA-OAEP-SHA256 with this key encrypts at most \(modulusBytes - 66) bytes")
            }
            if pulOutLen.pointee < CK_ULONG(bound) {
                pulOutLen.pointee = CK_ULONG(bound)
                throw P11Error(CK_RV(CKR_BUFFER_TOO_SMALL))
            }
            guard let publicKey = key.publicKey else { throw P11Error(CK_RV(CKR_KEY_TYPE_INCONSISTENT)) }
            do { result = try EncryptionKey(publicKey).encrypt(data, label: label) } catch { throw P11Error(CK_RV(CKR_FUNCTION_FAILED), "\(error)") }
        } else {
            guard data.count == modulusBytes else {
                throw P11Error(CK_RV(CKR_ENCRYPTED_DATA_LEN_RANGE), "an RSA-OAEP ciphertext of this key is \(modulusBytes) bytes")
            }
            // Through the versioned form, which a governed key turns into an approval request
            // (the standard form has none): a standard ciphertext is for the key's latest version.
            // A labelled one through the standard form, which has the label (and no request form).
            let id = op.key.id, ciphertext = VersionedBlob.encode(version: key.latestVersion, data)
            result = try call(slot: op.key.slot, context: .decryption) { hsm, token in
                guard label.isEmpty else {
                    return try await hsm.decryptStandard(
                        token, key: id, ciphertext: data, scheme: .rsaOAEPSHA256, parameters: StandardCipherParameters(label: label))
                }
                return try await hsm.decrypt(token, key: id, ciphertext: ciphertext, scheme: .rsaOAEPSHA256, aad: Data())
            }
        }
        return try output(result, to: pOut, length: pulOutLen)
    }
}
