import CPKCS11
import CRedoubtPKCS11
import Crypto
import Foundation
import Logging
import Redoubt
import NIOPosix
import RedoubtCore
import Synchronization

/// An object the module shows: a Redoubt key as a private, public or secret key object, or a
/// stored certificate. Its handle is fixed for the life of the module.
struct ObjectRef: Hashable, Sendable {
    enum Kind: Hashable, Sendable { case privateKey, publicKey, secretKey, certificate }
    var slot: Int
    var kind: Kind
    var id: String
}

/// What the HSM said about an object when last asked (indirect: a copy, made at every Init, is one
/// reference, not the key's whole state).
indirect enum ObjectSnapshot: Sendable {
    case key(KeyInfo)
    case certificate(CertificateInfo)
}

/// Who is logged in to a slot: one Redoubt session shared by every PKCS #11 session of the slot.
struct SlotLogin: Sendable {
    var userType: CK_USER_TYPE
    var credential: Credential
    var token: SessionToken?
}

/// The module between C_Initialize and C_Finalize.
final class Runtime: Sendable {
    let configuration: ModuleConfiguration
    let backends: [Backend]
    let executor: ModuleExecutor
    let group: MultiThreadedEventLoopGroup
    let logger: Logger
    let tables = Mutex(Tables())
    /// The process that made this runtime: a child of `fork()` has none of its threads.
    let pid = processID()

    /// The mutable part, behind one lock that is never held across an HSM call.
    struct Tables: ~Copyable {
        var sessions: [CK_SESSION_HANDLE: SessionState] = [:]
        var nextSession: CK_SESSION_HANDLE = 1
        var handles: [CK_OBJECT_HANDLE: ObjectRef] = [:]
        var byRef: [ObjectRef: CK_OBJECT_HANDLE] = [:]
        var nextHandle: CK_OBJECT_HANDLE = 1
        var logins: [Int: SlotLogin] = [:]
        var snapshots: [ObjectRef: (ObjectSnapshot, ContinuousClock.Instant)] = [:]
        var searches: [SearchKey: ([(ObjectRef, ObjectSnapshot)], ContinuousClock.Instant)] = [:]

        /// The handle of `ref`, made now if it has none.
        mutating func handle(for ref: ObjectRef) -> CK_OBJECT_HANDLE {
            if let h = byRef[ref] { return h }
            let h = nextHandle
            nextHandle += 1
            handles[h] = ref
            byRef[ref] = h
            return h
        }
    }

    init(configuration: ModuleConfiguration, logger: Logger) {
        self.configuration = configuration
        self.logger = logger
        executor = ModuleExecutor(threads: 2)
        group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        backends = configuration.slots.map { [executor, group] slot in
            Backend(settings: slot.backend, callTimeout: configuration.callTimeout, group: group, executor: executor, logger: logger)
        }
    }

    /// Ends every Redoubt session the module opened, closes the backends and stops the threads.
    func shutdown() {
        let tokens = tables.withLock { t in
            t.logins.compactMap { slot, login in login.token.map { (slot, $0) } }
        }
        let backends = self.backends
        _ = try? executor.blocking(timeout: .seconds(5)) {
            for (slot, token) in tokens { try? await backends[slot].hsm().closeSession(token) }
            for backend in backends { await backend.close() }
        }
        executor.stop()
        // NIO reports the end of its shutdown through libdispatch, which a child of a
        // multithreaded parent cannot use (its queues are poisoned at fork): there, the idle
        // event-loop thread is left to end with the process.
        if redoubt_pkcs11_in_fork_child() == 0 { try? group.syncShutdownGracefully() }
    }

    // MARK: Slots

    var slotCount: Int { configuration.slots.count }

    func slotIndex(_ id: CK_SLOT_ID) throws(P11Error) -> Int {
        guard id < CK_SLOT_ID(slotCount) else { throw .slotIDInvalid }
        return Int(id)
    }

    /// A token serial number that is the same wherever the module runs: from the partition.
    func serial(slot: Int) -> String {
        let digest = SHA256.hash(data: Data(configuration.slots[slot].partition.utf8))
        return digest.prefix(8).map { String(format: "%02x", $0) }.joined()
    }

    /// Whether the slot logs in on its own (an API key file in the configuration).
    func logsInItself(slot: Int) -> Bool { configuration.slots[slot].apiKeyFile != nil }

    // MARK: Calls

    /// Runs `body` against the slot's HSM on the module's threads, with the slot's Redoubt
    /// session. A session that expired is opened again, once, with the credential the login gave.
    ///
    /// On an embedded slot, `immediately` runs first, on the caller's thread and outside any task:
    /// a `LocalHSM` use that needs nothing but memory is done there; nil sends the call to `body`.
    func call<T: Sendable>(
        slot: Int, context: P11Error.Context = .general, immediately: ((LocalHSM, SessionToken) -> T?)? = nil,
        _ body: nonisolated(nonsending) @escaping @Sendable (any HSM, SessionToken) async throws -> T
    ) throws(P11Error) -> T {
        let backend = backends[slot]
        let partition = configuration.slots[slot].partition
        let login = try currentLogin(slot: slot)
        if let immediately, let local = backend.local.withLock({ $0 }), let token = login.token,
            let done = immediately(local, token)
        {
            return done
        }
        // A broker's rate limit refuses a call before doing anything: wait and try again, within the deadline.
        let deadline = ContinuousClock.now + configuration.callTimeout
        var pause = Duration.milliseconds(10)
        while true {
            do {
                return try attempt(slot: slot, backend: backend, partition: partition, login: login, context: context, body)
            } catch  where error.rateLimited && ContinuousClock.now + pause < deadline {
                usleep(UInt32(pause.components.attoseconds / 1_000_000_000_000) + UInt32(pause.components.seconds) * 1_000_000)
                pause = min(pause * 2, .milliseconds(500))
            }
        }
    }

    /// One try of ``call(slot:context:_:)``.
    private func attempt<T: Sendable>(
        slot: Int, backend: Backend, partition: String, login: SlotLogin, context: P11Error.Context,
        _ body: nonisolated(nonsending) @escaping @Sendable (any HSM, SessionToken) async throws -> T
    ) throws(P11Error) -> T {
        do {
            return try executor.blocking(timeout: configuration.callTimeout + .seconds(1)) { [self] in
                let hsm = try await backend.hsm()
                var token = try await self.token(slot: slot, hsm: hsm, partition: partition, login: login)
                do {
                    return try await body(hsm, token)
                } catch let error as HSMError where error.code == .unauthenticated {
                    // The Redoubt session expired or was closed: open another, once.
                    self.logger.info("the Redoubt session ended; opening another", metadata: ["slot": "\(slot)", "reason": "\(error.message)"])
                    self.forgetToken(slot: slot, token)
                    token = try await self.token(slot: slot, hsm: hsm, partition: partition, login: login)
                    return try await body(hsm, token)
                }
            }
        } catch let error as P11Error {
            throw error
        } catch let error as HSMError {
            throw P11Error(hsm: error, context: context)
        } catch {
            throw P11Error(CK_RV(CKR_FUNCTION_FAILED), "\(error)")
        }
    }

    /// Runs `body` against the slot's HSM with no Redoubt session (opening one, for instance).
    func callWithoutSession<T: Sendable>(
        slot: Int, context: P11Error.Context = .general, _ body: @escaping @Sendable (any HSM) async throws -> T
    ) throws(P11Error) -> T {
        let backend = backends[slot]
        do {
            return try executor.blocking(timeout: configuration.callTimeout + .seconds(1)) {
                try await body(try await backend.hsm())
            }
        } catch let error as P11Error {
            throw error
        } catch let error as HSMError {
            throw P11Error(hsm: error, context: context)
        } catch {
            throw P11Error(CK_RV(CKR_FUNCTION_FAILED), "\(error)")
        }
    }

    /// The slot's login: the one C_Login made, or the configured API key's.
    func currentLogin(slot: Int) throws(P11Error) -> SlotLogin {
        if let login = tables.withLock({ $0.logins[slot] }) { return login }
        guard let file = configuration.slots[slot].apiKeyFile else { throw .userNotLoggedIn }
        guard let text = try? String(contentsOfFile: file, encoding: .utf8) else {
            throw P11Error(CK_RV(CKR_GENERAL_ERROR), "cannot read the API key file \(file)")
        }
        let login = SlotLogin(userType: CK_USER_TYPE(CKU_USER), credential: .apiKey(text.trimmingCharacters(in: .whitespacesAndNewlines)))
        tables.withLock { $0.logins[slot] = $0.logins[slot] ?? login }
        return login
    }

    private nonisolated(nonsending) func token(slot: Int, hsm: any HSM, partition: String, login: SlotLogin) async throws -> SessionToken {
        if let token = tables.withLock({ $0.logins[slot]?.token }) { return token }
        let info = try await hsm.openSession(partition: partition, credential: login.credential)
        let kept = tables.withLock { t -> SessionToken? in
            guard t.logins[slot] != nil else { return nil }
            if let existing = t.logins[slot]?.token { return existing }
            t.logins[slot]?.token = info.token
            return info.token
        }
        guard let kept else {
            try? await hsm.closeSession(info.token)
            throw P11Error.userNotLoggedIn
        }
        if kept != info.token { try? await hsm.closeSession(info.token) }
        return kept
    }

    private func forgetToken(slot: Int, _ token: SessionToken) {
        tables.withLock { t in
            if t.logins[slot]?.token == token { t.logins[slot]?.token = nil }
        }
    }

    // MARK: Sessions

    func session(_ handle: CK_SESSION_HANDLE) throws(P11Error) -> SessionState {
        guard let s = tables.withLock({ $0.sessions[handle] }) else { throw .sessionHandleInvalid }
        return s
    }

    /// Changes a session's state under the lock; the session must exist.
    /// Changes made before `body` throws are kept (an operation an error ends is ended so).
    /// Also the way to read part of a session's state without copying all of it.
    func updateSession<T>(_ handle: CK_SESSION_HANDLE, _ body: (inout SessionState) throws(P11Error) -> T) throws(P11Error) -> T {
        try tables.withLock { (t: inout Tables) throws(P11Error) -> T in
            // By index: in place, without the copy that `t.sessions[handle] != nil` would make.
            guard let index = t.sessions.index(forKey: handle) else { throw .sessionHandleInvalid }
            return try body(&t.sessions.values[index])
        }
    }
}

/// This process's id (cached: every entry point asks).
func processID() -> pid_t { pid_t(redoubt_pkcs11_process_id()) }

/// The module's one runtime, or none before C_Initialize and after C_Finalize.
enum Module {
    static let current = Mutex<Runtime?>(nil)

    static func runtime() throws(P11Error) -> Runtime {
        guard let r = current.withLock({ $0 }) else { throw .notInitialized }
        guard r.pid == processID() else {
            // A child of fork(): the parent's threads and connections are not here. Forget them
            // (never touch them: their locks may be held by threads that no longer exist) and
            // answer as if never initialised, so that the child calls C_Initialize.
            _ = inheritedRuntime()
            throw .notInitialized
        }
        return r
    }

    /// Takes away a runtime inherited through fork(), leaving it unused for good; `nil` when the
    /// current runtime (if any) is this process's own.
    static func inheritedRuntime() -> Runtime? {
        current.withLock { current -> Runtime? in
            guard let r = current, r.pid != processID() else { return nil }
            current = nil
            abandoned.append(r)
            abandonedIn = processID()
            return r
        }
    }

    /// Whether this process forgot a runtime inherited through fork() and has not initialised
    /// since; answers once (C_Finalize then succeeds once).
    static func forgotInheritedRuntime() -> Bool {
        current.withLock { current -> Bool in
            guard current == nil, abandonedIn == processID() else { return false }
            abandonedIn = nil
            return true
        }
    }

    /// Runtimes inherited through fork(), kept (never released: releasing would run code that
    /// waits for the parent's threads).
    nonisolated(unsafe) private static var abandoned: [Runtime] = []
    /// The process that last forgot an inherited runtime (read and written under `current`'s lock).
    nonisolated(unsafe) static var abandonedIn: pid_t?

    /// Log lines for a failed call go here (never a secret): the configured file, else stderr
    /// when REDOUBT_PKCS11_DEBUG is set, else nowhere.
    static func makeLogger(file: String?) -> Logger {
        var logger = Logger(label: "redoubt-pkcs11") { label in
            if let file, let handle = FileHandle(forWritingAtPath: file) ?? Self.create(file) {
                return FileLogHandler(handle: handle)
            }
            if ProcessInfo.processInfo.environment["REDOUBT_PKCS11_DEBUG"] != nil { return StreamLogHandler.standardError(label: label) }
            return SwiftLogNoOpLogHandler()
        }
        logger.logLevel = .info
        return logger
    }

    private static func create(_ file: String) -> FileHandle? {
        guard FileManager.default.createFile(atPath: file, contents: nil, attributes: [.posixPermissions: 0o600]) else { return nil }
        return FileHandle(forWritingAtPath: file)
    }
}

/// One line per record, appended to a file.
struct FileLogHandler: LogHandler {
    let handle: FileHandle
    var metadata: Logger.Metadata = [:]
    var logLevel: Logger.Level = .info

    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    func log(event: LogEvent) {
        let meta = (metadata.merging(event.metadata ?? [:]) { $1 }).map { "\($0)=\($1)" }.sorted().joined(separator: " ")
        let line = "\(Date()) \(event.level) \(event.message) \(meta)\n"
        handle.seekToEndOfFile()
        handle.write(Data(line.utf8))
    }
}
