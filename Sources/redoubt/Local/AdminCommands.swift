import ArgumentParser
import Foundation
import Logging
import Redoubt
import RedoubtStore

/// `redoubt init`: creates the store, the sealed master key and the first operator.
struct InitCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "init",
        abstract: "Create a store: the cluster master key (sealed) and the first operator.",
        discussion: """
        The master key is sealed under a passphrase (--passphrase-file or REDOUBT_PASSPHRASE, at least \
        12 characters) and/or split into M-of-N shares for a key ceremony (--shares M/N; give one to \
        each custodian). --dev keeps a key file in the data directory instead: development only.
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
            created = try await LocalHSM.initialize(store: objectStore, passphrase: passphrase, shares: split,
                                                    devKeyFile: store.dev ? store.devKeyPath : nil, logger: logger)
            try await created.hsm.close()
            try await objectStore.close()
        } catch {
            try? await objectStore.close()
            throw error
        }
        if store.dev {
            FileHandle.standardError.write(Data("""
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

/// `redoubt partition …`.
struct PartitionCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "partition", abstract: "Create and list partitions (operator).",
        subcommands: [Create.self, List.self])

    struct Create: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Create a partition and its first security officer.")
        @OptionGroup var store: StoreOptions
        @OptionGroup var session: SessionOptions
        @Argument(help: "Partition id (1-64 of A-Z a-z 0-9 . _ -).") var id: String
        @Flag(help: "Refuse key import.") var noImport = false
        @Flag(help: "Refuse key export.") var noExport = false
        @Option(help: "Maximum number of stored keys.") var maxObjects: Int = PartitionSettings.defaults.maximumObjects

        func run() async throws {
            var settings = PartitionSettings.defaults
            settings.importAllowed = !noImport
            settings.exportAllowed = !noExport
            settings.maximumObjects = maxObjects
            let created = try await withSession(store, session) { hsm, token in
                try await hsm.createPartition(token, id: id, settings: settings)
            }
            print("partition \(created.partition.id) created")
            print("security officer \(created.securityOfficer.id) API key (shown once): \(created.securityOfficerAPIKey)")
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List partitions.")
        @OptionGroup var store: StoreOptions
        @OptionGroup var session: SessionOptions

        func run() async throws {
            let partitions = try await withSession(store, session) { hsm, token in try await hsm.listPartitions(token) }
            for p in partitions {
                print("\(p.id)\timport=\(p.settings.importAllowed)\texport=\(p.settings.exportAllowed)\tmax_objects=\(p.settings.maximumObjects)")
            }
        }
    }
}

/// `redoubt user add`.
struct UserCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "user", abstract: "Manage users (security officer; the operator for operators).",
        subcommands: [Add.self, List.self])

    struct Add: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Add a user; prints its API key once.")
        @OptionGroup var store: StoreOptions
        @OptionGroup var session: SessionOptions
        @Argument(help: "User name.") var name: String
        @Option(help: "Role: \(Role.allValueStrings.joined(separator: ", ")).") var role: Role
        @Option(help: "File holding a password for the user (optional).") var passwordFile: String?

        func run() async throws {
            let password = try passwordFile.map { f -> String in
                guard let t = try? String(contentsOfFile: f, encoding: .utf8) else { throw ValidationError("cannot read \(f)") }
                return t.trimmingCharacters(in: .newlines)
            }
            let user = try await withSession(store, session) { hsm, token in
                try await hsm.addUser(token, name: name, role: role, password: password)
            }
            print("user \(user.user.name) (\(user.user.id), \(user.user.role.rawValue)) API key (shown once): \(user.apiKey)")
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List users of the partition.")
        @OptionGroup var store: StoreOptions
        @OptionGroup var session: SessionOptions

        func run() async throws {
            for u in try await withSession(store, session, { hsm, token in try await hsm.listUsers(token) }) {
                print("\(u.id)\t\(u.name)\t\(u.role.rawValue)")
            }
        }
    }
}

/// `redoubt audit verify|list`.
struct AuditCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "audit", abstract: "Read and verify the partition's hash-chained audit log.",
        subcommands: [Verify.self, List.self])

    struct Verify: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Verify the whole chain; exit 1 if broken.")
        @OptionGroup var store: StoreOptions
        @OptionGroup var session: SessionOptions

        func run() async throws {
            let result = try await withSession(store, session) { hsm, token in try await hsm.verifyAudit(token) }
            if let failure = result.failure {
                print("audit chain BROKEN after \(result.records) records: \(failure)")
                throw ExitCode(1)
            }
            print("audit chain intact: \(result.records) records")
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Print audit records.")
        @OptionGroup var store: StoreOptions
        @OptionGroup var session: SessionOptions
        @Option(help: "First sequence number.") var from: Int64 = 1
        @Option(help: "At most this many.") var limit: Int = 100

        func run() async throws {
            let records = try await withSession(store, session) { hsm, token in try await hsm.auditRecords(token, from: from, limit: limit) }
            let f = ISO8601DateFormatter()
            for r in records {
                print("\(r.sequence)\t\(f.string(from: r.time))\t\(r.actor)\t\(r.role)\t\(r.operation)\t\(r.object)\t\(r.result)")
            }
        }
    }
}
