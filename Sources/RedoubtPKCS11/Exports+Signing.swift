import CPKCS11
import Foundation
import RedoubtCore
import RedoubtCrypto

// Signing (in the HSM) and verifying (here, with the public key), single and multi-part, with
// the standard's state rules: a size query or CKR_BUFFER_TOO_SMALL keeps the operation, any other
// outcome ends it, and a second Init while one is active is CKR_OPERATION_ACTIVE.

@_cdecl("C_SignInit")
public func C_SignInit(_ hSession: CK_SESSION_HANDLE, _ pMechanism: UnsafeMutablePointer<CK_MECHANISM>?, _ hKey: CK_OBJECT_HANDLE) -> CK_RV {
    entry("C_SignInit") { () throws(P11Error) in
        let runtime = try Module.runtime()
        // Read in place: a copy of the whole session state costs more than the rest.
        let (slot, idle) = try runtime.updateSession(hSession) { (s: inout SessionState) in (s.slot, s.sign == nil) }
        guard let pMechanism else { throw .argumentsBad }
        guard idle else { throw .operationActive }
        let operation = try runtime.signOperation(slot: slot, pMechanism.pointee, hKey, verifying: false)
        try runtime.updateSession(hSession) { (s: inout SessionState) throws(P11Error) in
            guard s.sign == nil else { throw .operationActive }
            s.sign = operation
        }
    }
}

@_cdecl("C_Sign")
public func C_Sign(
    _ hSession: CK_SESSION_HANDLE, _ pData: UnsafeMutablePointer<CK_BYTE>?, _ ulDataLen: CK_ULONG, _ pSignature: UnsafeMutablePointer<CK_BYTE>?,
    _ pulSignatureLen: UnsafeMutablePointer<CK_ULONG>?
) -> CK_RV {
    entry("C_Sign") { () throws(P11Error) in
        let runtime = try Module.runtime()
        try runtime.finishSign(hSession, single: { () throws(P11Error) in try input(pData, ulDataLen) }, pSignature, pulSignatureLen)
    }
}

@_cdecl("C_SignUpdate")
public func C_SignUpdate(_ hSession: CK_SESSION_HANDLE, _ pPart: UnsafeMutablePointer<CK_BYTE>?, _ ulPartLen: CK_ULONG) -> CK_RV {
    entry("C_SignUpdate") { () throws(P11Error) in
        let runtime = try Module.runtime()
        try runtime.updateOperation(hSession, verify: false, part: { () throws(P11Error) in try input(pPart, ulPartLen) })
    }
}

@_cdecl("C_SignFinal")
public func C_SignFinal(_ hSession: CK_SESSION_HANDLE, _ pSignature: UnsafeMutablePointer<CK_BYTE>?, _ pulSignatureLen: UnsafeMutablePointer<CK_ULONG>?)
    -> CK_RV
{
    entry("C_SignFinal") { () throws(P11Error) in
        let runtime = try Module.runtime()
        try runtime.finishSign(hSession, single: nil, pSignature, pulSignatureLen)
    }
}

@_cdecl("C_VerifyInit")
public func C_VerifyInit(_ hSession: CK_SESSION_HANDLE, _ pMechanism: UnsafeMutablePointer<CK_MECHANISM>?, _ hKey: CK_OBJECT_HANDLE) -> CK_RV {
    entry("C_VerifyInit") { () throws(P11Error) in
        let runtime = try Module.runtime()
        // Read in place: a copy of the whole session state costs more than the rest.
        let (slot, idle) = try runtime.updateSession(hSession) { (s: inout SessionState) in (s.slot, s.verify == nil) }
        guard let pMechanism else { throw .argumentsBad }
        guard idle else { throw .operationActive }
        let operation = try runtime.signOperation(slot: slot, pMechanism.pointee, hKey, verifying: true)
        try runtime.updateSession(hSession) { (s: inout SessionState) throws(P11Error) in
            guard s.verify == nil else { throw .operationActive }
            s.verify = operation
        }
    }
}

@_cdecl("C_Verify")
public func C_Verify(
    _ hSession: CK_SESSION_HANDLE, _ pData: UnsafeMutablePointer<CK_BYTE>?, _ ulDataLen: CK_ULONG, _ pSignature: UnsafeMutablePointer<CK_BYTE>?,
    _ ulSignatureLen: CK_ULONG
) -> CK_RV {
    entry("C_Verify") { () throws(P11Error) in
        let runtime = try Module.runtime()
        try runtime.finishVerify(hSession, single: { () throws(P11Error) in try input(pData, ulDataLen) }, pSignature, ulSignatureLen)
    }
}

@_cdecl("C_VerifyUpdate")
public func C_VerifyUpdate(_ hSession: CK_SESSION_HANDLE, _ pPart: UnsafeMutablePointer<CK_BYTE>?, _ ulPartLen: CK_ULONG) -> CK_RV {
    entry("C_VerifyUpdate") { () throws(P11Error) in
        let runtime = try Module.runtime()
        try runtime.updateOperation(hSession, verify: true, part: { () throws(P11Error) in try input(pPart, ulPartLen) })
    }
}

@_cdecl("C_VerifyFinal")
public func C_VerifyFinal(_ hSession: CK_SESSION_HANDLE, _ pSignature: UnsafeMutablePointer<CK_BYTE>?, _ ulSignatureLen: CK_ULONG) -> CK_RV {
    entry("C_VerifyFinal") { () throws(P11Error) in
        let runtime = try Module.runtime()
        try runtime.finishVerify(hSession, single: nil, pSignature, ulSignatureLen)
    }
}

extension Runtime {
    /// Checks the key and mechanism of a Sign/VerifyInit and plans the operation.
    func signOperation(slot: Int, _ mechanism: CK_MECHANISM, _ hKey: CK_OBJECT_HANDLE, verifying: Bool) throws(P11Error) -> SignOperation {
        let parameter: Data?
        if mechanism.ulParameterLen > 0 {
            guard let p = mechanism.pParameter, mechanism.ulParameterLen <= 4096 else { throw .argumentsBad }
            parameter = Data(bytes: p, count: Int(mechanism.ulParameterLen))
        } else {
            parameter = nil
        }
        let (ref, snapshot) = try keyObject(hKey, slot: slot)
        guard case .key(let key) = snapshot else { throw P11Error(CK_RV(CKR_KEY_HANDLE_INVALID), "a certificate is not a key") }
        if let hmac = try HMACPlan(mechanism: mechanism.mechanism, parameter: parameter) { return try hmacOperation(hmac, ref: ref, key: key) }
        let rightKind = verifying ? (ref.kind == .publicKey || ref.kind == .privateKey) : ref.kind == .privateKey
        guard rightKind else {
            throw P11Error(CK_RV(CKR_KEY_TYPE_INCONSISTENT), verifying ? "verify with a public or private key object" : "sign with a private key object")
        }
        if !verifying, !key.usage.contains(.sign) {
            throw P11Error(CK_RV(CKR_KEY_FUNCTION_NOT_PERMITTED), "the key may not sign (CKA_SIGN is false)")
        }
        let plan = try SignPlan(mechanism: mechanism.mechanism, parameter: parameter, algorithm: key.algorithm)
        if verifying, key.publicKey == nil { throw P11Error(CK_RV(CKR_KEY_TYPE_INCONSISTENT), "the key has no public key") }
        return SignOperation(key: ref, plan: plan, hmac: nil, publicKey: key.publicKey)
    }

    /// C_SignUpdate / C_VerifyUpdate: collects a part; an error ends the operation.
    func updateOperation(_ hSession: CK_SESSION_HANDLE, verify: Bool, part: () throws(P11Error) -> Data) throws(P11Error) {
        try updateSession(hSession) { (s: inout SessionState) throws(P11Error) in
            guard var op = verify ? s.verify : s.sign else { throw .operationNotInitialized }
            // Taken out while it grows (its data, shared with the session, is not copied); an
            // error leaves it out: the operation has ended.
            if verify { s.verify = nil } else { s.sign = nil }
            try op.append(try part())
            if verify { s.verify = op } else { s.sign = op }
        }
    }

    /// C_Sign (with `single`) or C_SignFinal (without).
    func finishSign(
        _ hSession: CK_SESSION_HANDLE, single: (() throws(P11Error) -> Data)?, _ pSignature: UnsafeMutablePointer<CK_BYTE>?,
        _ pulSignatureLen: UnsafeMutablePointer<CK_ULONG>?
    ) throws(P11Error) {
        guard let op = try updateSession(hSession, { $0.sign }) else { throw .operationNotInitialized }
        func end() { _ = try? updateSession(hSession) { (s: inout SessionState) throws(P11Error) in s.sign = nil } }
        do throws(P11Error) {
            guard let pulSignatureLen else { throw P11Error.argumentsBad }
            if single != nil, op.updated { throw P11Error(CK_RV(CKR_OPERATION_ACTIVE), "C_SignUpdate was called: end with C_SignFinal") }
            let data = try single?() ?? op.data
            if let hmac = op.hmac {
                if try finishHMACSign(op, hmac, data: data, pSignature, pulSignatureLen) { end() }
                return
            }
            guard let plan = op.plan else { throw P11Error(CK_RV(CKR_GENERAL_ERROR)) }
            // The length is known before signing: answer a size query or a short buffer without the HSM.
            let length = plan.signatureLength
            if pSignature == nil {
                pulSignatureLen.pointee = CK_ULONG(length)
                return
            }
            if pulSignatureLen.pointee < CK_ULONG(length) {
                pulSignatureLen.pointee = CK_ULONG(length)
                throw P11Error(CK_RV(CKR_BUFFER_TOO_SMALL))
            }
            let (signingInput, scheme) = try plan.prepared(data)
            let id = op.key.id
            let result = try call(
                slot: op.key.slot, context: .key, immediately: { $0.signImmediately($1, key: id, input: signingInput, scheme: scheme) }
            ) { hsm, token in
                try await hsm.sign(token, key: id, input: signingInput, scheme: scheme)
            }
            end()
            guard result.signature.count <= length else { throw P11Error(CK_RV(CKR_GENERAL_ERROR), "the HSM's signature is longer than expected") }
            try output(result.signature, to: pSignature, length: pulSignatureLen)
        } catch {
            if error.rv != CK_RV(CKR_BUFFER_TOO_SMALL) { end() }
            throw error
        }
    }

    /// C_Verify (with `single`) or C_VerifyFinal (without): verified here with the public key.
    func finishVerify(
        _ hSession: CK_SESSION_HANDLE, single: (() throws(P11Error) -> Data)?, _ pSignature: UnsafeMutablePointer<CK_BYTE>?, _ ulSignatureLen: CK_ULONG
    ) throws(P11Error) {
        guard let op = try updateSession(hSession, { $0.verify }) else { throw .operationNotInitialized }
        defer { _ = try? updateSession(hSession) { (s: inout SessionState) throws(P11Error) in s.verify = nil } }
        if single != nil, op.updated { throw P11Error(CK_RV(CKR_OPERATION_ACTIVE), "C_VerifyUpdate was called: end with C_VerifyFinal") }
        let data = try single?() ?? op.data
        let signature = try input(pSignature, ulSignatureLen, limit: 8192)
        if let hmac = op.hmac { return try finishHMACVerify(op, hmac, data: data, tag: signature) }
        guard let plan = op.plan else { throw P11Error(CK_RV(CKR_GENERAL_ERROR)) }
        guard signature.count == plan.signatureLength else {
            throw P11Error(CK_RV(CKR_SIGNATURE_LEN_RANGE), "the signature must be \(plan.signatureLength) bytes, got \(signature.count)")
        }
        guard let publicKey = op.publicKey else { throw P11Error(CK_RV(CKR_KEY_TYPE_INCONSISTENT)) }
        let (signingInput, scheme) = try plan.prepared(data)
        let valid: Bool
        do {
            valid = try VerifyingKey(publicKey).isValidSignature(signature, for: signingInput, scheme: scheme)
        } catch {
            throw P11Error(CK_RV(CKR_SIGNATURE_INVALID), "\(error)")
        }
        guard valid else { throw P11Error(CK_RV(CKR_SIGNATURE_INVALID)) }
    }
}
