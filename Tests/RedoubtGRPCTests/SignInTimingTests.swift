import Foundation
import Testing

/// Whether a refused sign-in's time tells which names exist, measured the way `redoubt bench signin`
/// reports it (medians side by side, ratios against a wrong secret for a known credential), not
/// by a timed unit test. Runs with the quiet suites (scripts/test), on the default scrypt cost.
@Suite("Sign-in timing (benchmark)", .serialized)
struct SignInTimingTests {
    struct Report: Decodable {
        struct Row: Decodable {
            var credential: String
            var kind: String
            var median_ms: Double
            var ratio: Double
        }
        var results: [Row]
    }

    @Test("an unknown name, an unknown partition and a lock take as long as a wrong secret (medians within a factor of 1.6)")
    func refusalsTakeAlike() async throws {
        let run = try await CLIOverAnyHSMTests.redoubt(["bench", "signin", "--attempts", "9", "--json"], timeout: .seconds(300))
        #expect(run.status == 0, "\(run)")
        let report = try JSONDecoder().decode(Report.self, from: Data(run.stdout.utf8))
        #expect(report.results.count == 8)
        for row in report.results {
            #expect((1 / 1.6...1.6).contains(row.ratio), "\(row.credential), \(row.kind): \(row.median_ms) ms, \(row.ratio)× a wrong secret\n\(run.stdout)")
        }
        // The floor holds every API-key refusal to at least 20 ms.
        #expect(report.results.filter { $0.credential == "api key" }.allSatisfy { $0.median_ms >= 19.5 }, "\(run.stdout)")
    }
}
