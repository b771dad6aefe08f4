import Foundation
import RedoubtStore
import Testing

extension ObjectStoreConformance {
    static var lifecycleCases: [Case] {
        [
            Case("a closed store refuses every operation") { try await $0.closedStoreRefuses() },
            Case("errors never describe object bytes") { try await $0.errorsHideData() },
        ]
    }

    func closedStoreRefuses() async throws {
        let store = try await makeStore()
        try await store.commit([.insert(key("k"), label: nil, data: bytes("x"))])
        try await store.close()
        try await store.close()  // idempotent

        await expectStoreError(.unavailable) { try await store.get(key("k")) }
        await expectStoreError(.unavailable) { try await store.list(partition: "p", kind: "key", label: nil, after: nil, limit: 1) }
        await expectStoreError(.unavailable) { try await store.count(partition: "p", kind: "key") }
        await expectStoreError(.unavailable) { try await store.commit([.insert(key("j"), label: nil, data: Data())]) }
        await expectStoreError(.unavailable) { try await store.audit(partition: "p", from: 1, limit: 1) }
        await expectStoreError(.unavailable) { try await store.auditHead(partition: "p") }
        await expectStoreError(.unavailable) { try await store.auditPartitions() }
        await expectStoreError(.unavailable) { try await store.requestClaim(partition: "p", requestID: "r") }
        await expectStoreError(.unavailable) { try await store.changeCounter() }
        await expectStoreError(.unavailable) { try await exportedRecords(store) }
        await expectStoreError(.unavailable) { try await store.importAll(RecordSequence(records: [])) }
    }

    func errorsHideData() async throws {
        try await withStore { store in
            let secret = Data("TOP-SECRET-KEY-MATERIAL".utf8)
            try await store.commit([.insert(key("k"), label: nil, data: secret)])
            let errors = [
                await expectStoreError(.conflict) { try await store.commit([.insert(key("k"), label: nil, data: secret)]) },
                await expectStoreError(.conflict) {
                    try await store.commit([.update(key("k"), expectedRevision: 9, label: nil, data: secret)])
                },
            ]
            for error in errors {
                let text = "\(String(describing: error)) \(error?.message ?? "")"
                #expect(!text.contains("TOP-SECRET"))
                #expect(!text.contains(hex(secret)))
                #expect(!text.contains(secret.base64EncodedString()))
            }
            let object = try #require(try await store.get(key("k")))
            #expect(!"\(object)".contains("TOP-SECRET"))
        }
    }
}
