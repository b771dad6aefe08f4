import CPKCS11
import Foundation
import RedoubtCore
import RedoubtCrypto

// C_EncapsulateKey and C_DecapsulateKey (PKCS #11 3.2, in the "PKCS 11" 3.2 interface) with
// CKM_ML_KEM on ML-KEM-768 and ML-KEM-1024 keys, in the HSM (HSM.encapsulate, decapsulate). The
// 32-byte shared secret becomes a new secret key object made from the template: CKK_GENERIC_SECRET
// (the default) or CKK_AES with CKA_VALUE_LEN 32.

@_cdecl("C_EncapsulateKey")
public func C_EncapsulateKey(
    _ hSession: CK_SESSION_HANDLE, _ pMechanism: UnsafeMutablePointer<CK_MECHANISM>?, _ hPublicKey: CK_OBJECT_HANDLE,
    _ pTemplate: UnsafeMutablePointer<CK_ATTRIBUTE>?, _ ulAttributeCount: CK_ULONG, _ pCiphertext: UnsafeMutablePointer<CK_BYTE>?,
    _ pulCiphertextLen: UnsafeMutablePointer<CK_ULONG>?, _ phKey: UnsafeMutablePointer<CK_OBJECT_HANDLE>?
) -> CK_RV {
    entry("C_EncapsulateKey") { () throws(P11Error) in
        let runtime = try Module.runtime()
        let session = try runtime.session(hSession)
        guard let pMechanism, let pulCiphertextLen else { throw .argumentsBad }
        try Runtime.checkMLKEM(pMechanism.pointee)
        let (ref, key) = try runtime.kemKey(hPublicKey, slot: session.slot, kind: .publicKey, usage: .encapsulate)
        let spec = try Runtime.sharedSecretSpec(try Template(pTemplate, ulAttributeCount))
        let length = try Runtime.mlkemCiphertextLength(key.algorithm)
        // A size query makes nothing: the ciphertext's length follows from the parameter set.
        guard let pCiphertext else {
            pulCiphertextLen.pointee = CK_ULONG(length)
            return
        }
        guard pulCiphertextLen.pointee >= CK_ULONG(length) else {
            pulCiphertextLen.pointee = CK_ULONG(length)
            throw P11Error(CK_RV(CKR_BUFFER_TOO_SMALL))
        }
        guard let phKey else { throw .argumentsBad }
        if spec.persistent { try runtime.requireReadWrite(session) }
        let id = ref.id
        let result = try runtime.call(slot: session.slot, context: .template) { hsm, token in
            try await hsm.encapsulate(token, key: id, spec: spec)
        }
        _ = try output(result.encapsulated, to: pCiphertext, length: pulCiphertextLen)
        phKey.pointee = try runtime.newKey(hSession, slot: session.slot, result.key)
    }
}

@_cdecl("C_DecapsulateKey")
public func C_DecapsulateKey(
    _ hSession: CK_SESSION_HANDLE, _ pMechanism: UnsafeMutablePointer<CK_MECHANISM>?, _ hPrivateKey: CK_OBJECT_HANDLE,
    _ pTemplate: UnsafeMutablePointer<CK_ATTRIBUTE>?, _ ulAttributeCount: CK_ULONG, _ pCiphertext: UnsafeMutablePointer<CK_BYTE>?,
    _ ulCiphertextLen: CK_ULONG, _ phKey: UnsafeMutablePointer<CK_OBJECT_HANDLE>?
) -> CK_RV {
    entry("C_DecapsulateKey") { () throws(P11Error) in
        let runtime = try Module.runtime()
        let session = try runtime.session(hSession)
        guard let pMechanism, let phKey else { throw .argumentsBad }
        try Runtime.checkMLKEM(pMechanism.pointee)
        let (ref, key) = try runtime.kemKey(hPrivateKey, slot: session.slot, kind: .privateKey, usage: .decapsulate)
        let spec = try Runtime.sharedSecretSpec(try Template(pTemplate, ulAttributeCount))
        let length = try Runtime.mlkemCiphertextLength(key.algorithm)
        guard ulCiphertextLen == CK_ULONG(length) else {
            throw P11Error(CK_RV(CKR_ENCRYPTED_DATA_LEN_RANGE), "an \(key.algorithm.rawValue) ciphertext is \(length) bytes, not \(ulCiphertextLen)")
        }
        let ciphertext = try input(pCiphertext, ulCiphertextLen, limit: length)
        if spec.persistent { try runtime.requireReadWrite(session) }
        let id = ref.id
        let secret = try runtime.call(slot: session.slot, context: .template) { hsm, token in
            try await hsm.decapsulate(token, key: id, encapsulated: ciphertext, spec: spec)
        }
        phKey.pointee = try runtime.newKey(hSession, slot: session.slot, secret)
    }
}

extension Runtime {
    /// CKM_ML_KEM, which takes no parameter.
    static func checkMLKEM(_ mechanism: CK_MECHANISM) throws(P11Error) {
        guard UInt(mechanism.mechanism) == CKM_ML_KEM else {
            throw P11Error(CK_RV(CKR_MECHANISM_INVALID), "mechanism 0x\(String(UInt(mechanism.mechanism), radix: 16)) does not encapsulate: use CKM_ML_KEM")
        }
        guard mechanism.pParameter == nil, mechanism.ulParameterLen == 0 else {
            throw P11Error(CK_RV(CKR_MECHANISM_PARAM_INVALID), "CKM_ML_KEM takes no parameter")
        }
    }

    /// The ML-KEM key object behind `handle`: of `kind` (the public key encapsulates, the private
    /// key decapsulates), allowed `usage`.
    func kemKey(_ handle: CK_OBJECT_HANDLE, slot: Int, kind: ObjectRef.Kind, usage: KeyUsage) throws(P11Error) -> (ObjectRef, KeyInfo) {
        let (ref, snapshot) = try keyObject(handle, slot: slot)
        guard case .key(let key) = snapshot else { throw P11Error(CK_RV(CKR_KEY_HANDLE_INVALID), "a certificate is not a key") }
        guard key.algorithm == .mlkem768 || key.algorithm == .mlkem1024, ref.kind == kind else {
            let what = kind == .publicKey ? "public" : "private"
            throw P11Error(CK_RV(CKR_KEY_TYPE_INCONSISTENT), "CKM_ML_KEM needs an ML-KEM-768 or ML-KEM-1024 \(what) key")
        }
        guard key.usage.contains(usage) else {
            let attribute = usage == .encapsulate ? "CKA_ENCAPSULATE" : "CKA_DECAPSULATE"
            throw P11Error(
                CK_RV(CKR_KEY_FUNCTION_NOT_PERMITTED), "the key may not \(usage == .encapsulate ? "encapsulate" : "decapsulate") (\(attribute) is false)")
        }
        return (ref, key)
    }

    /// The ciphertext length of an ML-KEM parameter set (FIPS 203, table 3).
    static func mlkemCiphertextLength(_ algorithm: KeyAlgorithm) throws(P11Error) -> Int {
        switch algorithm {
        case .mlkem768: return 1088
        case .mlkem1024: return 1568
        default: throw P11Error(CK_RV(CKR_KEY_TYPE_INCONSISTENT), "not an ML-KEM key")
        }
    }

    /// The new key of an encapsulation template: CKO_SECRET_KEY, CKK_GENERIC_SECRET (the default)
    /// or CKK_AES, and if CKA_VALUE_LEN is given, 32 — ML-KEM's shared secret is 32 bytes.
    static func sharedSecretSpec(_ template: Template) throws(P11Error) -> KeySpec {
        if let cls = try template.ulong(CKA_CLASS), cls != CK_ULONG(CKO_SECRET_KEY) {
            throw P11Error(CK_RV(CKR_TEMPLATE_INCONSISTENT), "the shared secret becomes a secret key (CKO_SECRET_KEY)")
        }
        if let length = try template.ulong(CKA_VALUE_LEN), length != 32 {
            throw P11Error(CK_RV(CKR_TEMPLATE_INCONSISTENT), "ML-KEM's shared secret is 32 bytes (CKA_VALUE_LEN \(length))")
        }
        let algorithm: KeyAlgorithm
        switch try template.ulong(CKA_KEY_TYPE) {
        case CK_ULONG(CKK_GENERIC_SECRET)?, nil: algorithm = .genericSecret
        case CK_ULONG(CKK_AES)?: algorithm = .aes256
        default: throw P11Error(CK_RV(CKR_TEMPLATE_INCONSISTENT), "the shared secret becomes a generic secret or an AES-256 key")
        }
        return try KeyTemplates.spec(algorithm, secretLength: algorithm == .genericSecret ? 32 : nil, templates: [template])
    }
}
