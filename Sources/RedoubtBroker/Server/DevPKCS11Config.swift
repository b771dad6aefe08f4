import Foundation

/// The PKCS #11 module configuration of a broker in development mode (`redoubt serve --dev`),
/// kept in `DIRECTORY/pkcs11.json` (mode 0600) beside ``DevCredentials``:
///
/// ```json
/// { "slots": [ { "label": "dev", "partition": "dev", "backend": { "endpoint": "127.0.0.1:8443" } } ] }
/// ```
///
/// It is written once the broker listens, with the same endpoint as `dev-credentials.json`.
/// Point `libredoubt-pkcs11.so` at it with `REDOUBT_PKCS11_CONFIG=DIRECTORY/pkcs11.json` and log
/// in to slot `dev` with the crypto user's API key (``DevCredentials/apiKey``) as the PIN.
struct DevPKCS11Config: Sendable, Hashable, Codable {
    /// One slot of the module: a token over one partition of one backend.
    struct Slot: Sendable, Hashable, Codable {
        /// Where the slot's calls go.
        struct Backend: Sendable, Hashable, Codable {
            /// The broker (`HOST:PORT`).
            var endpoint: String
        }

        /// The token label, `dev`.
        var label: String
        /// The partition, `dev`.
        var partition: String
        /// The broker it talks to.
        var backend: Backend
    }

    /// The module's slots: the development partition alone.
    var slots: [Slot]

    /// The file's name in the data directory.
    static let fileName = "pkcs11.json"

    /// The configuration of the development partition `partition` served at `endpoint`.
    init(endpoint: String, partition: String) {
        slots = [Slot(label: partition, partition: partition, backend: .init(endpoint: endpoint))]
    }

    /// Writes the file into `directory` (mode 0600) under a temporary name, then renames it
    /// into place.
    ///
    /// - Throws: ``BrokerConfigurationError`` when it cannot be written.
    func save(directory: String) throws(BrokerConfigurationError) {
        try writePrivateJSON(self, to: directory + "/" + Self.fileName)
    }
}
