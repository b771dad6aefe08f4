import Foundation
import RedoubtStore
import Testing

@Suite("verifyAuditChain")
struct AuditChainTests {
    /// A valid chain of `count` entries built with the public hash function.
    func chain(_ count: Int, partition: String = "p") -> [AuditEntry] {
        var entries: [AuditEntry] = []
        var previous = AuditEntry.genesisHash
        for sequence in 1...Int64(count) {
            let payload = bytes("entry \(sequence)")
            let hash = AuditEntry.chainHash(previousHash: previous, sequence: sequence, payload: payload)
            entries.append(AuditEntry(partition: partition, sequence: sequence, payload: payload, hash: hash))
            previous = hash
        }
        return entries
    }

    @Test("the hash function matches independently computed vectors")
    func knownAnswers() {
        #expect(AuditEntry.genesisHash == Data(count: 32))
        let first = AuditEntry.chainHash(previousHash: AuditEntry.genesisHash, sequence: 1, payload: bytes("hello"))
        #expect(hex(first) == "80f5d602069518818eda6ea00ad018d4bafd8d5a6d1e932c8689641820019829")
        let second = AuditEntry.chainHash(previousHash: first, sequence: 2, payload: Data())
        #expect(hex(second) == "38be94c6bb3a10aa6f759353cceffa4401f5e4b99a367acaf44a0f6314e88506")
    }

    @Test("valid chains and pages verify")
    func validChains() {
        let entries = chain(6)
        #expect(verifyAuditChain(entries, previous: nil) == .valid)
        #expect(verifyAuditChain(Array(entries[3...]), previous: entries[2]) == .valid)
        #expect(verifyAuditChain([], previous: nil) == .valid)
        #expect(verifyAuditChain([], previous: entries[5]) == .valid)
    }

    @Test("tampering is located at the first broken sequence")
    func tampering() {
        let entries = chain(6)

        var payload = entries
        payload[3].payload.append(0)
        #expect(brokenAt(verifyAuditChain(payload, previous: nil)) == 4)

        var hash = entries
        hash[5].hash[0] ^= 1
        #expect(brokenAt(verifyAuditChain(hash, previous: nil)) == 6)

        var shortHash = entries
        shortHash[0].hash = shortHash[0].hash.prefix(16)
        #expect(brokenAt(verifyAuditChain(shortHash, previous: nil)) == 1)

        var dropped = entries
        dropped.remove(at: 1)
        #expect(brokenAt(verifyAuditChain(dropped, previous: nil)) == 2)

        var reordered = entries
        reordered.swapAt(4, 5)
        #expect(brokenAt(verifyAuditChain(reordered, previous: nil)) == 5)

        var renumbered = entries
        renumbered[2].sequence = 4
        renumbered[3].sequence = 3
        #expect(brokenAt(verifyAuditChain(renumbered, previous: nil)) == 3)

        var duplicated = entries
        duplicated.insert(entries[2], at: 3)
        #expect(brokenAt(verifyAuditChain(duplicated, previous: nil)) == 4)
    }

    @Test("chains must start at 1, stay in one partition, and follow their predecessor")
    func boundaries() {
        let entries = chain(4)
        #expect(brokenAt(verifyAuditChain(Array(entries[1...]), previous: nil)) == 1)

        let other = chain(4, partition: "q")
        #expect(brokenAt(verifyAuditChain([entries[0], other[1]], previous: nil)) == 2)
        #expect(brokenAt(verifyAuditChain([other[1]], previous: entries[0])) == 2)

        // Same sequences, different chain: the hash link fails.
        let forged = chain(4).map { entry -> AuditEntry in
            var entry = entry
            entry.payload = bytes("forged")
            return entry
        }
        #expect(brokenAt(verifyAuditChain([forged[1]], previous: entries[0])) == 2)

        var invalidPrevious = entries[0]
        invalidPrevious.sequence = .max
        if case .broken(_, let reason) = verifyAuditChain(entries, previous: invalidPrevious) {
            #expect(!reason.isEmpty)
        } else {
            Issue.record("an overflowing predecessor must not verify")
        }
    }

    @Test("a chain that needs a sequence past Int64.max is broken, not wrapped")
    func sequenceOverflow() {
        // Correctly hashed entries at Int64.max − 1, Int64.max, and then the wrapped successor
        // Int64.min (what a verifier with a wrapping counter would expect next).
        func entry(_ sequence: Int64, after previousHash: Data) -> AuditEntry {
            let payload = bytes("entry \(sequence)")
            let hash = AuditEntry.chainHash(previousHash: previousHash, sequence: sequence, payload: payload)
            return AuditEntry(partition: "p", sequence: sequence, payload: payload, hash: hash)
        }
        let beforeLast = entry(.max - 1, after: AuditEntry.genesisHash)
        let last = entry(.max, after: beforeLast.hash)
        let wrapped = entry(.min, after: last.hash)

        // Reaching Int64.max is fine.
        #expect(verifyAuditChain([last], previous: beforeLast) == .valid)
        #expect(verifyAuditChain([], previous: last) != .valid)

        // Anything after it is broken at Int64.max, with a reason that says why.
        for next in [wrapped, entry(.max, after: last.hash), entry(1, after: last.hash)] {
            let verdict = verifyAuditChain([last, next], previous: beforeLast)
            #expect(brokenAt(verdict) == .max, "entry \(next.sequence) after Int64.max")
            if case .broken(_, let reason) = verdict {
                #expect(reason.contains("Int64.max"))
            }
        }
        // Also when the run is longer and the break would otherwise be reported at a negative sequence.
        let afterWrapped = entry(.min + 1, after: wrapped.hash)
        #expect(brokenAt(verifyAuditChain([last, wrapped, afterWrapped], previous: beforeLast)) == .max)
    }
}
