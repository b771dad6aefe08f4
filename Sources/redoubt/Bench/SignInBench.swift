import ArgumentParser
import Foundation
import Logging
import Redoubt
import RedoubtStore

/// `redoubt bench signin`: how long a refused sign-in takes, by why it is refused, beside the
/// refusal of a known credential with a wrong secret (the baseline). A ratio far from 1 tells an
/// attacker which names exist.
struct SignInBenchCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "signin",
        abstract: "Time refused sign-ins (unknown name, wrong secret, locked) side by side; ratios against a wrong secret.",
        discussion: """
            Uses a fresh store in a temporary directory and the default password cost. For passwords and API \
            keys in turn, it alternates attempts of each kind (so drift hits them alike) and reports each kind's \
            median time and its ratio to the median of a wrong secret for a known credential. Attempts come from \
            one source address per kind, so the wrong-secret series never locks itself.
            """)

    @Option(help: "Attempts per kind (5 to 1000).") var attempts: Int = 40
    @Option(help: "scrypt cost (log2 N, 10 to 20) of the passwords; default as LocalHSM.") var passwordCost: Int = LocalHSM.Configuration.defaults
        .passwordCostLog2
    @Flag(help: "Print one JSON object instead of a table.") var json = false

    func validate() throws {
        guard (5...1000).contains(attempts) else { throw ValidationError("--attempts must be between 5 and 1000") }
        guard (10...20).contains(passwordCost) else { throw ValidationError("--password-cost must be between 10 and 20") }
    }

    struct Row: Encodable {
        var credential: String
        var kind: String
        var median_ms: Double
        var ratio: Double
    }

    func run() async throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("redoubt-bench-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let store = try SQLiteStore(path: dir + "/redoubt.sqlite")
        var logger = Logger(label: "redoubt.bench")
        logger.logLevel = .error
        var configuration = LocalHSM.Configuration.defaults
        configuration.passwordCostLog2 = passwordCost
        configuration.lockoutThreshold = 3
        configuration.lockoutDuration = 3600
        let created = try await LocalHSM.initialize(
            store: store, passphrase: "benchmark passphrase, not secret", configuration: configuration, logger: logger)
        let hsm = created.hsm
        let op = try await hsm.openSession(partition: "", credential: .apiKey(created.operatorAPIKey))
        let partition = try await hsm.createPartition(op.token, id: "bench", settings: .defaults)
        let so = try await hsm.openSession(partition: "bench", credential: .apiKey(partition.securityOfficerAPIKey))
        let password = "the right password, long enough"
        let user = try await hsm.addUser(so.token, name: "alice", role: .cryptoUser, password: password)
        let keyID = user.apiKey.split(separator: ".")[1]

        // Lock the "locked" kinds from their own address first.
        for credential in [Credential.password(user: "alice", password: "wrong password guess"), .apiKey("rdk1.\(keyID).wrong")] {
            for _ in 0..<3 {
                _ = try? await HSMCallContext.$sourceAddress.withValue("10.0.0.3") { try await hsm.openSession(partition: "bench", credential: credential) }
            }
        }
        let kinds: [(credential: String, kind: String, source: String, Credential)] = [
            ("password", "wrong secret", "10.0.0.1", .password(user: "alice", password: "wrong password guess")),
            ("password", "unknown user", "10.0.0.2", .password(user: "nobody", password: "wrong password guess")),
            ("password", "locked", "10.0.0.3", .password(user: "alice", password: password)),
            ("password", "unknown partition", "10.0.0.4", .password(user: "alice", password: "wrong password guess")),
            ("api key", "wrong secret", "10.0.0.1", .apiKey("rdk1.\(keyID).wrong")),
            ("api key", "unknown id", "10.0.0.2", .apiKey("rdk1.c00112233445566778899aabb.wrong")),
            ("api key", "locked", "10.0.0.3", .apiKey(user.apiKey)),
            ("api key", "unknown partition", "10.0.0.4", .apiKey("rdk1.\(keyID).wrong")),
        ]
        if !json { FileHandle.standardError.write(Data("measuring \(attempts) attempts of each kind…\n".utf8)) }
        var samples = [[Double]](repeating: [], count: kinds.count)
        let clock = ContinuousClock()
        for round in 0..<attempts {
            for (index, k) in kinds.enumerated() {
                // A wrong secret from one address would lock it at the third try: spread those over addresses.
                let source = k.kind == "wrong secret" ? "10.1.\(round / 2).\(index)" : k.source
                let target = k.kind == "unknown partition" ? "nowhere" : "bench"
                let start = clock.now
                _ = try? await HSMCallContext.$sourceAddress.withValue(source) { try await hsm.openSession(partition: target, credential: k.3) }
                let elapsed = clock.now - start
                samples[index].append(Double(elapsed.components.attoseconds) / 1e15 + Double(elapsed.components.seconds) * 1000)
            }
        }
        try await hsm.close()
        try await store.close()

        func median(_ values: [Double]) -> Double { values.sorted()[values.count / 2] }
        let medians = samples.map(median)
        let rows = kinds.enumerated().map { index, k in
            let baseline = medians[kinds.firstIndex { $0.credential == k.credential && $0.kind == "wrong secret" }!]
            return Row(credential: k.credential, kind: k.kind, median_ms: medians[index], ratio: medians[index] / baseline)
        }
        if json {
            struct Report: Encodable {
                var attempts: Int
                var password_cost: Int
                var results: [Row]
            }
            let rounded = rows.map {
                Row(credential: $0.credential, kind: $0.kind, median_ms: ($0.median_ms * 1000).rounded() / 1000, ratio: ($0.ratio * 1000).rounded() / 1000)
            }
            print(String(decoding: try JSONEncoder().encode(Report(attempts: attempts, password_cost: passwordCost, results: rounded)), as: UTF8.self))
        } else {
            print("credential  refused because      median ms   ratio")
            for r in rows {
                print(
                    r.credential.padding(toLength: 12, withPad: " ", startingAt: 0) + r.kind.padding(toLength: 20, withPad: " ", startingAt: 0)
                        + String(format: "%.3f", r.median_ms).leftPadded(10) + String(format: "%.2f", r.ratio).leftPadded(8))
            }
        }
    }
}
