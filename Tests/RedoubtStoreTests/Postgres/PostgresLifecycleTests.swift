import Foundation
import Logging
@testable import RedoubtStore
import ServiceLifecycle
import Testing

/// PostgresStore as a swift-service-lifecycle `Service`: init connects nothing, run() serves,
/// a graceful shutdown ends it after the operations in flight.
@Suite(
    "PostgresStore lifecycle",
    .enabled(if: PostgresTestDatabases.isConfigured, "set REDOUBT_TEST_POSTGRES_URL (scripts/with-postgres)"))
struct PostgresLifecycleTests {
    @Test("init connects nothing; a call on a store nobody runs fails UNAVAILABLE saying so")
    func initStartsNothing() async throws {
        // Port 1: nothing listens there; init must not try.
        let options = PostgresStore.Options(connectTimeout: .milliseconds(200))
        let idle = try PostgresStore(url: "postgres://u:p@127.0.0.1:1/x", options: options)
        let refused = await expectStoreError(.unavailable) { try await idle.count(partition: "p", kind: "k") }
        #expect(refused?.message.contains("not running") == true, "\(String(describing: refused))")
        try await idle.close()
        _ = await expectStoreError(.invalidArgument) { try PostgresStore(url: "mysql://nope", options: options) }
    }

    @Test("in a service group: calls made before it is ready wait for it; graceful shutdown lets a commit finish, then ends run()")
    func serviceGroup() async throws {
        try await PostgresTestDatabases.with { databases in
            let url = try await databases.makeDatabase()
            let store = try PostgresStore(url: url)
            let group = ServiceGroup(
                configuration: .init(services: [.init(service: store)], logger: Logger(label: "test.postgres.lifecycle")))
            // Asked before the group runs: it waits for the migrations, then answers.
            let early = Task { try await store.count(partition: "p", kind: "key") }
            let running = Task { try await group.run() }
            #expect(try await early.value == 0)
            try await store.commit([.insert(key("k1"), label: nil, data: bytes("x"))])
            #expect(try await store.changeCounter() >= 1)

            await group.triggerGracefulShutdown()
            try await running.value
            _ = await expectStoreError(.unavailable) { try await store.count(partition: "p", kind: "key") }
            _ = await expectStoreError(.invalidArgument) { try await store.run() }
            try await store.close()

            // What it committed is there for the next store.
            let reopened = try await PostgresStore.connect(url: url)
            #expect(try await reopened.count(partition: "p", kind: "key") == 1)
            try await reopened.close()
        }
    }
}
