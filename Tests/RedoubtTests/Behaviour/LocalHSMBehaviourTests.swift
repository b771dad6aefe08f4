import Redoubt
@testable import RedoubtTesting
import Testing

/// Runs the implementation-independent suite against ``LocalHSM`` over a temporary SQLite store.
@Suite("LocalHSM behaviour")
struct LocalHSMBehaviourTests {
    @Test(arguments: HSMBehaviour.cases)
    func behaviour(_ testCase: HSMBehaviour.Case) async throws {
        try await testCase.run(HSMBehaviour { try await LocalHSMSupport.environment() })
    }
}
