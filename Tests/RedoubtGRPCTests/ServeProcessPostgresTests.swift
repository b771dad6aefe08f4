import Foundation
import GRPCCore
import GRPCNIOTransportHTTP2
import RedoubtProto
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// `redoubt serve --store …` as a user runs it.
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
        "two dev brokers given one data directory share one PostgreSQL store; the password is never printed",
        .enabled(if: PostgresTestDatabases.isConfigured, "set REDOUBT_TEST_POSTGRES_URL (scripts/with-postgres)"))
    func twoDevBrokersShareOneDatabase() async throws {
        try await PostgresTestDatabases.with { databases in
            let url = try await databases.makeDatabase()
            let password = try #require(URLComponents(string: url)?.password)
            let dir = try ServeProcessTests.temporaryDirectory()
            defer { try? FileManager.default.removeItem(at: dir) }
            let arguments = ["serve", "--dev", "--data", dir.path, "--store", url, "--listen", "127.0.0.1:0"]
            let credentialsFile = dir.appendingPathComponent("dev-credentials.json").path

            let first = try ServeProcessTests.Child(arguments)
            let creds = try await ServeProcessTests.credentials(in: dir, child: first)
            #expect(!FileManager.default.fileExists(atPath: dir.appendingPathComponent("redoubt.sqlite").path))
            let firstPort = try ServeProcessTests.port(try #require(creds["endpoint"]))

            let before = try #require(FileManager.default.attributesOfItem(atPath: credentialsFile)[.modificationDate] as? Date)
            try await Task.sleep(for: .milliseconds(20))
            let second = try ServeProcessTests.Child(arguments)
            let creds2 = try await ServeProcessTests.credentials(in: dir, child: second, since: before)
            #expect(creds2["api_key"] == creds["api_key"])
            let secondPort = try ServeProcessTests.port(try #require(creds2["endpoint"]))
            #expect(firstPort != secondPort)

            // The dev user made by the first broker opens sessions on both.
            for port in [firstPort, secondPort] {
                let role = try await withGRPCClient(
                    transport: try HTTP2ClientTransport.Posix(
                        target: .ipv4(address: "127.0.0.1", port: port), transportSecurity: .plaintext)
                ) { client in
                    var request = Redoubt_V1_OpenSessionRequest()
                    request.partitionID = "dev"
                    return try await Redoubt_V1_SessionService.Client(wrapping: client)
                        .openSession(request, metadata: ["authorization": "Bearer \(creds["api_key"] ?? "")"]).role
                }
                #expect(role == .cryptoUser, "broker on port \(port)")
            }
            for out in [await first.stop(SIGTERM), await second.stop(SIGTERM)] {
                #expect(out.status == 0, "stderr: \(out.stderr)")
                #expect(!out.stdout.contains(password) && !out.stderr.contains(password), "the password must not be printed")
            }
        }
    }
}
