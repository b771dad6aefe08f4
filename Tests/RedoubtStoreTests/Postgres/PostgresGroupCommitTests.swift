import Foundation
@testable import RedoubtStore
import Testing

/// PostgresStore's group commit: concurrent commits share transactions, each keeps its own change
/// counter and audit sequences, and a batch that fails inside a group fails alone.
@Suite("PostgresStore group commit", .enabled(if: PostgresTestDatabases.isConfigured, "set REDOUBT_TEST_POSTGRES_URL (scripts/with-postgres)"))
struct PostgresGroupCommitTests {
    @Test("200 concurrent commits share transactions; each has its own counter, change and audit record")
    func concurrentCommitsShareTransactions() async throws {
        try await PostgresTestDatabases.with { databases in
            let store = try await PostgresStore.connect(url: try await databases.makeDatabase())
            let before = try await store.changeCounter()
            let results = try await withThrowingTaskGroup(of: (Int, CommitResult).self) { group in
                for index in 0..<200 {
                    group.addTask {
                        let result = try await store.commit([
                            .insert(key("k\(index)"), label: index.isMultiple(of: 2) ? "even" : nil, data: bytes("\(index)")),
                            .appendAudit(partition: "p", payload: bytes("created k\(index)")),
                        ])
                        return (index, result)
                    }
                }
                return try await group.reduce(into: [Int: CommitResult]()) { $0[$1.0] = $1.1 }
            }
            let statistics = store.groupCommitStatistics
            #expect(statistics.batches == 200)
            #expect(statistics.transactions < 200)
            // Counters: one per commit, contiguous.
            #expect(Set(results.values.map(\.changeCounter)) == Set((before + 1)...(before + 200)))
            #expect(try await store.changeCounter() == before + 200)
            // Each commit's change names its object.
            let changes = try #require(try await store.changes(after: before, limit: 500))
            let byCounter = Dictionary(uniqueKeysWithValues: changes.map { ($0.counter, $0.objects) })
            for (index, result) in results {
                #expect(byCounter[result.changeCounter] == [key("k\(index)")])
                #expect(result.revisions == [key("k\(index)"): 1])
                #expect(result.auditSequences.count == 1)
            }
            // One chain of 200 records, each where its commit said.
            let chain = try await store.audit(partition: "p", from: 1, limit: 500)
            #expect(chain.map(\.sequence) == Array(1...200))
            #expect(verifyAuditChain(chain, previous: nil) == .valid)
            for (index, result) in results {
                let sequence = try #require(result.auditSequences.first)
                #expect(chain[Int(sequence) - 1].payload == bytes("created k\(index)"))
            }
            // Labels: nil stays nil.
            #expect(try await store.get(key("k1"))?.label == nil)
            #expect(try await store.get(key("k2"))?.label == "even")
            try await store.close()
        }
    }

    @Test("in grouped commits, only the batches at fault fail, and nothing of theirs is written")
    func onlyTheFaultyBatchFails() async throws {
        try await PostgresTestDatabases.with { databases in
            let store = try await PostgresStore.connect(url: try await databases.makeDatabase())
            try await store.commit([.insert(key("taken"), label: nil, data: bytes("first"))])
            try await store.commit([.insert(key("versioned"), label: nil, data: bytes("v1"))])
            // Append-only batches with one duplicate (the fast path fails, then the general path
            // finds it), and stale updates (the general path).
            enum Plan: Sendable {
                case create(Int)
                case duplicate(Int)
                case stale(Int)
            }
            var plans: [Plan] = (0..<80).map { .create($0) }
            plans.insert(.duplicate(0), at: 20)
            plans.insert(.duplicate(1), at: 60)
            plans.insert(.stale(0), at: 40)
            let outcomes = await withTaskGroup(of: (Plan, StoreError?).self) { group in
                for plan in plans {
                    group.addTask {
                        let batch: WriteBatch
                        switch plan {
                        case .create(let n):
                            batch = [.insert(key("new\(n)"), label: nil, data: bytes("\(n)")), .appendAudit(partition: "p", payload: bytes("new\(n)"))]
                        case .duplicate(let n):
                            batch = [.appendAudit(partition: "p", payload: bytes("never \(n)")), .insert(key("taken"), label: nil, data: bytes("dup"))]
                        case .stale(let n):
                            batch = [
                                .appendAudit(partition: "p", payload: bytes("stale \(n)")),
                                .update(key("versioned"), expectedRevision: 9, label: nil, data: bytes("x")),
                            ]
                        }
                        do {
                            _ = try await store.commit(batch)
                            return (plan, nil)
                        } catch {
                            return (plan, error as? StoreError ?? StoreError(code: .unavailable, message: "\(error)"))
                        }
                    }
                }
                return await group.reduce(into: []) { $0.append($1) }
            }
            for (plan, error) in outcomes {
                switch plan {
                case .create: #expect(error == nil)
                case .duplicate, .stale: #expect(error?.code == .conflict)
                }
            }
            #expect(try await store.count(partition: "p", kind: "key") == 82)
            #expect(try await store.get(key("taken"))?.data == bytes("first"))
            #expect(try await store.get(key("versioned"))?.revision == 1)
            let chain = try await store.audit(partition: "p", from: 1, limit: 500)
            #expect(chain.count == 80)
            #expect(Set(chain.map(\.payload)) == Set((0..<80).map { bytes("new\($0)") }))
            #expect(verifyAuditChain(chain, previous: nil) == .valid)
            try await store.close()
        }
    }
}
