import ArgumentParser
import Foundation

/// `redoubt bench crypto`: single-threaded engine throughput against OpenSSL and libsecp256k1.
struct CryptoBenchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "crypto",
        abstract: "Engine ops/s on one thread, beside `openssl speed` and libsecp256k1 in the same run.",
        discussion: """
            Build with `-c release` (scripts/redoubt does). Each operation runs for --seconds on one \
            thread, then its peer runs for as long; with --rounds > 1 the best round of each is kept, \
            which damps noise from other load on the machine.
            """
    )

    @Option(help: "Seconds per measurement (0.2 to 60).")
    var seconds: Double = 2

    @Option(help: "Rounds per operation; the best of each side is reported (1 to 10).")
    var rounds: Int = 1

    @Option(help: "Only these operations (comma-separated names).")
    var only: String?

    @Flag(help: "Print one JSON object instead of a table.")
    var json = false

    func validate() throws {
        guard (0.2...60).contains(seconds) else { throw ValidationError("--seconds must be between 0.2 and 60") }
        guard (1...10).contains(rounds) else { throw ValidationError("--rounds must be between 1 and 10") }
        if let only {
            let known = Set(CryptoBench.operationNames)
            for name in only.split(separator: ",") where !known.contains(String(name)) {
                throw ValidationError("unknown operation '\(name)'; known: \(CryptoBench.operationNames.joined(separator: ", "))")
            }
        }
    }

    func run() throws {
        let selected = only.map { Set($0.split(separator: ",").map(String.init)) }
        let bench = try CryptoBench()
        var results: [CryptoBench.Result] = []
        for op in bench.operations where selected?.contains(op.name) ?? true {
            if !json { FileHandle.standardError.write(Data("measuring \(op.name)…\n".utf8)) }
            results.append(try bench.measure(op, seconds: seconds, rounds: rounds))
        }
        if json {
            print(try CryptoBench.json(results))
        } else {
            print(CryptoBench.table(results))
        }
    }
}
