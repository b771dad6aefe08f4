#if canImport(Glibc)
import Foundation
import Glibc
import Synchronization

/// A child process for the tests, spawned with `posix_spawn` — the part of Foundation's `Process`
/// the tests use (executable, arguments, environment, standard streams, pid, exit status),
/// without its descriptor scan.
///
/// Why not `Process`: on Linux, `Process.run()` closes the child's inherited descriptors by listing
/// `/proc/self/fd` with `readdir` and copying each entry as a whole `dirent` (280 bytes) although
/// short entries are 24; once the process holds about 1,360 descriptors the directory fills glibc's
/// 32 KiB buffer and that copy reads past its end. The test process holds that many when every test
/// runs at once (about 216 SQLite stores with their WAL files, sockets and pipes: 1,559 measured),
/// and twice a fresh-clone run died there (SIGSEGV in `memcpy` under `Process.run()`). Here the
/// child closes every descriptor above 2 with glibc's `posix_spawn_file_actions_addclosefrom_np`,
/// which lists nothing.
final class ChildProcess: @unchecked Sendable {
    enum TerminationReason: Sendable { case exit, uncaughtSignal }

    // Set before `run()`, as with `Process`.
    var executableURL: URL?
    var arguments: [String] = []
    /// The child's whole environment; nil: this process's.
    var environment: [String: String]?
    /// A `Pipe` or a `FileHandle` (such as `FileHandle.nullDevice`); nil: /dev/null for input,
    /// this process's own streams for output.
    var standardInput: Any?
    var standardOutput: Any?
    var standardError: Any?

    private struct State {
        var pid: pid_t = 0
        var status: Int32?  // the raw wait status, once ended
        var waiters: [Int: CheckedContinuation<Void, Never>] = [:]
        var nextWaiter = 0
        var cancelled: Set<Int> = []
    }
    private let state = Mutex(State())

    var processIdentifier: Int32 { state.withLock { $0.pid } }
    var isRunning: Bool { state.withLock { $0.pid != 0 && $0.status == nil } }

    /// The exit code, or the signal that ended it. Only once it has ended.
    var terminationStatus: Int32 {
        let status = endedStatus()
        return Self.signalled(status) ? status & 0x7f : (status >> 8) & 0xff
    }

    var terminationReason: TerminationReason { Self.signalled(endedStatus()) ? .uncaughtSignal : .exit }

    private static func signalled(_ status: Int32) -> Bool { (status & 0x7f) != 0 && (status & 0x7f) != 0x7f }

    private func endedStatus() -> Int32 {
        guard let status = state.withLock({ $0.status }) else { preconditionFailure("the child process is still running") }
        return status
    }

    struct SpawnError: Error, CustomStringConvertible {
        let description: String
    }

    /// glibc ≥ 2.34 has it; Swift's Glibc module does not declare it (it needs `_GNU_SOURCE`).
    private typealias CloseFrom = @convention(c) (UnsafeMutablePointer<posix_spawn_file_actions_t>, Int32) -> Int32
    private static let closeFrom: CloseFrom? = {
        guard let symbol = dlsym(UnsafeMutableRawPointer(bitPattern: 0), "posix_spawn_file_actions_addclosefrom_np") else { return nil }
        return unsafeBitCast(symbol, to: CloseFrom.self)
    }()

    /// Starts the child. Throws if it could not be started (no such executable…).
    func run() throws {
        guard let executableURL else { throw SpawnError(description: "no executable set") }
        guard let closeFrom = Self.closeFrom else {
            throw SpawnError(description: "posix_spawn_file_actions_addclosefrom_np is missing (glibc 2.34 or later is needed)")
        }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        var keepAlive: [FileHandle] = []  // /dev/null handles, open until the child has its copies
        func nullDevice(forWriting: Bool) throws -> Int32 {
            let url = URL(fileURLWithPath: "/dev/null")
            let handle = try forWriting ? FileHandle(forWritingTo: url) : FileHandle(forReadingFrom: url)
            keepAlive.append(handle)
            return handle.fileDescriptor
        }
        // nil: /dev/null for input (a child never reads the test runner's input), this process's
        // own output streams. `FileHandle.nullDevice` has no descriptor of its own (-1).
        func redirect(_ stream: Any?, to target: Int32, childEnd: (Pipe) -> FileHandle) throws {
            let fd: Int32
            switch stream {
            case nil where target == 0: fd = try nullDevice(forWriting: false)
            case nil: return
            case let pipe as Pipe: fd = childEnd(pipe).fileDescriptor
            case let handle as FileHandle where handle === FileHandle.nullDevice: fd = try nullDevice(forWriting: target != 0)
            case let handle as FileHandle: fd = handle.fileDescriptor
            default: throw SpawnError(description: "a standard stream must be a Pipe or a FileHandle")
            }
            guard fd >= 0, posix_spawn_file_actions_adddup2(&actions, fd, target) == 0 else {
                throw SpawnError(description: "standard stream \(target): no usable descriptor (\(fd))")
            }
        }
        // Both ends of every pipe close on exec, so that a process another test starts meanwhile
        // (with fork and exec) cannot inherit them: a stray copy of the write end would keep this
        // child's output from ever reaching end of file. The child gets its own copies (dup2).
        for case let pipe as Pipe in [standardInput, standardOutput, standardError] {
            for end in [pipe.fileHandleForReading, pipe.fileHandleForWriting] { _ = fcntl(end.fileDescriptor, F_SETFD, FD_CLOEXEC) }
        }
        try redirect(standardInput, to: 0) { $0.fileHandleForReading }
        try redirect(standardOutput, to: 1) { $0.fileHandleForWriting }
        try redirect(standardError, to: 2) { $0.fileHandleForWriting }
        guard closeFrom(&actions, 3) == 0 else { throw SpawnError(description: "posix_spawn_file_actions_addclosefrom_np failed") }

        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETPGROUP))  // as Process does

        let argv = ([executableURL.path] + arguments).map { strdup($0) } + [nil]
        defer { argv.forEach { free($0) } }
        let envp: [UnsafeMutablePointer<CChar>?]? = environment.map { $0.map { strdup("\($0.key)=\($0.value)") } + [nil] }
        defer { envp?.forEach { free($0) } }

        var pid: pid_t = 0
        let result =
            if let envp {
                posix_spawn(&pid, executableURL.path, &actions, &attributes, argv, envp)
            } else {
                posix_spawn(&pid, executableURL.path, &actions, &attributes, argv, environ)
            }
        guard result == 0 else {
            throw SpawnError(description: "could not start \(executableURL.path): \(String(cString: strerror(result)))")
        }
        withExtendedLifetime(keepAlive) {}
        state.withLock { $0.pid = pid }
        // The child has its copies: close the parent's ends the child uses, so reads see EOF.
        for (stream, end) in [(standardInput, 0), (standardOutput, 1), (standardError, 1)] {
            if let pipe = stream as? Pipe { try? (end == 0 ? pipe.fileHandleForReading : pipe.fileHandleForWriting).close() }
        }
        let reaper = Thread { [self, pid] in
            var status: Int32 = 0
            while waitpid(pid, &status, 0) == -1 && errno == EINTR {}
            let waiters = state.withLock { s -> [CheckedContinuation<Void, Never>] in
                s.status = status
                defer { s.waiters = [:] }
                return Array(s.waiters.values)
            }
            waiters.forEach { $0.resume() }
        }
        reaper.start()
    }

    /// Sends SIGTERM, as `Process.terminate()` does.
    func terminate() {
        let pid = processIdentifier
        if pid != 0 { kill(pid, SIGTERM) }
    }

    /// Waits for the child to end, without holding a thread of the cooperative pool (or until the
    /// task is cancelled).
    func exited() async {
        let id = state.withLock { s -> Int in
            s.nextWaiter += 1
            return s.nextWaiter
        }
        await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
                let now = state.withLock { s -> Bool in
                    if s.status != nil || s.cancelled.remove(id) != nil { return true }
                    s.waiters[id] = continuation
                    return false
                }
                if now { continuation.resume() }
            }
        } onCancel: {
            let waiter = state.withLock { s -> CheckedContinuation<Void, Never>? in
                guard let waiter = s.waiters.removeValue(forKey: id) else {
                    if s.status == nil { s.cancelled.insert(id) }  // not registered yet
                    return nil
                }
                return waiter
            }
            waiter?.resume()
        }
    }

    /// Waits for the child to end, for at most `limit`; whether it ended.
    func exited(within limit: Duration) async -> Bool {
        await withTaskGroup(of: Void.self) { group in
            group.addTask { await self.exited() }
            group.addTask { try? await Task.sleep(for: limit) }
            await group.next()
            group.cancelAll()
        }
        return !isRunning
    }
}
#endif
