import CPKCS11
import Foundation

// Functions the module does not offer yet or never will, each answering
// CKR_FUNCTION_NOT_SUPPORTED with the reason in the log (docs/pkcs11.md lists them).

private let noRecovery = "signatures with message recovery are not offered"
private let noDual = "dual-function operations are not offered"

@_cdecl("C_SignRecoverInit")
public func C_SignRecoverInit(_ hSession: CK_SESSION_HANDLE, _ pMechanism: UnsafeMutablePointer<CK_MECHANISM>?, _ hKey: CK_OBJECT_HANDLE) -> CK_RV {
    notSupported("C_SignRecoverInit", noRecovery)
}

@_cdecl("C_SignRecover")
public func C_SignRecover(
    _ hSession: CK_SESSION_HANDLE, _ pData: UnsafeMutablePointer<CK_BYTE>?, _ ulDataLen: CK_ULONG, _ pOut: UnsafeMutablePointer<CK_BYTE>?,
    _ pulOutLen: UnsafeMutablePointer<CK_ULONG>?
) -> CK_RV {
    notSupported("C_SignRecover", noRecovery)
}

@_cdecl("C_VerifyRecoverInit")
public func C_VerifyRecoverInit(_ hSession: CK_SESSION_HANDLE, _ pMechanism: UnsafeMutablePointer<CK_MECHANISM>?, _ hKey: CK_OBJECT_HANDLE) -> CK_RV {
    notSupported("C_VerifyRecoverInit", noRecovery)
}

@_cdecl("C_VerifyRecover")
public func C_VerifyRecover(
    _ hSession: CK_SESSION_HANDLE, _ pSignature: UnsafeMutablePointer<CK_BYTE>?, _ ulSignatureLen: CK_ULONG, _ pOut: UnsafeMutablePointer<CK_BYTE>?,
    _ pulOutLen: UnsafeMutablePointer<CK_ULONG>?
) -> CK_RV {
    notSupported("C_VerifyRecover", noRecovery)
}

@_cdecl("C_DigestEncryptUpdate")
public func C_DigestEncryptUpdate(
    _ hSession: CK_SESSION_HANDLE, _ pPart: UnsafeMutablePointer<CK_BYTE>?, _ ulPartLen: CK_ULONG, _ pOut: UnsafeMutablePointer<CK_BYTE>?,
    _ pulOutLen: UnsafeMutablePointer<CK_ULONG>?
) -> CK_RV {
    notSupported("C_DigestEncryptUpdate", noDual)
}

@_cdecl("C_DecryptDigestUpdate")
public func C_DecryptDigestUpdate(
    _ hSession: CK_SESSION_HANDLE, _ pPart: UnsafeMutablePointer<CK_BYTE>?, _ ulPartLen: CK_ULONG, _ pOut: UnsafeMutablePointer<CK_BYTE>?,
    _ pulOutLen: UnsafeMutablePointer<CK_ULONG>?
) -> CK_RV {
    notSupported("C_DecryptDigestUpdate", noDual)
}

@_cdecl("C_SignEncryptUpdate")
public func C_SignEncryptUpdate(
    _ hSession: CK_SESSION_HANDLE, _ pPart: UnsafeMutablePointer<CK_BYTE>?, _ ulPartLen: CK_ULONG, _ pOut: UnsafeMutablePointer<CK_BYTE>?,
    _ pulOutLen: UnsafeMutablePointer<CK_ULONG>?
) -> CK_RV {
    notSupported("C_SignEncryptUpdate", noDual)
}

@_cdecl("C_DecryptVerifyUpdate")
public func C_DecryptVerifyUpdate(
    _ hSession: CK_SESSION_HANDLE, _ pPart: UnsafeMutablePointer<CK_BYTE>?, _ ulPartLen: CK_ULONG, _ pOut: UnsafeMutablePointer<CK_BYTE>?,
    _ pulOutLen: UnsafeMutablePointer<CK_ULONG>?
) -> CK_RV {
    notSupported("C_DecryptVerifyUpdate", noDual)
}
