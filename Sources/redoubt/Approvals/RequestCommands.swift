import ArgumentParser
import Foundation
import Redoubt

/// `redoubt approvers …`: the partition's approvers (security officer).
struct ApproversCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "approvers", abstract: "Register, list and remove the partition's approvers (security officer).",
        discussion: """
            An approver is a name and a public key (Ed25519, P-256 or ML-DSA-65) that signs the challenges \
            of requests offline; key policies (`redoubt keys create --policy`) name approvers.

            \(examples(
            "redoubt approver-key generate --out ann.pem > ann.pub.pem",
            "redoubt approvers add ann --public-key ann.pub.pem \\\n--partition payments --api-key $OFFICER_KEY",
            "redoubt approvers list --json --endpoint 127.0.0.1:8443"))
            """,
        subcommands: [Add.self, List.self, Remove.self])

    struct Add: HSMCommand {
        static let configuration = CommandConfiguration(
            abstract: "Register an approver: a name and its public key (PEM).",
            discussion: examples("redoubt approvers add ann --public-key ann.pub.pem"),
            aliases: ["register"])
        @OptionGroup var options: HSMOptions
        @OptionGroup var output: OutputOptions
        @Argument(help: "Approver name (1-64 of A-Z a-z 0-9 . _ -).") var name: String
        @Option(help: ArgumentHelp("The approver's public key (PEM, from `redoubt approver-key generate`).", valueName: "file"))
        var publicKey: String

        func run(hsm: any HSM, session: SessionToken) async throws {
            guard let text = try? String(contentsOfFile: publicKey, encoding: .utf8) else { throw ValidationError("cannot read \(publicKey)") }
            let key: PublicKey
            do { key = try PublicKey(pem: text) } catch { throw ValidationError("\(publicKey) is not a PEM public key") }
            let approver = try await hsm.registerApprover(session, name: name, publicKey: key)
            try output.show(ApproverJSON(approver), "approver \(approver.name) registered (\(approver.publicKey.algorithm.rawValue))")
        }
    }

    struct List: HSMCommand {
        static let configuration = CommandConfiguration(
            abstract: "List the partition's approvers: name, key algorithm.",
            discussion: examples("redoubt approvers list", "redoubt approvers list --json"))
        @OptionGroup var options: HSMOptions
        @OptionGroup var output: OutputOptions

        func run(hsm: any HSM, session: SessionToken) async throws {
            let approvers = try await hsm.listApprovers(session)
            try output.list(approvers, as: "approvers", headers: ["NAME", "ALGORITHM"], json: ApproverJSON.init) { [$0.name, $0.publicKey.algorithm.rawValue] }
        }
    }

    struct Remove: HSMCommand {
        static let configuration = CommandConfiguration(
            abstract: "Remove an approver that no key policy names.",
            discussion: examples("redoubt approvers remove ann"))
        @OptionGroup var options: HSMOptions
        @Argument(help: "Approver name.") var name: String

        func run(hsm: any HSM, session: SessionToken) async throws {
            try await hsm.removeApprover(session, name: name)
            print("removed approver \(name)")
        }
    }
}

/// `redoubt requests …`: operations on governed keys waiting for approval.
struct RequestsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "requests", abstract: "Follow, approve and reject requests on keys under an approval policy.",
        discussion: """
            Signing, decrypting, blocking or unblocking a key whose policy needs approval does not run at \
            once: `redoubt sign` (and the others) submit a request, print its id and exit with status 3. \
            Each approver fetches the request's challenge, checks and signs it offline with `redoubt \
            approve`, and hands the signature in; once the policy is satisfied (and its timelock has \
            passed) the operation runs, and the requester fetches the result.

            \(examples(
            "redoubt requests list --status pending",
            "redoubt requests challenge r0123… \\\n| redoubt approve --key-file ann.pem --challenge - \\\n| redoubt requests approve r0123… --approver ann --signature -",
            "redoubt requests result r0123… --out invoice.sig"))
            """,
        subcommands: [List.self, Get.self, Challenge.self, Approve.self, Reject.self, Result.self])

    struct List: HSMCommand {
        static let configuration = CommandConfiguration(
            abstract: "List the requests visible to you: id, status, operation, key, requester, created.",
            discussion: examples("redoubt requests list", "redoubt requests list --status pending --key k0123… --json"))
        @OptionGroup var options: HSMOptions
        @OptionGroup var output: OutputOptions
        @Option(
            help: ArgumentHelp(
                "Only requests in this status: \(ApprovalStatus.allCases.map { $0.rawValue.lowercased() }.joined(separator: ", ")).",
                valueName: "status"))
        var status: String?
        @Option(help: ArgumentHelp("Only requests for this key.", valueName: "id")) var key: String?

        func validate() throws { _ = try parsedStatus() }

        private func parsedStatus() throws -> ApprovalStatus? {
            guard let status else { return nil }
            guard let parsed = ApprovalStatus(rawValue: status.uppercased()) else {
                throw ValidationError("--status takes \(ApprovalStatus.allCases.map { $0.rawValue.lowercased() }.joined(separator: ", "))")
            }
            return parsed
        }

        func run(hsm: any HSM, session: SessionToken) async throws {
            var filter = ApprovalRequestFilter(status: try parsedStatus(), keyID: key, limit: 1000)
            var requests: [ApprovalRequest] = []
            while true {
                let page = try await hsm.listRequests(session, filter: filter)
                requests += page
                guard page.count == filter.limit, let last = page.last else { break }
                filter.after = last.id
            }
            try output.list(requests, as: "requests", headers: ["ID", "STATUS", "OPERATION", "KEY", "REQUESTER", "CREATED"], json: RequestJSON.init) { r in
                [r.id, r.status.rawValue, r.operation.kind.rawValue, r.keyID, r.requester, timestamp(r.createdAt)]
            }
        }
    }

    struct Get: HSMCommand {
        static let configuration = CommandConfiguration(
            abstract: "Show a request: operation, status, rule, decisions and challenges.",
            discussion: examples("redoubt requests get r0123…", "redoubt requests get r0123… --json | jq -r .status"),
            aliases: ["show"])
        @OptionGroup var options: HSMOptions
        @OptionGroup var output: OutputOptions
        @Argument(help: "Request id.") var id: String

        func run(hsm: any HSM, session: SessionToken) async throws {
            let request = try await hsm.getRequest(session, id: id)
            try output.show(RequestJSON(request), describe(request))
        }
    }

    struct Challenge: HSMCommand {
        static let configuration = CommandConfiguration(
            abstract: "Print a request's challenge (base64) for `redoubt approve` to sign.",
            discussion: examples(
                "redoubt requests challenge r0123… > r0123.challenge",
                "redoubt requests challenge r0123… --reject \\\n| redoubt approve --key-file ann.pem --challenge - --reject"))
        @OptionGroup var options: HSMOptions
        @Argument(help: "Request id.") var id: String
        @Flag(help: "The reject challenge instead of the approve challenge.") var reject = false

        func run(hsm: any HSM, session: SessionToken) async throws {
            let request = try await hsm.getRequest(session, id: id)
            print((reject ? request.rejectChallenge : request.approveChallenge).base64EncodedString())
        }
    }

    struct Approve: RequestDecisionCommand {
        static let configuration = CommandConfiguration(
            abstract: "Hand in an approver's signature of the approve challenge.",
            discussion: examples(
                "redoubt requests approve r0123… --approver ann --signature MEUCIQ…",
                "redoubt approve --key-file ann.pem --challenge r0123.challenge \\\n| redoubt requests approve r0123… --approver ann \\\n--signature -"))
        static let decision = ApprovalChallenge.Decision.approve
        @OptionGroup var options: HSMOptions
        @OptionGroup var output: OutputOptions
        @Argument(help: "Request id.") var id: String
        @Option(help: ArgumentHelp("The approver's name.", valueName: "name")) var approver: String
        @Option(help: ArgumentHelp("The signature from `redoubt approve` (base64), or - for standard input.", valueName: "base64"))
        var signature: String
    }

    struct Reject: RequestDecisionCommand {
        static let configuration = CommandConfiguration(
            abstract: "Hand in an approver's signature of the reject challenge.",
            discussion: examples(
                "redoubt requests challenge r0123… --reject \\\n| redoubt approve --key-file ann.pem --challenge - --reject \\\n| redoubt requests reject r0123… --approver ann --signature -"
            ))
        static let decision = ApprovalChallenge.Decision.reject
        @OptionGroup var options: HSMOptions
        @OptionGroup var output: OutputOptions
        @Argument(help: "Request id.") var id: String
        @Option(help: ArgumentHelp("The approver's name.", valueName: "name")) var approver: String
        @Option(help: ArgumentHelp("The signature from `redoubt approve --reject` (base64), or - for standard input.", valueName: "base64"))
        var signature: String
    }

    struct Result: HSMCommand {
        static let configuration = CommandConfiguration(
            abstract: "Write the result of an executed request (the signature, plaintext or tag); requester only.",
            discussion: examples("redoubt requests result r0123… --out invoice.sig", "redoubt requests result r0123… | base64"))
        @OptionGroup var options: HSMOptions
        @Argument(help: "Request id.") var id: String
        @Option(name: .customLong("out"), help: ArgumentHelp("Output file (created mode 0600), or - for standard output.", valueName: "file"))
        var output: String = "-"

        func run(hsm: any HSM, session: SessionToken) async throws {
            let request = try await hsm.getRequest(session, id: id)
            guard let result = request.result else {
                if let failure = request.failure { throw ValidationError("request \(id) \(request.status.rawValue): \(failure)") }
                throw ValidationError("request \(id) is \(request.status.rawValue): no result \(request.status.isFinal ? "to fetch" : "yet")")
            }
            try writeOutput(result.data, output)
            if let version = result.version { FileHandle.standardError.write(Data("key version \(version)\n".utf8)) }
        }
    }
}

/// `requests approve` and `requests reject`: hand in a signed decision.
protocol RequestDecisionCommand: HSMCommand {
    static var decision: ApprovalChallenge.Decision { get }
    var output: OutputOptions { get }
    var id: String { get }
    var approver: String { get }
    var signature: String { get }
}

extension RequestDecisionCommand {
    func run(hsm: any HSM, session: SessionToken) async throws {
        let text = signature == "-" ? String(decoding: FileHandle.standardInput.readDataToEndOfFile(), as: UTF8.self) : signature
        guard let bytes = Data(base64Encoded: text.filter { !$0.isWhitespace }), !bytes.isEmpty else {
            throw ValidationError("--signature is not base64")
        }
        let request =
            switch Self.decision {
            case .approve: try await hsm.approveRequest(session, id: id, approver: approver, signature: bytes)
            case .reject: try await hsm.rejectRequest(session, id: id, approver: approver, signature: bytes)
            }
        try output.show(RequestJSON(request), "request \(request.id): \(request.status.rawValue)")
    }
}

/// A request for people: one attribute a line.
func describe(_ r: ApprovalRequest) -> String {
    var lines = [
        "id: \(r.id)", "partition: \(r.partition)", "key: \(r.keyID)",
        "operation: \(r.operation.kind.rawValue) (digest \(hex(r.operationDigest)))",
        "status: \(r.status.rawValue)", "requester: \(r.requester)", "created_at: \(timestamp(r.createdAt))",
    ]
    if let at = r.executableAt { lines.append("executable_at: \(timestamp(at))") }
    if let at = r.finishedAt { lines.append("finished_at: \(timestamp(at))") }
    for (i, token) in r.rule.tokens.enumerated() {
        let groups = token.groups.map { "\($0.quorum) of \($0.approvers.joined(separator: ", "))" }.joined(separator: " and ")
        lines.append("rule \(i + 1): \(groups); timelock \(Int(token.timelock)) s, timeout \(Int(token.timeout)) s")
    }
    for d in r.decisions { lines.append("decision: \(d.approver) \(d.decision.rawValue) at \(timestamp(d.at))") }
    if let result = r.result {
        lines.append("result: \(result.data.count) bytes\(result.version.map { " (key version \($0))" } ?? ""); `redoubt requests result \(r.id)` writes it")
    }
    if let failure = r.failure { lines.append("failure: \(failure)") }
    if !r.status.isFinal {
        lines.append("approve challenge: \(r.approveChallenge.base64EncodedString())")
        lines.append("reject challenge: \(r.rejectChallenge.base64EncodedString())")
    }
    return lines.joined(separator: "\n")
}
