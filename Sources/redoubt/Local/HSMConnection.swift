import ArgumentParser
import Foundation
import Redoubt
import RedoubtClient

/// Which broker to use instead of a local store, and how to secure the connection to it.
struct ConnectionOptions: ParsableArguments {
    @Option(
        name: .long,
        help: ArgumentHelp(
            "Use the broker at HOST:PORT instead of a local store (or env REDOUBT_ENDPOINT). Plaintext only to a loopback address; otherwise give a --tls-* option.",
            valueName: "host:port"))
    var endpoint: String?

    @Flag(
        name: .customLong("tls"),
        help: "Use TLS and check the broker's certificate against the system trust store (implied by --tls-ca, --tls-cert and --tls-server-name).")
    var tls = false

    @Option(
        name: .customLong("tls-ca"),
        help: ArgumentHelp(
            "CA certificates (PEM) the broker's certificate must chain to; turns on TLS (or env REDOUBT_TLS_CA).", valueName: "file"))
    var tlsCA: String?

    @Option(
        name: .customLong("tls-cert"),
        help: ArgumentHelp(
            "Client certificate chain (PEM) for mutual TLS, with --tls-key (or env REDOUBT_TLS_CERT). Without an API key it also opens the session, as the user registered with it.",
            valueName: "file"))
    var tlsCert: String?

    @Option(
        name: .customLong("tls-key"),
        help: ArgumentHelp(
            "Private key (PEM) of --tls-cert (or env REDOUBT_TLS_KEY).", valueName: "file"))
    var tlsKey: String?

    @Option(
        name: .customLong("tls-server-name"),
        help: ArgumentHelp(
            "Name to check the broker's certificate against when it differs from the endpoint's host (e.g. when connecting by IP address).",
            valueName: "name"))
    var tlsServerName: String?

    @Option(
        name: .customLong("call-timeout"),
        help: ArgumentHelp(
            "Seconds each call to the broker may take (default 30).", valueName: "seconds"))
    var callTimeout: Double?

    private static var environment: [String: String] { ProcessInfo.processInfo.environment }

    /// The `--tls-*` options given on the command line, for messages.
    var tlsFlagsGiven: [String] {
        [
            (tls, "--tls"), (tlsCA != nil, "--tls-ca"), (tlsCert != nil, "--tls-cert"), (tlsKey != nil, "--tls-key"),
            (tlsServerName != nil, "--tls-server-name"), (callTimeout != nil, "--call-timeout"),
        ]
        .filter(\.0).map(\.1)
    }

    /// The broker to use: `--endpoint`, else REDOUBT_ENDPOINT unless a local store was named on
    /// the command line (flags beat environment variables); `nil`: the local store.
    func endpoint(localStoreNamed: Bool) -> String? {
        if let endpoint { return endpoint }
        if localStoreNamed { return nil }
        guard let value = Self.environment["REDOUBT_ENDPOINT"], !value.isEmpty else { return nil }
        return value
    }

    var caFile: String? { tlsCA ?? Self.environment["REDOUBT_TLS_CA"].flatMap { $0.isEmpty ? nil : $0 } }
    var certFile: String? { tlsCert ?? Self.environment["REDOUBT_TLS_CERT"].flatMap { $0.isEmpty ? nil : $0 } }
    var keyFile: String? { tlsKey ?? Self.environment["REDOUBT_TLS_KEY"].flatMap { $0.isEmpty ? nil : $0 } }

    /// Whether the connection presents a client certificate (mutual TLS).
    var hasClientIdentity: Bool { certFile != nil }

    /// The client settings for `endpoint`.
    func configuration(endpoint: String) throws -> RemoteHSMConfiguration {
        switch (certFile, keyFile) {
        case (nil, nil), (.some, .some): break
        case (.some, nil): throw CommandError("--tls-cert (or REDOUBT_TLS_CERT) needs --tls-key (the certificate's private key)")
        case (nil, .some): throw CommandError("--tls-key (or REDOUBT_TLS_KEY) needs --tls-cert (the client certificate)")
        }
        var tlsSettings: RemoteHSMConfiguration.TLS?
        if tls || caFile != nil || certFile != nil || tlsServerName != nil {
            tlsSettings = RemoteHSMConfiguration.TLS(
                trustRoots: caFile.map { .file($0) },
                clientIdentity: certFile.flatMap { cert in keyFile.map { .init(certificateChain: .file(cert), privateKey: .file($0)) } },
                serverHostname: tlsServerName)
        }
        var timeout = Duration.seconds(30)
        if let callTimeout {
            guard callTimeout > 0, callTimeout <= 86400 else { throw CommandError("--call-timeout takes more than 0 and at most 86400 seconds") }
            timeout = .milliseconds(Int64((callTimeout * 1000).rounded(.up)))
        }
        return RemoteHSMConfiguration(endpoint: endpoint, tls: tlsSettings, callTimeout: timeout)
    }
}

/// An HSM the options selected, open, and how to close it.
struct OpenedHSM {
    /// The HSM: a ``LocalHSM`` over the store, or a ``RemoteHSM`` of a broker.
    var hsm: any HSM
    /// The broker's endpoint, or `nil` for the local store.
    var endpoint: String?
    /// Closes the HSM (and the store, or the connection).
    var close: () async throws -> Void
}

/// Everything that selects an HSM and opens a session on it: the broker (`--endpoint …`) or
/// the local store (`--data …`), and the credential. Every command that works on keys, users,
/// partitions, the audit log or approvals takes these, through ``HSMCommand``.
struct HSMOptions: ParsableArguments {
    @OptionGroup(title: "Broker options")
    var connection: ConnectionOptions

    @OptionGroup(title: "Local store options")
    var store: StoreOptions

    @OptionGroup(title: "Session options")
    var session: SessionOptions

    /// The local-store flags given on the command line, for messages.
    private var localFlagsGiven: [String] {
        [
            (store.data != nil, "--data"), (store.storeURL != nil, "--store"), (store.passphraseFile != nil, "--passphrase-file"),
            (store.sharesFile != nil, "--shares-file"), (store.dev, "--dev"),
        ]
        .filter(\.0).map(\.1)
    }

    /// The broker to use, or `nil` for the local store.
    var endpoint: String? { connection.endpoint(localStoreNamed: !localFlagsGiven.isEmpty) }

    func validate() throws {
        if connection.endpoint != nil, let flag = localFlagsGiven.first {
            throw ValidationError("--endpoint uses a broker and \(flag) a local store: give one or the other")
        }
        if endpoint != nil, (connection.certFile == nil) != (connection.keyFile == nil) {
            throw ValidationError(
                connection.certFile == nil
                    ? "--tls-key needs --tls-cert (the client certificate)"
                    : "--tls-cert needs --tls-key (the certificate's private key)")
        }
        if let timeout = connection.callTimeout, !(timeout > 0 && timeout <= 86400) {
            throw ValidationError("--call-timeout takes more than 0 and at most 86400 seconds")
        }
        if endpoint == nil, let flag = connection.tlsFlagsGiven.first {
            throw ValidationError("\(flag) applies to a broker: give --endpoint HOST:PORT (or set REDOUBT_ENDPOINT)")
        }
    }

    /// Opens the HSM the options select: the broker's ``RemoteHSM`` when an endpoint is given,
    /// else the ``LocalHSM`` of the store, unsealed.
    func open() async throws -> OpenedHSM {
        guard let endpoint else {
            let (hsm, objectStore) = try await store.openHSM()
            return OpenedHSM(hsm: hsm, endpoint: nil) {
                do { try await hsm.close() } catch {
                    try? await objectStore.close()
                    throw error
                }
                try await objectStore.close()
            }
        }
        let remote: RemoteHSM
        do {
            remote = try RemoteHSM(configuration: try connection.configuration(endpoint: endpoint)).start()
        } catch let error as HSMError where error.message.contains("without TLS") {
            throw CommandError(
                "refusing to talk to \(endpoint) in plaintext: only a loopback address may go without TLS; give --tls-ca FILE (or --tls for the system trust store)"
            )
        }
        return OpenedHSM(hsm: remote, endpoint: endpoint) { await remote.close() }
    }

    /// Runs `body` with the selected HSM and a session opened with the options' credential,
    /// then closes the session and the HSM (on failure too).
    func withSession<T>(_ body: (any HSM, SessionToken) async throws -> T) async throws -> T {
        let opened = try await open()
        let result: T
        do {
            let info = try await session.open(opened.hsm, clientCertificate: connection.hasClientIdentity && endpoint != nil)
            do {
                result = try await body(opened.hsm, info.token)
            } catch {
                try? await opened.hsm.closeSession(info.token)
                throw error
            }
            try? await opened.hsm.closeSession(info.token)
        } catch {
            try? await opened.close()
            throw error
        }
        try await opened.close()
        return result
    }
}

/// A command that works on any HSM — the local store or a broker — in one session.
///
/// A conforming command declares `@OptionGroup var options: HSMOptions` and implements
/// ``run(hsm:session:)``; opening the HSM and the session, and closing both, happen once, here.
protocol HSMCommand: AsyncParsableCommand {
    /// Where the HSM is and which credential opens the session.
    var options: HSMOptions { get }
    /// The command's work, in an open session.
    func run(hsm: any HSM, session: SessionToken) async throws
}

extension HSMCommand {
    func run() async throws {
        do {
            try await options.withSession { hsm, session in try await run(hsm: hsm, session: session) }
        } catch let error as HSMError {
            guard let request = error.pendingRequest else { throw error }
            // Submitted for approval rather than failed: say what happens next, exit 3.
            FileHandle.standardError.write(
                Data(
                    """
                    key \(request.keyID) is governed by an approval policy: submitted request \(request.id) (\(request.status.rawValue)).
                    approvers: redoubt requests challenge \(request.id) | redoubt approve --key-file KEY.pem --challenge - | redoubt requests approve \(request.id) --approver NAME --signature -
                    then: redoubt requests result \(request.id) --out FILE

                    """.utf8))
            print(request.id)
            throw ExitCode(3)
        }
    }
}

/// The examples paragraph of a command's help: each example on its own line, indented; an
/// example too long for one line breaks after ` \\` with its next lines indented further.
func examples(_ lines: String...) -> String {
    "Examples:\n" + lines.map { "  " + $0.replacingOccurrences(of: "\n", with: "\n      ") }.joined(separator: "\n")
}
