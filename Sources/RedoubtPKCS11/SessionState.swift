import CPKCS11
import Foundation
import RedoubtCore
import RedoubtCrypto

/// One PKCS #11 session: its slot, whether it may write, and the operations active in it.
struct SessionState: Sendable {
    var slot: Int
    var readWrite: Bool
    /// The handles C_FindObjects has still to return, while a search is active.
    var found: [CK_OBJECT_HANDLE]?
    var sign: SignOperation?
    var verify: SignOperation?
    var digest: DigestOperation?
    var encrypt: CipherOperation?
    var decrypt: CipherOperation?
    /// The AES-GCM key of message-based encryption / decryption (C_MessageEncryptInit …).
    var messageEncrypt: ObjectRef?
    var messageDecrypt: ObjectRef?
    /// A wrapped key a size query or a short buffer could not take: the next C_WrapKey of the
    /// same key, wrapping key and mechanism returns it without exporting the key again.
    var wrapped: (key: CK_OBJECT_HANDLE, wrappingKey: CK_OBJECT_HANDLE, mechanism: CK_MECHANISM_TYPE, bytes: Data)?
    /// The session objects (`CKA_TOKEN` false) this session made: Redoubt keys with
    /// `persistent = false`, destroyed when the session closes.
    var objects: Set<String> = []
}

/// An encryption or decryption between its Init and its end: RSA-OAEP (encrypted here with the
/// public key, decrypted in the HSM; single-part), or a symmetric mechanism in the HSM's
/// standard form (the data collected through the Update calls, processed by the final call).
struct CipherOperation: Sendable {
    /// A caller's buffer for the IV the HSM chooses (CKM_AES_GCM encryption): `pIv` of the
    /// CK_GCM_PARAMS given to C_EncryptInit, which must stay valid until the operation ends.
    struct IVBuffer: @unchecked Sendable {
        var pointer: UnsafeMutableRawPointer
        var count: Int
    }

    /// What RSA-OAEP needs of its key (the operation keeps no copy of the whole key's state).
    struct OAEPKey: Sendable {
        var modulusBytes: Int
        var publicKey: PublicKey?
        var latestVersion: Int
    }

    enum Mechanism: Sendable {
        /// RSA-OAEP with SHA-256 and this label (empty: none).
        case rsaOAEP(label: Data, OAEPKey)
        case standard(EncryptionScheme, StandardCipherParameters, ivOut: IVBuffer?)
    }

    var key: ObjectRef
    var mechanism: Mechanism
    /// The data given so far through the Update calls.
    var data = Data()
    /// Whether an Update call was made (then only Final may end the operation).
    var updated = false
    /// A decryption's result that a short buffer could not take: the next call returns it.
    var pending: Data?
}

/// A sign or verify operation between its Init and its end.
struct SignOperation: Sendable {
    var key: ObjectRef
    /// A signature's plan; nil for an HMAC.
    var plan: SignPlan?
    /// An HMAC's plan; nil for a signature.
    var hmac: HMACPlan?
    /// The public key, for verifying here.
    var publicKey: PublicKey?
    /// The data given so far through the Update calls.
    var data = Data()
    /// Whether an Update call was made (then only Final may end the operation).
    var updated = false

    /// The largest message the module collects for one operation.
    static let maximumDataCount = 64 * 1024 * 1024

    mutating func append(_ more: Data) throws(P11Error) {
        guard data.count + more.count <= Self.maximumDataCount else {
            throw P11Error(CK_RV(CKR_DATA_LEN_RANGE), "a multi-part operation takes at most 64 MiB")
        }
        data.append(more)
        updated = true
    }
}

/// A digest operation: SHA-2 computed by the module.
struct DigestOperation: Sendable {
    var hash: HashAlgorithm
    var data = Data()
    var updated = false
}
