import Foundation

/// An approver as stored (kind `approver`, id = name).
struct ApproverRecord: Codable, Sendable {
    var name: String
    /// SPKI DER of the public key.
    var publicKey: Data
    var createdAt: Date
    var createdBy: String

    func approver() throws -> Approver {
        guard let key = try? PublicKey(spkiDER: publicKey) else {
            throw HSMError(.internalError, "the stored key of approver '\(name)' is damaged")
        }
        return Approver(name: name, publicKey: key)
    }
}
