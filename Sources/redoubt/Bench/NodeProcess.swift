import Foundation
#if canImport(Glibc)
import Glibc
#endif
import Synchronization

/// A `redoubt serve` child process (an HSM node) on loopback, for benchmarks that kill and
/// restart nodes. It runs this same executable; its output is collected to learn its port.
final class NodeProcess: Sendable {
    let name: String
    let arguments: [String]
    private let state = Mutex<(process: Process?, output: String, port: Int?)>((nil, "", nil))

    /// A node that will run `redoubt serve` with `arguments` (plus `--listen`).
    init(name: String, arguments: [String]) {
        self.name = name
        self.arguments = arguments
    }

    /// The executable of this process (`/proc/self/exe`), so children match the parent's build.
    static var executable: URL {
        let link = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]
        return URL(fileURLWithPath: link)
    }

    /// The port it listens on, once started.
    var port: Int? { state.withLock { $0.port } }

    /// Starts the node (on its previous port when restarting) and waits until it listens.
    func start(timeout: Duration = .seconds(60)) async throws {
        let previous = port
        let process = Process()
        process.executableURL = Self.executable
        process.arguments = ["serve"] + arguments + ["--listen", "127.0.0.1:\(previous ?? 0)"]
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = FileHandle.nullDevice
        var env = ProcessInfo.processInfo.environment
        env["SWIFT_BACKTRACE"] = "enable=no"
        process.environment = env
        pipe.fileHandleForReading.readabilityHandler = { [self] handle in
            let chunk = handle.availableData
            guard !chunk.isEmpty else {
                handle.readabilityHandler = nil
                return
            }
            self.state.withLock { s in
                s.output += String(decoding: chunk, as: UTF8.self)
                if s.port == nil || s.port == 0, let range = s.output.range(of: "listening on 127.0.0.1:") {
                    let digits = s.output[range.upperBound...].prefix { $0.isNumber }
                    s.port = Int(digits)
                }
            }
        }
        state.withLock { $0 = (process, "", previous) }
        try process.run()
        let clock = ContinuousClock()
        let deadline = clock.now + timeout
        while clock.now < deadline {
            if state.withLock({ $0.output.contains("listening on") && $0.port != nil }) { return }
            guard process.isRunning else { break }
            try await Task.sleep(for: .milliseconds(50))
        }
        process.terminate()
        throw BenchError("node \(name) did not start listening: \(state.withLock { $0.output })")
    }

    /// Sends `signal` (SIGKILL: a crash) and waits for the process to end, without blocking a thread.
    func stop(_ signal: Int32 = SIGTERM) async {
        signalOnly(signal)
        while isRunning { try? await Task.sleep(for: .milliseconds(20)) }
    }

    /// Sends `signal` without waiting (for `defer`).
    func signalOnly(_ signal: Int32 = SIGKILL) {
        guard let process = state.withLock({ $0.process }), process.isRunning else { return }
        kill(process.processIdentifier, signal)
    }

    /// Whether the process is running.
    var isRunning: Bool { state.withLock { $0.process?.isRunning ?? false } }

    /// Its resident memory (VmRSS in /proc), in MiB; nil when it is not running.
    func residentMegabytes() -> Double? {
        guard let process = state.withLock({ $0.process }), process.isRunning,
            let status = try? String(contentsOfFile: "/proc/\(process.processIdentifier)/status", encoding: .utf8),
            let line = status.split(separator: "\n").first(where: { $0.hasPrefix("VmRSS:") }),
            let kib = Double(line.split(separator: " ").dropFirst().first ?? "")
        else { return nil }
        return kib / 1024
    }
}
