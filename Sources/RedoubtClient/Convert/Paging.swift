import Foundation
import RedoubtCore

/// Page sizes and opaque page tokens of the List RPCs.
///
/// A token is `p1.` and the base64url of the last id of the page it follows; lists are ordered
/// by id, so the next page starts after it. A token the server did not issue is INVALID_ARGUMENT.
package enum Paging {
    /// The page size when a request sends 0.
    package static let defaultPageSize = 100
    /// The largest page.
    package static let maximumPageSize = 1000

    /// The page size of a request: 0 means 100; otherwise 1 to 1000.
    package static func pageSize(_ value: Int32, at path: FieldPath) throws -> Int {
        if value == 0 { return defaultPageSize }
        guard (1...Int32(maximumPageSize)).contains(value) else {
            throw path.invalid("is \(value); send 1 to \(maximumPageSize) (0 means \(defaultPageSize))")
        }
        return Int(value)
    }

    /// The token that continues after `lastID`.
    package static func token(after lastID: String) -> String {
        "p1."
            + Data(lastID.utf8).base64EncodedString()
            .replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_")
            .replacingOccurrences(of: "=", with: "")
    }

    /// The id a token continues after; `nil` for the empty token (the first page).
    package static func lastID(_ token: String, at path: FieldPath) throws -> String? {
        guard !token.isEmpty else { return nil }
        let bad = path.invalid("is not a page token this server issued; send the next_page_token of the previous page, or nothing for the first page")
        guard token.hasPrefix("p1."), token.utf8.count <= 1024 else { throw bad }
        var text = String(token.dropFirst(3)).replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/")
        while text.utf8.count % 4 != 0 { text += "=" }
        guard let data = Data(base64Encoded: text), let id = String(data: data, encoding: .utf8), !id.isEmpty else { throw bad }
        return id
    }

    /// One page of a complete list: items with ids after `after`, in id order, at most `size`,
    /// and the token of the next page (empty if none is left).
    package static func page<T>(of items: [T], id: (T) -> String, after: String?, size: Int) -> (items: [T], nextPageToken: String) {
        let remaining = items.sorted { id($0) < id($1) }.filter { item in
            guard let after else { return true }
            return id(item) > after
        }
        let page = Array(remaining.prefix(size))
        guard remaining.count > size, let last = page.last else { return (page, "") }
        return (page, token(after: id(last)))
    }

    /// One page read from a source that lists in id order: `fetch` is asked for one more item
    /// than the page holds, which tells whether another page follows (at the largest page size, a
    /// full page gets a token and the next page may be empty).
    package static func page<T>(
        size: Int, id: (T) -> String, _ fetch: (_ limit: Int) async throws -> [T]
    ) async throws -> (items: [T], nextPageToken: String) {
        let items = try await fetch(min(size + 1, maximumPageSize))
        let page = Array(items.prefix(size))
        let more = items.count > size || (items.count == size && size == maximumPageSize)
        return (page, more ? page.last.map { token(after: id($0)) } ?? "" : "")
    }
}
