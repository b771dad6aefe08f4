import ArgumentParser
import Foundation
import Redoubt

/// What `redoubt approve --request` checks before signing: the request as `redoubt requests get
/// --json` prints it, its challenge, and the operation the challenge must bind.
struct ApprovalCheck: CustomStringConvertible {
    /// The fields of `requests get --json` that the check reads.
    private struct RequestFile: Decodable {
        var id: String
        var partition: String
        var keyId: String
        var operationDigest: String
        var operationData: ApprovalOperation
        var approveChallenge: Data
        var rejectChallenge: Data
    }

    let challenge: ApprovalChallenge
    let operation: ApprovalOperation

    /// Reads the request and checks that its challenge for `decision` binds exactly this request,
    /// partition, key and operation: the digest rebuilt from the operation shown must be the one signed.
    init(requestJSON: Data, decision: ApprovalChallenge.Decision) throws {
        let decoder = JSONDecoder()
        decoder.keyDecodingStrategy = .convertFromSnakeCase
        decoder.dateDecodingStrategy = .iso8601
        decoder.dataDecodingStrategy = .base64
        let file: RequestFile
        do {
            file = try decoder.decode(RequestFile.self, from: requestJSON)
        } catch {
            throw ValidationError("the request file is not what `redoubt requests get ID --json` prints: \(Self.describe(error))")
        }
        let parsed = try ApprovalChallenge.parse(decision == .approve ? file.approveChallenge : file.rejectChallenge)
        let rebuilt = file.operationData.digest
        let problems = [
            parsed.decision == decision ? nil : "the \(decision.rawValue) challenge is a \(parsed.decision.rawValue) challenge",
            parsed.requestID == file.id ? nil : "the challenge is for request \(parsed.requestID), not \(file.id)",
            parsed.partition == file.partition ? nil : "the challenge is for partition \(parsed.partition), not \(file.partition)",
            parsed.keyID == file.keyId ? nil : "the challenge is for key \(parsed.keyID), not \(file.keyId)",
            parsed.operation == file.operationData.kind
                ? nil : "the challenge is for a \(parsed.operation.rawValue), but the operation shown is a \(file.operationData.kind.rawValue)",
            parsed.operationDigest == rebuilt
                ? nil
                : "the challenge's digest \(hex(parsed.operationDigest)) is not the SHA-256 of the operation shown (\(hex(rebuilt))): "
                    + "it would approve some other operation",
            file.operationDigest == hex(rebuilt) ? nil : "operation_digest \(file.operationDigest) is not the SHA-256 of the operation shown",
        ].compactMap { $0 }
        guard problems.isEmpty else {
            throw ValidationError("refusing to sign: " + problems.joined(separator: "; "))
        }
        challenge = parsed
        operation = file.operationData
    }

    /// Requires `data` to be the operation's data: the message or digest to sign, the ciphertext
    /// to decrypt, or the data to MAC.
    func requireData(_ data: Data) throws {
        let shown: Data
        switch operation {
        case .sign(.message(let m), _): shown = m
        case .sign(.digest(let d), _): shown = d
        case .decrypt(let ciphertext, _, _): shown = ciphertext
        case .mac(let d, _): shown = d
        default: throw ValidationError("--data: a \(operation.kind.rawValue) operation has no data to compare")
        }
        guard shown == data else {
            throw ValidationError(
                "refusing to sign: the operation's data (\(shown.count) bytes, SHA-256 \(hex(Hashing.digest(shown, .sha256)))) "
                    + "is not your --data (\(data.count) bytes, SHA-256 \(hex(Hashing.digest(data, .sha256))))")
        }
    }

    /// The operation in words.
    var description: String {
        func bytes(_ d: Data) -> String { "\(d.count) bytes (SHA-256 \(hex(Hashing.digest(d, .sha256))))" }
        switch operation {
        case .sign(.message(let m), let scheme): return "sign a message of \(bytes(m)) with \(StoredScheme(scheme).name)"
        case .sign(.digest(let d), let scheme): return "sign the precomputed digest \(hex(d)) with \(StoredScheme(scheme).name)"
        case .decrypt(let c, let scheme, let aad): return "decrypt a ciphertext of \(bytes(c)) with \(scheme.rawValue), AAD \(bytes(aad))"
        case .mac(let d, let hash): return "compute an HMAC-\(hash.rawValue) of \(bytes(d))"
        case .block: return "block the key"
        case .unblock: return "unblock the key"
        case .update(let u): return "update the key's attributes: \(Self.describe(u))"
        case .setPolicy(let p): return "replace the key's approval policy with: \(p)"
        }
    }

    /// The fields an update sets, as the challenge spec names them (bytes in hex).
    private static func describe(_ u: KeyAttributeUpdate) -> String {
        var parts: [String] = []
        if let v = u.label { parts.append("label \"\(v)\"") }
        if let v = u.usage { parts.append("usages " + usageNames.filter { v.contains($0.1) }.map(\.0).joined(separator: ",")) }
        if let v = u.extractable { parts.append("extractable \(v)") }
        if let v = u.sensitive { parts.append("sensitive \(v)") }
        if let v = u.modifiable { parts.append("modifiable \(v)") }
        if let v = u.destroyable { parts.append("destroyable \(v)") }
        if let v = u.notBefore { parts.append("not before \(v)") }
        if let v = u.expiresAt { parts.append("expires \(v)") }
        if let v = u.minimumVersion { parts.append("minimum version \(v)") }
        if let v = u.applicationID { parts.append(v.isEmpty ? "no application id" : "application id \(hex(v))") }
        if let v = u.subject { parts.append(v.isEmpty ? "no subject" : "subject \(hex(v))") }
        return parts.isEmpty ? "nothing" : parts.joined(separator: ", ")
    }

    private static func describe(_ error: any Error) -> String {
        switch error {
        case DecodingError.keyNotFound(let key, _): return "no \(key.stringValue)"
        case DecodingError.typeMismatch(_, let context), DecodingError.valueNotFound(_, let context), DecodingError.dataCorrupted(let context):
            return context.codingPath.map(\.stringValue).joined(separator: ".") + ": " + context.debugDescription
        default: return "\(error)"
        }
    }
}
