import ArgumentParser

/// The `redoubt` command-line tool.
@main
struct RedoubtCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "redoubt",
        abstract: "Redoubt: a self-hostable cloud HSM.",
        subcommands: [
            ServeCommand.self, InitCommand.self, PartitionCommand.self, UserCommand.self, KeysCommand.self,
            SignCommand.self, VerifyCommand.self, EncryptCommand.self, DecryptCommand.self,
            AuditCommand.self, BackupCommand.self, BenchCommand.self, DebugCommand.self,
            ApproveCommand.self, ApproverKeyCommand.self,
        ]
    )
}

/// `redoubt bench …`: benchmarks that print ratios against a peer measured in the same run.
struct BenchCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench",
        abstract: "Measure Redoubt against a baseline run side by side.",
        subcommands: [CryptoBenchCommand.self, HSMBenchCommand.self, RPCBenchCommand.self, FailoverBenchCommand.self]
    )
}
