import CPKCS11
import Foundation
import RedoubtCore
import RedoubtCrypto

// The PKCS #11 3.0 message-based AEAD functions for CKM_AES_GCM, one whole message per call
// (C_EncryptMessage, C_DecryptMessage), in the HSM. Each message's CK_GCM_MESSAGE_PARAMS names its
// IV and tag: on encryption the HSM chooses the IV (`ivGenerator` CKG_GENERATE_RANDOM or
// CKG_GENERATE, `ulIvFixedBits` 0, a 12-byte `pIv` buffer) and the module writes it, and the tag,
// into the caller's buffers during the call; decryption reads them. The Begin/Next calls (a message
// in parts) answer CKR_FUNCTION_NOT_SUPPORTED.

@_cdecl("C_MessageEncryptInit")
public func C_MessageEncryptInit(_ hSession: CK_SESSION_HANDLE, _ pMechanism: UnsafeMutablePointer<CK_MECHANISM>?, _ hKey: CK_OBJECT_HANDLE) -> CK_RV {
    entry("C_MessageEncryptInit") { () throws(P11Error) in try Module.runtime().messageInit(hSession, pMechanism, hKey, encrypting: true) }
}

@_cdecl("C_MessageDecryptInit")
public func C_MessageDecryptInit(_ hSession: CK_SESSION_HANDLE, _ pMechanism: UnsafeMutablePointer<CK_MECHANISM>?, _ hKey: CK_OBJECT_HANDLE) -> CK_RV {
    entry("C_MessageDecryptInit") { () throws(P11Error) in try Module.runtime().messageInit(hSession, pMechanism, hKey, encrypting: false) }
}

@_cdecl("C_EncryptMessage")
public func C_EncryptMessage(
    _ hSession: CK_SESSION_HANDLE, _ pParameter: UnsafeMutableRawPointer?, _ ulParameterLen: CK_ULONG, _ pAssociatedData: UnsafeMutablePointer<CK_BYTE>?,
    _ ulAssociatedDataLen: CK_ULONG, _ pPlaintext: UnsafeMutablePointer<CK_BYTE>?, _ ulPlaintextLen: CK_ULONG, _ pCiphertext: UnsafeMutablePointer<CK_BYTE>?,
    _ pulCiphertextLen: UnsafeMutablePointer<CK_ULONG>?
) -> CK_RV {
    entry("C_EncryptMessage") { () throws(P11Error) in
        try Module.runtime().message(
            hSession, encrypting: true, pParameter, ulParameterLen, pAssociatedData, ulAssociatedDataLen, pPlaintext, ulPlaintextLen, pCiphertext,
            pulCiphertextLen)
    }
}

@_cdecl("C_DecryptMessage")
public func C_DecryptMessage(
    _ hSession: CK_SESSION_HANDLE, _ pParameter: UnsafeMutableRawPointer?, _ ulParameterLen: CK_ULONG, _ pAssociatedData: UnsafeMutablePointer<CK_BYTE>?,
    _ ulAssociatedDataLen: CK_ULONG, _ pCiphertext: UnsafeMutablePointer<CK_BYTE>?, _ ulCiphertextLen: CK_ULONG, _ pPlaintext: UnsafeMutablePointer<CK_BYTE>?,
    _ pulPlaintextLen: UnsafeMutablePointer<CK_ULONG>?
) -> CK_RV {
    entry("C_DecryptMessage") { () throws(P11Error) in
        try Module.runtime().message(
            hSession, encrypting: false, pParameter, ulParameterLen, pAssociatedData, ulAssociatedDataLen, pCiphertext, ulCiphertextLen, pPlaintext,
            pulPlaintextLen)
    }
}

@_cdecl("C_MessageEncryptFinal")
public func C_MessageEncryptFinal(_ hSession: CK_SESSION_HANDLE) -> CK_RV {
    entry("C_MessageEncryptFinal") { () throws(P11Error) in try Module.runtime().messageFinal(hSession, encrypting: true) }
}

@_cdecl("C_MessageDecryptFinal")
public func C_MessageDecryptFinal(_ hSession: CK_SESSION_HANDLE) -> CK_RV {
    entry("C_MessageDecryptFinal") { () throws(P11Error) in try Module.runtime().messageFinal(hSession, encrypting: false) }
}

private let onePart = "a message is encrypted or decrypted whole (C_EncryptMessage, C_DecryptMessage); parts are not offered"

@_cdecl("C_EncryptMessageBegin")
public func C_EncryptMessageBegin(
    _ hSession: CK_SESSION_HANDLE, _ pParameter: UnsafeMutableRawPointer?, _ ulParameterLen: CK_ULONG, _ pAssociatedData: UnsafeMutablePointer<CK_BYTE>?,
    _ ulAssociatedDataLen: CK_ULONG
) -> CK_RV {
    notSupported("C_EncryptMessageBegin", onePart)
}

@_cdecl("C_EncryptMessageNext")
public func C_EncryptMessageNext(
    _ hSession: CK_SESSION_HANDLE, _ pParameter: UnsafeMutableRawPointer?, _ ulParameterLen: CK_ULONG, _ pPart: UnsafeMutablePointer<CK_BYTE>?,
    _ ulPartLen: CK_ULONG, _ pOut: UnsafeMutablePointer<CK_BYTE>?, _ pulOutLen: UnsafeMutablePointer<CK_ULONG>?, _ flags: CK_FLAGS
) -> CK_RV {
    notSupported("C_EncryptMessageNext", onePart)
}

@_cdecl("C_DecryptMessageBegin")
public func C_DecryptMessageBegin(
    _ hSession: CK_SESSION_HANDLE, _ pParameter: UnsafeMutableRawPointer?, _ ulParameterLen: CK_ULONG, _ pAssociatedData: UnsafeMutablePointer<CK_BYTE>?,
    _ ulAssociatedDataLen: CK_ULONG
) -> CK_RV {
    notSupported("C_DecryptMessageBegin", onePart)
}

@_cdecl("C_DecryptMessageNext")
public func C_DecryptMessageNext(
    _ hSession: CK_SESSION_HANDLE, _ pParameter: UnsafeMutableRawPointer?, _ ulParameterLen: CK_ULONG, _ pPart: UnsafeMutablePointer<CK_BYTE>?,
    _ ulPartLen: CK_ULONG, _ pOut: UnsafeMutablePointer<CK_BYTE>?, _ pulOutLen: UnsafeMutablePointer<CK_ULONG>?, _ flags: CK_FLAGS
) -> CK_RV {
    notSupported("C_DecryptMessageNext", onePart)
}

extension Runtime {
    /// C_MessageEncryptInit / C_MessageDecryptInit: CKM_AES_GCM (no parameter) on an AES key.
    func messageInit(_ hSession: CK_SESSION_HANDLE, _ pMechanism: UnsafeMutablePointer<CK_MECHANISM>?, _ hKey: CK_OBJECT_HANDLE, encrypting: Bool)
        throws(P11Error)
    {
        let state = try session(hSession)
        guard let pMechanism else { throw .argumentsBad }
        guard (encrypting ? state.messageEncrypt : state.messageDecrypt) == nil else { throw .operationActive }
        guard pMechanism.pointee.mechanism == CK_MECHANISM_TYPE(CKM_AES_GCM) else {
            throw P11Error(CK_RV(CKR_MECHANISM_INVALID), "message-based encryption is offered with CKM_AES_GCM")
        }
        let (ref, snapshot) = try keyObject(hKey, slot: state.slot)
        guard case .key(let key) = snapshot else { throw P11Error(CK_RV(CKR_KEY_HANDLE_INVALID), "a certificate is not a key") }
        // The same key checks as C_EncryptInit; the parameter comes with each message.
        try Self.checkAESKey(ref: ref, key: key, encrypting: encrypting)
        try updateSession(hSession) { (s: inout SessionState) throws(P11Error) in
            guard (encrypting ? s.messageEncrypt : s.messageDecrypt) == nil else { throw .operationActive }
            if encrypting { s.messageEncrypt = ref } else { s.messageDecrypt = ref }
        }
    }

    func messageFinal(_ hSession: CK_SESSION_HANDLE, encrypting: Bool) throws(P11Error) {
        try updateSession(hSession) { (s: inout SessionState) throws(P11Error) in
            guard (encrypting ? s.messageEncrypt : s.messageDecrypt) != nil else { throw .operationNotInitialized }
            if encrypting { s.messageEncrypt = nil } else { s.messageDecrypt = nil }
        }
    }

    /// One message: encrypted (the HSM's IV and the tag written into the parameter's buffers) or
    /// decrypted (with the parameter's IV and tag). A failed message leaves the operation active.
    func message(
        _ hSession: CK_SESSION_HANDLE, encrypting: Bool, _ pParameter: UnsafeMutableRawPointer?, _ ulParameterLen: CK_ULONG,
        _ pAAD: UnsafeMutablePointer<CK_BYTE>?, _ ulAADLen: CK_ULONG, _ pIn: UnsafeMutablePointer<CK_BYTE>?, _ ulInLen: CK_ULONG,
        _ pOut: UnsafeMutablePointer<CK_BYTE>?, _ pulOutLen: UnsafeMutablePointer<CK_ULONG>?
    ) throws(P11Error) {
        let state = try session(hSession)
        guard let key = encrypting ? state.messageEncrypt : state.messageDecrypt else { throw .operationNotInitialized }
        guard let pulOutLen else { throw .argumentsBad }
        guard let pParameter, ulParameterLen == CK_ULONG(MemoryLayout<CK_GCM_MESSAGE_PARAMS>.size) else {
            throw P11Error(CK_RV(CKR_MECHANISM_PARAM_INVALID), "each AES-GCM message takes a CK_GCM_MESSAGE_PARAMS")
        }
        let p = pParameter.loadUnaligned(as: CK_GCM_MESSAGE_PARAMS.self)
        guard p.ulTagBits % 8 == 0, SecretKey.standardTagByteCounts.contains(Int(p.ulTagBits / 8)), let pTag = p.pTag else {
            throw P11Error(CK_RV(CKR_MECHANISM_PARAM_INVALID), "AES-GCM tags are 96 to 128 bits in whole bytes, with a pTag buffer")
        }
        let tagBytes = Int(p.ulTagBits / 8)
        let aad = try input(pAAD, ulAADLen, limit: 1 << 20)
        let data = try input(pIn, ulInLen)
        let id = key.id
        if encrypting {
            guard p.ivGenerator == CK_GENERATOR_FUNCTION(CKG_GENERATE_RANDOM) || p.ivGenerator == CK_GENERATOR_FUNCTION(CKG_GENERATE),
                p.ulIvFixedBits == 0, p.ulIvLen == 12, let pIv = p.pIv
            else {
                throw P11Error(
                    CK_RV(CKR_MECHANISM_PARAM_INVALID),
                    "the token chooses AES-GCM IVs: ivGenerator CKG_GENERATE_RANDOM, ulIvFixedBits 0, and a 12-byte pIv buffer to receive it")
            }
            guard let pOut else {
                pulOutLen.pointee = CK_ULONG(data.count)
                return
            }
            guard pulOutLen.pointee >= CK_ULONG(data.count) else {
                pulOutLen.pointee = CK_ULONG(data.count)
                throw P11Error(CK_RV(CKR_BUFFER_TOO_SMALL))
            }
            let parameters = StandardCipherParameters(aad: aad, tagByteCount: tagBytes)
            let out = try call(
                slot: key.slot, context: .key,
                immediately: { $0.encryptStandardImmediately($1, key: id, plaintext: data, scheme: .aesGCM, parameters: parameters) }
            ) { hsm, token in
                try await hsm.encryptStandard(token, key: id, plaintext: data, scheme: .aesGCM, parameters: parameters)
            }
            guard out.iv.count == 12, out.ciphertext.count == data.count + tagBytes else { throw P11Error(CK_RV(CKR_GENERAL_ERROR)) }
            out.iv.copyBytes(to: pIv, count: 12)
            out.ciphertext.suffix(tagBytes).copyBytes(to: pTag, count: tagBytes)
            try output(Data(out.ciphertext.prefix(data.count)), to: pOut, length: pulOutLen)
        } else {
            guard let pIv = p.pIv, (1...128).contains(Int(p.ulIvLen)) else {
                throw P11Error(CK_RV(CKR_MECHANISM_PARAM_INVALID), "AES-GCM decryption takes the message's IV (1 to 128 bytes)")
            }
            guard let pOut else {
                pulOutLen.pointee = CK_ULONG(data.count)
                return
            }
            guard pulOutLen.pointee >= CK_ULONG(data.count) else {
                pulOutLen.pointee = CK_ULONG(data.count)
                throw P11Error(CK_RV(CKR_BUFFER_TOO_SMALL))
            }
            let parameters = StandardCipherParameters(iv: Data(bytes: pIv, count: Int(p.ulIvLen)), aad: aad, tagByteCount: tagBytes)
            let sealed = data + Data(bytes: pTag, count: tagBytes)
            let plain = try call(
                slot: key.slot, context: .decryption,
                immediately: { $0.decryptStandardImmediately($1, key: id, ciphertext: sealed, scheme: .aesGCM, parameters: parameters) }
            ) { hsm, token in
                try await hsm.decryptStandard(token, key: id, ciphertext: sealed, scheme: .aesGCM, parameters: parameters)
            }
            try output(plain, to: pOut, length: pulOutLen)
        }
    }
}
