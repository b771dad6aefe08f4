import Foundation
import RedoubtStore
import Testing

extension ObjectStoreConformance {
    static var objectCases: [Case] {
        [
            Case("insert, get, update, delete assign revisions") { try await $0.insertGetUpdateDelete() },
            Case("missing objects report notFound and change nothing") { try await $0.missingObjects() },
            Case("stale revisions report conflict") { try await $0.staleRevisions() },
            Case("a failed operation rolls back its whole batch") { try await $0.failedBatchRollsBack() },
            Case("operations of a batch apply in order") { try await $0.operationsApplyInOrder() },
            Case("data and labels round-trip exactly") { try await $0.dataRoundTrips() },
            Case("keys are isolated by partition and kind") { try await $0.keysAreIsolated() },
            Case("list pages by id and filters by label") { try await $0.listPagesAndFilters() },
            Case("count counts one partition and kind") { try await $0.countCountsOneKind() },
            Case("negative limits are rejected") { try await $0.negativeLimits() },
        ]
    }

    func insertGetUpdateDelete() async throws {
        try await withStore { store in
            let k = key("k1")
            #expect(try await store.get(k) == nil)

            let inserted = try await store.commit([.insert(k, label: "signing", data: bytes("v1"))])
            #expect(inserted.revisions == [k: 1])
            #expect(inserted.auditSequences.isEmpty)
            #expect(try await store.get(k) == StoredObject(key: k, label: "signing", revision: 1, data: bytes("v1")))

            let updated = try await store.commit([.update(k, expectedRevision: 1, label: nil, data: bytes("v2"))])
            #expect(updated.revisions == [k: 2])
            #expect(try await store.get(k) == StoredObject(key: k, label: nil, revision: 2, data: bytes("v2")))

            let deleted = try await store.commit([.delete(k, expectedRevision: 2)])
            #expect(deleted.revisions.isEmpty)
            #expect(try await store.get(k) == nil)
            #expect(try await store.count(partition: "p", kind: "key") == 0)

            // A new insert after delete starts again at revision 1.
            let reinserted = try await store.commit([.insert(k, label: nil, data: bytes("v3"))])
            #expect(reinserted.revisions == [k: 1])
        }
    }

    func missingObjects() async throws {
        try await withStore { store in
            try await store.commit([.insert(key("present"), label: nil, data: bytes("x"))])
            let before = try await contents(of: store)
            let missing = key("missing")

            let update = await expectStoreError(.notFound) {
                try await store.commit([.update(missing, expectedRevision: 1, label: nil, data: bytes("y"))])
            }
            #expect(update?.object == missing)
            await expectStoreError(.notFound) { try await store.commit([.delete(missing, expectedRevision: 1)]) }
            await expectStoreError(.notFound) { try await store.commit([.require(missing, revision: 1)]) }

            #expect(try await contents(of: store) == before)
        }
    }

    func staleRevisions() async throws {
        try await withStore { store in
            let k = key("k")
            try await store.commit([.insert(k, label: nil, data: bytes("a"))])
            try await store.commit([.update(k, expectedRevision: 1, label: nil, data: bytes("b"))])
            let before = try await contents(of: store)

            let insert = await expectStoreError(.conflict) {
                try await store.commit([.insert(k, label: nil, data: bytes("c"))])
            }
            #expect(insert?.object == k)
            let update = await expectStoreError(.conflict) {
                try await store.commit([.update(k, expectedRevision: 1, label: nil, data: bytes("c"))])
            }
            #expect(update?.object == k)
            #expect(update?.message.contains("2") == true)
            await expectStoreError(.conflict) { try await store.commit([.delete(k, expectedRevision: 3)]) }
            await expectStoreError(.conflict) { try await store.commit([.require(k, revision: 1)]) }
            #expect(try await contents(of: store) == before)

            // The right revision passes; a require-only batch writes nothing.
            let required = try await store.commit([.require(k, revision: 2)])
            #expect(required.revisions.isEmpty)
            #expect(try await store.get(k)?.data == bytes("b"))
        }
    }

    func failedBatchRollsBack() async throws {
        try await withStore { store in
            let existing = key("existing")
            try await store.commit([
                .insert(existing, label: "l", data: bytes("e1")),
                .appendAudit(partition: "p", payload: bytes("created")),
            ])
            let before = try await contents(of: store)

            // Valid writes of every kind, followed by one failing operation.
            let prefix: [WriteOperation] = [
                .insert(key("new"), label: "l", data: bytes("n")),
                .update(existing, expectedRevision: 1, label: "changed", data: bytes("e2")),
                .appendAudit(partition: "p", payload: bytes("a")),
                .appendAudit(partition: "other", payload: bytes("b")),
                .claimRequestID(partition: "p", requestID: "req", object: key("new")),
            ]
            let failures: [(WriteOperation, StoreError.Code)] = [
                (.insert(existing, label: nil, data: bytes("dup")), .conflict),
                (.update(key("new"), expectedRevision: 5, label: nil, data: bytes("x")), .conflict),
                (.require(existing, revision: 1), .conflict),  // the prefix moved it to 2
                (.delete(key("absent"), expectedRevision: 1), .notFound),
                (.claimRequestID(partition: "p", requestID: "req", object: existing), .duplicateRequest),
            ]
            for (failing, code) in failures {
                await expectStoreError(code) { try await store.commit(WriteBatch(prefix + [failing])) }
                #expect(try await contents(of: store) == before, "after failing with \(code)")
                #expect(try await store.auditPartitions() == ["p"])
            }

            // The same prefix alone is valid, so the failures above were rollbacks.
            let result = try await store.commit(WriteBatch(prefix))
            #expect(result.revisions == [key("new"): 1, existing: 2])
            #expect(result.auditSequences == [2, 1])
        }
    }

    func operationsApplyInOrder() async throws {
        try await withStore { store in
            let k = key("k")
            let result = try await store.commit([
                .insert(k, label: "a", data: bytes("1")),
                .update(k, expectedRevision: 1, label: "b", data: bytes("2")),
                .update(k, expectedRevision: 2, label: "c", data: bytes("3")),
                .require(k, revision: 3),
            ])
            #expect(result.revisions == [k: 3])
            #expect(try await store.get(k) == StoredObject(key: k, label: "c", revision: 3, data: bytes("3")))

            let transient = key("transient")
            let second = try await store.commit([
                .insert(transient, label: nil, data: bytes("t")),
                .delete(transient, expectedRevision: 1),
            ])
            #expect(second.revisions.isEmpty)
            #expect(try await store.get(transient) == nil)
        }
    }

    func dataRoundTrips() async throws {
        try await withStore { store in
            var large = Data(count: 1 << 20)
            for index in large.indices {
                large[index] = UInt8(truncatingIfNeeded: index &* 31 &+ 7)
            }
            let binary = Data([0, 1, 0, 255, 0])
            let objects = [
                StoredObject(key: key("empty"), label: nil, revision: 1, data: Data()),
                StoredObject(key: key("empty-label"), label: "", revision: 1, data: binary),
                StoredObject(key: key("large"), label: "big", revision: 1, data: large),
                StoredObject(key: key("ünïcødé 🔑", kind: "k/ind", partition: "päｒt"), label: "ラベル", revision: 1, data: bytes("u")),
            ]
            try await store.commit(WriteBatch(objects.map { .insert($0.key, label: $0.label, data: $0.data) }))
            for object in objects {
                #expect(try await store.get(object.key) == object)
            }
            // Empty data survives an update too.
            try await store.commit([.update(key("large"), expectedRevision: 1, label: "big", data: Data())])
            #expect(try await store.get(key("large"))?.data == Data())
            #expect(try await store.list(partition: "p", kind: "key", label: "", after: nil, limit: 10).map(\.key) == [key("empty-label")])
        }
    }

    func keysAreIsolated() async throws {
        try await withStore { store in
            let keys = [
                ObjectKey(partition: "", kind: "key", id: "same"),
                ObjectKey(partition: "a", kind: "key", id: "same"),
                ObjectKey(partition: "a", kind: "user", id: "same"),
                ObjectKey(partition: "b", kind: "key", id: "same"),
            ]
            try await store.commit(WriteBatch(keys.map { .insert($0, label: nil, data: bytes($0.description)) }))
            for k in keys {
                #expect(try await store.get(k)?.data == bytes(k.description))
            }
            try await store.commit([.update(keys[1], expectedRevision: 1, label: nil, data: bytes("changed"))])
            #expect(try await store.get(keys[0])?.revision == 1)
            #expect(try await store.get(keys[2])?.revision == 1)
            #expect(try await store.get(keys[3])?.revision == 1)
            #expect(try await store.count(partition: "", kind: "key") == 1)
            #expect(try await store.count(partition: "a", kind: "key") == 1)
        }
    }

    func listPagesAndFilters() async throws {
        try await withStore { store in
            // 25 keys, inserted out of order; every third one labelled "hot".
            let ids = (0..<25).map { String(format: "id-%02d", ($0 * 7) % 25) }
            try await store.commit(
                WriteBatch(
                    ids.map { id in
                        let number = Int(id.dropFirst(3)) ?? 0
                        return .insert(key(id), label: number % 3 == 0 ? "hot" : "cold", data: bytes(id))
                    }))
            // Noise in other kinds and partitions.
            try await store.commit([
                .insert(key("id-00", kind: "user"), label: "hot", data: bytes("u")),
                .insert(key("id-00", partition: "q"), label: "hot", data: bytes("q")),
            ])

            var pages: [[String]] = []
            var after: String?
            repeat {
                let page = try await store.list(partition: "p", kind: "key", label: nil, after: after, limit: 10)
                pages.append(page.map(\.key.id))
                after = page.last?.key.id
            } while pages.last?.count == 10
            #expect(pages.map(\.count) == [10, 10, 5])
            #expect(pages.joined().map { $0 } == ids.sorted())

            let hot = try await store.list(partition: "p", kind: "key", label: "hot", after: nil, limit: 100)
            #expect(hot.map(\.key.id) == stride(from: 0, to: 25, by: 3).map { String(format: "id-%02d", $0) })
            #expect(hot.allSatisfy { $0.label == "hot" && $0.data == bytes($0.key.id) })

            let hotPage = try await store.list(partition: "p", kind: "key", label: "hot", after: "id-09", limit: 2)
            #expect(hotPage.map(\.key.id) == ["id-12", "id-15"])
            #expect(try await store.list(partition: "p", kind: "key", label: "none", after: nil, limit: 10).isEmpty)
            #expect(try await store.list(partition: "p", kind: "key", label: nil, after: "id-24", limit: 10).isEmpty)
            #expect(try await store.list(partition: "p", kind: "key", label: nil, after: nil, limit: 0).isEmpty)
        }
    }

    func countCountsOneKind() async throws {
        try await withStore { store in
            #expect(try await store.count(partition: "p", kind: "key") == 0)
            try await store.commit(WriteBatch((0..<7).map { .insert(key("k\($0)"), label: nil, data: Data()) }))
            try await store.commit([
                .insert(key("u", kind: "user"), label: nil, data: Data()),
                .insert(key("k0", partition: "q"), label: nil, data: Data()),
            ])
            #expect(try await store.count(partition: "p", kind: "key") == 7)
            #expect(try await store.count(partition: "p", kind: "user") == 1)
            #expect(try await store.count(partition: "q", kind: "key") == 1)
            try await store.commit([.delete(key("k3"), expectedRevision: 1)])
            #expect(try await store.count(partition: "p", kind: "key") == 6)
        }
    }

    func negativeLimits() async throws {
        try await withStore { store in
            await expectStoreError(.invalidArgument) {
                try await store.list(partition: "p", kind: "key", label: nil, after: nil, limit: -1)
            }
            await expectStoreError(.invalidArgument) { try await store.audit(partition: "p", from: 1, limit: -1) }
        }
    }
}
