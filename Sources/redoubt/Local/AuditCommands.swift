import ArgumentParser
import Foundation
import Redoubt

/// `redoubt audit verify|list|checkpoint`.
struct AuditCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "audit", abstract: "Read and verify the partition's audit log; export signed checkpoints.",
        discussion: """
            Auditors, the security officer and (for the cluster log, without --partition) the operator \
            read the log. Every record carries a MAC and the chain's head is signed (see \
            docs/audit-checkpoints.md): keep exported checkpoints outside the HSM and hand them \
            back to `audit verify --checkpoint` to catch a store cut short or rolled back.

            \(examples(
            "redoubt audit verify --partition payments --api-key $AUDITOR_KEY",
            "redoubt audit checkpoint --out /safe/place/payments-$(date +%F).json",
            "redoubt audit verify --checkpoint /safe/place/payments-2026-12-01.json",
            "redoubt audit list --from 100 --limit 50",
            "redoubt audit list --json --endpoint 127.0.0.1:8443 \\\n| jq '.records[] | select(.result != \"ok\")'"))
            """,
        subcommands: [Verify.self, List.self, Checkpoint.self])

    struct Verify: HSMCommand {
        static let configuration = CommandConfiguration(
            abstract: "Verify the whole chain, its record MACs and signed checkpoints; exit 1 if it is broken.",
            discussion: examples(
                "redoubt audit verify", "redoubt audit verify --json",
                "redoubt audit verify --checkpoint kept.json --pin-key kept-first.json"))
        @OptionGroup var options: HSMOptions
        @OptionGroup var output: OutputOptions
        @Option(help: ArgumentHelp("A checkpoint file from `audit checkpoint` kept outside the HSM.", valueName: "file"))
        var checkpoint: String?
        @Option(
            help: ArgumentHelp(
                "Refuse the checkpoint unless signed by the key of this earlier checkpoint file (pin the first one you kept).",
                valueName: "file"))
        var pinKey: String?

        func run(hsm: any HSM, session: SessionToken) async throws {
            let kept = try checkpoint.map { try CheckpointFile.read($0) }
            if let kept, let pinKey {
                let pinned = try CheckpointFile.read(pinKey)
                guard kept.isSignatureValid(pinned: pinned.publicKey) else {
                    throw ValidationError("\(checkpoint ?? "") is not signed by the audit key of \(pinKey)")
                }
            }
            let result = try await hsm.verifyAudit(session, against: kept)
            if output.json {
                struct Verification: Encodable {
                    var records: Int64
                    var intact: Bool
                    var anchored_through: Int64
                    var failure: String?
                }
                try printJSON(
                    Verification(
                        records: result.records, intact: result.isValid, anchored_through: result.anchoredThrough,
                        failure: result.failure))
                if !result.isValid { throw ExitCode(1) }
                return
            }
            if let failure = result.failure {
                print("audit chain BROKEN after \(result.records) records: \(failure)")
                throw ExitCode(1)
            }
            print("audit chain intact: \(result.records) records, signed through \(result.anchoredThrough)")
        }
    }

    struct List: HSMCommand {
        static let configuration = CommandConfiguration(
            abstract: "Print audit records: sequence, time, actor, role, operation, object, result, count.",
            discussion: examples("redoubt audit list", "redoubt audit list --from 1 --limit 1000 --json"))
        @OptionGroup var options: HSMOptions
        @OptionGroup var output: OutputOptions
        @Option(help: ArgumentHelp("First sequence number.", valueName: "n")) var from: Int64 = 1
        @Option(help: ArgumentHelp("At most this many records.", valueName: "n")) var limit: Int = 100

        func run(hsm: any HSM, session: SessionToken) async throws {
            let records = try await hsm.auditRecords(session, from: from, limit: limit)
            let f = ISO8601DateFormatter()
            // An aggregated record's time is its first and last use's: `first..last`.
            let headers = ["SEQ", "TIME", "ACTOR", "ROLE", "OPERATION", "OBJECT", "RESULT", "COUNT"]
            try output.list(records, as: "records", headers: headers, json: { $0 }) { r in
                let time = r.firstTime.map { "\(f.string(from: $0))..\(f.string(from: r.time))" } ?? f.string(from: r.time)
                return ["\(r.sequence)", time, r.actor, "\(r.role)", "\(r.operation)", r.object, "\(r.result)", "\(r.count)"]
            }
        }
    }

    struct Checkpoint: HSMCommand {
        static let configuration = CommandConfiguration(
            abstract: "Sign the chain's head and write the checkpoint (JSON) to keep outside the HSM.",
            discussion: examples(
                "redoubt audit checkpoint --out payments-2026-12-01.json", "redoubt audit checkpoint   # prints it"))
        @OptionGroup var options: HSMOptions
        @Option(help: ArgumentHelp("Write the checkpoint here (refuses to overwrite) instead of printing it.", valueName: "file"))
        var out: String?

        func run(hsm: any HSM, session: SessionToken) async throws {
            let checkpoint = try await hsm.auditCheckpoint(session)
            let data = try CheckpointFile.encode(checkpoint)
            guard let out else {
                print(String(decoding: data, as: UTF8.self))
                return
            }
            do { try data.write(to: URL(fileURLWithPath: out), options: .withoutOverwriting) } catch {
                throw ValidationError("cannot write \(out) (it must not exist yet): \(error.localizedDescription)")
            }
            print("checkpoint of \(checkpoint.sequence) records written to \(out) (audit key \(hex(checkpoint.publicKey)))")
        }
    }
}

/// The JSON file of an audit checkpoint: every field as docs/audit-checkpoints.md names it,
/// bytes in lowercase hex, the time as RFC 3339 and in milliseconds (the signed value).
enum CheckpointFile {
    private struct File: Codable {
        var partition: String
        var sequence: Int64
        var hash: String
        var time: String
        var time_ms: Int64
        var signed_from: Int64
        var public_key: String
        var signature: String
    }

    static func encode(_ c: AuditCheckpoint) throws -> Data {
        let file = File(
            partition: c.partition, sequence: c.sequence, hash: hex(c.hash), time: c.time.formatted(.iso8601),
            time_ms: c.timeMilliseconds, signed_from: c.signedFrom, public_key: hex(c.publicKey), signature: hex(c.signature))
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        return try encoder.encode(file) + Data("\n".utf8)
    }

    static func read(_ path: String) throws -> AuditCheckpoint {
        let data: Data
        do { data = try Data(contentsOf: URL(fileURLWithPath: path)) } catch {
            throw ValidationError("cannot read \(path): \(error.localizedDescription)")
        }
        guard data.count <= 64 * 1024, let file = try? JSONDecoder().decode(File.self, from: data) else {
            throw ValidationError("\(path) is not a checkpoint file written by `redoubt audit checkpoint`")
        }
        func bytes(_ text: String, _ field: String, _ count: Int) throws -> Data {
            guard let data = Hex.decode(text), data.count == count else {
                throw ValidationError("\(path): \(field) must be \(count) bytes in hex")
            }
            return data
        }
        return AuditCheckpoint(
            partition: file.partition, sequence: file.sequence, hash: try bytes(file.hash, "hash", 32),
            time: Date(timeIntervalSince1970: Double(file.time_ms) / 1000), signedFrom: file.signed_from,
            publicKey: try bytes(file.public_key, "public_key", 32), signature: try bytes(file.signature, "signature", 64))
    }
}
