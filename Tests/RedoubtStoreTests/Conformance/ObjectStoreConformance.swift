import Foundation
import RedoubtStore
import Testing

/// The behaviour every ``ObjectStore`` backend must have, as a reusable suite.
///
/// A backend's test target runs every case against its own factory:
///
/// ```swift
/// @Test(arguments: ObjectStoreConformance.cases)
/// func conformance(_ testCase: ObjectStoreConformance.Case) async throws {
///     try await testCase.run(ObjectStoreConformance { try SQLiteStore.temporary() })
/// }
/// ```
///
/// The factory must return a new, empty store on every call; cases close the
/// stores they make.
struct ObjectStoreConformance: Sendable {
    typealias Factory = @Sendable () async throws -> any ObjectStore

    /// One named behaviour of the suite.
    struct Case: Sendable, CustomTestStringConvertible {
        var name: String
        var body: @Sendable (ObjectStoreConformance) async throws -> Void

        init(_ name: String, _ body: @escaping @Sendable (ObjectStoreConformance) async throws -> Void) {
            self.name = name
            self.body = body
        }

        var testDescription: String { name }

        func run(_ suite: ObjectStoreConformance) async throws {
            try await body(suite)
        }
    }

    let makeStore: Factory

    init(makeStore: @escaping Factory) {
        self.makeStore = makeStore
    }

    /// Every case, in a stable order.
    static var cases: [Case] {
        objectCases + auditCases + concurrencyCases + backupCases + lifecycleCases + changeCases
    }

    /// Runs `body` with a new store, closing it afterwards.
    func withStore<T>(_ body: (any ObjectStore) async throws -> T) async throws -> T {
        let store = try await makeStore()
        do {
            let result = try await body(store)
            try await store.close()
            return result
        } catch {
            try? await store.close()
            throw error
        }
    }
}

// MARK: - Helpers shared by the cases

/// Everything observable in a store: all records and the change counter.
struct StoreContents: Equatable {
    var records: [StoreRecord]
    var changeCounter: Int64
}

func contents(of store: any ObjectStore) async throws -> StoreContents {
    StoreContents(records: try await exportedRecords(store), changeCounter: try await store.changeCounter())
}

func exportedRecords(_ store: any ObjectStore) async throws -> [StoreRecord] {
    var records: [StoreRecord] = []
    for try await record in store.exportAll() {
        records.append(record)
    }
    return records
}

/// Runs `body`, expecting a ``StoreError`` with `code`; returns it for more checks.
@discardableResult
func expectStoreError<T>(
    _ code: StoreError.Code,
    sourceLocation: SourceLocation = #_sourceLocation,
    _ body: () async throws -> T
) async -> StoreError? {
    do {
        _ = try await body()
        Issue.record("expected StoreError \(code), but the call succeeded", sourceLocation: sourceLocation)
        return nil
    } catch let error as StoreError {
        #expect(error.code == code, "expected \(code), got \(error)", sourceLocation: sourceLocation)
        return error
    } catch {
        Issue.record("expected StoreError \(code), got \(error)", sourceLocation: sourceLocation)
        return nil
    }
}

func key(_ id: String, kind: String = "key", partition: String = "p") -> ObjectKey {
    ObjectKey(partition: partition, kind: kind, id: id)
}

func bytes(_ text: String) -> Data {
    Data(text.utf8)
}

/// An async sequence over an array, optionally failing after `failAfter` elements.
struct RecordSequence: AsyncSequence, Sendable {
    typealias Element = StoreRecord
    typealias Failure = any Error
    struct SourceFailure: Error, Equatable {}

    var records: [StoreRecord]
    var failAfter: Int?

    struct AsyncIterator: AsyncIteratorProtocol {
        var records: [StoreRecord]
        var failAfter: Int?
        var index = 0

        mutating func next() async throws -> StoreRecord? {
            if let failAfter, index == failAfter {
                throw SourceFailure()
            }
            guard index < records.count else {
                return nil
            }
            defer { index += 1 }
            return records[index]
        }
    }

    func makeAsyncIterator() -> AsyncIterator {
        AsyncIterator(records: records, failAfter: failAfter)
    }
}
