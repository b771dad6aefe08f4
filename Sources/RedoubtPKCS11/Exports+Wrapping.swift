import CPKCS11
import Foundation
import RedoubtCore
import RedoubtCrypto

// C_WrapKey and C_UnwrapKey with CKM_AES_KEY_WRAP (RFC 3394), CKM_AES_KEY_WRAP_KWP (RFC 5649) and
// CKM_RSA_PKCS_OAEP (SHA-256, no label), in the HSM, in the standard form
// (HSM.exportWrappedStandard, importWrappedStandard: unwrapping names the key's latest version).
// What is wrapped is a secret key's bytes or a private key's PKCS #8.

@_cdecl("C_WrapKey")
public func C_WrapKey(
    _ hSession: CK_SESSION_HANDLE, _ pMechanism: UnsafeMutablePointer<CK_MECHANISM>?, _ hWrappingKey: CK_OBJECT_HANDLE, _ hKey: CK_OBJECT_HANDLE,
    _ pWrappedKey: UnsafeMutablePointer<CK_BYTE>?, _ pulWrappedKeyLen: UnsafeMutablePointer<CK_ULONG>?
) -> CK_RV {
    entry("C_WrapKey") { () throws(P11Error) in
        let runtime = try Module.runtime()
        let session = try runtime.session(hSession)
        guard let pMechanism, let pulWrappedKeyLen else { throw .argumentsBad }
        let mechanism = pMechanism.pointee.mechanism
        let (wrappingRef, _) = try runtime.wrappingKey(session.slot, hWrappingKey, pMechanism.pointee, unwrapping: false)
        let (ref, snapshot) = try runtime.keyObject(hKey, slot: session.slot)
        guard case .key(let key) = snapshot, ref.kind == .secretKey || ref.kind == .privateKey else {
            throw P11Error(CK_RV(CKR_KEY_NOT_WRAPPABLE), "only secret and private keys are wrapped")
        }
        guard key.extractable else { throw P11Error(CK_RV(CKR_KEY_UNEXTRACTABLE), "the key is not extractable (CKA_EXTRACTABLE is false)") }
        let bytes: Data
        if let kept = session.wrapped, kept.key == hKey, kept.wrappingKey == hWrappingKey, kept.mechanism == mechanism {
            bytes = kept.bytes
        } else {
            let scheme = try Runtime.wrapScheme(mechanism)
            let id = ref.id, wrappingID = wrappingRef.id
            bytes = try runtime.call(slot: session.slot, context: .key) { hsm, token in
                try await hsm.exportWrappedStandard(token, id: id, wrappingKey: wrappingID, scheme: scheme).wrapped
            }
        }
        let keep = { () throws(P11Error) in
            try runtime.updateSession(hSession) { (s: inout SessionState) in s.wrapped = (hKey, hWrappingKey, mechanism, bytes) }
        }
        guard let pWrappedKey else {
            try keep()
            pulWrappedKeyLen.pointee = CK_ULONG(bytes.count)
            return
        }
        guard pulWrappedKeyLen.pointee >= CK_ULONG(bytes.count) else {
            try keep()
            pulWrappedKeyLen.pointee = CK_ULONG(bytes.count)
            throw P11Error(CK_RV(CKR_BUFFER_TOO_SMALL))
        }
        try runtime.updateSession(hSession) { (s: inout SessionState) in s.wrapped = nil }
        try output(bytes, to: pWrappedKey, length: pulWrappedKeyLen)
    }
}

@_cdecl("C_UnwrapKey")
public func C_UnwrapKey(
    _ hSession: CK_SESSION_HANDLE, _ pMechanism: UnsafeMutablePointer<CK_MECHANISM>?, _ hUnwrappingKey: CK_OBJECT_HANDLE,
    _ pWrappedKey: UnsafeMutablePointer<CK_BYTE>?, _ ulWrappedKeyLen: CK_ULONG, _ pTemplate: UnsafeMutablePointer<CK_ATTRIBUTE>?,
    _ ulAttributeCount: CK_ULONG, _ phKey: UnsafeMutablePointer<CK_OBJECT_HANDLE>?
) -> CK_RV {
    entry("C_UnwrapKey") { () throws(P11Error) in
        let runtime = try Module.runtime()
        let session = try runtime.session(hSession)
        guard let pMechanism, let phKey else { throw .argumentsBad }
        let template = try Template(pTemplate, ulAttributeCount)
        let mechanism = pMechanism.pointee.mechanism
        let (unwrappingRef, unwrapping) = try runtime.wrappingKey(session.slot, hUnwrappingKey, pMechanism.pointee, unwrapping: true)
        let wrapped = try input(pWrappedKey, ulWrappedKeyLen, limit: 1 << 20)
        guard !wrapped.isEmpty else { throw P11Error(CK_RV(CKR_WRAPPED_KEY_LEN_RANGE), "no wrapped key") }
        let scheme = try Runtime.wrapScheme(mechanism)
        if scheme != .rsaOAEP, wrapped.count < (scheme == .aesKW ? 24 : 16) || wrapped.count % 8 != 0 {
            throw P11Error(
                CK_RV(CKR_WRAPPED_KEY_LEN_RANGE),
                "an AES key wrap output is a multiple of 8 bytes, at least \(scheme == .aesKW ? 24 : 16); got \(wrapped.count)")
        }
        let algorithm = try Runtime.unwrappedAlgorithm(template, wrappedCount: wrapped.count, scheme: scheme)
        let spec = try KeyTemplates.spec(algorithm, templates: [template])
        if spec.persistent { try runtime.requireReadWrite(session) }
        let unwrappingID = unwrappingRef.id, version = unwrapping.latestVersion
        let key: KeyInfo
        do throws(P11Error) {
            key = try runtime.call(slot: session.slot, context: .template) { hsm, token in
                try await hsm.importWrappedStandard(token, spec: spec, wrapped: wrapped, wrappingKey: unwrappingID, scheme: scheme, version: version)
            }
        } catch  where error.rv == CK_RV(CKR_TEMPLATE_INCONSISTENT) && Runtime.isBadWrappedKey(error.message) {
            throw P11Error(CK_RV(CKR_WRAPPED_KEY_INVALID), error.message)
        }
        phKey.pointee = try runtime.newKey(hSession, slot: session.slot, key)
    }
}

extension Runtime {
    /// CKM_AES_KEY_WRAP_KWP (PKCS #11 3.0; not in the header the module is built with).
    static let aesKeyWrapKWP: UInt = 0x210b

    /// Whether the HSM's refusal of an unwrap is about the wrapped bytes (they do not unwrap, or
    /// are no PKCS #8 key: CKR_WRAPPED_KEY_INVALID) rather than the template (a key of another
    /// algorithm than it names: CKR_TEMPLATE_INCONSISTENT).
    static func isBadWrappedKey(_ message: String) -> Bool {
        (message.contains("unwrap") || message.contains("PKCS#8")) && !message.contains("the spec says")
    }

    /// The scheme of a wrapping mechanism.
    static func wrapScheme(_ mechanism: CK_MECHANISM_TYPE) throws(P11Error) -> WrapScheme {
        switch UInt(mechanism) {
        case CKM_AES_KEY_WRAP: return .aesKW
        // CKM_AES_KEY_WRAP_PAD is RFC 5649 here, as in SoftHSM2 (pkcs11-tool's AES-KEY-WRAP-PAD).
        case CKM_AES_KEY_WRAP_PAD, Runtime.aesKeyWrapKWP: return .aesKWP
        case CKM_RSA_PKCS_OAEP: return .rsaOAEP
        default: throw P11Error(CK_RV(CKR_MECHANISM_INVALID), "mechanism 0x\(String(UInt(mechanism), radix: 16)) does not wrap keys")
        }
    }

    /// The (un)wrapping key object, checked against the mechanism and its parameter: an AES secret
    /// key for the AES mechanisms (no IV or the standard's default one), an RSA key for OAEP.
    func wrappingKey(_ slot: Int, _ handle: CK_OBJECT_HANDLE, _ mechanism: CK_MECHANISM, unwrapping: Bool) throws(P11Error) -> (ObjectRef, KeyInfo) {
        let scheme = try Self.wrapScheme(mechanism.mechanism)
        let (ref, snapshot) = try keyObject(handle, slot: slot)
        guard case .key(let key) = snapshot else { throw P11Error(CK_RV(CKR_WRAPPING_KEY_HANDLE_INVALID), "a certificate is not a key") }
        let inconsistent = unwrapping ? CKR_UNWRAPPING_KEY_TYPE_INCONSISTENT : CKR_WRAPPING_KEY_TYPE_INCONSISTENT
        switch scheme {
        case .aesKW, .aesKWP:
            guard ref.kind == .secretKey, [.aes128, .aes192, .aes256].contains(key.algorithm) else {
                throw P11Error(CK_RV(inconsistent), "AES key wrap needs an AES key, not a \(key.algorithm) \(ref.kind) object")
            }
            let defaultIV: [UInt8] = scheme == .aesKW ? [0xa6, 0xa6, 0xa6, 0xa6, 0xa6, 0xa6, 0xa6, 0xa6] : [0xa6, 0x59, 0x59, 0xa6]
            if mechanism.ulParameterLen > 0 {
                guard let p = mechanism.pParameter, Int(mechanism.ulParameterLen) == defaultIV.count,
                    Array(UnsafeRawBufferPointer(start: p, count: defaultIV.count)) == defaultIV
                else {
                    throw P11Error(CK_RV(CKR_MECHANISM_PARAM_INVALID), "AES key wrap takes no parameter, or the standard's default IV")
                }
            }
        case .rsaOAEP:
            guard try Self.checkOAEP(mechanism, ref: ref, key: key, encrypting: !unwrapping).isEmpty else {
                throw P11Error(CK_RV(CKR_MECHANISM_PARAM_INVALID), "RSA-OAEP key wrapping takes no label")
            }
        case .aesGCM:
            throw P11Error(CK_RV(CKR_MECHANISM_INVALID))
        }
        let usage: KeyUsage = unwrapping ? .unwrap : .wrap
        guard key.usage.contains(usage) else {
            throw P11Error(
                CK_RV(CKR_KEY_FUNCTION_NOT_PERMITTED), unwrapping ? "the key may not unwrap (CKA_UNWRAP is false)" : "the key may not wrap (CKA_WRAP is false)")
        }
        return (ref, key)
    }

    /// The algorithm an unwrap template asks for: CKO_SECRET_KEY with CKK_AES (the length from
    /// CKA_VALUE_LEN, or from the AES-KW/KWP output) or CKK_GENERIC_SECRET; or CKO_PRIVATE_KEY
    /// (``unwrappedPrivateAlgorithm(_:wrappedCount:)``).
    static func unwrappedAlgorithm(_ template: Template, wrappedCount: Int, scheme: WrapScheme) throws(P11Error) -> KeyAlgorithm {
        guard let cls = try template.ulong(CKA_CLASS) else {
            throw P11Error(CK_RV(CKR_TEMPLATE_INCOMPLETE), "CKA_CLASS (CKO_SECRET_KEY or CKO_PRIVATE_KEY) is required")
        }
        if cls == CK_ULONG(CKO_PRIVATE_KEY) { return try unwrappedPrivateAlgorithm(template, wrappedCount: wrappedCount) }
        guard cls == CK_ULONG(CKO_SECRET_KEY) else {
            throw P11Error(CK_RV(CKR_TEMPLATE_INCONSISTENT), "a wrapped key unwraps into a secret key or a private key object")
        }
        switch try template.ulong(CKA_KEY_TYPE) {
        case CK_ULONG(CKK_GENERIC_SECRET):
            return .genericSecret
        case CK_ULONG(CKK_AES):
            let length: Int
            if let asked = try template.ulong(CKA_VALUE_LEN) {
                length = Int(asked)
            } else if scheme != .rsaOAEP {
                length = wrappedCount - 8
            } else {
                throw P11Error(CK_RV(CKR_TEMPLATE_INCOMPLETE), "CKA_VALUE_LEN is required to unwrap an AES key with RSA-OAEP")
            }
            switch length {
            case 16: return .aes128
            case 24: return .aes192
            case 32: return .aes256
            default: throw P11Error(CK_RV(CKR_WRAPPED_KEY_LEN_RANGE), "an AES key is 16, 24 or 32 bytes, not \(length)")
            }
        case nil:
            throw P11Error(CK_RV(CKR_TEMPLATE_INCOMPLETE), "CKA_KEY_TYPE (CKK_AES or CKK_GENERIC_SECRET) is required")
        default:
            throw P11Error(CK_RV(CKR_TEMPLATE_INCONSISTENT), "only AES and generic secret keys are unwrapped through the module")
        }
    }

    /// The private key algorithm an unwrap template asks for (what is wrapped is PKCS #8):
    /// CKK_EC with CKA_EC_PARAMS naming the curve, CKK_EC_EDWARDS (Ed25519), CKK_EC_MONTGOMERY
    /// (X25519), CKK_ML_DSA or CKK_ML_KEM with CKA_PARAMETER_SET, or CKK_RSA, whose size a
    /// template does not say: it is read from the wrapped length (PKCS #8 of RSA-2048, -3072 and
    /// -4096 is about 1.2, 1.8 and 2.4 KB), and the HSM refuses a key that is not that size.
    static func unwrappedPrivateAlgorithm(_ template: Template, wrappedCount: Int) throws(P11Error) -> KeyAlgorithm {
        let curve = template.bytes(CKA_EC_PARAMS).flatMap { KeyAlgorithm(ecParameters: $0) }
        if template.bytes(CKA_EC_PARAMS) != nil, curve == nil {
            throw P11Error(CK_RV(CKR_CURVE_NOT_SUPPORTED), "CKA_EC_PARAMS names a curve the HSM does not have")
        }
        let set = try template.ulong(CKA_PARAMETER_SET)
        switch try template.ulong(CKA_KEY_TYPE) {
        case CK_ULONG(CKK_EC):
            guard let curve, curve.keyType == CK_KEY_TYPE(CKK_EC) else {
                throw P11Error(CK_RV(CKR_TEMPLATE_INCOMPLETE), "CKA_EC_PARAMS (the curve's OID) is required to unwrap an EC private key")
            }
            return curve
        case CK_ULONG(CKK_EC_EDWARDS):
            guard curve == nil || curve == .ed25519 else { throw P11Error(CK_RV(CKR_TEMPLATE_INCONSISTENT), "an Edwards key is Ed25519") }
            return .ed25519
        case CK_ULONG(CKK_EC_MONTGOMERY):
            guard curve == nil || curve == .x25519 else { throw P11Error(CK_RV(CKR_TEMPLATE_INCONSISTENT), "a Montgomery key is X25519") }
            return .x25519
        case CK_ULONG(CKK_ML_DSA):
            switch set {
            case CK_ULONG(CKP_ML_DSA_65)?: return .mldsa65
            case CK_ULONG(CKP_ML_DSA_87)?: return .mldsa87
            default: throw P11Error(CK_RV(CKR_TEMPLATE_INCOMPLETE), "CKA_PARAMETER_SET (CKP_ML_DSA_65 or CKP_ML_DSA_87) is required")
            }
        case CK_ULONG(CKK_ML_KEM):
            switch set {
            case CK_ULONG(CKP_ML_KEM_768)?: return .mlkem768
            case CK_ULONG(CKP_ML_KEM_1024)?: return .mlkem1024
            default: throw P11Error(CK_RV(CKR_TEMPLATE_INCOMPLETE), "CKA_PARAMETER_SET (CKP_ML_KEM_768 or CKP_ML_KEM_1024) is required")
            }
        case CK_ULONG(CKK_RSA):
            switch wrappedCount {
            case ..<1500: return .rsa2048
            case ..<2100: return .rsa3072
            case ..<2800: return .rsa4096
            default: throw P11Error(CK_RV(CKR_WRAPPED_KEY_LEN_RANGE), "\(wrappedCount) bytes is no wrapped RSA-2048, -3072 or -4096 key")
            }
        case nil:
            throw P11Error(CK_RV(CKR_TEMPLATE_INCOMPLETE), "CKA_KEY_TYPE is required")
        default:
            throw P11Error(CK_RV(CKR_TEMPLATE_INCONSISTENT), "the HSM has no private keys of that CKA_KEY_TYPE")
        }
    }
}
