import ArgumentParser
import Foundation
import Logging
import Redoubt
import RedoubtStore

/// `redoubt init`: creates the store, the sealed master key and the first operator.
struct InitCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "init",
        abstract: "Create a store: the cluster master key (sealed) and the first operator (local only).",
        discussion: """
            Works on the local store only (--data DIR or --store postgres://…), never through a broker. \
            The master key is sealed under a passphrase (--passphrase-file or REDOUBT_PASSPHRASE, at least \
            12 characters) and/or split into M-of-N shares for a key ceremony (--shares M/N; give one to \
            each custodian). --dev keeps a key file in the data directory instead: development only. \
            Prints the operator's API key once: keep it, it creates partitions.

            \(examples(
            "redoubt init --data /var/lib/redoubt \\\n--passphrase-file /etc/redoubt/passphrase",
            "redoubt init --data /var/lib/redoubt --passphrase-file pass.txt --shares 3/5",
            "redoubt init --data ./dev --dev"))
            """
    )

    @OptionGroup var store: StoreOptions

    @Option(help: "Split the master key into shares: M/N (2 ≤ M ≤ N ≤ 16).")
    var shares: String?

    func run() async throws {
        var split: (threshold: Int, count: Int)?
        if let shares {
            let parts = shares.split(separator: "/").compactMap { Int($0) }
            guard parts.count == 2 else { throw ValidationError("--shares takes M/N, e.g. 3/5") }
            split = (parts[0], parts[1])
        }
        let passphrase = try store.passphrase()
        guard passphrase != nil || split != nil || store.dev else {
            throw ValidationError("choose how to seal: --passphrase-file (or REDOUBT_PASSPHRASE), --shares M/N, or --dev")
        }
        let objectStore = try await store.openStore(create: true)
        var logger = Logger(label: "redoubt")
        logger.logLevel = .warning
        let created: InitializedHSM
        do {
            created = try await LocalHSM.initialize(
                store: objectStore, passphrase: passphrase, shares: split,
                devKeyFile: store.dev ? store.devKeyPath : nil, logger: logger)
            try await created.hsm.close()
            try await objectStore.close()
        } catch {
            try? await objectStore.close()
            throw error
        }
        if store.dev {
            FileHandle.standardError.write(
                Data(
                    """
                    *** DEVELOPMENT MODE: the master key is in \(store.devKeyPath). Anyone who can read it can \
                    unseal this HSM. Never use --dev in production. ***

                    """.utf8))
        }
        print("initialised \(try store.location())")
        print("operator API key (shown once; store it safely): \(created.operatorAPIKey)")
        for (i, share) in created.shares.enumerated() {
            print("share \(i + 1) of \(created.shares.count): \(share)")
        }
    }
}

/// `redoubt partitions …`.
struct PartitionCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "partitions", abstract: "Create, update and list partitions (operator).",
        discussion: """
            Needs the operator's API key (from `redoubt init`) and no --partition.

            \(examples(
            "redoubt partitions create payments --api-key $OPERATOR_KEY \\\n--data ./hsm --dev",
            "redoubt partitions update payments --key-use-audit aggregated --api-key $OPERATOR_KEY",
            "redoubt partitions list --api-key $OPERATOR_KEY --endpoint 127.0.0.1:8443"))
            """,
        subcommands: [Create.self, Update.self, List.self],
        aliases: ["partition"])

    struct Create: HSMCommand {
        static let configuration = CommandConfiguration(
            abstract: "Create a partition and its first security officer; prints the officer's API key once.",
            discussion: examples(
                "redoubt partitions create payments",
                "redoubt partitions create archive --no-export --max-objects 1000 --json"))
        @OptionGroup var options: HSMOptions
        @OptionGroup var output: OutputOptions
        @Argument(help: "Partition id (1-64 of A-Z a-z 0-9 . _ -).") var id: String
        @Flag(help: "Refuse key import.") var noImport = false
        @Flag(help: "Refuse key export.") var noExport = false
        @Option(help: ArgumentHelp("Maximum number of stored keys.", valueName: "n")) var maxObjects: Int = PartitionSettings.defaults.maximumObjects
        @Option(help: ArgumentHelp(Update.keyUseAuditHelp, valueName: "mode")) var keyUseAudit: KeyUseAudit = .everyUse

        func run(hsm: any HSM, session: SessionToken) async throws {
            var settings = PartitionSettings.defaults
            settings.importAllowed = !noImport
            settings.exportAllowed = !noExport
            settings.maximumObjects = maxObjects
            settings.keyUseAudit = keyUseAudit
            let created = try await hsm.createPartition(session, id: id, settings: settings)
            struct Created: Encodable {
                var partition: PartitionJSON
                var securityOfficer: UserJSON
                var securityOfficerApiKey: String
            }
            try output.show(
                Created(
                    partition: PartitionJSON(created.partition), securityOfficer: UserJSON(created.securityOfficer),
                    securityOfficerApiKey: created.securityOfficerAPIKey),
                "partition \(created.partition.id) created\n"
                    + "security officer \(created.securityOfficer.id) API key (shown once): \(created.securityOfficerAPIKey)")
        }
    }

    struct Update: HSMCommand {
        static let configuration = CommandConfiguration(
            abstract: "Change a partition's settings; what is not given stays as it is.",
            discussion: examples(
                "redoubt partitions update payments --key-use-audit aggregated",
                "redoubt partitions update archive --max-objects 5000 --json"))
        static let keyUseAuditHelp =
            "How successful key uses are audited: every-use (a record each) or aggregated (a record per key, operation, session and outcome per group commit, with the count and the first and last time); refused uses always get a record each."
        @OptionGroup var options: HSMOptions
        @OptionGroup var output: OutputOptions
        @Argument(help: "Partition id.") var id: String
        @Option(help: ArgumentHelp("Allow (true) or refuse (false) key import.", valueName: "bool")) var importAllowed: Bool?
        @Option(help: ArgumentHelp("Allow (true) or refuse (false) key export.", valueName: "bool")) var exportAllowed: Bool?
        @Option(help: ArgumentHelp("Maximum number of stored keys.", valueName: "n")) var maxObjects: Int?
        @Option(help: ArgumentHelp(keyUseAuditHelp, valueName: "mode")) var keyUseAudit: KeyUseAudit?

        func run(hsm: any HSM, session: SessionToken) async throws {
            guard let current = try await hsm.listPartitions(session).first(where: { $0.id == id }) else {
                throw ValidationError("no partition '\(id)' (see `redoubt partitions list`)")
            }
            var settings = current.settings
            if let importAllowed { settings.importAllowed = importAllowed }
            if let exportAllowed { settings.exportAllowed = exportAllowed }
            if let maxObjects { settings.maximumObjects = maxObjects }
            if let keyUseAudit { settings.keyUseAudit = keyUseAudit }
            let updated = try await hsm.updatePartition(session, id: id, settings: settings)
            try output.show(PartitionJSON(updated), "partition \(updated.id) updated: \(Self.summary(updated.settings))")
        }

        static func summary(_ s: PartitionSettings) -> String {
            "import=\(s.importAllowed) export=\(s.exportAllowed) max_objects=\(s.maximumObjects) key_use_audit=\(s.keyUseAudit.rawValue)"
        }
    }

    struct List: HSMCommand {
        static let configuration = CommandConfiguration(
            abstract: "List partitions and their settings.",
            discussion: examples("redoubt partitions list", "redoubt partitions list --json | jq -r '.partitions[].id'"))
        @OptionGroup var options: HSMOptions
        @OptionGroup var output: OutputOptions

        func run(hsm: any HSM, session: SessionToken) async throws {
            let partitions = try await hsm.listPartitions(session)
            try output.list(
                partitions, as: "partitions", headers: ["ID", "IMPORT", "EXPORT", "MAX OBJECTS", "KEY USE AUDIT"], json: PartitionJSON.init
            ) { p in
                [
                    p.id, "import=\(p.settings.importAllowed)", "export=\(p.settings.exportAllowed)", "max_objects=\(p.settings.maximumObjects)",
                    "key_use_audit=\(p.settings.keyUseAudit.rawValue)",
                ]
            }
        }
    }
}

/// `redoubt users …`.
struct UserCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "users", abstract: "Add, list and remove users (security officer; the operator for operators).",
        discussion: """
            The security officer manages the users of its partition (--partition); the operator, without \
            --partition, manages operators.

            \(examples(
            "redoubt users add app --role crypto-user \\\n--partition payments --api-key $OFFICER_KEY",
            "redoubt users list --partition payments --api-key $OFFICER_KEY \\\n--endpoint 127.0.0.1:8443 --json",
            "redoubt users remove u0123… \\\n--partition payments --api-key $OFFICER_KEY"))
            """,
        subcommands: [Add.self, List.self, Remove.self],
        aliases: ["user"])

    struct Add: HSMCommand {
        static let configuration = CommandConfiguration(
            abstract: "Add a user; prints its API key once.",
            discussion: """
                With --client-cert, the user can also open sessions over mutual TLS with that certificate \
                (`--tls-cert`/`--tls-key` and no API key).

                \(examples(
                "redoubt users add app --role crypto-user",
                "redoubt users add eve --role auditor --password-file eve.txt --json",
                "redoubt users add batch --role crypto-user --client-cert batch.pem"))
                """)
        @OptionGroup var options: HSMOptions
        @OptionGroup var output: OutputOptions
        @Argument(help: "User name.") var name: String
        @Option(help: ArgumentHelp("Role: \(Role.allValueStrings.joined(separator: ", ")).", valueName: "role")) var role: Role
        @Option(help: ArgumentHelp("File holding a password for the user (optional).", valueName: "file")) var passwordFile: String?
        @Option(help: ArgumentHelp("The user's client certificate (PEM), which then opens sessions over mutual TLS.", valueName: "file"))
        var clientCert: String?

        func run(hsm: any HSM, session: SessionToken) async throws {
            let password = try passwordFile.map { f -> String in
                guard let t = try? String(contentsOfFile: f, encoding: .utf8) else { throw ValidationError("cannot read \(f)") }
                return t.trimmingCharacters(in: .newlines)
            }
            let fingerprint = try clientCert.map(certificateFingerprint)
            let user = try await hsm.addUser(session, name: name, role: role, password: password, clientCertificateSHA256: fingerprint)
            struct Added: Encodable {
                var user: UserJSON
                var apiKey: String
            }
            try output.show(
                Added(user: UserJSON(user.user), apiKey: user.apiKey),
                "user \(user.user.name) (\(user.user.id), \(user.user.role.rawValue)) API key (shown once): \(user.apiKey)")
        }
    }

    struct List: HSMCommand {
        static let configuration = CommandConfiguration(
            abstract: "List the partition's users: id, name, role.",
            discussion: examples("redoubt users list", "redoubt users list --json \\\n| jq -r '.users[] | select(.role == \"AUDITOR\") | .name'"))
        @OptionGroup var options: HSMOptions
        @OptionGroup var output: OutputOptions

        func run(hsm: any HSM, session: SessionToken) async throws {
            let users = try await hsm.listUsers(session)
            try output.list(users, as: "users", headers: ["ID", "NAME", "ROLE"], json: UserJSON.init) { [$0.id, $0.name, $0.role.rawValue] }
        }
    }

    struct Remove: HSMCommand {
        static let configuration = CommandConfiguration(
            abstract: "Remove a user; its sessions end and its API keys stop working.",
            discussion: examples("redoubt users list", "redoubt users remove u0123…"))
        @OptionGroup var options: HSMOptions
        @Argument(help: "User id (from `redoubt users list`).") var id: String

        func run(hsm: any HSM, session: SessionToken) async throws {
            try await hsm.removeUser(session, id: id)
            print("removed \(id)")
        }
    }
}

/// The SHA-256 of the DER encoding of the first certificate in a PEM file.
func certificateFingerprint(_ path: String) throws -> Data {
    guard let text = try? String(contentsOfFile: path, encoding: .utf8) else { throw ValidationError("cannot read \(path)") }
    let begin = "-----BEGIN CERTIFICATE-----", end = "-----END CERTIFICATE-----"
    guard let start = text.range(of: begin), let stop = text.range(of: end, range: start.upperBound..<text.endIndex),
        let der = Data(base64Encoded: text[start.upperBound..<stop.lowerBound].filter { !$0.isWhitespace })
    else {
        throw ValidationError("\(path) holds no PEM certificate")
    }
    return Hashing.digest(der, .sha256)
}
