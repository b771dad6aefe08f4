import ArgumentParser
import Foundation
import Redoubt
import RedoubtStore

/// `redoubt backup create|restore`.
struct BackupCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "backup", abstract: "Back up the store (or one partition) to one sealed file, or restore one into a new store.",
        discussion: """
            `backup create` needs the operator's API key and works on the local store or through a broker; \
            `backup restore` works on a local data directory only. A backup is sealed under the master key: \
            it restores only with the original store's unseal passphrase, shares or dev key.

            \(examples(
            "redoubt backup create --out /backups/hsm-2024-06-01.rbk \\\n--data /var/lib/redoubt --api-key $OPERATOR_KEY",
            "redoubt backup create --out nightly.rbk \\\n--endpoint hsm.example.net:8443 --tls-ca ca.pem --api-key $OPERATOR_KEY",
            "redoubt backup restore --in hsm-2024-06-01.rbk \\\n--data /var/lib/redoubt-new --passphrase-file pass.txt"))
            """,
        subcommands: [Create.self, Restore.self])

    static func progressPrinter() -> @Sendable (BackupProgress) -> Void {
        { p in
            let total = p.recordsTotal.map { "/\($0)" } ?? ""
            FileHandle.standardError.write(Data("\r\(p.phase): \(p.recordsDone)\(total) records, \(p.bytesDone) bytes   ".utf8))
        }
    }

    struct Create: HSMCommand {
        static let configuration = CommandConfiguration(
            abstract: "Write a sealed backup (operator).",
            discussion: """
                Locally, --out is a file this process writes. Through a broker, the broker writes it: --out is \
                then a relative path inside the broker's backup folder (`redoubt serve --backup-dir`, default \
                DATA/backups), and the path printed is where the broker put it.

                \(examples(
                "redoubt backup create --out /backups/hsm.rbk \\\n--data /var/lib/redoubt --api-key $OPERATOR_KEY",
                "redoubt backup create --out payments.rbk --only payments --overwrite",
                "redoubt backup create --out nightly/hsm.rbk \\\n--endpoint hsm.example.net:8443 --tls-ca ca.pem"))
                """)
        @OptionGroup var options: HSMOptions
        @Option(name: .customLong("out"), help: ArgumentHelp("Backup file to create (through a broker: relative to its backup folder).", valueName: "file"))
        var output: String
        @Flag(help: "Replace an existing file.") var overwrite = false
        @Option(help: ArgumentHelp("Back up only this partition (default: the whole store).", valueName: "partition")) var only: String?

        func run(hsm: any HSM, session: SessionToken) async throws {
            let report = try await hsm.createBackup(
                session, path: output, partition: only, overwrite: overwrite,
                progress: BackupCommand.progressPrinter())
            FileHandle.standardError.write(Data("\n".utf8))
            print("backup \(report.path): \(report.recordCount) records, \(report.chunkCount) chunks, \(report.byteCount) bytes")
        }
    }

    struct Restore: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Restore a backup into a new, empty store (local only; unsealed like the original).",
            discussion: """
                Works on a local data directory (or an empty PostgreSQL database with --store) only, never \
                through a broker. Give the unseal method of the original store.

                \(examples(
                "redoubt backup restore --in hsm.rbk --data /var/lib/redoubt-new \\\n--passphrase-file pass.txt",
                "redoubt backup restore --in hsm.rbk --data ./restored --shares-file shares.txt"))
                """)
        @OptionGroup var store: StoreOptions
        @Option(name: .customLong("in"), help: ArgumentHelp("Backup file.", valueName: "file")) var input: String

        func run() async throws {
            let location = try store.location()
            if case .sqlite(let path) = location, FileManager.default.fileExists(atPath: path) {
                throw ValidationError("\(path) exists: restore into a new data directory")
            }
            // A PostgreSQL store must be empty: the restore's import refuses one holding data.
            let objectStore = try await store.openStore(create: true)
            do {
                let hsm = try await LocalHSM.restore(
                    from: input, into: objectStore, unseal: try store.unsealMethod(),
                    progress: BackupCommand.progressPrinter())
                try await hsm.close()
                try await objectStore.close()
            } catch {
                try? await objectStore.close()
                if case .sqlite(let path) = location {
                    for suffix in ["", "-wal", "-shm"] { try? FileManager.default.removeItem(atPath: path + suffix) }
                }
                throw error
            }
            FileHandle.standardError.write(Data("\n".utf8))
            print("restored \(input) into \(location)")
        }
    }
}
