import RedoubtStore
import Testing

/// Runs the backend-independent suite against ``PostgresStore``, each store on
/// its own new database (dropped afterwards).
///
/// Runs when `REDOUBT_TEST_POSTGRES_URL` is set (`scripts/with-postgres` does);
/// with `REDOUBT_REQUIRE_POSTGRES=1` a missing URL fails instead of skipping.
@Suite("PostgresStore conformance")
struct PostgresStoreConformanceTests {
    @Test("PostgreSQL is configured when CI requires it")
    func requiredWhenDemanded() {
        if PostgresTestDatabases.isRequired {
            #expect(
                PostgresTestDatabases.isConfigured,
                "REDOUBT_REQUIRE_POSTGRES=1 but REDOUBT_TEST_POSTGRES_URL is not set: run under scripts/with-postgres")
        }
    }

    @Test(
        .enabled(if: PostgresTestDatabases.isConfigured, "set REDOUBT_TEST_POSTGRES_URL (scripts/with-postgres)"),
        arguments: ObjectStoreConformance.cases)
    func conformance(_ testCase: ObjectStoreConformance.Case) async throws {
        try await PostgresTestDatabases.with { databases in
            try await testCase.run(ObjectStoreConformance { try await databases.makeStore() })
        }
    }
}
