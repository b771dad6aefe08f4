import Foundation
import RedoubtStore
import Testing

extension ObjectStoreConformance {
    static var concurrencyCases: [Case] {
        [
            Case("200 concurrent commits: exactly the conflicting ones fail") { try await $0.concurrentCommits() },
            Case("reads run while commits are in flight") { try await $0.readsDuringCommits() },
        ]
    }

    /// What one concurrent commit is expected to do.
    private enum Expectation: Sendable {
        case succeed
        case fail(StoreError.Code)
        /// One of two commits racing for the same revision; exactly one wins.
        case race(pair: Int)
    }

    func concurrentCommits() async throws {
        try await withStore { store in
            // 100 existing objects at revision 1.
            try await store.commit(WriteBatch((0..<100).map { .insert(key("old-\($0)"), label: nil, data: bytes("0")) }))
            let counterBefore = try await store.changeCounter()

            var plan: [(WriteBatch, Expectation)] = []
            for index in 0..<100 {  // new objects: succeed
                plan.append(
                    (
                        [
                            .insert(key("new-\(index)"), label: "new", data: bytes("n\(index)")),
                            .appendAudit(partition: "g", payload: bytes("new-\(index)")),
                            .claimRequestID(partition: "p", requestID: "req-\(index)", object: key("new-\(index)")),
                        ], .succeed
                    ))
            }
            for index in 0..<30 {  // inserting an existing key: conflict, audit rolled back
                plan.append(
                    (
                        [
                            .appendAudit(partition: "g", payload: bytes("never")),
                            .insert(key("old-\(index)"), label: nil, data: bytes("dup")),
                        ], .fail(.conflict)
                    ))
            }
            for index in 30..<60 {  // stale revision: conflict
                plan.append(([.update(key("old-\(index)"), expectedRevision: 7, label: nil, data: bytes("stale"))], .fail(.conflict)))
            }
            for index in 60..<80 {  // update of a missing object: notFound
                plan.append(([.update(key("missing-\(index)"), expectedRevision: 1, label: nil, data: bytes("x"))], .fail(.notFound)))
            }
            for pair in 0..<10 {  // two commits race to update old-(80+pair) from revision 1
                for side in 0..<2 {
                    plan.append(
                        (
                            [
                                .update(key("old-\(80 + pair)"), expectedRevision: 1, label: "side\(side)", data: bytes("side\(side)")),
                                .appendAudit(partition: "g", payload: bytes("race-\(pair)-\(side)")),
                            ], .race(pair: pair)
                        ))
                }
            }
            #expect(plan.count == 200)

            let outcomes = await withTaskGroup(of: (Int, Result<CommitResult, StoreError>).self) { group in
                for (index, (batch, _)) in plan.enumerated() {
                    group.addTask {
                        do {
                            return (index, .success(try await store.commit(batch)))
                        } catch let error as StoreError {
                            return (index, .failure(error))
                        } catch {
                            return (index, .failure(StoreError(code: .unavailable, message: "\(error)")))
                        }
                    }
                }
                var outcomes = [Result<CommitResult, StoreError>?](repeating: nil, count: plan.count)
                for await (index, outcome) in group {
                    outcomes[index] = outcome
                }
                return outcomes.compactMap { $0 }
            }
            try #require(outcomes.count == plan.count)

            var winsPerPair = [Int](repeating: 0, count: 10)
            var successes: [CommitResult] = []
            for (index, (_, expectation)) in plan.enumerated() {
                switch (expectation, outcomes[index]) {
                case (.succeed, .success(let result)):
                    successes.append(result)
                case (.fail(let code), .failure(let error)):
                    #expect(error.code == code, "commit \(index): \(error)")
                case (.race(let pair), .success(let result)):
                    winsPerPair[pair] += 1
                    successes.append(result)
                case (.race, .failure(let error)):
                    #expect(error.code == .conflict, "commit \(index): \(error)")
                default:
                    Issue.record("commit \(index) expected \(expectation), got \(outcomes[index])")
                }
            }
            #expect(winsPerPair == [Int](repeating: 1, count: 10))
            #expect(successes.count == 110)

            // Every success got its own counter value and audit sequence, without gaps.
            let counters = Set(successes.map(\.changeCounter))
            #expect(counters == Set((counterBefore + 1)...(counterBefore + 110)))
            #expect(try await store.changeCounter() == counterBefore + 110)
            let sequences = successes.flatMap(\.auditSequences).sorted()
            #expect(sequences == Array(1...110))
            let chain = try await store.audit(partition: "g", from: 1, limit: 1000)
            #expect(chain.count == 110)
            #expect(verifyAuditChain(chain, previous: nil) == .valid)
            #expect(!chain.contains { $0.payload == bytes("never") })

            // The store holds exactly the successful writes.
            #expect(try await store.count(partition: "p", kind: "key") == 200)
            for index in 0..<100 {
                #expect(try await store.get(key("new-\(index)"))?.data == bytes("n\(index)"))
                #expect(try await store.requestClaim(partition: "p", requestID: "req-\(index)") == key("new-\(index)"))
            }
            for index in 0..<80 {
                #expect(try await store.get(key("old-\(index)")) == StoredObject(key: key("old-\(index)"), label: nil, revision: 1, data: bytes("0")))
            }
            for pair in 0..<10 {
                let winner = try await store.get(key("old-\(80 + pair)"))
                #expect(winner?.revision == 2)
                #expect(winner?.data == winner?.label.map(bytes))
            }
        }
    }

    func readsDuringCommits() async throws {
        try await withStore { store in
            try await store.commit([.insert(key("counter"), label: nil, data: bytes("0"))])
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask {
                    for index in 1...50 {
                        try await store.commit([
                            .update(key("counter"), expectedRevision: Int64(index), label: nil, data: bytes("\(index)"))
                        ])
                    }
                }
                group.addTask {
                    // Revisions observed by a reader never go backwards and always match the data.
                    var last: Int64 = 0
                    for _ in 0..<100 {
                        let object = try await store.get(key("counter"))
                        let revision = object?.revision ?? 0
                        #expect(revision >= last)
                        #expect(object?.data == bytes("\(revision - 1)"))
                        last = revision
                    }
                }
                try await group.waitForAll()
            }
            #expect(try await store.get(key("counter"))?.revision == 51)
        }
    }
}
