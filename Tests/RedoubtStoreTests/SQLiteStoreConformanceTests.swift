import RedoubtStore
import Testing

/// Runs the backend-independent suite against ``SQLiteStore``.
@Suite("SQLiteStore conformance")
struct SQLiteStoreConformanceTests {
    @Test(arguments: ObjectStoreConformance.cases)
    func conformance(_ testCase: ObjectStoreConformance.Case) async throws {
        try await testCase.run(ObjectStoreConformance { try SQLiteStore.temporary() })
    }

    @Test("with one batch per transaction, the suite's concurrency cases still hold")
    func withoutGrouping() async throws {
        let suite = ObjectStoreConformance {
            try SQLiteStore.temporary(options: SQLiteStore.Options(maxBatchesPerTransaction: 1))
        }
        try await suite.concurrentCommits()
        try await suite.failedBatchRollsBack()
    }
}
