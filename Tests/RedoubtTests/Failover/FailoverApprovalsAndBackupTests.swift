import Foundation
import Redoubt
@testable import RedoubtTesting
import Testing

/// Approvals and backups are part of the `HSM` protocol: a router over fault-injecting wrappers
/// (which are neither LocalHSMs nor RemoteHSMs) serves them without casting to anything.
@Suite("FailoverHSM approvals and backups")
struct FailoverApprovalsAndBackupTests {
    @Test("approvals through a fault-injecting router: a governed sign becomes a request, two approvals run it once")
    func approvals() async throws {
        try await FailoverCluster.withFixture(router: {
            // A call may wait long for a CPU among every other test (a 10 s createPartition expired in
            // two fresh-clone runs); the router's deadline is not what this suite checks.
            try FailoverHSM(endpoints: $0.endpoints(), configuration: .init(mode: .random, callTimeout: .seconds(120)), logger: quietLogger)
        }) { cluster, hsm, f in
            let kit = try await ApprovalKit.make(f, hsm)
            #expect(try await hsm.listApprovers(kit.officer).map(\.name).sorted() == ApprovalKit.algorithms.keys.sorted())
            let key = try await kit.governedSigner(KeyPolicy(use: ApprovalKit.rule(["ann", "bob", "cat"], quorum: 2)))
            let pending = await #expect(throws: HSMError.self) {
                _ = try await hsm.sign(kit.user, key: key.id, input: .message(message), scheme: .ed25519)
            }
            let request = try #require(pending?.pendingRequest)
            #expect(request.status == .pending)
            #expect(try await kit.approve("ann", request).status == .pending)
            #expect(try await kit.approve("cat", request).status == .executed)
            let done = try await kit.fetch(request)
            #expect(done.status == .executed)
            try kit.expectSigned(done, by: key, message)
            #expect(cluster.nodes.map { $0.calls("approveRequest") }.reduce(0, +) == 2)
            #expect(try await hsm.listRequests(kit.officer, filter: ApprovalRequestFilter()).map(\.id).contains(request.id))
        }
    }

    @Test("a backup through the router is written by one node, reported with progress, and not retried when that node fails")
    func backup() async throws {
        let configuration = FailoverHSM.Configuration(mode: .priority, ejectAfterConsecutiveFailures: 1000)
        try await FailoverCluster.withFixture(router: {
            try FailoverHSM(endpoints: $0.endpoints(priority: { $0 }), configuration: configuration, logger: quietLogger)
        }) { cluster, hsm, f in
            let directory = FileManager.default.temporaryDirectory.appendingPathComponent("redoubt-failover-backup-\(UUID().uuidString)")
            try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
            defer { try? FileManager.default.removeItem(at: directory) }
            let path = directory.appendingPathComponent("through-router.rdbk").path
            let steps = Steps()
            let report = try await hsm.createBackup(f.operatorSession.token, path: path, partition: nil, overwrite: false) { steps.add($0) }
            #expect(report.path == path && report.partition == nil && report.recordCount > 0 && report.byteCount > 0)
            #expect(FileManager.default.fileExists(atPath: path))
            #expect(steps.count > 0)
            #expect(cluster.nodes[0].calls("createBackup") == 1)
            #expect(cluster.nodes[1].calls("createBackup") == 0 && cluster.nodes[2].calls("createBackup") == 0)

            cluster.nodes[0].fault = .down
            let again = directory.appendingPathComponent("second.rdbk").path
            await #expect(throws: HSMError.self) {
                _ = try await hsm.createBackup(f.operatorSession.token, path: again)
            }
            #expect(cluster.nodes[1].calls("createBackup") == 0 && cluster.nodes[2].calls("createBackup") == 0)
            #expect(!FileManager.default.fileExists(atPath: again))
        }
    }
}

/// Progress steps seen by a backup's callback.
private final class Steps: @unchecked Sendable {
    private let lock = NSLock()
    private var steps: [BackupProgress] = []
    func add(_ step: BackupProgress) { lock.withLock { steps.append(step) } }
    var count: Int { lock.withLock { steps.count } }
}
