import CPKCS11
import Foundation
import RedoubtCore
import RedoubtCrypto

// C_DeriveKey, in the HSM: CKM_ECDH1_DERIVE with CKD_NULL (the new key is the shared secret) on an
// EC or X25519 private key, and CKM_HKDF_DERIVE (extract and expand) on a secret key. The new key
// is an AES or generic secret key object made from the template.

@_cdecl("C_DeriveKey")
public func C_DeriveKey(
    _ hSession: CK_SESSION_HANDLE, _ pMechanism: UnsafeMutablePointer<CK_MECHANISM>?, _ hBaseKey: CK_OBJECT_HANDLE,
    _ pTemplate: UnsafeMutablePointer<CK_ATTRIBUTE>?, _ ulAttributeCount: CK_ULONG, _ phKey: UnsafeMutablePointer<CK_OBJECT_HANDLE>?
) -> CK_RV {
    entry("C_DeriveKey") { () throws(P11Error) in
        let runtime = try Module.runtime()
        let session = try runtime.session(hSession)
        guard let pMechanism, let phKey else { throw .argumentsBad }
        let mechanism = pMechanism.pointee
        let template = try Template(pTemplate, ulAttributeCount)
        let (ref, snapshot) = try runtime.keyObject(hBaseKey, slot: session.slot)
        guard case .key(let base) = snapshot else { throw P11Error(CK_RV(CKR_KEY_HANDLE_INVALID), "a certificate is not a key") }
        guard base.usage.contains(.derive) else { throw P11Error(CK_RV(CKR_KEY_FUNCTION_NOT_PERMITTED), "the key may not derive (CKA_DERIVE is false)") }
        let (algorithm, length) = try Runtime.derivedAlgorithm(template)
        let spec = try KeyTemplates.spec(algorithm, templates: [template])
        if spec.persistent { try runtime.requireReadWrite(session) }
        let id = ref.id
        let key: KeyInfo
        switch UInt(mechanism.mechanism) {
        case CKM_ECDH1_DERIVE:
            guard ref.kind == .privateKey, [.p256, .p384, .p521, .x25519].contains(base.algorithm) else {
                throw P11Error(CK_RV(CKR_KEY_TYPE_INCONSISTENT), "CKM_ECDH1_DERIVE needs a P-256, P-384, P-521 or X25519 private key")
            }
            let peer = try Runtime.ecdhPeer(mechanism, algorithm: base.algorithm)
            let derivation = KeyDerivation.identity(outputByteCount: length ?? 0)
            key = try runtime.call(slot: session.slot, context: .template) { hsm, token in
                try await hsm.deriveKey(token, key: id, peer: peer, derivation: derivation, spec: spec)
            }
        case Runtime.hkdfDerive:
            guard ref.kind == .secretKey else { throw P11Error(CK_RV(CKR_KEY_TYPE_INCONSISTENT), "CKM_HKDF_DERIVE derives from a secret key") }
            guard let length else { throw P11Error(CK_RV(CKR_TEMPLATE_INCOMPLETE), "CKA_VALUE_LEN is required for a generic secret made by HKDF") }
            let derivation = try Runtime.hkdf(mechanism, outputByteCount: length)
            key = try runtime.call(slot: session.slot, context: .template) { hsm, token in
                try await hsm.deriveKey(token, key: id, derivation: derivation, spec: spec)
            }
        default:
            throw P11Error(CK_RV(CKR_MECHANISM_INVALID), "mechanism 0x\(String(UInt(mechanism.mechanism), radix: 16)) does not derive keys")
        }
        phKey.pointee = try runtime.newKey(hSession, slot: session.slot, key)
    }
}

extension Runtime {
    /// CKM_HKDF_DERIVE (PKCS #11 3.0; not in the header the module is built with).
    static let hkdfDerive: UInt = 0x402a

    /// The new key of a derive template: CKO_SECRET_KEY (or unset) with CKK_AES (CKA_VALUE_LEN
    /// 16, 24 or 32) or CKK_GENERIC_SECRET (CKA_VALUE_LEN optional); the length if given.
    static func derivedAlgorithm(_ template: Template) throws(P11Error) -> (KeyAlgorithm, Int?) {
        if let cls = try template.ulong(CKA_CLASS), cls != CK_ULONG(CKO_SECRET_KEY) {
            throw P11Error(CK_RV(CKR_TEMPLATE_INCONSISTENT), "a derived key is a secret key (CKO_SECRET_KEY)")
        }
        let length = try template.ulong(CKA_VALUE_LEN).map { Int($0) }
        switch try template.ulong(CKA_KEY_TYPE) {
        case CK_ULONG(CKK_GENERIC_SECRET):
            if let length, !(1...128).contains(length) { throw P11Error(CK_RV(CKR_ATTRIBUTE_VALUE_INVALID), "CKA_VALUE_LEN is 1 to 128 for a generic secret") }
            return (.genericSecret, length)
        case CK_ULONG(CKK_AES):
            switch length {
            case 16: return (.aes128, 16)
            case 24: return (.aes192, 24)
            case 32: return (.aes256, 32)
            case nil: throw P11Error(CK_RV(CKR_TEMPLATE_INCOMPLETE), "CKA_VALUE_LEN (16, 24 or 32) is required for a derived AES key")
            default: throw P11Error(CK_RV(CKR_ATTRIBUTE_VALUE_INVALID), "an AES key is 16, 24 or 32 bytes")
            }
        case nil:
            throw P11Error(CK_RV(CKR_TEMPLATE_INCOMPLETE), "CKA_KEY_TYPE (CKK_AES or CKK_GENERIC_SECRET) is required")
        default:
            throw P11Error(CK_RV(CKR_TEMPLATE_INCONSISTENT), "a derived key is an AES or generic secret key")
        }
    }

    /// The peer's public key of a CK_ECDH1_DERIVE_PARAMS with CKD_NULL and no shared data: its raw
    /// point, or the point in a DER OCTET STRING.
    static func ecdhPeer(_ mechanism: CK_MECHANISM, algorithm: KeyAlgorithm) throws(P11Error) -> PublicKey {
        guard mechanism.ulParameterLen == CK_ULONG(MemoryLayout<CK_ECDH1_DERIVE_PARAMS>.size), let raw = mechanism.pParameter else {
            throw P11Error(CK_RV(CKR_MECHANISM_PARAM_INVALID), "CKM_ECDH1_DERIVE takes CK_ECDH1_DERIVE_PARAMS")
        }
        let p = raw.loadUnaligned(as: CK_ECDH1_DERIVE_PARAMS.self)
        guard p.kdf == ck_ec_kdf_t(CKD_NULL) else {
            throw P11Error(CK_RV(CKR_MECHANISM_PARAM_INVALID), "only CKD_NULL is offered: derive the shared secret, then CKM_HKDF_DERIVE from it")
        }
        guard p.ulSharedDataLen == 0 else { throw P11Error(CK_RV(CKR_MECHANISM_PARAM_INVALID), "CKD_NULL takes no shared data") }
        guard p.ulPublicDataLen > 0, p.ulPublicDataLen <= 256, let data = p.pPublicData else {
            throw P11Error(CK_RV(CKR_MECHANISM_PARAM_INVALID), "the peer's public point (pPublicData) is missing")
        }
        var point = Data(bytes: data, count: Int(p.ulPublicDataLen))
        let rawCount: Int
        switch algorithm {
        case .p256: rawCount = 65
        case .p384: rawCount = 97
        case .p521: rawCount = 133
        default: rawCount = 32
        }
        if point.count == rawCount + 2, point[point.startIndex] == 0x04, Int(point[point.startIndex + 1]) == rawCount {
            point = point.dropFirst(2)
        }
        do {
            return try PublicKey(rawRepresentation: point, algorithm: algorithm)
        } catch {
            throw P11Error(CK_RV(CKR_MECHANISM_PARAM_INVALID), "the peer's public point is not a \(algorithm) point: \(error)")
        }
    }

    /// A CK_HKDF_PARAMS for extract-and-expand, salt none or data, SHA-256/384/512.
    static func hkdf(_ mechanism: CK_MECHANISM, outputByteCount: Int) throws(P11Error) -> KeyDerivation {
        let word = MemoryLayout<UInt>.size
        guard mechanism.ulParameterLen == CK_ULONG(8 * word), let raw = mechanism.pParameter else {
            throw P11Error(CK_RV(CKR_MECHANISM_PARAM_INVALID), "CKM_HKDF_DERIVE takes CK_HKDF_PARAMS")
        }
        func at(_ index: Int) -> UInt { raw.loadUnaligned(fromByteOffset: index * word, as: UInt.self) }
        let extract = raw.load(fromByteOffset: 0, as: UInt8.self), expand = raw.load(fromByteOffset: 1, as: UInt8.self)
        guard extract != 0, expand != 0 else {
            throw P11Error(CK_RV(CKR_MECHANISM_PARAM_INVALID), "CKM_HKDF_DERIVE is offered as extract-and-expand (bExtract and bExpand true)")
        }
        let hash: HashAlgorithm
        switch at(1) {
        case CKM_SHA256: hash = .sha256
        case CKM_SHA384: hash = .sha384
        case CKM_SHA512: hash = .sha512
        default: throw P11Error(CK_RV(CKR_MECHANISM_PARAM_INVALID), "the HKDF hash (prfHashMechanism) is CKM_SHA256, CKM_SHA384 or CKM_SHA512")
        }
        func bytes(_ pointer: UInt, _ count: UInt, _ what: String) throws(P11Error) -> Data {
            guard count > 0 else { return Data() }
            guard count <= 1 << 16, let p = UnsafeRawPointer(bitPattern: pointer) else {
                throw P11Error(CK_RV(CKR_MECHANISM_PARAM_INVALID), "the HKDF \(what) is missing or over 64 KiB")
            }
            return Data(bytes: p, count: Int(count))
        }
        let salt: Data
        switch at(2) {
        case 1: salt = Data()  // CKF_HKDF_SALT_NULL
        case 2: salt = try bytes(at(3), at(4), "salt")  // CKF_HKDF_SALT_DATA
        default: throw P11Error(CK_RV(CKR_MECHANISM_PARAM_INVALID), "the HKDF salt is CKF_HKDF_SALT_NULL or CKF_HKDF_SALT_DATA (a salt key is not offered)")
        }
        return .hkdf(hash, salt: salt, info: try bytes(at(6), at(7), "info"), outputByteCount: outputByteCount)
    }
}
