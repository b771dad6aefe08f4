import ArgumentParser
import Foundation
import Redoubt

/// `--json`: one JSON document on standard output instead of the table or lines for people.
struct OutputOptions: ParsableArguments {
    @Flag(help: "Print one JSON document (for scripts) instead of lines for people.")
    var json = false
}

extension OutputOptions {
    /// One result: `json` as a JSON document with `--json`, else `text` for people.
    func show(_ json: some Encodable, _ text: @autoclosure () -> String) throws {
        if self.json { try printJSON(json) } else { print(text()) }
    }

    /// A list: `{"<name>": [json(item)…]}` with `--json`; else, on a terminal, a table for people
    /// (a `headers` row, columns padded to line up); piped, one line per item with its columns
    /// separated by tabs and no header (for `cut -f`, `awk` and scripts that read it today).
    func list<Item, JSON: Encodable>(
        _ items: [Item], as name: String, headers: [String], json: (Item) -> JSON, columns: (Item) -> [String]
    ) throws {
        if self.json {
            try printJSON([name: items.map(json)])
        } else if isatty(STDOUT_FILENO) == 1 {
            print(table(headers: headers, rows: items.map(columns)), terminator: "")
        } else {
            for item in items { print(columns(item).joined(separator: "\t")) }
        }
    }
}

/// `rows` under `headers`, each column padded to its widest cell plus two spaces (the last one
/// unpadded), one line per row; "(none)" under the headers when there are no rows.
func table(headers: [String], rows: [[String]]) -> String {
    let all = [headers] + rows
    let count = all.map(\.count).max() ?? 0
    var widths = [Int](repeating: 0, count: count)
    for row in all {
        for (index, cell) in row.enumerated() { widths[index] = max(widths[index], cell.count) }
    }
    var out = ""
    for row in all {
        let cells = row.enumerated().map { index, cell in
            index == row.count - 1 ? cell : cell.padding(toLength: widths[index] + 2, withPad: " ", startingAt: 0)
        }
        out += cells.joined() + "\n"
    }
    if rows.isEmpty { out += "(none)\n" }
    return out
}

/// Prints `value` as one JSON document: snake_case keys, sorted, ISO 8601 times, base64 bytes.
func printJSON(_ value: some Encodable) throws {
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
    encoder.keyEncodingStrategy = .convertToSnakeCase
    encoder.dateEncodingStrategy = .iso8601
    encoder.dataEncodingStrategy = .base64
    print(String(decoding: try encoder.encode(value), as: UTF8.self))
}

/// A failure to report as `Error: <message>`, without a usage line (the arguments were fine).
struct CommandError: Error, CustomStringConvertible {
    var description: String
    init(_ message: String) { description = message }
}

/// Usage names as `--usage` takes them, in a fixed order.
let usageNames: [(String, KeyUsage)] = [
    ("sign", .sign), ("verify", .verify), ("encrypt", .encrypt), ("decrypt", .decrypt), ("wrap", .wrap), ("unwrap", .unwrap),
    ("derive", .derive), ("mac", .mac), ("encapsulate", .encapsulate), ("decapsulate", .decapsulate),
]

/// A key's metadata (never material).
struct KeyJSON: Encodable {
    var id: String
    var label: String
    var algorithm: String
    var state: String
    var usage: [String]
    var latestVersion: Int
    var minimumVersion: Int
    var extractable: Bool
    var sensitive: Bool
    var neverExtractable: Bool
    var alwaysSensitive: Bool
    var modifiable: Bool
    var destroyable: Bool
    var local: Bool
    var persistent: Bool
    var createdAt: Date
    var notBefore: Date?
    var expiresAt: Date?
    /// The public key of the latest version (PEM), for asymmetric keys.
    var publicKey: String?
    var policy: KeyPolicy?
    /// The application identifier (PKCS#11 CKA_ID) in hex, if it has one.
    var applicationId: String?
    /// The DER subject name in hex, if it has one.
    var subject: String?

    init(_ k: KeyInfo) {
        id = k.id
        label = k.label
        algorithm = k.algorithm.rawValue
        state = k.state.rawValue
        usage = usageNames.filter { k.usage.contains($0.1) }.map(\.0)
        latestVersion = k.latestVersion
        minimumVersion = k.minimumVersion
        extractable = k.extractable
        sensitive = k.sensitive
        neverExtractable = k.neverExtractable
        alwaysSensitive = k.alwaysSensitive
        modifiable = k.modifiable
        destroyable = k.destroyable
        local = k.local
        persistent = k.persistent
        createdAt = k.createdAt
        notBefore = k.notBefore
        expiresAt = k.expiresAt
        publicKey = k.publicKey?.pem
        policy = k.policy
        applicationId = k.applicationID.isEmpty ? nil : hex(k.applicationID)
        subject = k.subject.isEmpty ? nil : hex(k.subject)
    }
}

/// A user (never its credentials).
struct UserJSON: Encodable {
    var id: String
    var name: String
    var role: String
    var partition: String
    var hasPassword: Bool
    var hasClientCertificate: Bool

    init(_ u: UserInfo) {
        id = u.id
        name = u.name
        role = u.role.rawValue
        partition = u.partition
        hasPassword = u.hasPassword
        hasClientCertificate = u.hasClientCertificate
    }
}

/// A partition and its settings.
struct PartitionJSON: Encodable {
    var id: String
    var createdAt: Date
    var settings: PartitionSettings

    init(_ p: PartitionInfo) {
        id = p.id
        createdAt = p.createdAt
        settings = p.settings
    }
}

/// An approver of the partition.
struct ApproverJSON: Encodable {
    var name: String
    var algorithm: String
    var publicKey: String

    init(_ a: Approver) {
        name = a.name
        algorithm = a.publicKey.algorithm.rawValue
        publicKey = a.publicKey.pem
    }
}

/// A request, with its challenges; the result only by size (`redoubt requests result` writes it).
struct RequestJSON: Encodable {
    struct Result: Encodable {
        var bytes: Int
        var version: Int?
    }

    var id: String
    var partition: String
    var keyId: String
    var operation: String
    var operationDigest: String
    /// The operation with all its data, for `redoubt approve --request` to rebuild the digest from.
    var operationData: ApprovalOperation
    var requester: String
    var createdAt: Date
    var status: String
    var rule: ApprovalRule
    var decisions: [ApprovalDecision]
    var executableAt: Date?
    var finishedAt: Date?
    var result: Result?
    var failure: String?
    /// The bytes an approver signs to approve (base64).
    var approveChallenge: Data
    /// The bytes an approver signs to reject (base64).
    var rejectChallenge: Data

    init(_ r: ApprovalRequest) {
        id = r.id
        partition = r.partition
        keyId = r.keyID
        operation = r.operation.kind.rawValue
        operationDigest = hex(r.operationDigest)
        operationData = r.operation
        requester = r.requester
        createdAt = r.createdAt
        status = r.status.rawValue
        rule = r.rule
        decisions = r.decisions
        executableAt = r.executableAt
        finishedAt = r.finishedAt
        result = r.result.map { Result(bytes: $0.data.count, version: $0.version) }
        failure = r.failure
        approveChallenge = r.approveChallenge
        rejectChallenge = r.rejectChallenge
    }
}

func hex(_ data: Data) -> String { Hex.encode(data) }

/// ISO 8601, as the audit listing prints times.
func timestamp(_ date: Date) -> String { ISO8601DateFormatter().string(from: date) }
