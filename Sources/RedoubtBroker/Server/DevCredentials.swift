import Foundation
import Redoubt

/// The development partition and credentials of a broker in development mode
/// (``RedoubtServer/Backend/development(directory:store:)``, `redoubt serve --dev`), kept in
/// `DIRECTORY/dev-credentials.json` (mode 0600):
///
/// ```json
/// { "endpoint": "127.0.0.1:8443", "http_endpoint": "http://127.0.0.1:8444", "partition": "dev", "api_key": "rdk1.…", "user": "dev-app",
///   "security_officer_api_key": "rdk1.…", "operator_api_key": "rdk1.…" }
/// ```
///
/// `endpoint` is empty until the broker listens. These are the only copies of the API keys.
/// Once the broker listens, `DIRECTORY/pkcs11.json` (mode 0600) beside it is a ready-to-use
/// configuration of the PKCS #11 module for the same endpoint and partition; log in with
/// ``apiKey`` as the PIN.
public struct DevCredentials: Sendable, Hashable, Codable {
    /// Where the broker listens (`HOST:PORT`); empty until it does.
    public var endpoint: String
    /// The base URL of the HTTP/JSON API (`http://127.0.0.1:8444`), when the broker serves it;
    /// `nil` until it listens.
    public var httpEndpoint: String?
    /// The development partition, `dev`.
    public var partition: String
    /// The API key of the crypto user ``user``.
    public var apiKey: String
    /// The crypto user, `dev-app`.
    public var user: String
    /// The API key of the partition's security officer.
    public var securityOfficerAPIKey: String
    /// The API key of the operator.
    public var operatorAPIKey: String
    /// Where the file is (not stored in it).
    public var path: String = ""

    /// The file's name in the data directory.
    public static let fileName = "dev-credentials.json"

    enum CodingKeys: String, CodingKey {
        case endpoint, partition
        case httpEndpoint = "http_endpoint"
        case apiKey = "api_key"
        case user
        case securityOfficerAPIKey = "security_officer_api_key"
        case operatorAPIKey = "operator_api_key"
    }

    /// The credentials file of the data directory `directory`.
    public static func file(in directory: String) -> String { directory + "/" + fileName }

    /// Reads the credentials of an existing development store.
    ///
    /// - Throws: ``BrokerConfigurationError`` when the file is missing or damaged.
    public static func load(directory: String) throws(BrokerConfigurationError) -> DevCredentials {
        let path = file(in: directory)
        guard let data = FileManager.default.contents(atPath: path), var credentials = try? JSONDecoder().decode(DevCredentials.self, from: data)
        else {
            throw BrokerConfigurationError(
                "\(path) is missing or damaged; it holds the only copy of the dev API keys. Start over with a new --data directory.")
        }
        credentials.path = path
        return credentials
    }

    /// Creates partition `dev`, its security officer and a crypto user `dev-app`, and writes
    /// the file (without an endpoint).
    static func create(hsm: LocalHSM, operatorAPIKey: String, directory: String) async throws -> DevCredentials {
        let op = try await hsm.openSession(partition: "", credential: .apiKey(operatorAPIKey))
        let partition = try await hsm.createPartition(op.token, id: "dev", settings: .defaults)
        try await hsm.closeSession(op.token)
        let so = try await hsm.openSession(partition: "dev", credential: .apiKey(partition.securityOfficerAPIKey))
        let user = try await hsm.addUser(so.token, name: "dev-app", role: .cryptoUser, password: nil)
        try await hsm.closeSession(so.token)
        var credentials = DevCredentials(
            endpoint: "", partition: "dev", apiKey: user.apiKey, user: user.user.name,
            securityOfficerAPIKey: partition.securityOfficerAPIKey, operatorAPIKey: operatorAPIKey)
        credentials.path = file(in: directory)
        try credentials.save()
        return credentials
    }

    /// Writes the file with `endpoint` (and `httpEndpoint`, a base URL) recorded, and, when there is an endpoint, first the PKCS #11
    /// module configuration for it beside it (``DevPKCS11Config``, `pkcs11.json`); returns what
    /// it wrote.
    @discardableResult
    func writing(endpoint: String, httpEndpoint: String? = nil) throws(BrokerConfigurationError) -> DevCredentials {
        var copy = self
        copy.endpoint = endpoint
        copy.httpEndpoint = httpEndpoint
        // The module configuration first: whoever finds the endpoint in dev-credentials.json
        // finds pkcs11.json too.
        if !endpoint.isEmpty {
            let directory = (path as NSString).deletingLastPathComponent
            try DevPKCS11Config(endpoint: endpoint, partition: partition).save(directory: directory.isEmpty ? "." : directory)
        }
        try copy.save()
        return copy
    }

    /// Writes the file (mode 0600) under a temporary name, then renames it into place.
    private func save() throws(BrokerConfigurationError) {
        try writePrivateJSON(self, to: path)
    }
}

/// Writes `value` as JSON to `path` (mode 0600) under a temporary name, then renames it into place.
func writePrivateJSON(_ value: some Encodable, to path: String) throws(BrokerConfigurationError) {
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
    let tmp = path + ".tmp"
    guard let data = try? encoder.encode(value),
        FileManager.default.createFile(atPath: tmp, contents: data, attributes: [.posixPermissions: 0o600])
    else {
        throw BrokerConfigurationError("cannot write \(tmp)")
    }
    guard rename(tmp, path) == 0 else { throw BrokerConfigurationError("cannot replace \(path)") }
}
