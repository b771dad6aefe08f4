import Foundation
import Redoubt
import RedoubtBroker
import Testing

/// `redoubt serve --nodes FILE`: the node list is read strictly, and every mistake is named.
@Suite("Router configuration (--nodes)")
struct RouterConfigurationTests {
    func load(_ json: String) throws(BrokerConfigurationError) -> RouterConfiguration {
        let path = NSTemporaryDirectory() + "redoubt-nodes-\(UUID().uuidString).json"
        _ = FileManager.default.createFile(atPath: path, contents: Data(json.utf8))
        defer { try? FileManager.default.removeItem(atPath: path) }
        return try RouterConfiguration.load(path: path)
    }

    func expectRefused(_ json: String, _ fragment: String, sourceLocation: SourceLocation = #_sourceLocation) {
        do {
            _ = try load(json)
            Issue.record("accepted: \(json)", sourceLocation: sourceLocation)
        } catch {
            #expect(error.message.contains(fragment), "\(error.message)", sourceLocation: sourceLocation)
        }
    }

    @Test("a good file: defaults filled in, nodes in order, a router with one client per node")
    func goodFile() async throws {
        let c = try load(
            #"""
            {"nodes": [{"name": "east-1", "site": "east", "endpoint": "127.0.0.1:9001"},
                       {"name": "west-1", "site": "west", "priority": 2, "endpoint": "[::1]:9002"}]}
            """#)
        #expect(c.mode == .priority)
        #expect(c.healthCheckInterval == 0.5 && c.callTimeout == 10)
        #expect(c.nodes.map(\.name) == ["east-1", "west-1"])
        #expect(c.nodes.map(\.priority) == [0, 2])
        let (router, clients) = try c.makeRouter(logger: .init(label: "test"))
        #expect(clients.count == 2)
        #expect(router.endpointStatus().map(\.site) == ["east", "west"])
        await router.close()
        for client in clients { await client.close() }
    }

    @Test("withRouter runs every node's connection and the router around its body, then ends them")
    func scopedRouter() async throws {
        let c = try load(#"{"nodes": [{"name": "a", "site": "east", "endpoint": "127.0.0.1:1"}], "callTimeout": 0.5}"#)
        let error = try await c.withRouter(logger: .init(label: "test")) { router in
            do {
                _ = try await router.listPartitions(SessionToken("t"))
                return HSMError(.internalError, "a call to a closed port succeeded")
            } catch let error as HSMError { return error }
        }
        // Refused by the node's closed port, not by a client that nobody runs.
        #expect(error.code == .unavailable || error.code == .deadlineExceeded, "\(error)")
        #expect(!error.message.contains("not running"), "\(error)")
    }

    @Test("mistakes are refused with the field named")
    func mistakes() {
        expectRefused(#"{"nodes": []}"#, "at least one node")
        expectRefused(#"{"mode": "priority"}"#, #"missing "nodes""#)
        expectRefused(#"{"nodes": [{"name": "a", "endpoint": "127.0.0.1:1"}]}"#, #"missing "nodes[0].site""#)
        expectRefused(#"{"mode": "fastest", "nodes": [{"name": "a", "site": "s", "endpoint": "127.0.0.1:1"}]}"#, "mode is random, priority or latency")
        expectRefused(
            #"{"nodes": [{"name": "a", "site": "s", "endpoint": "127.0.0.1:1"}, {"name": "a", "site": "t", "endpoint": "127.0.0.1:2"}]}"#,
            "nodes[1].name 'a' is used twice")
        expectRefused(#"{"nodes": [{"name": "a", "site": "s", "endpoint": "10.0.0.1:8443"}]}"#, "plaintext to a node is allowed only on a loopback")
        expectRefused(#"{"nodes": [{"name": "a", "site": "s", "endpoint": "nowhere"}]}"#, "nodes[0].endpoint must be HOST:PORT")
        expectRefused(#"{"nodes": [{"name": "a", "site": "s", "endpoint": "127.0.0.1:0"}]}"#, "port other than 0")
        expectRefused(#"{"healthCheckInterval": 0, "nodes": [{"name": "a", "site": "s", "endpoint": "127.0.0.1:1"}]}"#, "healthCheckInterval")
        expectRefused(
            #"{"nodes": [{"name": "a", "site": "s", "endpoint": "10.0.0.1:1", "tls": {"certificateChain": "c.pem"}}]}"#,
            "both certificateChain and privateKey")
        expectRefused("not json", "not valid JSON")
    }
}
