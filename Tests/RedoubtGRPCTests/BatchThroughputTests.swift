import Foundation
import GRPCCore
import Redoubt
import RedoubtCrypto
@testable import RedoubtGRPC
import RedoubtProto
import Testing

/// Batch signing through the broker against signing in-process, one call at a time: the goal
/// is at least 0.9× the in-process rate. Timing needs a release build and a quiet machine, so it
/// runs only when asked: `REDOUBT_BENCH=1 swift test -c release --filter BatchThroughput`.
@Suite("Batch throughput", .enabled(if: ProcessInfo.processInfo.environment["REDOUBT_BENCH"] != nil))
struct BatchThroughputTests {
    @Test("SignBatch of 100 keeps up with in-process signing")
    func signBatchRate() async throws {
        try await BrokerHarness.run { h in
            let t = try await h.tenant()
            let key = try await h.key(t, .p256)
            let token = SessionToken(t.userToken)
            let rounds = 5
            let clock = ContinuousClock()
            let local = try await clock.measure {
                for i in 0..<(rounds * 100) {
                    _ = try await h.hsm.sign(token, key: key.id, input: .message(Data("m\(i)".utf8)), scheme: .ecdsa(.sha256))
                }
            }
            let items = (0..<100).map { Redoubt_V1_SignRequest(key: key.id, input: .message(Data("m\($0)".utf8)), scheme: .ecdsa(.sha256)) }
            let broker = try await clock.measure {
                for _ in 0..<rounds {
                    let response = try await h.crypto.signBatch(Redoubt_V1_SignBatchRequest(items: items), metadata: t.user)
                    #expect(response.outcomes.allSatisfy { (try? $0.get()) != nil })
                }
            }
            let concurrent = try await clock.measure {
                for _ in 0..<rounds {
                    _ = try await BrokerCore.concurrentMap(count: 100) { i in
                        (try? await h.hsm.sign(token, key: key.id, input: .message(Data("m\(i)".utf8)), scheme: .ecdsa(.sha256))) != nil
                    }
                }
            }
            print("sign: in-process on all cores \(concurrent / (rounds * 100)) per signature")
            let ratio = local / broker
            print("sign: in-process \(local / (rounds * 100)) per signature; broker batch-100 \(broker / (rounds * 100)); ratio \(ratio)")
            #expect(ratio >= 0.9)
        }
    }
}
