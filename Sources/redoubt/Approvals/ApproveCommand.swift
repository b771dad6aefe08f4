import ArgumentParser
import Foundation
import Redoubt

/// `redoubt approve`: signs an approval challenge offline with an approver key file.
///
/// Needs no server: the challenge (from GetRequest's `approve_challenge` or
/// `reject_challenge`, raw bytes or base64) is checked and shown on standard error, and the
/// base64 signature printed on standard output, to hand in with ApproveRequest or RejectRequest.
struct ApproveCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "approve",
        abstract: "Check a request's operation and sign its approval challenge with an approver key file (offline).",
        discussion: """
            Needs no HSM and no network. Give it the request as `redoubt requests get ID --json` prints it: it \
            rebuilds the SHA-256 digest of the operation from the operation shown there \
            (docs/approval-challenge.md), refuses a challenge that binds any other operation, key or request, \
            prints the operation in words on standard error, and prints the base64 signature on standard \
            output, to hand in with `redoubt requests approve` (or `reject`). With --data it also checks \
            that the data to sign, decrypt or MAC is your own copy, byte for byte.

            \(examples(
            "redoubt requests get r0123… --json > r0123.json",
            "redoubt approve --key-file ann.pem --request r0123.json --data payment.json",
            "redoubt approve --key-file ann.pem --request r0123.json --reject"))
            """)

    @Option(
        name: .customLong("key-file"), help: ArgumentHelp("The approver's private key (PKCS#8 PEM, from `redoubt approver-key generate`).", valueName: "file"))
    var keyFile: String
    @Option(help: ArgumentHelp("The request as `redoubt requests get ID --json` prints it, or - for standard input.", valueName: "file"))
    var request: String?
    @Option(help: ArgumentHelp("Your own copy of the data the operation uses (message, digest, ciphertext or MAC data); it must match.", valueName: "file"))
    var data: String?
    @Option(help: ArgumentHelp("A bare challenge (raw or base64, from `redoubt requests challenge`); needs --skip-operation-check.", valueName: "file"))
    var challenge: String?
    @Flag(help: "With --challenge: sign without checking the operation (you trust the broker's digest).")
    var skipOperationCheck = false
    @Flag(help: "Sign a rejection (the request's reject challenge) instead of an approval.")
    var reject = false

    func run() throws {
        let key = try ApproverKeyFile.read(keyFile)
        guard let scheme = Approver.scheme(for: key.algorithm) else {
            throw ValidationError("an approver key must be Ed25519, P-256 or ML-DSA-65, not \(key.algorithm)")
        }
        let wanted: ApprovalChallenge.Decision = reject ? .reject : .approve
        let parsed: ApprovalChallenge
        var words = ""
        switch (request, challenge) {
        case (let path?, nil):
            let checked = try ApprovalCheck(requestJSON: try Self.readInput(path, limit: 96 << 20), decision: wanted)
            if let data { try checked.requireData(try Self.readInput(data, limit: 96 << 20)) }
            parsed = checked.challenge
            words = "  " + checked.description + "\n  digest checked: it is the SHA-256 of this operation\n"
        case (nil, let path?):
            guard skipOperationCheck else {
                throw ValidationError(
                    "a bare challenge only says the operation's digest: pass --request (from `redoubt requests get ID --json`) "
                        + "to check the operation before signing, or --skip-operation-check to sign without checking")
            }
            guard data == nil else { throw ValidationError("--data needs --request: a bare challenge holds no data to compare") }
            parsed = try Self.parseChallenge(try Self.readInput(path, limit: 64 * 1024))
            guard parsed.decision == wanted else {
                throw ValidationError(
                    "the challenge is a \(parsed.decision.rawValue) challenge; \(reject ? "drop" : "add") --reject or fetch the \(wanted.rawValue) challenge")
            }
            words = "  NOT CHECKED against the operation (--skip-operation-check)\n"
        default:
            throw ValidationError("give --request FILE (recommended) or --challenge FILE, not both and not neither")
        }
        let digest = parsed.operationDigest.map { String(format: "%02x", $0) }.joined()
        FileHandle.standardError.write(
            Data(
                """
                \(parsed.decision.rawValue) request \(parsed.requestID)
                  partition \(parsed.partition), key \(parsed.keyID), operation \(parsed.operation.rawValue)
                  operation digest (SHA-256) \(digest)
                \(words)
                """.utf8))
        let signature = try SigningKey(key).signature(for: .message(parsed.bytes), scheme: scheme)
        print(signature.base64EncodedString())
    }

    /// The challenge from raw bytes, or from base64 text (whitespace ignored).
    static func parseChallenge(_ raw: Data) throws -> ApprovalChallenge {
        if let parsed = try? ApprovalChallenge.parse(raw) { return parsed }
        let text = String(decoding: raw, as: UTF8.self).filter { !$0.isWhitespace }
        guard let decoded = Data(base64Encoded: text) else { return try ApprovalChallenge.parse(raw) }
        return try ApprovalChallenge.parse(decoded)
    }

    static func readInput(_ path: String, limit: Int) throws -> Data {
        let data: Data
        do {
            data = path == "-" ? FileHandle.standardInput.readDataToEndOfFile() : try Data(contentsOf: URL(fileURLWithPath: path))
        } catch {
            throw ValidationError("cannot read \(path)")
        }
        guard data.count <= limit else { throw ValidationError("\(path) is larger than \(limit) bytes") }
        return data
    }
}

/// `redoubt approver-key …`: approver key files.
struct ApproverKeyCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "approver-key", abstract: "Make approver key files (offline).",
        discussion: examples(
            "redoubt approver-key generate --out ann.pem > ann.pub.pem",
            "redoubt approvers add ann --public-key ann.pub.pem \\\n--partition payments --api-key $OFFICER_KEY"),
        subcommands: [Generate.self])

    /// `redoubt approver-key generate`.
    struct Generate: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Generate an approver key: writes the private key (PKCS#8 PEM, mode 0600), prints the public key (PEM) to register.",
            discussion: examples(
                "redoubt approver-key generate --out ann.pem > ann.pub.pem",
                "redoubt approver-key generate --out bob.pem --algorithm ml-dsa-65"))

        @Option(help: ArgumentHelp("Where to write the private key; must not exist.", valueName: "file")) var out: String
        @Option(help: ArgumentHelp("ed25519, p256 or ml-dsa-65.", valueName: "algorithm")) var algorithm: String = "ed25519"

        func run() throws {
            let algorithms: [String: KeyAlgorithm] = ["ed25519": .ed25519, "p256": .p256, "ml-dsa-65": .mldsa65]
            guard let chosen = algorithms[algorithm.lowercased()] else {
                throw ValidationError("--algorithm must be ed25519, p256 or ml-dsa-65")
            }
            let key = try PrivateKey.generate(chosen)
            try ApproverKeyFile.write(key, to: out)
            print(key.publicKey.pem, terminator: key.publicKey.pem.hasSuffix("\n") ? "" : "\n")
        }
    }
}

/// Approver private key files: PKCS#8 PEM, created with mode 0600, never overwritten.
enum ApproverKeyFile {
    static func read(_ path: String) throws -> PrivateKey {
        let text: String
        do { text = try String(contentsOfFile: path, encoding: .utf8) } catch {
            throw ValidationError("cannot read the key file \(path)")
        }
        do { return try PrivateKey(pkcs8PEM: text) } catch {
            throw ValidationError("\(path) is not a PKCS#8 PEM private key")
        }
    }

    static func write(_ key: PrivateKey, to path: String) throws {
        let der = try key.pkcs8Representation().exportedBytes()
        let body = der.base64EncodedString(options: [.lineLength64Characters, .endLineWithLineFeed])
        let pem = "-----BEGIN PRIVATE KEY-----\n\(body)\n-----END PRIVATE KEY-----\n"
        guard !FileManager.default.fileExists(atPath: path) else { throw ValidationError("\(path) exists; choose another --out") }
        guard FileManager.default.createFile(atPath: path, contents: Data(pem.utf8), attributes: [.posixPermissions: 0o600]) else {
            throw ValidationError("cannot write \(path)")
        }
    }
}
