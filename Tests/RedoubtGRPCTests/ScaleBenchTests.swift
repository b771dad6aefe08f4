import Foundation
import Testing

/// `redoubt bench scale` end to end on small sizes: every figure of its JSON is there and sane,
/// and bad sizes are refused with a message (the figures themselves are the benchmark's, not a test's).
@Suite("Scale benchmark (small sizes)")
struct ScaleBenchTests {
    struct Report: Decodable {
        struct Result: Decodable {
            var store: String
            var keys: Int
            var create_per_s: Double
            var bytes_per_key: Double?
            var start_s: Double
            var rss_mb: Double
            var sign_p50_ms: Double
            var sign_p99_ms: Double
            var list_page_p50_ms: Double
            var backup_s: Double
            var backup_bytes: Int
            var restore_s: Double
        }
        var results: [Result]
        var sign_p99_ratio: Double
        var rss_ratio: Double
    }

    @Test("two sizes on SQLite: creation, store size, broker start and memory, signing, paging, backup and restore")
    func smallRun() async throws {
        // A broker key cache of 5: most signatures load and unseal their key from the store.
        let run = try await CLIOverAnyHSMTests.redoubt(
            ["bench", "scale", "--keys", "10,30", "--samples", "100", "--touch", "30", "--key-cache", "5", "--json"], timeout: .seconds(300))
        #expect(run.status == 0, "\(run)")
        let report = try JSONDecoder().decode(Report.self, from: Data(run.stdout.utf8))
        #expect(report.results.map(\.keys) == [10, 30])
        for r in report.results {
            #expect(r.store == "sqlite")
            #expect(r.create_per_s > 0 && r.start_s > 0 && r.rss_mb > 0, "\(r)")
            #expect((r.bytes_per_key ?? 0) > 0, "\(r)")
            #expect(r.sign_p50_ms > 0 && r.sign_p99_ms >= r.sign_p50_ms, "\(r)")
            #expect(r.list_page_p50_ms > 0 && r.backup_s > 0 && r.backup_bytes > 0 && r.restore_s > 0, "\(r)")
        }
        #expect(report.sign_p99_ratio > 0 && report.rss_ratio > 0)
    }

    @Test(
        "sizes out of range or out of order are refused before anything runs",
        arguments: [
            (["--keys", "5"], "between 10 and 1000000"), (["--keys", "100,10"], "ascending"), (["--keys", "10,x"], "comma-separated"),
            (["--samples", "5"], "--samples must be between 100 and 100000"), (["--store", "mysql://x"], "--store"),
            (["--key-cache", "0"], "--key-cache must be between 1 and 10000000"),
        ])
    func refusesBadSizes(arguments: [String], message: String) async throws {
        let run = try await CLIOverAnyHSMTests.redoubt(["bench", "scale"] + arguments)
        #expect(run.status != 0)
        #expect(run.stderr.contains(message), "\(run)")
    }
}
