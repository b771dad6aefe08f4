import ArgumentParser
import Foundation
import Logging
import Redoubt
import RedoubtBroker
import RedoubtStore

/// Where the local store is and how to unseal it.
struct StoreOptions: ParsableArguments {
    @Option(
        name: .long,
        help: ArgumentHelp(
            "Data directory holding redoubt.sqlite, the dev key and dev credentials (or env REDOUBT_DATA; default ./redoubt-data).",
            valueName: "dir"))
    var data: String?

    @Option(
        name: .customLong("store"),
        help: ArgumentHelp(
            "Keep the store in PostgreSQL instead of DATA/redoubt.sqlite: postgres://user:password@host:port/db?sslmode=disable|require|verify-full (or env REDOUBT_STORE, which keeps the password out of ps).",
            valueName: "url"))
    var storeURL: String?

    @Option(name: .long, help: ArgumentHelp("File holding the unseal passphrase (or env REDOUBT_PASSPHRASE).", valueName: "file"))
    var passphraseFile: String?

    @Option(name: .long, help: ArgumentHelp("File with key-ceremony shares, one per line, to unseal with.", valueName: "file"))
    var sharesFile: String?

    @Flag(name: .long, help: "Development mode: unseal with DATA/dev-unseal.key. Never for production.")
    var dev = false

    var directory: String {
        data ?? ProcessInfo.processInfo.environment["REDOUBT_DATA"] ?? "redoubt-data"
    }

    var devKeyPath: String { directory + "/dev-unseal.key" }

    /// The store selected by --store / REDOUBT_STORE, else the SQLite file in the data directory.
    func location() throws -> StoreLocation {
        do {
            return try StoreLocation(argument: storeURL ?? ProcessInfo.processInfo.environment["REDOUBT_STORE"], directory: directory)
        } catch {
            throw ValidationError(error.message)
        }
    }

    /// Refuses a store that does not exist yet (a missing SQLite file), pointing at `redoubt init`.
    func requireExisting(_ location: StoreLocation) throws {
        guard location.mayExist else { throw ValidationError("no store at \(location): run `redoubt init --data \(directory)` first") }
    }

    /// Opens the store; with `create`, makes the data directory first (it holds dev keys and backups either way).
    func openStore(create: Bool = false) async throws -> any ObjectStore {
        let location = try location()
        if create {
            try FileManager.default.createDirectory(
                atPath: directory, withIntermediateDirectories: true,
                attributes: [.posixPermissions: 0o700])
        } else {
            try requireExisting(location)
        }
        return try await location.open()
    }

    func passphrase() throws -> String? {
        if let file = passphraseFile {
            guard let text = try? String(contentsOfFile: file, encoding: .utf8) else {
                throw ValidationError("cannot read the passphrase file \(file)")
            }
            return text.trimmingCharacters(in: .newlines)
        }
        return ProcessInfo.processInfo.environment["REDOUBT_PASSPHRASE"]
    }

    func unsealMethod() throws -> UnsealMethod {
        if dev { return .devKeyFile(devKeyPath) }
        if let file = sharesFile {
            guard let text = try? String(contentsOfFile: file, encoding: .utf8) else {
                throw ValidationError("cannot read the shares file \(file)")
            }
            return .shares(text.split(whereSeparator: \.isNewline).map(String.init).filter { !$0.isEmpty })
        }
        if let p = try passphrase() { return .passphrase(p) }
        if FileManager.default.fileExists(atPath: devKeyPath) {
            throw ValidationError("this store was initialised in dev mode: pass --dev (or a passphrase/shares)")
        }
        throw ValidationError("to unseal, give --passphrase-file, REDOUBT_PASSPHRASE, --shares-file, or --dev")
    }

    func openHSM() async throws -> (LocalHSM, any ObjectStore) {
        let store = try await openStore()
        var logger = Logger(label: "redoubt")
        logger.logLevel = .warning
        do {
            return (try await LocalHSM.open(store: store, unseal: try unsealMethod(), logger: logger), store)
        } catch {
            try? await store.close()
            throw error
        }
    }
}

/// Which credential opens the session, on which partition.
struct SessionOptions: ParsableArguments {
    @Option(name: .long, help: ArgumentHelp("API key that opens the session (or env REDOUBT_API_KEY).", valueName: "key"))
    var apiKey: String?

    @Option(
        name: .long,
        help: ArgumentHelp("File holding a JWT from a token issuer the partition trusts, `-` for stdin (or env REDOUBT_JWT).", valueName: "file"))
    var jwtFile: String?

    @Option(name: .long, help: ArgumentHelp("Partition to work in (or env REDOUBT_PARTITION); omit for the operator.", valueName: "id"))
    var partition: String?

    /// Opens a session with the API key, else the JWT; without either, with the client
    /// certificate of a mutual-TLS connection when `clientCertificate` says there is one.
    func open(_ hsm: any HSM, clientCertificate: Bool = false) async throws -> SessionInfo {
        let partition = self.partition ?? ProcessInfo.processInfo.environment["REDOUBT_PARTITION"] ?? ""
        if apiKey == nil, let token = try jwt() {
            return try await hsm.openSession(partition: partition, credential: .jwt(token))
        }
        guard let key = apiKey ?? ProcessInfo.processInfo.environment["REDOUBT_API_KEY"] else {
            // The broker takes the certificate of the connection; the fingerprint here is not used.
            if clientCertificate { return try await hsm.openSession(partition: partition, credential: .clientCertificate(sha256: Data())) }
            throw ValidationError("give --api-key or set REDOUBT_API_KEY")
        }
        return try await hsm.openSession(partition: partition, credential: .apiKey(key))
    }

    /// The JWT of --jwt-file (`-`: stdin) or REDOUBT_JWT, whitespace trimmed.
    private func jwt() throws -> String? {
        var text: String?
        if let jwtFile {
            if jwtFile == "-" {
                text = String(decoding: FileHandle.standardInput.readDataToEndOfFile(), as: UTF8.self)
            } else {
                guard let contents = try? String(contentsOfFile: jwtFile, encoding: .utf8) else { throw ValidationError("cannot read \(jwtFile)") }
                text = contents
            }
        } else {
            text = ProcessInfo.processInfo.environment["REDOUBT_JWT"]
        }
        return text.map { $0.trimmingCharacters(in: .whitespacesAndNewlines) }.flatMap { $0.isEmpty ? nil : $0 }
    }
}

/// Runs a body with the unsealed local HSM and an open session, closing both afterwards: for
/// the commands that only ever work on the local store (`debug`). Everything else goes
/// through ``HSMCommand`` and works on a broker too.
func withLocalSession<T>(
    _ store: StoreOptions, _ session: SessionOptions,
    _ body: (LocalHSM, SessionToken) async throws -> T
) async throws -> T {
    let (hsm, objectStore) = try await store.openHSM()
    do {
        let s = try await session.open(hsm)
        let result = try await body(hsm, s.token)
        try? await hsm.closeSession(s.token)
        try await hsm.close()
        try await objectStore.close()
        return result
    } catch {
        try? await hsm.close()
        try? await objectStore.close()
        throw error
    }
}

/// Reads an input file, or standard input for "-".
func readInput(_ path: String) throws -> Data {
    if path == "-" { return FileHandle.standardInput.readDataToEndOfFile() }
    guard let data = FileManager.default.contents(atPath: path) else { throw ValidationError("cannot read \(path)") }
    return data
}

/// Writes an output file, or standard output for "-".
func writeOutput(_ data: Data, _ path: String) throws {
    if path == "-" {
        try FileHandle.standardOutput.write(contentsOf: data)
    } else {
        guard FileManager.default.createFile(atPath: path, contents: data, attributes: [.posixPermissions: 0o600]) else {
            throw ValidationError("cannot write \(path)")
        }
    }
}

extension KeyAlgorithm: ExpressibleByArgument {
    public init?(argument: String) { self.init(rawValue: argument.uppercased()) }
    public static var allValueStrings: [String] { allCases.map(\.rawValue) }
}

extension Role: ExpressibleByArgument {
    public init?(argument: String) {
        self.init(rawValue: argument.uppercased().replacingOccurrences(of: "-", with: "_"))
    }
    public static var allValueStrings: [String] { allCases.map { $0.rawValue.lowercased().replacingOccurrences(of: "_", with: "-") } }
}

extension KeyUseAudit: ExpressibleByArgument {}
