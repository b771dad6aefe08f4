import Foundation
import Redoubt
@testable import RedoubtTesting
import RedoubtStore
import Synchronization
import Testing

/// Builds ``LocalHSM``s for the behaviour suite and the LocalHSM-specific tests.
enum LocalHSMSupport {
    static let passphrase = "behaviour suite passphrase"

    /// Test tunables: cheap password hashing, and the given clock if any.
    static func configuration(clock: TestClock? = nil, _ change: (inout LocalHSM.Configuration) -> Void = { _ in }) -> LocalHSM.Configuration {
        var configuration = LocalHSM.Configuration.defaults
        configuration.passwordCostLog2 = 10
        configuration.passphraseScrypt = ScryptParameters(n: 1 << 10)
        if let clock {
            configuration.clock = { clock.now }
        }
        change(&configuration)
        return configuration
    }

    /// A new LocalHSM over `store` (a new temporary one by default), which its shutdown closes.
    static func environment(
        _ configuration: LocalHSM.Configuration = configuration(), store: (any ObjectStore)? = nil
    ) async throws -> HSMBehaviour.Environment {
        let store = try store ?? SQLiteStore.temporary()
        do {
            let created = try await LocalHSM.initialize(store: store, passphrase: passphrase, configuration: configuration)
            return HSMBehaviour.Environment(hsm: created.hsm, operatorAPIKey: created.operatorAPIKey) {
                try await created.hsm.close()
                try await store.close()
            }
        } catch {
            try? await store.close()
            throw error
        }
    }

    /// Runs `body` with a fixture over a LocalHSM built with `configuration` (over `store`, if
    /// given), shutting it down afterwards.
    static func withFixture(
        _ configuration: LocalHSM.Configuration, store: (any ObjectStore)? = nil,
        _ body: (HSMFixture, LocalHSM) async throws -> Void
    ) async throws {
        let environment = try await environment(configuration, store: store)
        do {
            let hsm = try #require(environment.hsm as? LocalHSM)
            let fixture = try await HSMFixture.make(hsm, operatorAPIKey: environment.operatorAPIKey)
            try await body(fixture, hsm)
            try await environment.shutdown()
        } catch {
            try? await environment.shutdown()
            throw error
        }
    }
}

/// A store file in a temporary directory that outlives one `SQLiteStore`, for restarts and for
/// several nodes sharing one store.
final class StoreDirectory: Sendable {
    let url: URL
    var path: String { url.appendingPathComponent("store.sqlite").path }

    init() throws {
        url = FileManager.default.temporaryDirectory.appendingPathComponent("redoubt-behaviour-\(UUID().uuidString)", isDirectory: true)
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    }

    func open() throws -> SQLiteStore {
        try SQLiteStore(path: path)
    }

    func remove() {
        try? FileManager.default.removeItem(at: url)
    }
}
