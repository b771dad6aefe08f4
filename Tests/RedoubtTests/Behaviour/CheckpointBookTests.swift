import Foundation
@testable import Redoubt
import RedoubtStore
import Testing

/// The node's verified point over its own audit records, when concurrent commits report back out
/// of chain order.
@Suite("CheckpointBook: the verified point over this node's commits")
struct CheckpointBookTests {
    typealias Record = CheckpointBook.Record

    /// Records `range` with distinct payloads.
    func records(_ range: ClosedRange<Int64>) -> [Record] {
        range.map { ($0, Data("use \($0)".utf8), nil) }
    }

    /// The chain hash after `records`, hashed one by one from `start`.
    func hash(from start: ChainPoint, over records: [Record]) -> Data {
        records.reduce(start.hash) { AuditEntry.chainHash(previousHash: $0, sequence: $1.sequence, payload: $1.payload) }
    }

    /// `records` with the links a store that chained them from `start` reports.
    func linked(_ records: [Record], from start: ChainPoint) -> [Record] {
        var previous = start.hash
        return records.map { record in
            let hash = AuditEntry.chainHash(previousHash: previous, sequence: record.sequence, payload: record.payload)
            defer { previous = hash }
            return (record.sequence, record.payload, AuditLink(previous: previous, hash: hash))
        }
    }

    let start = ChainPoint(sequence: 10, hash: AuditEntry.genesisHash)

    @Test("segments reported out of order are parked, then extended over in order: the same hash as one by one")
    func outOfOrder() {
        var book = CheckpointBook()
        book.verified["p"] = start
        let (a, b, c) = (records(11...20), records(21...25), records(26...40))
        book.extend("p", with: c)
        book.extend("p", with: b)
        #expect(book.verified["p"] == start, "a segment that does not follow the point moved it")
        #expect(book.parked["p"]?.count == 2)
        book.extend("p", with: a)
        #expect(book.verified["p"] == ChainPoint(sequence: 40, hash: hash(from: start, over: a + b + c)))
        #expect(book.parked["p"] == nil, "nothing is left parked once the point passed it")
    }

    @Test("a walk that moves the point past parked records forgets them, and takes the ones that follow it; parking is bounded")
    func afterAWalk() {
        var book = CheckpointBook()
        book.verified["p"] = start
        let passed = records(21...30), following = records(51...60)
        book.extend("p", with: passed)
        book.extend("p", with: following)
        // A walk read the chain up to 50 (records of this node and others): its head is authentic.
        let head = ChainPoint(sequence: 50, hash: Data(repeating: 7, count: 32))
        book.advance("p", to: head)
        #expect(book.verified["p"] == ChainPoint(sequence: 60, hash: hash(from: head, over: following)))
        #expect(book.parked["p"] == nil)

        for n in 0..<Int64(CheckpointBook.parkedLimit + 3) { book.extend("p", with: records((100 + 10 * n)...(105 + 10 * n))) }
        #expect(book.parked["p"]?.count == CheckpointBook.parkedLimit)
        #expect(book.verified["p"]?.sequence == 60)
    }

    @Test("the store's links extend the point as hashing would; links that do not follow the point are hashed over instead")
    func links() {
        var book = CheckpointBook()
        book.verified["p"] = start
        let (a, b) = (records(11...20), records(21...30))
        book.extend("p", with: linked(a, from: start))
        #expect(book.verified["p"] == ChainPoint(sequence: 20, hash: hash(from: start, over: a)))
        // A store whose head was altered behind the node chains from another hash: the node hashes
        // the records from its own point, and its point does not take the store's hashes.
        book.extend("p", with: linked(b, from: ChainPoint(sequence: 20, hash: Data(repeating: 9, count: 32))))
        #expect(book.verified["p"] == ChainPoint(sequence: 30, hash: hash(from: start, over: a + b)))
    }

    @Test("segments the store linked are parked without their payloads and taken whole, only from the point's own hash")
    func linkedParked() {
        let (a, b, c) = (linked(records(11...20), from: start), records(21...25), records(26...40))
        var book = CheckpointBook()
        book.verified["p"] = start
        let bLinked = linked(b, from: ChainPoint(sequence: 20, hash: hash(from: start, over: a)))
        let cLinked = linked(c, from: ChainPoint(sequence: 25, hash: hash(from: start, over: a + b)))
        book.extend("p", with: cLinked)
        book.extend("p", with: bLinked)
        guard case .linked(let last, _, _) = book.parked["p"]?[21] else {
            Issue.record("a linked segment was parked with its records")
            return
        }
        #expect(last == 25)
        book.extend("p", with: a)
        #expect(book.verified["p"] == ChainPoint(sequence: 40, hash: hash(from: start, over: a + b + c)))

        // A parked segment the store chained from another hash is dropped, not taken.
        var other = CheckpointBook()
        other.verified["p"] = start
        other.extend("p", with: linked(b, from: ChainPoint(sequence: 20, hash: Data(repeating: 9, count: 32))))
        other.extend("p", with: a)
        #expect(other.verified["p"] == ChainPoint(sequence: 20, hash: hash(from: start, over: a)))
        #expect(other.parked["p"] == nil)
    }

    @Test("the first parked segment after a sequence: where a walk can stop reading")
    func firstParked() {
        var book = CheckpointBook()
        book.verified["p"] = start
        book.extend("p", with: records(31...40))
        book.extend("p", with: records(21...25))
        #expect(book.firstParked("p", after: 10) == 21)
        #expect(book.firstParked("p", after: 25) == 31)
        #expect(book.firstParked("p", after: 40) == nil)
        #expect(book.firstParked("q", after: 0) == nil)
    }

    @Test("no verified point yet: nothing is extended or parked")
    func noPoint() {
        var book = CheckpointBook()
        book.extend("p", with: records(1...5))
        #expect(book.verified["p"] == nil && book.parked["p"] == nil)
    }
}
