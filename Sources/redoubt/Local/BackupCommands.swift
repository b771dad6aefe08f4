import ArgumentParser
import Foundation
import Redoubt
import RedoubtStore

/// `redoubt backup create|restore`.
struct BackupCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "backup", abstract: "Back up the whole store to one sealed file, or restore one into a new store.",
        subcommands: [Create.self, Restore.self])

    static func progressPrinter() -> @Sendable (BackupProgress) -> Void {
        { p in
            let total = p.recordsTotal.map { "/\($0)" } ?? ""
            FileHandle.standardError.write(Data("\r\(p.phase): \(p.recordsDone)\(total) records, \(p.bytesDone) bytes   ".utf8))
        }
    }

    struct Create: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Write a backup (operator).")
        @OptionGroup var store: StoreOptions
        @OptionGroup var session: SessionOptions
        @Option(name: .customLong("out"), help: "Backup file to create.") var output: String
        @Flag(help: "Replace an existing file.") var overwrite = false
        @Option(help: "Back up only this partition (default: the whole store).") var only: String?

        func run() async throws {
            let summary = try await withSession(store, session) { hsm, token in
                try await hsm.backup(token, to: output, partition: only, overwrite: overwrite, progress: BackupCommand.progressPrinter())
            }
            FileHandle.standardError.write(Data("\n".utf8))
            print("backup \(output): \(summary.header.recordCount) records, \(summary.chunkCount) chunks, \(summary.byteCount) bytes")
        }
    }

    struct Restore: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Restore a backup into a new, empty data directory (unsealed like the original).")
        @OptionGroup var store: StoreOptions
        @Option(name: .customLong("in"), help: "Backup file.") var input: String

        func run() async throws {
            let location = try store.location()
            if case .sqlite(let path) = location, FileManager.default.fileExists(atPath: path) {
                throw ValidationError("\(path) exists: restore into a new data directory")
            }
            // A PostgreSQL store must be empty: the restore's import refuses one holding data.
            let objectStore = try await store.openStore(create: true)
            do {
                let hsm = try await LocalHSM.restore(from: input, into: objectStore, unseal: try store.unsealMethod(),
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
