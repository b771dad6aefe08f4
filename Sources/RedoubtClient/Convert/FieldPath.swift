import Foundation
import RedoubtCore

/// Where a value sits in a request (`spec.algorithm`, `items[3].data`), for error messages that
/// name the field a caller must fix.
package struct FieldPath: Sendable, Hashable, CustomStringConvertible {
    /// The dotted path; empty for the message itself.
    package let text: String

    /// The message itself.
    package static let root = FieldPath(text: "")

    /// A field of this message (`spec` + `algorithm` is `spec.algorithm`).
    package static func + (path: FieldPath, field: String) -> FieldPath {
        FieldPath(text: path.text.isEmpty ? field : "\(path.text).\(field)")
    }

    /// An element of this repeated field (`items[3]`).
    package subscript(index: Int) -> FieldPath {
        FieldPath(text: "\(text)[\(index)]")
    }

    /// The path, or `request` for the message itself.
    package var description: String { text.isEmpty ? "request" : text }

    /// INVALID_ARGUMENT: `"<path> <why>"`.
    package func invalid(_ why: String) -> HSMError {
        HSMError(.invalidArgument, "\(description) \(why)")
    }

    /// Refuses bytes longer than `limit`: `"<path> is N bytes; the limit is L"`.
    package func checkSize(_ data: Data, limit: Int) throws {
        guard data.count <= limit else { throw invalid("is \(data.count) bytes; the limit is \(limit)") }
    }

    /// Refuses text longer than `limit` bytes (UTF-8).
    package func checkSize(_ text: String, limit: Int) throws {
        let count = text.utf8.count
        guard count <= limit else { throw invalid("is \(count) bytes; the limit is \(limit)") }
    }
}
