import Foundation
import GRPCCore
import Synchronization
import Testing

/// Every INVALID_ARGUMENT the broker answers to the bad-input cases starts with the request
/// field it is about, spelled as the proto spells it (`items[3].key_id`, `spec.secret_length_bytes`):
/// the path is resolved against the request message in `Protos/`, so a message that names a
/// Swift property, an old field name or nothing at all fails here.
@Suite("Bad input names a real field of its request")
struct BadInputFieldNameTests {
    /// Message name (qualified for nested ones: `SignatureScheme.Ecdsa`) → field name → type name.
    static func protoFields() throws -> [String: [String: String]] {
        let protos = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("Protos/redoubt/v1")
        var fields: [String: [String: String]] = [:]
        let field = try Regex(#"^(?:repeated\s+|optional\s+)?(map<\s*\w+\s*,\s*([\w.]+)\s*>|[\w.]+)\s+(\w+)\s*=\s*\d+"#)
        for file in try FileManager.default.contentsOfDirectory(atPath: protos.path) where file.hasSuffix(".proto") {
            var scopes: [(kind: String, name: String)] = []
            for raw in try String(contentsOf: protos.appendingPathComponent(file), encoding: .utf8).split(separator: "\n") {
                let line =
                    raw.split(separator: "//", maxSplits: 1, omittingEmptySubsequences: false).first.map(String.init)?
                    .trimmingCharacters(in: .whitespaces) ?? ""
                let words = line.split(separator: " ")
                if let kind = words.first, ["message", "oneof", "enum", "service"].contains(String(kind)), words.count >= 2 {
                    scopes.append((String(kind), String(words[1])))
                    if line.hasSuffix("}") { scopes.removeLast() }  // `message Empty {}`
                    continue
                }
                if line.hasPrefix("}") {
                    if !scopes.isEmpty { scopes.removeLast() }
                    continue
                }
                guard let innermost = scopes.last, innermost.kind == "message" || innermost.kind == "oneof",
                    let match = line.firstMatch(of: field)
                else { continue }
                let message = scopes.filter { $0.kind == "message" }.map(\.name).joined(separator: ".")
                let type = match.output[2].substring.map(String.init) ?? String(match.output[1].substring ?? "")
                fields[message, default: [:]][String(match.output[3].substring ?? "")] = type
            }
        }
        return fields
    }

    /// Whether `path` (`items[2].spec.algorithm`) names fields of `message`, one after the other.
    static func resolves(_ path: String, in message: String, _ fields: [String: [String: String]]) -> Bool {
        var current = message
        for part in path.split(separator: ".") {
            let name = String(part.prefix { $0 != "[" })
            guard let type = fields[current]?[name] else { return false }
            // The field's type: nested in the current message, or top level, or a leaf (scalar, enum, well-known).
            var scope = current.split(separator: ".").map(String.init)
            current = type
            while true {
                let candidate = (scope + [type]).joined(separator: ".")
                if fields[candidate] != nil {
                    current = candidate
                    break
                }
                if scope.isEmpty { break }
                scope.removeLast()
            }
        }
        return true
    }

    @Test("each INVALID_ARGUMENT of the per-RPC bad-input cases starts with a field path of its request")
    func namesRealFields() async throws {
        let fields = try Self.protoFields()
        let real =
            Self.resolves("spec.secret_length_bytes", in: "UnwrapRequest", fields)
            && Self.resolves("items[0].scheme.ecdsa.hash", in: "SignBatchRequest", fields)
        let unreal = Self.resolves("spec.secret_byte_count", in: "CreateKeyRequest", fields)
        #expect(real && !unreal, "the proto field resolver is wrong")
        let checked = Mutex(0)
        try await BrokerHarness.run(limits: BadInputTests.limits) { h in
            let t = try await h.tenant()
            let key = try await h.key(t, .ed25519)
            for c in BadInputTests.cases where c.code == .invalidArgument {
                // ApproveRequest and RejectRequest share one message.
                let request = ["ApproveRequest", "RejectRequest"].contains(c.rpc) ? "DecideRequestRequest" : "\(c.rpc)Request"
                #expect(fields[request] != nil, "no message \(request) in Protos/")
                do {
                    try await c.call(h, t, key)
                    Issue.record("\(c.rpc): the bad request succeeded")
                } catch let error as RPCError {
                    let path = String(error.message.prefix { $0 != " " && $0 != ":" && $0 != "," })
                    // A fault of the whole request ("request has no material; set one of …") names its fields after.
                    let named =
                        path == "request"
                        ? error.message.split(whereSeparator: { !$0.isLetter && $0 != "_" }).contains { fields[request]?[String($0)] != nil }
                        : Self.resolves(path, in: request, fields)
                    #expect(
                        named,
                        "\(c.rpc): '\(error.message)' does not start with a field of \(request)")
                    checked.withLock { $0 += 1 }
                }
            }
        }
        let ran = checked.withLock { $0 }
        #expect(ran >= 50, "only \(ran) INVALID_ARGUMENT cases ran")
    }
}
