import Foundation
import Logging
import NIOCore
import NIOPosix
import Redoubt
import RedoubtClient
import RedoubtCore
import RedoubtStore
import Synchronization

/// The HSM behind one slot, made on first use (C_Initialize does no I/O) and kept until
/// C_Finalize. Several slots naming the same backend settings still get their own.
actor Backend {
    private let settings: ModuleConfiguration.Backend
    private let callTimeout: Duration
    private let group: any EventLoopGroup
    private let executor: ModuleExecutor
    private let logger: Logger
    /// The HSM once made, readable without entering the actor: every call of the module asks for it,
    /// and an actor hop there and back costs about a microsecond on each.
    private nonisolated let ready = Mutex<(any HSM)?>(nil)
    /// The embedded HSM once made, for the calls that can run without entering a task
    /// (``Runtime/call(slot:context:immediately:_:)``).
    nonisolated let local = Mutex<LocalHSM?>(nil)
    private var stoppers: [@Sendable () async -> Void] = []
    private var runners: [Task<Void, Never>] = []

    init(settings: ModuleConfiguration.Backend, callTimeout: Duration, group: any EventLoopGroup, executor: ModuleExecutor, logger: Logger) {
        self.settings = settings
        self.callTimeout = callTimeout
        self.group = group
        self.executor = executor
        self.logger = logger
    }

    /// The HSM, made now if this is the first call.
    nonisolated(nonsending) func hsm() async throws -> any HSM {
        if let hsm = ready.withLock({ $0 }) { return hsm }
        return try await makeOnce()
    }

    private func makeOnce() async throws -> any HSM {
        // Again, in the actor: an earlier call may have made it meanwhile.
        if let hsm = ready.withLock({ $0 }) { return hsm }
        let hsm = try await make()
        ready.withLock { $0 = hsm }
        return hsm
    }

    private func make() async throws -> any HSM {
        if let endpoint = settings.endpoint {
            let tls = settings.tls.map { files in
                RemoteHSMConfiguration.TLS(
                    trustRoots: files.trustRoots.map { .file($0) },
                    clientIdentity: files.certificateChain.flatMap { chain in
                        files.privateKey.map { .init(certificateChain: .file(chain), privateKey: .file($0)) }
                    },
                    serverHostname: files.serverHostname)
            }
            let client = try RemoteHSM(
                configuration: RemoteHSMConfiguration(endpoint: endpoint, tls: tls, callTimeout: callTimeout), eventLoopGroup: group)
            runners.append(Task(executorPreference: executor) { try? await client.run() })
            stoppers.append { await client.close() }
            return client
        }
        if let nodes = settings.nodes {
            let configuration = try RouterConfiguration.load(path: nodes)
            let (router, clients) = try configuration.makeRouter(logger: logger)
            for client in clients {
                runners.append(Task(executorPreference: executor) { try? await client.run() })
                stoppers.append { await client.close() }
            }
            runners.append(Task(executorPreference: executor) { await router.run() })
            stoppers.insert({ await router.close() }, at: 0)
            return router
        }
        guard let embedded = settings.embedded else { throw HSMError.invalid("the slot has no backend") }
        let store = try SQLiteStore(path: embedded.store)
        let unseal: UnsealMethod
        if let dev = embedded.devKeyFile {
            unseal = .devKeyFile(dev)
        } else {
            let file = embedded.passphraseFile ?? ""
            guard let text = try? String(contentsOfFile: file, encoding: .utf8) else {
                throw HSMError.invalid("cannot read the passphrase file \(file)")
            }
            unseal = .passphrase(text.trimmingCharacters(in: .newlines))
        }
        let hsm = try await LocalHSM.open(store: store, unseal: unseal, logger: logger)
        local.withLock { $0 = hsm }
        let runner = Task(executorPreference: executor) { _ = try? await hsm.run() }
        runners.append(runner)
        stoppers.append {
            runner.cancel()
            _ = await runner.value
        }
        return hsm
    }

    /// Closes what ``hsm()`` made and waits for its tasks.
    func close() async {
        for stop in stoppers { await stop() }
        for runner in runners { _ = await runner.value }
        stoppers = []
        runners = []
        ready.withLock { $0 = nil }
        local.withLock { $0 = nil }
    }
}
