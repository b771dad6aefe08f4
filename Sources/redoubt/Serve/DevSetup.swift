import ArgumentParser
import Foundation
import Redoubt

/// The development partition and credentials of `redoubt serve --dev`, kept in
/// `DATA/dev-credentials.json` (mode 0600):
/// `{"endpoint", "partition", "api_key", "user", "security_officer_api_key", "operator_api_key"}`.
/// `endpoint` is empty until the broker listens.
struct DevSetup: Codable {
    var endpoint: String
    var partition: String
    var apiKey: String
    var user: String
    var securityOfficerAPIKey: String
    var operatorAPIKey: String
    /// Where the file lives (not stored).
    var path: String = ""

    enum CodingKeys: String, CodingKey {
        case endpoint, partition
        case apiKey = "api_key"
        case user
        case securityOfficerAPIKey = "security_officer_api_key"
        case operatorAPIKey = "operator_api_key"
    }

    static func file(_ directory: String) -> String { directory + "/dev-credentials.json" }

    /// Creates partition `dev`, its security officer and a crypto user `dev-app`.
    static func create(hsm: LocalHSM, operatorAPIKey: String, directory: String) async throws -> DevSetup {
        let op = try await hsm.openSession(partition: "", credential: .apiKey(operatorAPIKey))
        let partition = try await hsm.createPartition(op.token, id: "dev", settings: .defaults)
        try await hsm.closeSession(op.token)
        let so = try await hsm.openSession(partition: "dev", credential: .apiKey(partition.securityOfficerAPIKey))
        let user = try await hsm.addUser(so.token, name: "dev-app", role: .cryptoUser, password: nil)
        try await hsm.closeSession(so.token)
        var setup = DevSetup(
            endpoint: "", partition: "dev", apiKey: user.apiKey, user: user.user.name,
            securityOfficerAPIKey: partition.securityOfficerAPIKey, operatorAPIKey: operatorAPIKey)
        setup.path = file(directory)
        try setup.save()
        return setup
    }

    /// The credentials of an existing development store.
    static func load(directory: String) throws -> DevSetup {
        let path = file(directory)
        guard let data = FileManager.default.contents(atPath: path), var setup = try? JSONDecoder().decode(DevSetup.self, from: data) else {
            throw ValidationError("\(path) is missing or damaged; it holds the only copy of the dev API keys. Start over with a new --data directory.")
        }
        setup.path = path
        return setup
    }

    /// Records the endpoint the broker listens on.
    func writeCredentials(endpoint: String) throws {
        var copy = self
        copy.endpoint = endpoint
        try copy.save()
    }

    private func save() throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        let data = try encoder.encode(self)
        let tmp = path + ".tmp"
        guard FileManager.default.createFile(atPath: tmp, contents: data, attributes: [.posixPermissions: 0o600]) else {
            throw ValidationError("cannot write \(tmp)")
        }
        guard rename(tmp, path) == 0 else { throw ValidationError("cannot replace \(path)") }
    }
}
