import Foundation

/// An operation on a key that runs as a request once its approvals are in.
public enum ApprovalOperation: Sendable, Hashable {
    /// Signs (a use of the key).
    case sign(input: SigningInput, scheme: SignatureScheme)
    /// Decrypts a ciphertext of ``HSM/encrypt(_:key:plaintext:scheme:aad:)`` (a use).
    case decrypt(ciphertext: Data, scheme: EncryptionScheme, aad: Data)
    /// Computes a MAC tag (a use).
    case mac(data: Data, hash: HashAlgorithm)
    /// Blocks the key.
    case block
    /// Unblocks the key.
    case unblock
    /// Changes attributes, only towards stricter (a modification).
    case update(KeyAttributeUpdate)
    /// Replaces the key's policy (a modification).
    case setPolicy(KeyPolicy)

    /// The operation's name, as in challenges and on the wire.
    public enum Kind: String, Sendable, Hashable, Codable, CaseIterable {
        /// ``ApprovalOperation/sign(input:scheme:)``.
        case sign
        /// ``ApprovalOperation/decrypt(ciphertext:scheme:aad:)``.
        case decrypt
        /// ``ApprovalOperation/mac(data:hash:)``.
        case mac
        /// ``ApprovalOperation/block``.
        case block
        /// ``ApprovalOperation/unblock``.
        case unblock
        /// ``ApprovalOperation/update(_:)``.
        case update
        /// ``ApprovalOperation/setPolicy(_:)``.
        case setPolicy = "set_policy"
    }

    /// The operation's name.
    public var kind: Kind {
        switch self {
        case .sign: return .sign
        case .decrypt: return .decrypt
        case .mac: return .mac
        case .block: return .block
        case .unblock: return .unblock
        case .update: return .update
        case .setPolicy: return .setPolicy
        }
    }

    /// Who may submit it: a crypto user for uses, the security officer for the rest.
    package var submitter: Role {
        switch kind {
        case .sign, .decrypt, .mac: return .cryptoUser
        case .block, .unblock, .update, .setPolicy: return .securityOfficer
        }
    }

    /// Deterministic bytes that stand for the operation and all its data: length-prefixed fields
    /// (4-byte big-endian lengths), the operation name first. The layout of every operation is
    /// specified, with a worked example, in the "Approval challenges" article (RedoubtCore's
    /// DocC, `docs/approval-challenge.md`), so an approver can recompute it from what
    /// `GetRequest` shows without trusting the broker.
    public var canonicalData: Data {
        var out = Data()
        func putData(_ field: Data) {
            let n = UInt32(clamping: field.count)
            out.append(contentsOf: [UInt8(n >> 24), UInt8((n >> 16) & 0xff), UInt8((n >> 8) & 0xff), UInt8(n & 0xff)])
            out.append(field)
        }
        func putText(_ text: String) { putData(Data(text.utf8)) }
        func putDate(_ date: Date?) { putText(date.map { String(Int64(($0.timeIntervalSince1970 * 1000).rounded())) } ?? "-") }
        func putOptional(_ value: (any CustomStringConvertible)?) { putText(value.map { $0.description } ?? "-") }
        putText(kind.rawValue)
        switch self {
        case .sign(let input, let scheme):
            switch input {
            case .message(let m):
                putText("message")
                putData(m)
            case .digest(let d):
                putText("digest")
                putData(d)
            }
            let stored = StoredScheme(scheme)
            putText(stored.name)
            putData(stored.context ?? Data())
        case .decrypt(let ciphertext, let scheme, let aad):
            putData(ciphertext)
            putText(scheme.rawValue)
            putData(aad)
        case .mac(let data, let hash):
            putData(data)
            putText(hash.rawValue)
        case .block, .unblock:
            break
        case .update(let u):
            putOptional(u.label)
            putOptional(u.usage.map { $0.rawValue })
            putOptional(u.extractable)
            putOptional(u.sensitive)
            putOptional(u.modifiable)
            putOptional(u.destroyable)
            putDate(u.notBefore)
            putDate(u.expiresAt)
            putOptional(u.minimumVersion)
            if u.applicationID != nil || u.subject != nil {
                // Only when the update changes them, so the data of every other update stays as it was.
                for field in [u.applicationID, u.subject] {
                    if let field { putText(Hex.encode(field)) } else { putText("-") }
                }
            }
        case .setPolicy(let policy):
            for rule in [policy.use, policy.block, policy.unblock, policy.modify] {
                putText(String(rule.tokens.count))
                for token in rule.tokens {
                    putText(String(Int64((token.timelock * 1000).rounded())))
                    putText(String(Int64((token.timeout * 1000).rounded())))
                    putText(String(token.groups.count))
                    for group in token.groups {
                        putText(String(group.quorum))
                        putText(String(group.approvers.count))
                        for name in group.approvers { putText(name) }
                    }
                }
            }
        }
        return out
    }

    /// SHA-256 of ``canonicalData``: what a challenge binds.
    public var digest: Data { Hashing.digest(canonicalData, .sha256) }
}

/// A signature scheme in stored form.
package struct StoredScheme: Codable, Sendable, Hashable {
    package var family: String
    package var hash: HashAlgorithm?
    package var encoding: ECDSASignatureEncoding?
    package var lowS: LowSPolicy?
    package var context: Data?

    package init(_ scheme: SignatureScheme) {
        switch scheme {
        case .ecdsa(let h, let e, let l): self.init(family: "ECDSA", hash: h, encoding: e, lowS: l, context: nil)
        case .ed25519: self.init(family: "ED25519", hash: nil, encoding: nil, lowS: nil, context: nil)
        case .rsaPSS(let h): self.init(family: "RSA-PSS", hash: h, encoding: nil, lowS: nil, context: nil)
        case .rsaPKCS1v15(let h): self.init(family: "RSA-PKCS1", hash: h, encoding: nil, lowS: nil, context: nil)
        case .rsaPKCS1v15Raw: self.init(family: "RSA-PKCS1-RAW", hash: nil, encoding: nil, lowS: nil, context: nil)
        case .mldsa(let c): self.init(family: "ML-DSA", hash: nil, encoding: nil, lowS: nil, context: c)
        }
    }

    package init(family: String, hash: HashAlgorithm?, encoding: ECDSASignatureEncoding?, lowS: LowSPolicy?, context: Data?) {
        self.family = family
        self.hash = hash
        self.encoding = encoding
        self.lowS = lowS
        self.context = context
    }

    /// `ECDSA-SHA-256-DER-STANDARD`, `ED25519`, `RSA-PSS-SHA-256`, `ML-DSA`…
    package var name: String {
        [family, hash?.rawValue, encoding?.rawValue, lowS?.rawValue].compactMap { $0 }.joined(separator: "-")
    }

    package func scheme() throws -> SignatureScheme {
        switch (family, hash) {
        case ("ECDSA", let h?): return .ecdsa(h, encoding: encoding ?? .der, lowS: lowS ?? .standard)
        case ("ED25519", _): return .ed25519
        case ("RSA-PSS", let h?): return .rsaPSS(h)
        case ("RSA-PKCS1", let h?): return .rsaPKCS1v15(h)
        case ("RSA-PKCS1-RAW", nil): return .rsaPKCS1v15Raw
        case ("ML-DSA", _): return .mldsa(context: context ?? Data())
        default: throw HSMError(.internalError, "a stored signature scheme is damaged")
        }
    }
}

/// A ``KeyAttributeUpdate`` in stored form.
package struct StoredUpdate: Codable, Sendable {
    package var label: String?
    package var usage: KeyUsage?
    package var extractable, sensitive, modifiable, destroyable: Bool?
    package var notBefore, expiresAt: Date?
    package var minimumVersion: Int?
    package var applicationID, subject: Data?

    package init(_ u: KeyAttributeUpdate) {
        label = u.label
        usage = u.usage
        extractable = u.extractable
        sensitive = u.sensitive
        modifiable = u.modifiable
        destroyable = u.destroyable
        notBefore = u.notBefore
        expiresAt = u.expiresAt
        minimumVersion = u.minimumVersion
        applicationID = u.applicationID
        subject = u.subject
    }

    package var update: KeyAttributeUpdate {
        KeyAttributeUpdate(
            label: label, usage: usage, extractable: extractable, sensitive: sensitive, modifiable: modifiable,
            destroyable: destroyable, notBefore: notBefore, expiresAt: expiresAt, minimumVersion: minimumVersion,
            applicationID: applicationID, subject: subject)
    }
}

extension ApprovalOperation: Codable {
    private struct Stored: Codable {
        var kind: Kind
        var message: Data?
        var digest: Data?
        var scheme: StoredScheme?
        var ciphertext: Data?
        var encryption: EncryptionScheme?
        var aad: Data?
        var data: Data?
        var hash: HashAlgorithm?
        var update: StoredUpdate?
        var policy: KeyPolicy?

        init(kind: Kind) { self.kind = kind }
    }

    /// Decodes a stored operation.
    public init(from decoder: any Decoder) throws {
        let s = try Stored(from: decoder)
        func need<T>(_ value: T?) throws -> T {
            guard let value else { throw HSMError(.internalError, "a stored request operation is damaged") }
            return value
        }
        switch s.kind {
        case .sign:
            let input: SigningInput = try s.message.map { .message($0) } ?? .digest(need(s.digest))
            self = .sign(input: input, scheme: try need(s.scheme).scheme())
        case .decrypt: self = .decrypt(ciphertext: try need(s.ciphertext), scheme: try need(s.encryption), aad: s.aad ?? Data())
        case .mac: self = .mac(data: try need(s.data), hash: try need(s.hash))
        case .block: self = .block
        case .unblock: self = .unblock
        case .update: self = .update(try need(s.update).update)
        case .setPolicy: self = .setPolicy(try need(s.policy))
        }
    }

    /// Encodes for the store.
    public func encode(to encoder: any Encoder) throws {
        var s = Stored(kind: kind)
        switch self {
        case .sign(let input, let scheme):
            switch input {
            case .message(let m): s.message = m
            case .digest(let d): s.digest = d
            }
            s.scheme = StoredScheme(scheme)
        case .decrypt(let c, let scheme, let aad):
            s.ciphertext = c
            s.encryption = scheme
            s.aad = aad
        case .mac(let data, let hash):
            s.data = data
            s.hash = hash
        case .block, .unblock: break
        case .update(let u): s.update = StoredUpdate(u)
        case .setPolicy(let p): s.policy = p
        }
        try s.encode(to: encoder)
    }
}
