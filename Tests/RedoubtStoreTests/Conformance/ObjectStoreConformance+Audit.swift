import Foundation
import RedoubtStore
import Testing

extension ObjectStoreConformance {
    static var auditCases: [Case] {
        [
            Case("audit chains have gap-free sequences and known hashes") { try await $0.auditChainKnownAnswers() },
            Case("audit reads page, and heads and partitions are listed") { try await $0.auditReads() },
            Case("verifyAuditChain detects tampering with stored entries") { try await $0.auditTamperDetection() },
            Case("request ids are claimed once per partition") { try await $0.requestClaims() },
            Case("the change counter grows with every commit") { try await $0.changeCounterGrows() },
        ]
    }

    func auditChainKnownAnswers() async throws {
        try await withStore { store in
            let first = try await store.commit([
                .appendAudit(partition: "kat", payload: bytes("hello")),
                .appendAudit(partition: "kat", payload: Data()),
            ])
            #expect(first.auditSequences == [1, 2])
            let second = try await store.commit([.appendAudit(partition: "kat", payload: bytes("world"))])
            #expect(second.auditSequences == [3])

            // SHA-256(previous ‖ UInt64 BE sequence ‖ payload), computed independently.
            let expected = [
                "80f5d602069518818eda6ea00ad018d4bafd8d5a6d1e932c8689641820019829",
                "38be94c6bb3a10aa6f759353cceffa4401f5e4b99a367acaf44a0f6314e88506",
                "f094e84d804ac53bf6a7eb9b545c8ea49c0776d24566fba7e04b7a487e99a0b1",
            ]
            let entries = try await store.audit(partition: "kat", from: 1, limit: 10)
            #expect(entries.map(\.sequence) == [1, 2, 3])
            #expect(entries.map(\.payload) == [bytes("hello"), Data(), bytes("world")])
            #expect(entries.map { hex($0.hash) } == expected)
            #expect(entries.allSatisfy { $0.partition == "kat" })
            #expect(verifyAuditChain(entries, previous: nil) == .valid)
        }
    }

    func auditReads() async throws {
        try await withStore { store in
            #expect(try await store.auditHead(partition: "p") == nil)
            #expect(try await store.auditPartitions().isEmpty)
            #expect(try await store.audit(partition: "p", from: 1, limit: 10).isEmpty)

            for round in 0..<4 {
                try await store.commit([
                    .appendAudit(partition: "p", payload: bytes("p\(2 * round)")),
                    .appendAudit(partition: "p", payload: bytes("p\(2 * round + 1)")),
                    .appendAudit(partition: "", payload: bytes("cluster\(round)")),
                ])
            }
            try await store.commit([.appendAudit(partition: "b", payload: bytes("b"))])

            #expect(try await store.auditPartitions() == ["", "b", "p"])
            let all = try await store.audit(partition: "p", from: 1, limit: 100)
            #expect(all.map(\.sequence) == Array(1...8))
            #expect(all.map(\.payload) == (0..<8).map { bytes("p\($0)") })
            #expect(try await store.auditHead(partition: "p") == all.last)
            #expect(try await store.auditHead(partition: "")?.sequence == 4)

            // Paging, each page verified against the last entry of the previous one.
            var previous: AuditEntry?
            var sequence: Int64 = 1
            var pages = 0
            while true {
                let page = try await store.audit(partition: "p", from: sequence, limit: 3)
                guard !page.isEmpty else { break }
                #expect(verifyAuditChain(page, previous: previous) == .valid)
                previous = page.last
                sequence = (page.last?.sequence ?? 0) + 1
                pages += 1
            }
            #expect(pages == 3)
            #expect(try await store.audit(partition: "p", from: 8, limit: 3).map(\.sequence) == [8])
            #expect(try await store.audit(partition: "p", from: 9, limit: 3).isEmpty)
        }
    }

    func auditTamperDetection() async throws {
        try await withStore { store in
            for index in 1...5 {
                try await store.commit([.appendAudit(partition: "t", payload: bytes("event \(index)"))])
            }
            let chain = try await store.audit(partition: "t", from: 1, limit: 10)
            try #require(chain.count == 5)
            #expect(verifyAuditChain(chain, previous: nil) == .valid)

            var altered = chain
            altered[2].payload = bytes("event 3, edited")
            #expect(brokenAt(verifyAuditChain(altered, previous: nil)) == 3)

            var dropped = chain
            dropped.remove(at: 2)
            #expect(brokenAt(verifyAuditChain(dropped, previous: nil)) == 3)

            var reordered = chain
            reordered.swapAt(2, 3)
            #expect(brokenAt(verifyAuditChain(reordered, previous: nil)) == 3)

            var rehashedAlone = chain
            rehashedAlone[2].payload = bytes("forged")
            rehashedAlone[2].hash = AuditEntry.chainHash(previousHash: chain[1].hash, sequence: 3, payload: bytes("forged"))
            // Recomputing one hash moves the break to the next entry.
            #expect(brokenAt(verifyAuditChain(rehashedAlone, previous: nil)) == 4)

            // A page checked against the wrong predecessor fails too.
            #expect(brokenAt(verifyAuditChain(Array(chain[2...]), previous: chain[0])) == 2)
            #expect(verifyAuditChain(Array(chain[2...]), previous: chain[1]) == .valid)
        }
    }

    func requestClaims() async throws {
        try await withStore { store in
            let a = key("a")
            let b = key("b")
            #expect(try await store.requestClaim(partition: "p", requestID: "r1") == nil)

            try await store.commit([
                .claimRequestID(partition: "p", requestID: "r1", object: a),
                .insert(a, label: nil, data: bytes("a")),
            ])
            #expect(try await store.requestClaim(partition: "p", requestID: "r1") == a)
            let before = try await contents(of: store)

            // A retried create with the same request id is refused, naming the first object.
            let duplicate = await expectStoreError(.duplicateRequest) {
                try await store.commit([
                    .claimRequestID(partition: "p", requestID: "r1", object: b),
                    .insert(b, label: nil, data: bytes("b")),
                ])
            }
            #expect(duplicate?.object == a)
            #expect(try await contents(of: store) == before)
            #expect(try await store.get(b) == nil)

            // Request ids are scoped by partition.
            try await store.commit([.claimRequestID(partition: "q", requestID: "r1", object: b)])
            #expect(try await store.requestClaim(partition: "q", requestID: "r1") == b)
            #expect(try await store.requestClaim(partition: "p", requestID: "r1") == a)
            #expect(try await store.requestClaim(partition: "p", requestID: "r2") == nil)
        }
    }

    func changeCounterGrows() async throws {
        try await withStore { store in
            let initial = try await store.changeCounter()
            var last = initial
            let batches: [WriteBatch] = [
                [.insert(key("k"), label: nil, data: bytes("1"))],
                [.update(key("k"), expectedRevision: 1, label: nil, data: bytes("2"))],
                [.appendAudit(partition: "p", payload: bytes("e"))],
                [.claimRequestID(partition: "p", requestID: "r", object: key("k"))],
                [.delete(key("k"), expectedRevision: 2)],
            ]
            for batch in batches {
                let result = try await store.commit(batch)
                #expect(result.changeCounter > last)
                #expect(try await store.changeCounter() == result.changeCounter)
                last = result.changeCounter
            }
            // A failed commit leaves it alone.
            await expectStoreError(.notFound) { try await store.commit([.delete(key("k"), expectedRevision: 2)]) }
            #expect(try await store.changeCounter() == last)
        }
    }
}

func hex(_ data: Data) -> String {
    data.map { String(format: "%02x", $0) }.joined()
}

/// The sequence of a broken verdict, or nil when valid.
func brokenAt(_ verdict: AuditChainVerdict) -> Int64? {
    if case .broken(let sequence, _) = verdict {
        return sequence
    }
    return nil
}
