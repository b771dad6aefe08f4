import Foundation
import RedoubtStore
import Testing

@Suite("Store values")
struct StoreValueTests {
    @Test("records survive a JSON round trip")
    func recordCoding() throws {
        let records: [StoreRecord] = [
            .object(StoredObject(key: key("k"), label: "l", revision: 7, data: Data([0, 1, 2, 255]))),
            .object(StoredObject(key: key("", kind: "", partition: ""), label: nil, revision: 1, data: Data())),
            .audit(AuditEntry(partition: "p", sequence: 3, payload: bytes("x"), hash: Data(count: 32))),
            .requestClaim(partition: "p", requestID: "r", object: key("k")),
        ]
        let decoded = try JSONDecoder().decode([StoreRecord].self, from: JSONEncoder().encode(records))
        #expect(decoded == records)
    }

    @Test("error codes are distinct and descriptions carry code, message and object")
    func errors() {
        let codes: [StoreError.Code] = [.conflict, .notFound, .duplicateRequest, .unavailable, .corrupt, .invalidArgument, .notEmpty]
        #expect(Set(codes).count == codes.count)
        #expect(Set(codes.map(\.description)).count == codes.count)
        let error = StoreError(code: .duplicateRequest, message: "taken", object: key("k"))
        #expect(error.description == "duplicateRequest: taken (object p/key/k)")
        #expect(StoreError(code: .notEmpty, message: "m").description == "notEmpty: m")
    }

    @Test("descriptions of objects and entries never print their bytes")
    func descriptions() {
        let object = StoredObject(key: key("k"), label: nil, revision: 1, data: bytes("SECRETBYTES"))
        #expect(!object.description.contains("SECRETBYTES"))
        #expect(object.description.contains("11 bytes"))
        let entry = AuditEntry(partition: "p", sequence: 1, payload: bytes("SECRETBYTES"), hash: Data(count: 32))
        #expect(!entry.description.contains("SECRETBYTES"))
    }

    @Test("a batch can be written as an array literal")
    func batchLiteral() {
        let batch: WriteBatch = [.require(key("k"), revision: 1), .appendAudit(partition: "p", payload: Data())]
        #expect(batch.operations.count == 2)
        #expect(WriteBatch().operations.isEmpty)
    }
}
