import Foundation
import RedoubtBroker
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// `redoubt serve --store …`: its argument as a user gives it (a process), and dev brokers sharing
/// one PostgreSQL database (in-process, through ``RedoubtServer``).
@Suite("redoubt serve --store (process)")
struct ServeProcessPostgresTests {
    @Test("--store refuses anything but a postgres:// URL, without echoing it")
    func refusesOtherStores() async throws {
        let dir = try ServeProcessTests.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let child = try ServeProcessTests.Child([
            "serve", "--dev", "--data", dir.path, "--store", "mysql://root:hunter2@db/x", "--listen", "127.0.0.1:0",
        ])
        let out = await child.stop(0)
        #expect(out.status != 0)
        #expect(out.stderr.contains("postgres://"), "\(out.stderr)")
        #expect(!out.stderr.contains("hunter2") && !out.stdout.contains("hunter2"))
        #expect(!FileManager.default.fileExists(atPath: dir.appendingPathComponent("redoubt.sqlite").path))
    }

    @Test(
        "two dev brokers given one data directory share one PostgreSQL store; the password is never logged",
        .enabled(if: PostgresTestDatabases.isConfigured, "set REDOUBT_TEST_POSTGRES_URL (scripts/with-postgres)"))
    func twoDevBrokersShareOneDatabase() async throws {
        // In-process brokers (RedoubtServer): what is tested is the shared store, not the process.
        try await PostgresTestDatabases.with { databases in
            let url = try await databases.makeDatabase()
            let password = try #require(URLComponents(string: url)?.password)
            let dir = RedoubtServerTests.temporaryDirectory()
            defer { try? FileManager.default.removeItem(atPath: dir) }
            let configuration = RedoubtServerTests.development(dir, store: .postgres(url: url))
            let log = RedoubtServerTests.CapturedLog()

            try await withBroker(configuration: configuration, logger: log.logger()) { first in
                let creds = try #require(first.devCredentials)
                #expect(!FileManager.default.fileExists(atPath: dir + "/redoubt.sqlite"))
                try await withBroker(configuration: configuration, logger: log.logger()) { second in
                    let creds2 = try #require(second.devCredentials)
                    #expect(creds2.apiKey == creds.apiKey)
                    #expect(first.port != second.port)
                    #expect(try DevCredentials.load(directory: dir).endpoint == "\(second.endpoint)", "the later broker's endpoint is recorded")

                    // The dev user made by the first broker opens sessions on both.
                    for endpoint in [first.endpoint, second.endpoint] {
                        let role = try await withRemoteHSM(configuration: .init(endpoint: "\(endpoint)")) { hsm in
                            try await hsm.openSession(partition: "dev", credential: .apiKey(creds.apiKey)).role
                        }
                        #expect(role == .cryptoUser, "broker on \(endpoint)")
                    }
                }
            }
            #expect(log.text.contains("initialised a development store"), "\(log.text)")
            #expect(!log.text.contains(password), "the password must not be logged")
            #expect(!"\(StoreLocation.postgres(url: url))".contains(password))
        }
    }
}
