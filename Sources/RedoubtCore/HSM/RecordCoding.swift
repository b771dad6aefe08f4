import Foundation

/// The JSON coding used for every record the model stores.
package enum RecordCoding {
    package static func encode<T: Encodable>(_ value: T) throws -> Data {
        let e = JSONEncoder()
        e.dateEncodingStrategy = .millisecondsSince1970
        e.outputFormatting = [.sortedKeys]
        do { return try e.encode(value) } catch { throw HSMError(.internalError, "cannot encode a record") }
    }

    package static func decode<T: Decodable>(_ type: T.Type, _ data: Data) throws -> T {
        let d = JSONDecoder()
        d.dateDecodingStrategy = .millisecondsSince1970
        do { return try d.decode(type, from: data) } catch {
            throw HSMError(.internalError, "a stored \(type) record is damaged")
        }
    }
}

/// The form of key ids: `k` and 32 lowercase hex digits (certificates: `c`).
package enum KeyIdentifier {
    /// Whether `id` has the form of a key id, or with `prefix`, of another random object id.
    package static func isValid(_ id: String, prefix: String = "k") -> Bool {
        id.utf8.count == 33 && id.hasPrefix(prefix) && id.utf8.dropFirst().allSatisfy { (48...57).contains($0) || (97...102).contains($0) }
    }
}
