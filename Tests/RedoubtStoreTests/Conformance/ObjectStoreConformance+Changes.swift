import Foundation
import RedoubtStore
import Testing

extension ObjectStoreConformance {
    static var changeCases: [Case] {
        [
            Case("the change log names what each commit changed, nothing for audit-only commits, and nil past a gap") {
                try await $0.changeLog()
            }
        ]
    }

    func changeLog() async throws {
        let a = ObjectKey(partition: "p", kind: "key", id: "a")
        let b = ObjectKey(partition: "p", kind: "session", id: "b")
        let exported: [StoreRecord] = try await withStore { store in
            let start = try await store.changeCounter()
            #expect(try await store.changes(after: start, limit: 10) == [])
            let first = try await store.commit([.insert(a, label: nil, data: Data([1])), .insert(b, label: "x", data: Data())])
            let audited = try await store.commit([.appendAudit(partition: "p", payload: Data("{}".utf8))])
            let second = try await store.commit([
                .update(a, expectedRevision: 1, label: nil, data: Data([2])), .appendAudit(partition: "p", payload: Data("{}".utf8)),
            ])
            let third = try await store.commit([.require(a, revision: 2), .delete(b, expectedRevision: 1)])
            // A refused commit leaves no trace in the log.
            await expectStoreError(.conflict) { try await store.commit([.delete(a, expectedRevision: 1)]) }

            let all = try #require(try await store.changes(after: start, limit: 100))
            #expect(
                all == [
                    StoreChange(counter: first.changeCounter, objects: [a, b]),
                    StoreChange(counter: audited.changeCounter, objects: []),
                    StoreChange(counter: second.changeCounter, objects: [a]),
                    StoreChange(counter: third.changeCounter, objects: [b]),
                ], "\(all)")
            // A page, then the rest; nothing after the latest.
            #expect(try await store.changes(after: start, limit: 2)?.map(\.counter) == [first.changeCounter, audited.changeCounter])
            #expect(try await store.changes(after: audited.changeCounter, limit: 2)?.map(\.counter) == [second.changeCounter, third.changeCounter])
            #expect(try await store.changes(after: third.changeCounter, limit: 5) == [])
            await expectStoreError(.invalidArgument) { _ = try await store.changes(after: start, limit: 0) }
            return try await exportedRecords(store)
        }
        // A restored store has no log of the commits before it: readers behind it get nil.
        try await withStore { target in
            try await target.importAll(RecordSequence(records: exported))
            let restored = try await target.changeCounter()
            #expect(restored > 0)
            #expect(try await target.changes(after: 0, limit: 100) == nil, "a log with a gap answered as if whole")
            #expect(try await target.changes(after: restored, limit: 100) == [])
            let next = try await target.commit([.insert(ObjectKey(partition: "p", kind: "key", id: "c"), label: nil, data: Data())])
            #expect(try await target.changes(after: restored, limit: 100)?.map(\.counter) == [next.changeCounter])
            #expect(try await target.changes(after: 0, limit: 100) == nil)
        }
    }
}
