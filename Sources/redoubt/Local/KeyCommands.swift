import ArgumentParser
import Foundation
import Redoubt

/// `redoubt keys …`.
struct KeysCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "keys", abstract: "Create and manage keys.",
        subcommands: [Create.self, List.self, Show.self, Rotate.self, Block.self, Unblock.self, Destroy.self,
                      Restore.self, Purge.self, Public.self])

    struct Create: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Generate a key.")
        @OptionGroup var store: StoreOptions
        @OptionGroup var session: SessionOptions
        @Option(help: "Algorithm: \(KeyAlgorithm.allValueStrings.joined(separator: ", ")).") var algorithm: KeyAlgorithm
        @Option(help: "Label.") var label: String
        @Option(help: "Usages, comma-separated (sign,verify,encrypt,decrypt,wrap,unwrap,derive,mac,encapsulate,decapsulate); default: all the algorithm can do.")
        var usage: String?
        @Flag(help: "Allow wrapped export.") var extractable = false
        @Flag(help: "Allow export in the clear (needs --extractable).") var notSensitive = false
        @Option(help: "Client request id: a retry returns the same key.") var requestId: String?

        func run() async throws {
            let spec = KeySpec(algorithm: algorithm, label: label, usage: try usage.map(parseUsage), extractable: extractable,
                               sensitive: !notSensitive, requestID: requestId)
            let key = try await withSession(store, session) { hsm, token in try await hsm.generateKey(token, spec: spec) }
            print(describe(key))
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List keys.")
        @OptionGroup var store: StoreOptions
        @OptionGroup var session: SessionOptions
        @Option(help: "Only this label.") var label: String?
        @Flag(help: "Include the trash.") var includeDestroyed = false

        func run() async throws {
            let keys = try await withSession(store, session) { hsm, token in
                try await hsm.listKeys(token, filter: KeyFilter(label: label, includeDestroyed: includeDestroyed, limit: 1000))
            }
            for k in keys { print("\(k.id)\t\(k.algorithm.rawValue)\t\(k.state.rawValue)\tv\(k.latestVersion)\t\(k.label)") }
        }
    }

    struct Show: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Show a key's attributes.")
        @OptionGroup var store: StoreOptions
        @OptionGroup var session: SessionOptions
        @Argument var id: String
        func run() async throws {
            print(describe(try await withSession(store, session) { hsm, token in try await hsm.getKey(token, id: id) }))
        }
    }

    struct Rotate: KeyActionCommand {
        static let configuration = CommandConfiguration(abstract: "Add a new version.")
        @OptionGroup var store: StoreOptions
        @OptionGroup var session: SessionOptions
        @Argument var id: String
        static func act(_ hsm: LocalHSM, _ token: SessionToken, _ id: String) async throws -> KeyInfo {
            try await hsm.rotateKey(token, id: id)
        }
    }

    struct Block: KeyActionCommand {
        static let configuration = CommandConfiguration(abstract: "Block every use.")
        @OptionGroup var store: StoreOptions
        @OptionGroup var session: SessionOptions
        @Argument var id: String
        static func act(_ hsm: LocalHSM, _ token: SessionToken, _ id: String) async throws -> KeyInfo {
            try await hsm.blockKey(token, id: id)
        }
    }

    struct Unblock: KeyActionCommand {
        static let configuration = CommandConfiguration(abstract: "Unblock.")
        @OptionGroup var store: StoreOptions
        @OptionGroup var session: SessionOptions
        @Argument var id: String
        static func act(_ hsm: LocalHSM, _ token: SessionToken, _ id: String) async throws -> KeyInfo {
            try await hsm.unblockKey(token, id: id)
        }
    }

    struct Destroy: KeyActionCommand {
        static let configuration = CommandConfiguration(abstract: "Move to the trash (restorable until purged).")
        @OptionGroup var store: StoreOptions
        @OptionGroup var session: SessionOptions
        @Argument var id: String
        static func act(_ hsm: LocalHSM, _ token: SessionToken, _ id: String) async throws -> KeyInfo {
            try await hsm.destroyKey(token, id: id)
        }
    }

    struct Restore: KeyActionCommand {
        static let configuration = CommandConfiguration(abstract: "Restore from the trash.")
        @OptionGroup var store: StoreOptions
        @OptionGroup var session: SessionOptions
        @Argument var id: String
        static func act(_ hsm: LocalHSM, _ token: SessionToken, _ id: String) async throws -> KeyInfo {
            try await hsm.restoreKey(token, id: id)
        }
    }

    struct Purge: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Delete a trashed key for good.")
        @OptionGroup var store: StoreOptions
        @OptionGroup var session: SessionOptions
        @Argument var id: String
        func run() async throws {
            try await withSession(store, session) { hsm, token in try await hsm.purgeKey(token, id: id) }
            print("purged \(id)")
        }
    }

    struct Public: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Print the public key as PEM.")
        @OptionGroup var store: StoreOptions
        @OptionGroup var session: SessionOptions
        @Argument var id: String
        func run() async throws {
            print(try await withSession(store, session) { hsm, token in try await hsm.exportPublicKey(token, id: id, version: nil) }.pem,
                  terminator: "")
        }
    }
}

/// A command that applies one action to one key and prints the result.
protocol KeyActionCommand: AsyncParsableCommand {
    var store: StoreOptions { get }
    var session: SessionOptions { get }
    var id: String { get }
    static func act(_ hsm: LocalHSM, _ token: SessionToken, _ id: String) async throws -> KeyInfo
}

extension KeyActionCommand {
    func run() async throws {
        print(describe(try await withSession(store, session) { hsm, token in try await Self.act(hsm, token, id) }))
    }
}

func parseUsage(_ text: String) throws -> KeyUsage {
    let names: [String: KeyUsage] = ["sign": .sign, "verify": .verify, "encrypt": .encrypt, "decrypt": .decrypt, "wrap": .wrap,
                                     "unwrap": .unwrap, "derive": .derive, "mac": .mac, "encapsulate": .encapsulate,
                                     "decapsulate": .decapsulate]
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
    var lines = ["id: \(k.id)", "label: \(k.label)", "algorithm: \(k.algorithm.rawValue)", "state: \(k.state.rawValue)",
                 "version: \(k.latestVersion) (minimum \(k.minimumVersion))",
                 "extractable: \(k.extractable)  sensitive: \(k.sensitive)  never_extractable: \(k.neverExtractable)  always_sensitive: \(k.alwaysSensitive)",
                 "modifiable: \(k.modifiable)  destroyable: \(k.destroyable)  local: \(k.local)"]
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
    case "mldsa": return .mldsa()
    case let other?:
        throw ValidationError("unknown scheme '\(other)'; known: ecdsa-sha256|384|512, ecdsa-sha256-raw, ed25519, rsa-pss-sha256|384|512, rsa-pkcs1-sha256|384|512, mldsa")
    }
}

/// `redoubt sign`.
struct SignCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "sign", abstract: "Sign a file; prints the base64 signature.")
    @OptionGroup var store: StoreOptions
    @OptionGroup var session: SessionOptions
    @Option(help: "Key id.") var key: String
    @Option(name: .customLong("in"), help: "Input file, or - for standard input.") var input: String = "-"
    @Option(help: "Scheme (default by algorithm).") var scheme: String?

    func run() async throws {
        let data = try readInput(input)
        let result = try await withSession(store, session) { hsm, token in
            let info = try await hsm.getKey(token, id: key)
            return try await hsm.sign(token, key: key, input: .message(data), scheme: try parseScheme(scheme, for: info.algorithm))
        }
        print(result.signature.base64EncodedString())
        FileHandle.standardError.write(Data("key version \(result.version)\n".utf8))
    }
}

/// `redoubt verify`.
struct VerifyCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "verify", abstract: "Verify a signature; exit 1 if invalid.")
    @OptionGroup var store: StoreOptions
    @OptionGroup var session: SessionOptions
    @Option(help: "Key id.") var key: String
    @Option(name: .customLong("in"), help: "Input file, or - for standard input.") var input: String = "-"
    @Option(help: "The base64 signature.") var signature: String
    @Option(help: "Scheme (default by algorithm).") var scheme: String?
    @Option(help: "Key version (default: latest).") var keyVersion: Int?

    func run() async throws {
        guard let sig = Data(base64Encoded: signature) else { throw ValidationError("--signature is not base64") }
        let data = try readInput(input)
        let ok = try await withSession(store, session) { hsm, token in
            let info = try await hsm.getKey(token, id: key)
            return try await hsm.verify(token, key: key, input: .message(data), signature: sig,
                                        scheme: try parseScheme(scheme, for: info.algorithm), version: keyVersion)
        }
        print(ok ? "valid" : "invalid")
        if !ok { throw ExitCode(1) }
    }
}

/// `redoubt encrypt` / `redoubt decrypt`.
struct EncryptCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "encrypt", abstract: "Encrypt a file.")
    @OptionGroup var store: StoreOptions
    @OptionGroup var session: SessionOptions
    @Option(help: "Key id.") var key: String
    @Option(name: .customLong("in"), help: "Input file, or -.") var input: String = "-"
    @Option(name: .customLong("out"), help: "Output file, or -.") var output: String = "-"
    @Option(help: "Scheme: AES-GCM, CHACHA20-POLY1305, AES-CBC-PKCS7, RSA-OAEP-SHA256.") var scheme: String = "AES-GCM"
    @Option(help: "Additional authenticated data (text).") var aad: String = ""

    func run() async throws {
        guard let s = EncryptionScheme(rawValue: scheme.uppercased()) else { throw ValidationError("unknown scheme \(scheme)") }
        let data = try readInput(input)
        let out = try await withSession(store, session) { hsm, token in
            try await hsm.encrypt(token, key: key, plaintext: data, scheme: s, aad: Data(aad.utf8))
        }
        try writeOutput(out, output)
    }
}

struct DecryptCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "decrypt", abstract: "Decrypt a file.")
    @OptionGroup var store: StoreOptions
    @OptionGroup var session: SessionOptions
    @Option(help: "Key id.") var key: String
    @Option(name: .customLong("in"), help: "Input file, or -.") var input: String = "-"
    @Option(name: .customLong("out"), help: "Output file, or -.") var output: String = "-"
    @Option(help: "Scheme: AES-GCM, CHACHA20-POLY1305, AES-CBC-PKCS7, RSA-OAEP-SHA256.") var scheme: String = "AES-GCM"
    @Option(help: "Additional authenticated data (text).") var aad: String = ""

    func run() async throws {
        guard let s = EncryptionScheme(rawValue: scheme.uppercased()) else { throw ValidationError("unknown scheme \(scheme)") }
        let data = try readInput(input)
        let out = try await withSession(store, session) { hsm, token in
            try await hsm.decrypt(token, key: key, ciphertext: data, scheme: s, aad: Data(aad.utf8))
        }
        try writeOutput(out, output)
    }
}
