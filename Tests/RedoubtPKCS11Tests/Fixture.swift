import Foundation
import Redoubt
import RedoubtStore

#if canImport(Glibc)
import Glibc
#endif

/// A temporary directory with an initialised embedded HSM (dev key file), partition `p11`, a
/// crypto user (API key), a crypto user with a password, and a module configuration (mode 0600)
/// with one slot `p11` over that store. The test's own LocalHSM is closed before the module
/// opens the store with its own.
struct Fixture {
    let dir: String
    let configPath: String
    let userAPIKey: String
    let officerAPIKey: String

    static let passwordUser = "pwuser"
    static let password = "correct horse battery"

    var storePath: String { dir + "/r.sqlite" }
    var devKeyPath: String { dir + "/dev.key" }

    static func make(settings: PartitionSettings = .defaults) async throws -> Fixture {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("redoubt-p11-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        let store = try SQLiteStore(path: dir + "/r.sqlite")
        var configuration = LocalHSM.Configuration.defaults
        configuration.passwordCostLog2 = 10
        let made = try await LocalHSM.initialize(store: store, passphrase: nil, devKeyFile: dir + "/dev.key", configuration: configuration)
        let hsm = made.hsm
        let op = try await hsm.openSession(partition: "", credential: .apiKey(made.operatorAPIKey))
        let partition = try await hsm.createPartition(op.token, id: "p11", settings: settings)
        let so = try await hsm.openSession(partition: "p11", credential: .apiKey(partition.securityOfficerAPIKey))
        let user = try await hsm.addUser(so.token, name: "signer", role: .cryptoUser, password: nil)
        _ = try await hsm.addUser(so.token, name: passwordUser, role: .cryptoUser, password: password)
        try await hsm.closeSession(so.token)
        try await hsm.closeSession(op.token)
        try await hsm.close()
        try await store.close()
        var fixture = Fixture(dir: dir, configPath: "", userAPIKey: user.apiKey, officerAPIKey: partition.securityOfficerAPIKey)
        let config = try fixture.writeConfig(fixture.configuration(), name: "pkcs11.json")
        fixture = Fixture(dir: dir, configPath: config, userAPIKey: user.apiKey, officerAPIKey: partition.securityOfficerAPIKey)
        return fixture
    }

    /// The configuration text: slot `p11` over this store, then any `extraLabels` (the same partition).
    func configuration(extraLabels: [String] = []) throws -> String {
        let slots: [[String: Any]] = (["p11"] + extraLabels).map { label in
            ["label": label, "partition": "p11", "backend": ["embedded": ["store": storePath, "devKeyFile": devKeyPath]]]
        }
        let data = try JSONSerialization.data(withJSONObject: ["slots": slots], options: [.sortedKeys])
        return String(decoding: data, as: UTF8.self)
    }

    /// Writes `text` to `name` in the directory with exactly `mode`; returns its path.
    @discardableResult
    func writeConfig(_ text: String, name: String, mode: mode_t = 0o600) throws -> String {
        let path = dir + "/" + name
        try? FileManager.default.removeItem(atPath: path)
        guard FileManager.default.createFile(atPath: path, contents: Data(text.utf8)) else { throw HarnessFailure("cannot write \(path)") }
        guard chmod(path, mode) == 0 else { throw HarnessFailure("chmod \(path) failed") }
        return path
    }

    /// Runs `body` with a second LocalHSM on the same store file and a crypto user's session,
    /// then closes both.
    func withSecondHSM<R: Sendable>(_ body: (LocalHSM, SessionToken) async throws -> R) async throws -> R {
        let store = try SQLiteStore(path: storePath)
        let hsm = try await LocalHSM.open(store: store, unseal: .devKeyFile(devKeyPath))
        let session = try await hsm.openSession(partition: "p11", credential: .apiKey(userAPIKey))
        let result: R
        do {
            result = try await body(hsm, session.token)
        } catch {
            try? await hsm.closeSession(session.token)
            try? await hsm.close()
            try? await store.close()
            throw error
        }
        try await hsm.closeSession(session.token)
        try await hsm.close()
        try await store.close()
        return result
    }

    func remove() { try? FileManager.default.removeItem(atPath: dir) }
}
