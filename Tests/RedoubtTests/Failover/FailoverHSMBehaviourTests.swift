import Redoubt
@testable import RedoubtTesting
import Testing

/// The implementation-independent suite against ``FailoverHSM`` over three LocalHSMs on one
/// store, in every mode: in random and latency mode consecutive calls land on different nodes,
/// so every case also checks that the nodes agree.
///
/// Serialized: run in parallel, its 138 cases start 414 LocalHSMs at once, which starves every
/// other test of the run for a minute and more (60 s time limits and RPC deadlines expired).
@Suite("FailoverHSM behaviour", .serialized)
struct FailoverHSMBehaviourTests {
    static func environment(_ mode: FailoverHSM.Mode) async throws -> HSMBehaviour.Environment {
        let cluster = try await FailoverCluster.make()
        do {
            // On a machine busy with the rest of the run a call may wait long for a CPU; the
            // router's deadline is not what this suite checks.
            let configuration = FailoverHSM.Configuration(mode: mode, callTimeout: .seconds(120))
            let hsm = try FailoverHSM(endpoints: cluster.endpoints(priority: { $0 }), configuration: configuration, logger: quietLogger)
            hsm.start()
            return HSMBehaviour.Environment(hsm: hsm, operatorAPIKey: cluster.operatorAPIKey) {
                await hsm.close()
                await cluster.shutdown()
            }
        } catch {
            await cluster.shutdown()
            throw error
        }
    }

    @Test(arguments: HSMBehaviour.cases)
    func random(_ testCase: HSMBehaviour.Case) async throws {
        try await testCase.run(HSMBehaviour { try await Self.environment(.random) })
    }

    @Test(arguments: HSMBehaviour.cases)
    func priority(_ testCase: HSMBehaviour.Case) async throws {
        try await testCase.run(HSMBehaviour { try await Self.environment(.priority) })
    }

    @Test(arguments: HSMBehaviour.cases)
    func latency(_ testCase: HSMBehaviour.Case) async throws {
        try await testCase.run(HSMBehaviour { try await Self.environment(.latency) })
    }
}
