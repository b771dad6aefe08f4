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
    /// The session objects (`CKA_TOKEN` false) this session made: Redoubt keys with
    /// `persistent = false`, destroyed when the session closes.
    var objects: Set<String> = []
}

/// An RSA-OAEP encryption (here, with the public key) or decryption (in the HSM).
struct CipherOperation: Sendable {
    var key: ObjectRef
    var info: KeyInfo
}

/// A sign or verify operation between its Init and its end.
struct SignOperation: Sendable {
    var key: ObjectRef
    var plan: SignPlan
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
