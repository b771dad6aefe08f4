import CPKCS11
import Foundation
import RedoubtCore
import RedoubtCrypto

/// CKM_SHA256/384/512_HMAC and their _GENERAL forms on a generic secret: the tag made and
/// checked in the HSM (HSM.macStandard / verifyMACStandard), through the sign and verify calls.
struct HMACPlan: Sendable {
    var hash: HashAlgorithm
    /// The tag's length in bytes: the hash's, or a _GENERAL mechanism's parameter.
    var length: Int

    /// The plan of an HMAC mechanism; nil for any other mechanism.
    /// - Throws: CKR_MECHANISM_PARAM_INVALID for a parameter that does not fit.
    init?(mechanism: CK_MECHANISM_TYPE, parameter: Data?) throws(P11Error) {
        let general: Bool
        switch UInt(mechanism) {
        case CKM_SHA256_HMAC: (hash, general) = (.sha256, false)
        case CKM_SHA384_HMAC: (hash, general) = (.sha384, false)
        case CKM_SHA512_HMAC: (hash, general) = (.sha512, false)
        case CKM_SHA256_HMAC_GENERAL: (hash, general) = (.sha256, true)
        case CKM_SHA384_HMAC_GENERAL: (hash, general) = (.sha384, true)
        case CKM_SHA512_HMAC_GENERAL: (hash, general) = (.sha512, true)
        default: return nil
        }
        guard general else {
            if let parameter, !parameter.isEmpty { throw P11Error(CK_RV(CKR_MECHANISM_PARAM_INVALID), "this mechanism takes no parameter") }
            length = hash.byteCount
            return
        }
        guard let parameter, parameter.count == MemoryLayout<CK_ULONG>.size else {
            throw P11Error(CK_RV(CKR_MECHANISM_PARAM_INVALID), "an HMAC _GENERAL mechanism takes CK_MAC_GENERAL_PARAMS (a CK_ULONG: the tag length)")
        }
        let asked = parameter.withUnsafeBytes { $0.loadUnaligned(as: CK_ULONG.self) }
        // RFC 2104 §5: at least half the hash and 80 bits; shorter tags are refused.
        let shortest = Swift.max(10, hash.byteCount / 2)
        guard asked >= CK_ULONG(shortest), asked <= CK_ULONG(hash.byteCount) else {
            throw P11Error(CK_RV(CKR_MECHANISM_PARAM_INVALID), "HMAC-\(hash) tags are \(shortest) to \(hash.byteCount) bytes; asked for \(asked)")
        }
        length = Int(asked)
    }
}

extension Runtime {
    /// The sign or verify operation of an HMAC mechanism on a generic secret.
    func hmacOperation(_ plan: HMACPlan, ref: ObjectRef, key: KeyInfo) throws(P11Error) -> SignOperation {
        guard ref.kind == .secretKey, key.algorithm == .genericSecret else {
            throw P11Error(CK_RV(CKR_KEY_TYPE_INCONSISTENT), "HMAC needs a generic secret key (CKK_GENERIC_SECRET), not a \(key.algorithm) \(ref.kind) object")
        }
        guard key.usage.contains(.mac) else { throw P11Error(CK_RV(CKR_KEY_FUNCTION_NOT_PERMITTED), "the key may not MAC (CKA_SIGN / CKA_VERIFY are false)") }
        return SignOperation(key: ref, plan: nil, hmac: plan)
    }

    /// C_Sign / C_SignFinal with an HMAC mechanism: false for a size query (the operation goes on).
    func finishHMACSign(
        _ op: SignOperation, _ plan: HMACPlan, data: Data, _ pSignature: UnsafeMutablePointer<CK_BYTE>?, _ pulSignatureLen: UnsafeMutablePointer<CK_ULONG>
    ) throws(P11Error) -> Bool {
        guard let pSignature else {
            pulSignatureLen.pointee = CK_ULONG(plan.length)
            return false
        }
        if pulSignatureLen.pointee < CK_ULONG(plan.length) {
            pulSignatureLen.pointee = CK_ULONG(plan.length)
            throw P11Error(CK_RV(CKR_BUFFER_TOO_SMALL))
        }
        let id = op.key.id, hash = plan.hash
        let tag = try call(slot: op.key.slot, context: .key, immediately: { $0.macStandardImmediately($1, key: id, data: data, hash: hash, version: nil) }) {
            hsm, token in try await hsm.macStandard(token, key: id, data: data, hash: hash, version: nil)
        }
        guard tag.count >= plan.length else { throw P11Error(CK_RV(CKR_GENERAL_ERROR), "the HSM's tag is shorter than expected") }
        return try output(Data(tag.prefix(plan.length)), to: pSignature, length: pulSignatureLen)
    }

    /// C_Verify / C_VerifyFinal with an HMAC mechanism: checked in the HSM.
    func finishHMACVerify(_ op: SignOperation, _ plan: HMACPlan, data: Data, tag: Data) throws(P11Error) {
        guard tag.count == plan.length else {
            throw P11Error(CK_RV(CKR_SIGNATURE_LEN_RANGE), "the HMAC tag must be \(plan.length) bytes, got \(tag.count)")
        }
        let id = op.key.id, hash = plan.hash
        let valid = try call(
            slot: op.key.slot, context: .key, immediately: { $0.verifyMACStandardImmediately($1, key: id, data: data, tag: tag, hash: hash, version: nil) }
        ) { hsm, token in
            try await hsm.verifyMACStandard(token, key: id, data: data, tag: tag, hash: hash, version: nil)
        }
        guard valid else { throw P11Error(CK_RV(CKR_SIGNATURE_INVALID)) }
    }
}
