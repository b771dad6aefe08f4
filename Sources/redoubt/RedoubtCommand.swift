import ArgumentParser

/// The `redoubt` command-line tool.
@main
struct RedoubtCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "redoubt",
        abstract: "Redoubt: a self-hostable cloud HSM.",
        subcommands: [BenchCommand.self]
    )
}

/// `redoubt bench …`: benchmarks that print ratios against a peer measured in the same run.
struct BenchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench",
        abstract: "Measure Redoubt against a baseline run side by side.",
        subcommands: [CryptoBenchCommand.self]
    )
}
