import Foundation
import RedoubtStore
import Testing

extension ObjectStoreConformance {
    static var backupCases: [Case] {
        [
            Case("export then import into a fresh store reproduces everything") { try await $0.exportImportRoundTrip() },
            Case("import into a non-empty store fails and changes nothing") { try await $0.importIntoNonEmptyStore() },
            Case("import of an inconsistent backup writes nothing") { try await $0.importRejectsCorruptBackups() },
            Case("import stops cleanly when its source throws") { try await $0.importSourceFailure() },
            Case("export reads one consistent snapshot") { try await $0.exportIsASnapshot() },
            Case("extreme revisions and sequences fail cleanly") { try await $0.extremeValues() },
        ]
    }

    /// Fills a store with more than one export page of each record type.
    func populate(_ store: any ObjectStore) async throws {
        for chunk in 0..<3 {
            var operations: [WriteOperation] = []
            for index in (chunk * 100)..<(chunk * 100 + 100) {
                let partition = index.isMultiple(of: 2) ? "even" : "odd"
                let k = ObjectKey(partition: partition, kind: index.isMultiple(of: 3) ? "user" : "key", id: "o-\(index)")
                operations.append(.insert(k, label: index.isMultiple(of: 5) ? "five" : nil, data: bytes("data \(index)")))
                operations.append(.appendAudit(partition: partition, payload: bytes("created \(index)")))
                operations.append(.claimRequestID(partition: partition, requestID: "r-\(index)", object: k))
            }
            try await store.commit(WriteBatch(operations))
        }
        // Some objects beyond revision 1, and one deleted.
        try await store.commit([
            .update(ObjectKey(partition: "even", kind: "key", id: "o-2"), expectedRevision: 1, label: "x", data: bytes("v2")),
            .delete(ObjectKey(partition: "odd", kind: "key", id: "o-1"), expectedRevision: 1),
            .appendAudit(partition: "", payload: Data()),
        ])
        try await store.commit([
            .update(ObjectKey(partition: "even", kind: "key", id: "o-2"), expectedRevision: 2, label: "x", data: bytes("v3"))
        ])
    }

    func exportImportRoundTrip() async throws {
        let exported = try await withStore { source in
            try await populate(source)
            return try await exportedRecords(source)
        }
        var objects = 0, audits = 0, claims = 0
        for record in exported {
            switch record {
            case .object: objects += 1
            case .audit: audits += 1
            case .requestClaim: claims += 1
            }
        }
        #expect(objects == 299)
        #expect(audits == 301)
        #expect(claims == 300)
        // Objects first, then audit entries, then claims.
        let kinds = exported.map { record -> Int in
            switch record {
            case .object: 0
            case .audit: 1
            case .requestClaim: 2
            }
        }
        #expect(kinds == kinds.sorted())

        try await withStore { target in
            try await target.importAll(RecordSequence(records: exported))
            #expect(try await exportedRecords(target) == exported)
            #expect(try await target.changeCounter() > 0)

            let updated = try await target.get(ObjectKey(partition: "even", kind: "key", id: "o-2"))
            #expect(updated?.revision == 3)
            #expect(updated?.data == bytes("v3"))
            #expect(try await target.get(ObjectKey(partition: "odd", kind: "key", id: "o-1")) == nil)
            #expect(try await target.requestClaim(partition: "odd", requestID: "r-7") == ObjectKey(partition: "odd", kind: "key", id: "o-7"))
            #expect(try await target.auditPartitions() == ["", "even", "odd"])

            // The imported chain continues where the source stopped.
            let head = try #require(try await target.auditHead(partition: "even"))
            #expect(head.sequence == 150)
            let appended = try await target.commit([.appendAudit(partition: "even", payload: bytes("after restore"))])
            #expect(appended.auditSequences == [151])
            let chain = try await target.audit(partition: "even", from: 1, limit: 1000)
            #expect(verifyAuditChain(chain, previous: nil) == .valid)

            // Revisions carried over: optimistic concurrency continues to work.
            await expectStoreError(.conflict) {
                try await target.commit([.update(ObjectKey(partition: "even", kind: "key", id: "o-2"), expectedRevision: 1, label: nil, data: Data())])
            }
        }
    }

    func importIntoNonEmptyStore() async throws {
        try await withStore { store in
            try await store.commit([.insert(key("existing"), label: nil, data: bytes("e"))])
            let before = try await contents(of: store)
            let backup: [StoreRecord] = [
                .object(StoredObject(key: key("other"), label: nil, revision: 4, data: bytes("o"))),
                .audit(
                    AuditEntry(
                        partition: "p", sequence: 1, payload: bytes("a"),
                        hash: AuditEntry.chainHash(previousHash: AuditEntry.genesisHash, sequence: 1, payload: bytes("a")))),
            ]
            await expectStoreError(.notEmpty) { try await store.importAll(RecordSequence(records: backup)) }
            #expect(try await contents(of: store) == before)

            // A store holding only an audit entry or a claim is not empty either.
            try await store.commit([.delete(key("existing"), expectedRevision: 1), .appendAudit(partition: "p", payload: Data())])
            await expectStoreError(.notEmpty) { try await store.importAll(RecordSequence(records: backup)) }
            // The store still works afterwards.
            try await store.commit([.insert(key("later"), label: nil, data: Data())])
        }
    }

    func importRejectsCorruptBackups() async throws {
        let exported = try await withStore { source in
            try await populate(source)
            return try await exportedRecords(source)
        }
        let firstAudit = try #require(exported.firstIndex { if case .audit = $0 { true } else { false } })
        let lastAudit = try #require(exported.lastIndex { if case .audit = $0 { true } else { false } })
        guard case .audit(var tampered) = exported[lastAudit] else {
            Issue.record("expected an audit record")
            return
        }
        tampered.payload = bytes("tampered")

        var alteredPayload = exported
        alteredPayload[lastAudit] = .audit(tampered)
        var droppedEntry = exported
        droppedEntry.remove(at: firstAudit + 1)
        var duplicateObject = exported
        duplicateObject.append(exported[0])
        var duplicateClaim = exported
        duplicateClaim.append(exported[exported.count - 1])
        let zeroRevision: [StoreRecord] = [.object(StoredObject(key: key("z"), label: nil, revision: 0, data: Data()))]
        let chainWithoutStart: [StoreRecord] = [
            .audit(AuditEntry(partition: "p", sequence: 2, payload: Data(), hash: AuditEntry.genesisHash))
        ]

        try await withStore { target in
            for backup in [alteredPayload, droppedEntry, duplicateObject, duplicateClaim, zeroRevision, chainWithoutStart] {
                await expectStoreError(.corrupt) { try await target.importAll(RecordSequence(records: backup)) }
                #expect(try await exportedRecords(target).isEmpty)
            }
            // Nothing was left behind: the intact backup still imports.
            try await target.importAll(RecordSequence(records: exported))
            #expect(try await exportedRecords(target) == exported)
        }
    }

    func importSourceFailure() async throws {
        let exported = try await withStore { source in
            try await populate(source)
            return try await exportedRecords(source)
        }
        try await withStore { target in
            // Fail after several chunks have already been written.
            do {
                try await target.importAll(RecordSequence(records: exported, failAfter: 700))
                Issue.record("import should have failed")
            } catch {
                #expect(error is RecordSequence.SourceFailure)
            }
            #expect(try await exportedRecords(target).isEmpty)
            #expect(try await target.count(partition: "even", kind: "key") == 0)
            // And the store is usable afterwards.
            try await target.importAll(RecordSequence(records: exported))
            #expect(try await exportedRecords(target).count == exported.count)
        }
    }

    func extremeValues() async throws {
        try await withStore { store in
            let last = key("last")
            try await store.importAll(
                RecordSequence(records: [
                    .object(StoredObject(key: last, label: nil, revision: .max, data: bytes("x")))
                ]))
            #expect(try await store.get(last)?.revision == .max)
            let before = try await contents(of: store)
            await expectStoreError(.conflict) {
                try await store.commit([.update(last, expectedRevision: .max, label: nil, data: Data())])
            }
            await expectStoreError(.notFound) {
                try await store.commit([.update(key("absent"), expectedRevision: .max, label: nil, data: Data())])
            }
            await expectStoreError(.conflict) {
                try await store.commit([.update(last, expectedRevision: .min, label: nil, data: Data())])
            }
            #expect(try await contents(of: store) == before)
            #expect(try await store.audit(partition: "p", from: .min, limit: 10).isEmpty)
            #expect(try await store.audit(partition: "p", from: .max, limit: .max).isEmpty)
            #expect(try await store.list(partition: "p", kind: "key", label: nil, after: nil, limit: .max).count == 1)
            // The object can still be deleted.
            try await store.commit([.delete(last, expectedRevision: .max)])
        }
    }

    func exportIsASnapshot() async throws {
        try await withStore { store in
            try await store.commit(WriteBatch((0..<600).map { .insert(key(String(format: "k%03d", $0)), label: nil, data: bytes("\($0)")) }))
            let stream = store.exportAll()
            var iterator = stream.makeAsyncIterator()
            var records: [StoreRecord] = []
            if let first = try await iterator.next() {
                records.append(first)
            }
            // Changes made after the export started are not part of it.
            try await store.commit([
                .delete(key("k599"), expectedRevision: 1),
                .insert(key("k600"), label: nil, data: Data()),
                .appendAudit(partition: "p", payload: bytes("late")),
            ])
            while let record = try await iterator.next() {
                records.append(record)
            }
            let ids = records.compactMap { record -> String? in
                if case .object(let object) = record { object.key.id } else { nil }
            }
            #expect(ids == (0..<600).map { String(format: "k%03d", $0) })
            #expect(records.count == 600)
        }
    }
}
