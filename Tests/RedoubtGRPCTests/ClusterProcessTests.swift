import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import Redoubt
import RedoubtBroker
@testable import RedoubtTesting
import Synchronization
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// The cluster as deployed: three `redoubt serve` node processes in two sites sharing one store,
/// a `redoubt serve --nodes` broker in front of them, and a client under load while nodes are
/// killed with SIGKILL and brought back.
@Suite("Cluster (processes)", .serialized)
struct ClusterProcessTests {
    /// A `redoubt serve` child; learns its port from what it prints, restarts on the same port.
    final class Server: Sendable {
        let arguments: [String]
        private let state = Mutex<(process: ChildProcess?, output: String, port: Int?)>((nil, "", nil))

        init(_ arguments: [String]) { self.arguments = arguments }

        var port: Int? { state.withLock { $0.port } }
        var pid: Int32? { state.withLock { $0.process?.processIdentifier } }
        var output: String { state.withLock { $0.output } }

        func start(extra: [String] = []) async throws {
            let previous = port
            let process = ChildProcess()
            process.executableURL = try ServeProcessTests.executable()
            process.arguments = ["serve"] + arguments + extra + ["--listen", "127.0.0.1:\(previous ?? 0)"]
            let pipe = Pipe()
            process.standardOutput = pipe
            process.standardError = pipe
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
                    if s.port == nil, let range = s.output.range(of: "listening on 127.0.0.1:") {
                        s.port = Int(s.output[range.upperBound...].prefix { $0.isNumber })
                    }
                }
            }
            state.withLock { $0 = (process, "", previous) }
            try process.run()
            for _ in 0..<1200 {
                if state.withLock({ $0.output.contains("listening on") && $0.port != nil }) { return }
                guard process.isRunning else { break }
                try await Task.sleep(for: .milliseconds(50))
            }
            process.terminate()
            throw ServeProcessTests.TestFailure("server \(arguments) did not start: \(output)")
        }

        /// Sends `signal` and waits for the process to end, without blocking a thread.
        func stop(_ signal: Int32 = SIGTERM) async {
            signalOnly(signal)
            while state.withLock({ $0.process?.isRunning ?? false }) {
                try? await Task.sleep(for: .milliseconds(20))
            }
        }

        /// Sends `signal` without waiting (for `defer`).
        func signalOnly(_ signal: Int32 = SIGKILL) {
            guard let process = state.withLock({ $0.process }), process.isRunning else { return }
            kill(process.processIdentifier, signal)
        }
    }

    /// What the load's callers share.
    final class LoadState: Sendable {
        let stop = Mutex(false)
        let created = Mutex<[String: String]>([:])
        let failures = Mutex<[String]>([])
        let calls = Mutex(0)
    }

    /// A free loopback port (bound, then released).
    static func freePort() throws -> Int {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = 0
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length) == 0 && getsockname(fd, $0, &length) == 0 }
        }
        guard bound else { throw ServeProcessTests.TestFailure("no free port") }
        return Int(UInt16(bigEndian: address.sin_port))
    }

    /// The broker's Prometheus text.
    static func metrics(port: Int) async throws -> String {
        let url = try #require(URL(string: "http://127.0.0.1:\(port)/metrics"))
        let (data, _) = try await URLSession.shared.data(from: url)
        return String(decoding: data, as: UTF8.self)
    }

    /// The value of `name{node="…"…}` in Prometheus text.
    static func gauge(_ text: String, _ name: String, node: String) -> Double? {
        for line in text.split(separator: "\n") where line.hasPrefix(name + "{") && line.contains("node=\"\(node)\"") {
            return line.split(separator: " ").last.flatMap { Double($0) }
        }
        return nil
    }

    /// Polls the broker's metrics until `condition` holds (or fails the test after `seconds`).
    static func waitForMetrics(port: Int, seconds: Double, _ what: String, _ condition: (String) -> Bool) async throws {
        let deadline = Date().addingTimeInterval(seconds)
        var last = ""
        while Date() < deadline {
            last = (try? await metrics(port: port)) ?? ""
            if condition(last) { return }
            try await Task.sleep(for: .milliseconds(100))
        }
        Issue.record("timed out waiting for: \(what)\n\(last.split(separator: "\n").filter { $0.hasPrefix("redoubt_router") }.joined(separator: "\n"))")
        throw ServeProcessTests.TestFailure("timed out waiting for: \(what)")
    }

    @Test("kill -9 a node, then a whole site, bring them back: no failed call, no lost or duplicated key")
    func killNodesAndSites() async throws {
        let started = Date()
        let dir = try ServeProcessTests.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let common = ["--dev", "--data", dir.path, "--rate", "0", "--log-level", "error"]
        let nodes = [Server(common), Server(common), Server(common)]
        let names = ["east-1", "east-2", "west-1"]
        defer { nodes.forEach { $0.signalOnly(SIGKILL) } }
        for node in nodes { try await node.start() }  // the first initialises the shared store

        let nodesFile = dir.appendingPathComponent("nodes.json")
        let list = zip(names, nodes).map { name, node in
            #"{"name": "\#(name)", "site": "\#(name.hasPrefix("east") ? "east" : "west")", "priority": \#(name.hasPrefix("east") ? 0 : 1), "endpoint": "127.0.0.1:\#(node.port ?? 0)"}"#
        }
        try Data(#"{"mode": "priority", "healthCheckInterval": 0.25, "callTimeout": 10, "nodes": [\#(list.joined(separator: ", "))]}"#.utf8)
            .write(to: nodesFile)
        let metricsPort = try Self.freePort()
        let broker = Server(["--nodes", nodesFile.path, "--rate", "0", "--metrics", "127.0.0.1:\(metricsPort)"])
        defer { broker.signalOnly(SIGKILL) }
        try await broker.start()
        #expect(broker.output.contains("routing (priority) over east-1@east, east-2@east, west-1@west"))

        let credentials = try JSONSerialization.jsonObject(with: Data(contentsOf: dir.appendingPathComponent("dev-credentials.json"))) as? [String: Any]
        let apiKey = try #require(credentials?["api_key"] as? String)
        let client = try RemoteHSM(configuration: .init(endpoint: "127.0.0.1:\(broker.port ?? 0)", callTimeout: .seconds(15))).start()
        let session = try await client.openSession(partition: "dev", credential: .apiKey(apiKey)).token
        let signer = try await client.generateKey(session, spec: KeySpec(algorithm: .p256, label: "cluster-signer"))
        let digest = Data(repeating: 7, count: 32)

        // Load: 4 callers signing, 10 ms apart (this test is about correctness, and the rest of the
        // run shares the cores); every 5th call creates a key with a request id.
        let shared = LoadState()
        let load = Task {
            await withTaskGroup(of: Void.self) { group in
                for w in 0..<4 {
                    group.addTask {
                        var n = 0
                        while !shared.stop.withLock({ $0 }) {
                            n += 1
                            do {
                                if n % 5 == 0 {
                                    let requestID = "cluster-\(w)-\(n)"
                                    let key = try await client.generateKey(session, spec: KeySpec(algorithm: .p256, label: requestID, requestID: requestID))
                                    shared.created.withLock { $0[requestID] = key.id }
                                } else {
                                    let signature = try await client.sign(session, key: signer.id, input: .digest(digest), scheme: .ecdsa(.sha256))
                                    if signature.signature.isEmpty { shared.failures.withLock { $0.append("empty signature") } }
                                }
                            } catch {
                                shared.failures.withLock { $0.append("\(error)") }
                            }
                            shared.calls.withLock { $0 += 1 }
                            try? await Task.sleep(for: .milliseconds(10))
                        }
                    }
                }
            }
        }
        func requests(_ text: String, _ node: String) -> Double { Self.gauge(text, "redoubt_router_node_requests", node: node) ?? -1 }

        try await Task.sleep(for: .seconds(1.5))
        // One node.
        await nodes[0].stop(SIGKILL)
        try await Self.waitForMetrics(port: metricsPort, seconds: 10, "east-1 down") { Self.gauge($0, "redoubt_router_node_up", node: "east-1") == 0 }
        try await Task.sleep(for: .seconds(1))
        // The whole east site: only west-1 is left.
        await nodes[1].stop(SIGKILL)
        try await Self.waitForMetrics(port: metricsPort, seconds: 10, "east-2 down") { Self.gauge($0, "redoubt_router_node_up", node: "east-2") == 0 }
        let westBefore = requests(try await Self.metrics(port: metricsPort), "west-1")
        try await Task.sleep(for: .seconds(1.5))
        let westAfter = requests(try await Self.metrics(port: metricsPort), "west-1")
        #expect(westAfter > westBefore, "with the east site down, west-1 must take the calls")
        // Bring the east site back on the same ports: re-admitted, and preferred again.
        try await nodes[0].start()
        try await nodes[1].start()
        try await Self.waitForMetrics(port: metricsPort, seconds: 30, "east site re-admitted") {
            Self.gauge($0, "redoubt_router_node_up", node: "east-1") == 1 && Self.gauge($0, "redoubt_router_node_up", node: "east-2") == 1
        }
        let eastBack = requests(try await Self.metrics(port: metricsPort), "east-1") + requests(try await Self.metrics(port: metricsPort), "east-2")
        try await Task.sleep(for: .seconds(1.5))
        let text = try await Self.metrics(port: metricsPort)
        #expect(requests(text, "east-1") + requests(text, "east-2") > eastBack, "the east site must take calls again once back")
        shared.stop.withLock { $0 = true }
        await load.value

        // Zero failed calls; every acknowledged key is there exactly once.
        let failed = shared.failures.withLock { $0 }
        #expect(failed.isEmpty, "\(failed.count) failed calls of \(shared.calls.withLock { $0 }); first: \(failed.prefix(3))")
        let acknowledged = shared.created.withLock { $0 }
        #expect(acknowledged.count >= 3, "keys must be created while nodes go down and come back")
        var byLabel: [String: [String]] = [:]
        var after: String?
        repeat {
            let page = try await client.listKeys(session, filter: KeyFilter(after: after, limit: 1000))
            for key in page where key.label.hasPrefix("cluster-") { byLabel[key.label, default: []].append(key.id) }
            after = page.count == 1000 ? page.last?.id : nil
        } while after != nil
        let lost = acknowledged.filter { byLabel[$0.key]?.contains($0.value) != true }
        #expect(lost.isEmpty, "lost keys: \(lost.keys.sorted().prefix(5))")
        let duplicated = byLabel.filter { $0.value.count > 1 }
        #expect(duplicated.isEmpty, "duplicated keys: \(duplicated.keys.sorted().prefix(5))")
        #expect(shared.calls.withLock { $0 } >= 20, "the load must run throughout")

        await client.close()
        await broker.stop(SIGTERM)
        for node in nodes { await node.stop(SIGTERM) }
        #expect(Date().timeIntervalSince(started) < 120, "the whole run must stay bounded")
    }
}
