import ArgumentParser
import Foundation
import Redoubt

/// `redoubt keys …`.
struct KeysCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "keys", abstract: "Create, list and manage the partition's keys.",
        discussion: """
            Keys live in a partition: give --partition and the API key of a crypto user (or the security \
            officer) with --api-key, or set REDOUBT_PARTITION and REDOUBT_API_KEY. Every subcommand works on \
            the local store (--data DIR) or through a broker (--endpoint HOST:PORT).

            \(examples(
            "redoubt keys create --algorithm EC-P256 --label signer \\\n--data ./hsm --dev --partition payments --api-key $KEY",
            "redoubt keys list --endpoint hsm.example.net:8443 --tls-ca ca.pem \\\n--partition payments --api-key $KEY",
            "redoubt keys get k0123… --json | jq .public_key"))
            """,
        subcommands: [
            Create.self, List.self, Show.self, Rotate.self, Block.self, Unblock.self, Destroy.self,
            Restore.self, Purge.self, Public.self,
        ])

    struct Create: HSMCommand {
        static let configuration = CommandConfiguration(
            abstract: "Generate a key in the HSM.",
            discussion: """
                Prints the new key's attributes (with --json, the key as JSON). The key is sensitive and not \
                extractable unless --extractable / --not-sensitive say otherwise. --policy puts the key under an \
                approval policy: a JSON file {"use": {"tokens": [{"groups": [{"approvers": ["ann", "bob"], \
                "quorum": 2}], "timeout": 3600, "timelock": 0}]}, "block": …, "unblock": …, "modify": …}; \
                rules left out need no approval.

                \(examples(
                "redoubt keys create --algorithm EC-P256 --label signer",
                "redoubt keys create --algorithm AES-256 --label backups \\\n--usage encrypt,decrypt --json",
                "redoubt keys create --algorithm ED25519 --label treasury \\\n--policy two-of-three.json --endpoint 127.0.0.1:8443"))
                """)
        @OptionGroup var options: HSMOptions
        @OptionGroup var output: OutputOptions
        @Option(help: ArgumentHelp("Key algorithm.", valueName: "algorithm"))
        var algorithm: KeyAlgorithm
        @Option(help: ArgumentHelp("Label (1-128 printable characters; need not be unique).", valueName: "label")) var label: String
        @Option(
            help: ArgumentHelp(
                "Usages, comma-separated (sign,verify,encrypt,decrypt,wrap,unwrap,derive,mac,encapsulate,decapsulate); default: all the algorithm can do.",
                valueName: "list"))
        var usage: String?
        @Flag(help: "Allow wrapped export.") var extractable = false
        @Flag(help: "Allow export in the clear (needs --extractable).") var notSensitive = false
        @Option(help: ArgumentHelp("Client request id: a retry with the same id returns the same key.", valueName: "id")) var requestId: String?
        @Option(help: ArgumentHelp("Approval policy (JSON file, see above) governing the key's use, block, unblock and changes.", valueName: "file"))
        var policy: String?
        @Option(help: ArgumentHelp("Application identifier (PKCS#11 CKA_ID) in hex, up to 128 bytes.", valueName: "hex"))
        var appId: String?

        func run(hsm: any HSM, session: SessionToken) async throws {
            let spec = KeySpec(
                algorithm: algorithm, label: label, usage: try usage.map(parseUsage), extractable: extractable,
                sensitive: !notSensitive, requestID: requestId, policy: try policy.map(readPolicy),
                applicationID: try appId.map { try parseApplicationID($0) } ?? Data())
            let key = try await hsm.generateKey(session, spec: spec)
            try output.show(KeyJSON(key), describe(key))
        }
    }

    struct List: HSMCommand {
        static let configuration = CommandConfiguration(
            abstract: "List keys: id, algorithm, state, latest version, label.",
            discussion: """
                One key per line, tab-separated; with --json, {"keys": [...]} with every attribute.

                \(examples(
                "redoubt keys list",
                "redoubt keys list --label signer --include-destroyed",
                "redoubt keys list --app-id 01a2",
                "redoubt keys list --json --endpoint 127.0.0.1:8443 | jq -r '.keys[].id'"))
                """)
        @OptionGroup var options: HSMOptions
        @OptionGroup var output: OutputOptions
        @Option(help: ArgumentHelp("Only keys with this label.", valueName: "label")) var label: String?
        @Flag(help: "Include the trash (destroyed, not yet purged keys).") var includeDestroyed = false
        @Option(help: ArgumentHelp("Only keys with this application identifier (PKCS#11 CKA_ID), in hex.", valueName: "hex"))
        var appId: String?

        func run(hsm: any HSM, session: SessionToken) async throws {
            var keys: [KeyInfo] = []
            var filter = KeyFilter(
                label: label, includeDestroyed: includeDestroyed, limit: 1000, applicationID: try appId.map { try parseApplicationID($0) })
            while true {
                let page = try await hsm.listKeys(session, filter: filter)
                keys += page
                guard page.count == filter.limit, let last = page.last else { break }
                filter.after = last.id
            }
            try output.list(keys, as: "keys", headers: ["ID", "ALGORITHM", "STATE", "VERSION", "LABEL"], json: KeyJSON.init) { k in
                [k.id, k.algorithm.rawValue, k.state.rawValue, "v\(k.latestVersion)", k.label]
            }
        }
    }

    struct Show: HSMCommand {
        static let configuration = CommandConfiguration(
            commandName: "get", abstract: "Show a key's attributes.",
            discussion: examples("redoubt keys get k0123…", "redoubt keys get k0123… --json"),
            aliases: ["show"])
        @OptionGroup var options: HSMOptions
        @OptionGroup var output: OutputOptions
        @Argument(help: "Key id.") var id: String

        func run(hsm: any HSM, session: SessionToken) async throws {
            let key = try await hsm.getKey(session, id: id)
            try output.show(KeyJSON(key), describe(key))
        }
    }

    struct Rotate: KeyActionCommand {
        static let configuration = CommandConfiguration(
            abstract: "Add a new version; new signatures and ciphertexts use it.",
            discussion: examples("redoubt keys rotate k0123…"))
        @OptionGroup var options: HSMOptions
        @OptionGroup var output: OutputOptions
        @Argument(help: "Key id.") var id: String
        static func act(_ hsm: any HSM, _ token: SessionToken, _ id: String) async throws -> KeyInfo {
            try await hsm.rotateKey(token, id: id)
        }
    }

    struct Block: KeyActionCommand {
        static let configuration = CommandConfiguration(
            abstract: "Block every use of a key until it is unblocked.",
            discussion: examples("redoubt keys block k0123…"))
        @OptionGroup var options: HSMOptions
        @OptionGroup var output: OutputOptions
        @Argument(help: "Key id.") var id: String
        static func act(_ hsm: any HSM, _ token: SessionToken, _ id: String) async throws -> KeyInfo {
            try await hsm.blockKey(token, id: id)
        }
    }

    struct Unblock: KeyActionCommand {
        static let configuration = CommandConfiguration(
            abstract: "Unblock a blocked key.",
            discussion: examples("redoubt keys unblock k0123…"))
        @OptionGroup var options: HSMOptions
        @OptionGroup var output: OutputOptions
        @Argument(help: "Key id.") var id: String
        static func act(_ hsm: any HSM, _ token: SessionToken, _ id: String) async throws -> KeyInfo {
            try await hsm.unblockKey(token, id: id)
        }
    }

    struct Destroy: KeyActionCommand {
        static let configuration = CommandConfiguration(
            abstract: "Move a key to the trash (restorable until purged).",
            discussion: examples("redoubt keys destroy k0123…", "redoubt keys restore k0123…"))
        @OptionGroup var options: HSMOptions
        @OptionGroup var output: OutputOptions
        @Argument(help: "Key id.") var id: String
        static func act(_ hsm: any HSM, _ token: SessionToken, _ id: String) async throws -> KeyInfo {
            try await hsm.destroyKey(token, id: id)
        }
    }

    struct Restore: KeyActionCommand {
        static let configuration = CommandConfiguration(
            abstract: "Restore a key from the trash.",
            discussion: examples("redoubt keys list --include-destroyed", "redoubt keys restore k0123…"))
        @OptionGroup var options: HSMOptions
        @OptionGroup var output: OutputOptions
        @Argument(help: "Key id.") var id: String
        static func act(_ hsm: any HSM, _ token: SessionToken, _ id: String) async throws -> KeyInfo {
            try await hsm.restoreKey(token, id: id)
        }
    }

    struct Purge: HSMCommand {
        static let configuration = CommandConfiguration(
            abstract: "Delete a trashed key for good.",
            discussion: examples("redoubt keys destroy k0123… && redoubt keys purge k0123…"))
        @OptionGroup var options: HSMOptions
        @Argument(help: "Key id.") var id: String
        func run(hsm: any HSM, session: SessionToken) async throws {
            try await hsm.purgeKey(session, id: id)
            print("purged \(id)")
        }
    }

    struct Public: HSMCommand {
        static let configuration = CommandConfiguration(
            abstract: "Print a key's public key as PEM.",
            discussion: examples("redoubt keys public k0123… > signer.pub.pem", "redoubt keys public k0123… --key-version 1"))
        @OptionGroup var options: HSMOptions
        @Argument(help: "Key id.") var id: String
        @Option(help: ArgumentHelp("Key version (default: latest).", valueName: "n")) var keyVersion: Int?
        func run(hsm: any HSM, session: SessionToken) async throws {
            print(try await hsm.exportPublicKey(session, id: id, version: keyVersion).pem, terminator: "")
        }
    }
}

/// A command that applies one action to one key and prints the result.
protocol KeyActionCommand: HSMCommand {
    var output: OutputOptions { get }
    var id: String { get }
    static func act(_ hsm: any HSM, _ token: SessionToken, _ id: String) async throws -> KeyInfo
}

extension KeyActionCommand {
    func run(hsm: any HSM, session: SessionToken) async throws {
        let key = try await Self.act(hsm, session, id)
        try output.show(KeyJSON(key), describe(key))
    }
}

/// A key policy from a JSON file; rules left out, and timelocks, default to none.
func readPolicy(_ path: String) throws -> KeyPolicy {
    struct Token: Decodable {
        var groups: [ApproverGroup]
        var timelock: TimeInterval?
        var timeout: TimeInterval
    }
    struct Rule: Decodable { var tokens: [Token] }
    struct File: Decodable { var use, block, unblock, modify: Rule? }
    guard let data = FileManager.default.contents(atPath: path) else { throw ValidationError("cannot read the policy file \(path)") }
    let file: File
    do { file = try JSONDecoder().decode(File.self, from: data) } catch {
        throw ValidationError("\(path) is not a key policy: \(error)")
    }
    func rule(_ r: Rule?) -> ApprovalRule {
        ApprovalRule(tokens: (r?.tokens ?? []).map { ApprovalToken(groups: $0.groups, timelock: $0.timelock ?? 0, timeout: $0.timeout) })
    }
    return KeyPolicy(use: rule(file.use), block: rule(file.block), unblock: rule(file.unblock), modify: rule(file.modify))
}

func parseUsage(_ text: String) throws -> KeyUsage {
    let names = Dictionary(uniqueKeysWithValues: usageNames)
    var usage: KeyUsage = []
    for part in text.split(separator: ",") {
        guard let u = names[part.trimmingCharacters(in: .whitespaces).lowercased()] else {
            throw ValidationError("unknown usage '\(part)'; known: \(names.keys.sorted().joined(separator: ", "))")
        }
        usage.insert(u)
    }
    return usage
}

func describe(_ k: KeyInfo) -> String {
    var lines = [
        "id: \(k.id)", "label: \(k.label)", "algorithm: \(k.algorithm.rawValue)", "state: \(k.state.rawValue)",
        "version: \(k.latestVersion) (minimum \(k.minimumVersion))",
        "extractable: \(k.extractable)  sensitive: \(k.sensitive)  never_extractable: \(k.neverExtractable)  always_sensitive: \(k.alwaysSensitive)",
        "modifiable: \(k.modifiable)  destroyable: \(k.destroyable)  local: \(k.local)",
    ]
    if !k.applicationID.isEmpty { lines.append("application_id: \(hex(k.applicationID))") }
    if !k.subject.isEmpty { lines.append("subject: \(hex(k.subject))") }
    if let nb = k.notBefore { lines.append("not_before: \(nb)") }
    if let exp = k.expiresAt { lines.append("expires_at: \(exp)") }
    return lines.joined(separator: "\n")
}

/// Signature schemes by name.
func parseScheme(_ name: String?, for algorithm: KeyAlgorithm) throws -> SignatureScheme {
    switch name?.lowercased() {
    case nil:
        switch algorithm {
        case .p384, .brainpoolP384r1: return .ecdsa(.sha384)
        case .p521: return .ecdsa(.sha512)
        case .ed25519: return .ed25519
        case .rsa2048, .rsa3072, .rsa4096: return .rsaPSS(.sha256)
        case .mldsa65, .mldsa87: return .mldsa()
        default: return .ecdsa(.sha256)
        }
    case "ecdsa-sha256": return .ecdsa(.sha256)
    case "ecdsa-sha384": return .ecdsa(.sha384)
    case "ecdsa-sha512": return .ecdsa(.sha512)
    case "ecdsa-sha256-raw": return .ecdsa(.sha256, encoding: .raw)
    case "ed25519": return .ed25519
    case "rsa-pss-sha256": return .rsaPSS(.sha256)
    case "rsa-pss-sha384": return .rsaPSS(.sha384)
    case "rsa-pss-sha512": return .rsaPSS(.sha512)
    case "rsa-pkcs1-sha256": return .rsaPKCS1v15(.sha256)
    case "rsa-pkcs1-sha384": return .rsaPKCS1v15(.sha384)
    case "rsa-pkcs1-sha512": return .rsaPKCS1v15(.sha512)
    case "rsa-pkcs1-raw": return .rsaPKCS1v15Raw
    case "mldsa": return .mldsa()
    case let other?:
        throw ValidationError(
            "unknown scheme '\(other)'; known: ecdsa-sha256|384|512, ecdsa-sha256-raw, ed25519, rsa-pss-sha256|384|512, rsa-pkcs1-sha256|384|512, rsa-pkcs1-raw, mldsa"
        )
    }
}

/// `redoubt sign`.
struct SignCommand: HSMCommand {
    static let configuration = CommandConfiguration(
        commandName: "sign", abstract: "Sign a file; prints the base64 signature.",
        discussion: """
            Prints the signature (base64) on standard output and the key version that made it on standard \
            error. The scheme defaults by algorithm: ECDSA with SHA-256 (SHA-384 for P-384, SHA-512 for \
            P-521), Ed25519, RSA-PSS with SHA-256, ML-DSA. On a key under an approval policy the signature \
            is submitted as a request instead (see `redoubt requests`).

            \(examples(
            "redoubt sign --key k0123… --in invoice.pdf > invoice.sig",
            "echo -n hello | redoubt sign --key k0123… --scheme ecdsa-sha256-raw",
            "redoubt sign --key k0123… --in invoice.pdf \\\n--endpoint hsm.example.net:8443 --tls-ca ca.pem"))
            """)
    @OptionGroup var options: HSMOptions
    @Option(help: ArgumentHelp("Key id.", valueName: "id")) var key: String
    @Option(name: .customLong("in"), help: ArgumentHelp("Input file, or - for standard input.", valueName: "file")) var input: String = "-"
    @Option(
        help: ArgumentHelp(
            "Scheme (default by algorithm): ecdsa-sha256|384|512, ecdsa-sha256-raw, ed25519, rsa-pss-sha256|384|512, rsa-pkcs1-sha256|384|512, rsa-pkcs1-raw, mldsa.",
            valueName: "scheme"))
    var scheme: String?

    func run(hsm: any HSM, session: SessionToken) async throws {
        let data = try readInput(input)
        let info = try await hsm.getKey(session, id: key)
        let result = try await hsm.sign(session, key: key, input: .message(data), scheme: try parseScheme(scheme, for: info.algorithm))
        print(result.signature.base64EncodedString())
        FileHandle.standardError.write(Data("key version \(result.version)\n".utf8))
    }
}

/// `redoubt verify`.
struct VerifyCommand: HSMCommand {
    static let configuration = CommandConfiguration(
        commandName: "verify", abstract: "Verify a signature; exit 1 if invalid.",
        discussion: """
            Prints "valid" (exit 0) or "invalid" (exit 1).

            \(examples(
            "redoubt verify --key k0123… --in invoice.pdf \\\n--signature \"$(cat invoice.sig)\"",
            "redoubt verify --key k0123… --in invoice.pdf \\\n--signature MEUCIQ… --key-version 1"))
            """)
    @OptionGroup var options: HSMOptions
    @Option(help: ArgumentHelp("Key id.", valueName: "id")) var key: String
    @Option(name: .customLong("in"), help: ArgumentHelp("Input file, or - for standard input.", valueName: "file")) var input: String = "-"
    @Option(help: ArgumentHelp("The signature (base64).", valueName: "base64")) var signature: String
    @Option(help: ArgumentHelp("Scheme (default by algorithm; see `redoubt sign --help`).", valueName: "scheme")) var scheme: String?
    @Option(help: ArgumentHelp("Key version (default: latest).", valueName: "n")) var keyVersion: Int?

    func validate() throws {
        guard Data(base64Encoded: signature) != nil else { throw ValidationError("--signature is not base64") }
    }

    func run(hsm: any HSM, session: SessionToken) async throws {
        guard let sig = Data(base64Encoded: signature) else { throw ValidationError("--signature is not base64") }
        let data = try readInput(input)
        let info = try await hsm.getKey(session, id: key)
        let ok = try await hsm.verify(
            session, key: key, input: .message(data), signature: sig,
            scheme: try parseScheme(scheme, for: info.algorithm), version: keyVersion)
        print(ok ? "valid" : "invalid")
        if !ok { throw ExitCode(1) }
    }
}

/// `redoubt encrypt` / `redoubt decrypt`.
struct EncryptCommand: HSMCommand {
    static let configuration = CommandConfiguration(
        commandName: "encrypt", abstract: "Encrypt a file.",
        discussion: """
            The ciphertext names the key version; `redoubt decrypt` needs the same scheme and --aad.

            \(examples(
            "redoubt encrypt --key k0123… --in secrets.tar --out secrets.tar.enc",
            "redoubt encrypt --key k0123… --in note.txt --out note.enc --aad customer-42"))
            """)
    @OptionGroup var options: HSMOptions
    @Option(help: ArgumentHelp("Key id.", valueName: "id")) var key: String
    @Option(name: .customLong("in"), help: ArgumentHelp("Input file, or - for standard input.", valueName: "file")) var input: String = "-"
    @Option(name: .customLong("out"), help: ArgumentHelp("Output file (created mode 0600), or - for standard output.", valueName: "file")) var output: String =
        "-"
    @Option(help: ArgumentHelp("Scheme: AES-GCM, CHACHA20-POLY1305, AES-CBC-PKCS7, RSA-OAEP-SHA256.", valueName: "scheme")) var scheme: String = "AES-GCM"
    @Option(help: ArgumentHelp("Additional authenticated data (text).", valueName: "text")) var aad: String = ""

    func run(hsm: any HSM, session: SessionToken) async throws {
        guard let s = EncryptionScheme(rawValue: scheme.uppercased()) else { throw ValidationError("unknown scheme \(scheme)") }
        let data = try readInput(input)
        let out = try await hsm.encrypt(session, key: key, plaintext: data, scheme: s, aad: Data(aad.utf8))
        try writeOutput(out, output)
    }
}

struct DecryptCommand: HSMCommand {
    static let configuration = CommandConfiguration(
        commandName: "decrypt", abstract: "Decrypt a file.",
        discussion: """
            On a key under an approval policy the decryption is submitted as a request instead (see \
            `redoubt requests`).

            \(examples(
            "redoubt decrypt --key k0123… --in secrets.tar.enc --out secrets.tar",
            "redoubt decrypt --key k0123… --in note.enc --aad customer-42"))
            """)
    @OptionGroup var options: HSMOptions
    @Option(help: ArgumentHelp("Key id.", valueName: "id")) var key: String
    @Option(name: .customLong("in"), help: ArgumentHelp("Input file, or - for standard input.", valueName: "file")) var input: String = "-"
    @Option(name: .customLong("out"), help: ArgumentHelp("Output file (created mode 0600), or - for standard output.", valueName: "file")) var output: String =
        "-"
    @Option(help: ArgumentHelp("Scheme: AES-GCM, CHACHA20-POLY1305, AES-CBC-PKCS7, RSA-OAEP-SHA256.", valueName: "scheme")) var scheme: String = "AES-GCM"
    @Option(help: ArgumentHelp("Additional authenticated data (text).", valueName: "text")) var aad: String = ""

    func run(hsm: any HSM, session: SessionToken) async throws {
        guard let s = EncryptionScheme(rawValue: scheme.uppercased()) else { throw ValidationError("unknown scheme \(scheme)") }
        let data = try readInput(input)
        let out = try await hsm.decrypt(session, key: key, ciphertext: data, scheme: s, aad: Data(aad.utf8))
        try writeOutput(out, output)
    }
}

/// An application identifier given in hex on the command line.
func parseApplicationID(_ text: String) throws -> Data {
    guard let id = Hex.decode(text) else { throw ValidationError("--app-id must be hex (two digits a byte), not '\(text)'") }
    guard id.count <= KeyFilter.maximumApplicationIDByteCount else {
        throw ValidationError("--app-id is \(id.count) bytes; the limit is \(KeyFilter.maximumApplicationIDByteCount)")
    }
    return id
}
