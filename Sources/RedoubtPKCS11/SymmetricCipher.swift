import CPKCS11
import Foundation
import RedoubtCore
import RedoubtCrypto

// CKM_AES_GCM and CKM_AES_CBC_PAD, single and multi-part, in the HSM's standard form
// (HSM.encryptStandard / decryptStandard). The Update calls collect the data and output nothing;
// the final call (C_Encrypt, C_EncryptFinal and the decrypt ones) runs the whole operation in the
// HSM, so a decryption releases no plaintext before its tag or padding is checked.
//
// AES-GCM encryption never takes the caller's IV: the HSM chooses 12 random bytes and the module
// writes them into the `pIv` buffer of the CK_GCM_PARAMS given to C_EncryptInit (ulIvLen 12), as
// AWS CloudHSM does; that buffer must stay valid until the operation ends. Decryption takes the
// caller's IV (1 to 128 bytes).

extension Runtime {
    /// The operation of a symmetric mechanism on a secret key object.
    func standardCipherOperation(_ mechanism: CK_MECHANISM, ref: ObjectRef, key: KeyInfo, encrypting: Bool) throws(P11Error) -> CipherOperation {
        try Self.checkAESKey(ref: ref, key: key, encrypting: encrypting)
        switch UInt(mechanism.mechanism) {
        case CKM_AES_GCM:
            let (parameters, ivOut) = try Self.gcmParameters(mechanism, encrypting: encrypting)
            return CipherOperation(key: ref, mechanism: .standard(.aesGCM, parameters, ivOut: ivOut))
        case CKM_AES_CBC_PAD:
            guard mechanism.ulParameterLen == 16, let p = mechanism.pParameter else {
                throw P11Error(CK_RV(CKR_MECHANISM_PARAM_INVALID), "CKM_AES_CBC_PAD takes the 16-byte IV as its parameter")
            }
            let parameters = StandardCipherParameters(iv: Data(bytes: p, count: 16))
            return CipherOperation(key: ref, mechanism: .standard(.aesCBCPKCS7, parameters, ivOut: nil))
        default:
            throw P11Error(CK_RV(CKR_MECHANISM_INVALID), "mechanism 0x\(String(UInt(mechanism.mechanism), radix: 16)) does not encrypt or decrypt")
        }
    }

    /// An AES secret key object whose usage allows the operation.
    static func checkAESKey(ref: ObjectRef, key: KeyInfo, encrypting: Bool) throws(P11Error) {
        guard ref.kind == .secretKey, [.aes128, .aes192, .aes256].contains(key.algorithm) else {
            throw P11Error(CK_RV(CKR_KEY_TYPE_INCONSISTENT), "AES mechanisms need an AES secret key, not a \(key.algorithm) \(ref.kind) object")
        }
        if encrypting {
            guard key.usage.contains(.encrypt) else { throw P11Error(CK_RV(CKR_KEY_FUNCTION_NOT_PERMITTED), "the key may not encrypt (CKA_ENCRYPT is false)") }
        } else {
            guard key.usage.contains(.decrypt) else { throw P11Error(CK_RV(CKR_KEY_FUNCTION_NOT_PERMITTED), "the key may not decrypt (CKA_DECRYPT is false)") }
        }
    }

    /// A CK_GCM_PARAMS, with (PKCS #11 2.40 errata and 3.x, 6 words) or without (2.40 as first
    /// published, 5 words) its ulIvBits.
    static func gcmParameters(_ mechanism: CK_MECHANISM, encrypting: Bool) throws(P11Error) -> (StandardCipherParameters, CipherOperation.IVBuffer?) {
        let word = MemoryLayout<UInt>.size
        guard let raw = mechanism.pParameter, mechanism.ulParameterLen == CK_ULONG(6 * word) || mechanism.ulParameterLen == CK_ULONG(5 * word) else {
            throw P11Error(CK_RV(CKR_MECHANISM_PARAM_INVALID), "CKM_AES_GCM takes CK_GCM_PARAMS")
        }
        let words = Int(mechanism.ulParameterLen) / word
        func at(_ index: Int) -> UInt { raw.loadUnaligned(fromByteOffset: index * word, as: UInt.self) }
        let (ivPointer, ivLength) = (UnsafeMutableRawPointer(bitPattern: at(0)), Int(at(1)))
        let aadAt = words == 6 ? 3 : 2
        let (aadPointer, aadLength, tagBits) = (UnsafeRawPointer(bitPattern: at(aadAt)), at(aadAt + 1), at(aadAt + 2))
        guard tagBits % 8 == 0, SecretKey.standardTagByteCounts.contains(Int(tagBits / 8)) else {
            throw P11Error(CK_RV(CKR_MECHANISM_PARAM_INVALID), "AES-GCM tags are 96 to 128 bits in whole bytes; ulTagBits is \(tagBits)")
        }
        guard aadLength <= 1 << 20 else { throw P11Error(CK_RV(CKR_MECHANISM_PARAM_INVALID), "AES-GCM AAD is at most 1 MiB") }
        var aad = Data()
        if aadLength > 0 {
            guard let aadPointer else { throw P11Error(CK_RV(CKR_MECHANISM_PARAM_INVALID), "pAAD is null with ulAADLen \(aadLength)") }
            aad = Data(bytes: aadPointer, count: Int(aadLength))
        }
        let tagBytes = Int(tagBits / 8)
        if encrypting {
            guard let ivPointer, ivLength == 12 else {
                throw P11Error(
                    CK_RV(CKR_MECHANISM_PARAM_INVALID),
                    "CKM_AES_GCM encryption: the token chooses the IV (a repeated IV breaks GCM); pass a 12-byte pIv buffer (ulIvLen 12) to receive it")
            }
            return (StandardCipherParameters(aad: aad, tagByteCount: tagBytes), CipherOperation.IVBuffer(pointer: ivPointer, count: 12))
        }
        guard let ivPointer, (1...128).contains(ivLength) else {
            throw P11Error(CK_RV(CKR_MECHANISM_PARAM_INVALID), "CKM_AES_GCM decryption takes the IV the ciphertext was made with (1 to 128 bytes)")
        }
        return (StandardCipherParameters(iv: Data(bytes: ivPointer, count: ivLength), aad: aad, tagByteCount: tagBytes), nil)
    }

    /// The final call of a symmetric operation. Returns false for a size query (the operation
    /// goes on); a short buffer throws CKR_BUFFER_TOO_SMALL and keeps it (with a decryption's
    /// result, returned by the next call without asking the HSM again).
    func finishStandardCipher(
        _ hSession: CK_SESSION_HANDLE, _ op: CipherOperation, encrypting: Bool, data: Data,
        _ pOut: UnsafeMutablePointer<CK_BYTE>?, _ pulOutLen: UnsafeMutablePointer<CK_ULONG>
    ) throws(P11Error) -> Bool {
        guard case .standard(let scheme, let parameters, let ivOut) = op.mechanism else { throw P11Error(CK_RV(CKR_GENERAL_ERROR)) }
        if let pending = op.pending { return try output(pending, to: pOut, length: pulOutLen) }
        let tag = scheme == .aesGCM ? parameters.tagByteCount : 0
        let bound: Int
        if encrypting {
            bound = scheme == .aesGCM ? data.count + tag : (data.count / 16 + 1) * 16
        } else if scheme == .aesGCM {
            guard data.count >= tag else {
                throw P11Error(CK_RV(CKR_ENCRYPTED_DATA_LEN_RANGE), "an AES-GCM ciphertext ends with its \(tag)-byte tag; got \(data.count) bytes")
            }
            bound = data.count - tag
        } else {
            guard data.count >= 16, data.count % 16 == 0 else {
                throw P11Error(CK_RV(CKR_ENCRYPTED_DATA_LEN_RANGE), "an AES-CBC-PAD ciphertext is a positive multiple of 16 bytes; got \(data.count)")
            }
            bound = data.count
        }
        // Encryption's length is exact, decryption's an upper bound (the padding is unknown).
        guard let pOut else {
            pulOutLen.pointee = CK_ULONG(bound)
            return false
        }
        if encrypting, pulOutLen.pointee < CK_ULONG(bound) {
            pulOutLen.pointee = CK_ULONG(bound)
            throw P11Error(CK_RV(CKR_BUFFER_TOO_SMALL))
        }
        // No version named: a PKCS #11 caller sees only the key's latest.
        let id = op.key.id, fixed = parameters
        let result: Data
        if encrypting {
            let out = try call(
                slot: op.key.slot, context: .key,
                immediately: { $0.encryptStandardImmediately($1, key: id, plaintext: data, scheme: scheme, parameters: fixed) }
            ) { hsm, token in
                try await hsm.encryptStandard(token, key: id, plaintext: data, scheme: scheme, parameters: fixed)
            }
            if let ivOut {
                guard out.iv.count == ivOut.count else { throw P11Error(CK_RV(CKR_GENERAL_ERROR), "the HSM's IV is \(out.iv.count) bytes") }
                out.iv.copyBytes(to: ivOut.pointer.assumingMemoryBound(to: UInt8.self), count: ivOut.count)
            }
            result = out.ciphertext
        } else {
            result = try call(
                slot: op.key.slot, context: .decryption,
                immediately: { $0.decryptStandardImmediately($1, key: id, ciphertext: data, scheme: scheme, parameters: fixed) }
            ) { hsm, token in
                try await hsm.decryptStandard(token, key: id, ciphertext: data, scheme: scheme, parameters: fixed)
            }
        }
        if !encrypting, pulOutLen.pointee < CK_ULONG(result.count) {
            try updateSession(hSession) { (s: inout SessionState) throws(P11Error) in s.decrypt?.pending = result }
        }
        return try output(result, to: pOut, length: pulOutLen)
    }

    /// C_EncryptUpdate / C_DecryptUpdate: collects a part and outputs nothing (the final call
    /// outputs all). A size query answers 0 and keeps the part; an error ends the operation.
    func updateCipher(
        _ hSession: CK_SESSION_HANDLE, encrypting: Bool, part: () throws(P11Error) -> Data, _ pOut: UnsafeMutablePointer<CK_BYTE>?,
        _ pulOutLen: UnsafeMutablePointer<CK_ULONG>?
    ) throws(P11Error) {
        try updateSession(hSession) { (s: inout SessionState) throws(P11Error) in
            guard var op = encrypting ? s.encrypt : s.decrypt else { throw .operationNotInitialized }
            if encrypting { s.encrypt = nil } else { s.decrypt = nil }
            guard case .standard = op.mechanism else {
                throw P11Error(CK_RV(CKR_FUNCTION_NOT_SUPPORTED), "RSA-OAEP is single-part: use C_Encrypt / C_Decrypt")
            }
            guard let pulOutLen else { throw .argumentsBad }
            let bytes = try part()
            if pOut != nil {
                guard op.data.count + bytes.count <= SignOperation.maximumDataCount else {
                    throw P11Error(CK_RV(CKR_DATA_LEN_RANGE), "a multi-part operation takes at most 64 MiB")
                }
                op.data.append(bytes)
                op.updated = true
            }
            pulOutLen.pointee = 0
            if encrypting { s.encrypt = op } else { s.decrypt = op }
        }
    }
}
