import Redoubt
@testable import RedoubtBehaviourSuite
import Testing

/// The implementation-independent suite against ``FailoverHSM`` over three LocalHSMs on one
/// store, in every mode: in random and latency mode consecutive calls land on different nodes,
/// so every case also checks that the nodes agree.
@Suite("FailoverHSM behaviour")
struct FailoverHSMBehaviourTests {
    static func environment(_ mode: FailoverHSM.Mode) async throws -> HSMBehaviour.Environment {
        let cluster = try await FailoverCluster.make()
        do {
            // The suite runs its cases in parallel (138 clusters at once on a busy machine): a call may
            // wait long for a CPU, and the router's deadline is not what the suite checks.
            let configuration = FailoverHSM.Configuration(mode: mode, callTimeout: .seconds(600))
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
