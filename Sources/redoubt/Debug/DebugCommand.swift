import ArgumentParser
import Foundation
import Redoubt

/// `redoubt debug …`: tools for tests (the crash test), hidden from help.
struct DebugCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "debug", abstract: "Test tools (local store only).", shouldDisplay: false, subcommands: [KeygenLoop.self])

    /// Generates P-256 keys forever, printing each id once the HSM acknowledged it (durably stored).
    struct KeygenLoop: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "keygen-loop")
        @OptionGroup var store: StoreOptions
        @OptionGroup var session: SessionOptions
        @Option(help: "Stop after this many keys (0: never).") var count: Int = 0

        func run() async throws {
            try await withLocalSession(store, session) { hsm, token in
                var made = 0
                while count == 0 || made < count {
                    let key = try await hsm.generateKey(token, spec: KeySpec(algorithm: .p256, label: "crash-\(made)"))
                    FileHandle.standardOutput.write(Data("\(key.id)\n".utf8))
                    made += 1
                }
            }
        }
    }
}
