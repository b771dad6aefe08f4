/// The error thrown by every ``ObjectStore`` operation.
///
/// An extensible struct rather than an enum, so new codes can be added without
/// breaking callers. Switch on ``code``; ``message`` is for humans and logs and
/// never contains object data or audit payloads.
///
/// ```swift
/// do {
///     try await store.commit([.insert(key, label: nil, data: sealed)])
/// } catch let error as StoreError where error.code == .conflict {
///     // re-read and retry
/// }
/// ```
public struct StoreError: Error, Sendable, Hashable, CustomStringConvertible {
    /// A category of store failure.
    public struct Code: Sendable, Hashable, CustomStringConvertible {
        private enum Wrapped: Sendable, Hashable {
            case conflict
            case notFound
            case duplicateRequest
            case unavailable
            case corrupt
            case invalidArgument
            case notEmpty
        }

        private var wrapped: Wrapped

        private init(_ wrapped: Wrapped) {
            self.wrapped = wrapped
        }

        /// A precondition failed: the key already exists, or a revision differs from the expected one.
        public static let conflict = Code(.conflict)
        /// An object named by an update, delete or require does not exist.
        public static let notFound = Code(.notFound)
        /// The request id is already claimed; ``StoreError/object`` holds the object it created.
        public static let duplicateRequest = Code(.duplicateRequest)
        /// The store cannot serve the request now: closed, locked, disk full, I/O failure.
        public static let unavailable = Code(.unavailable)
        /// Stored or imported data is inconsistent (undecodable row, broken audit chain, not a database).
        public static let corrupt = Code(.corrupt)
        /// The caller passed an argument the store cannot accept.
        public static let invalidArgument = Code(.invalidArgument)
        /// An import was attempted into a store that already holds data.
        public static let notEmpty = Code(.notEmpty)

        /// The code's name, for example `conflict`.
        public var description: String {
            switch wrapped {
            case .conflict: "conflict"
            case .notFound: "notFound"
            case .duplicateRequest: "duplicateRequest"
            case .unavailable: "unavailable"
            case .corrupt: "corrupt"
            case .invalidArgument: "invalidArgument"
            case .notEmpty: "notEmpty"
            }
        }
    }

    /// The category of failure.
    public var code: Code
    /// A human-readable explanation; never contains object data or payload bytes.
    public var message: String
    /// The object concerned, when there is one; for ``Code/duplicateRequest``, the object already claimed.
    public var object: ObjectKey?

    /// Creates a store error.
    public init(code: Code, message: String, object: ObjectKey? = nil) {
        self.code = code
        self.message = message
        self.object = object
    }

    /// `code: message`, followed by the object key when there is one.
    public var description: String {
        if let object {
            return "\(code): \(message) (object \(object))"
        }
        return "\(code): \(message)"
    }
}

extension StoreError {
    static func conflict(_ message: String, object: ObjectKey? = nil) -> StoreError {
        StoreError(code: .conflict, message: message, object: object)
    }

    static func notFound(_ message: String, object: ObjectKey? = nil) -> StoreError {
        StoreError(code: .notFound, message: message, object: object)
    }

    static func unavailable(_ message: String) -> StoreError {
        StoreError(code: .unavailable, message: message)
    }

    static func corrupt(_ message: String, object: ObjectKey? = nil) -> StoreError {
        StoreError(code: .corrupt, message: message, object: object)
    }

    static func invalidArgument(_ message: String) -> StoreError {
        StoreError(code: .invalidArgument, message: message)
    }

    /// Checks the `limit` of a read: throws ``Code/invalidArgument`` when it is
    /// negative; returns false when it is 0 (nothing to read).
    static func rowsWanted(limit: Int) throws -> Bool {
        guard limit >= 0 else {
            throw invalidArgument("limit must not be negative")
        }
        return limit > 0
    }

    /// Any operation on a closed store.
    static var closed: StoreError {
        .unavailable("the store is closed")
    }
}

// MARK: - Precondition failures, worded the same by every backend

extension StoreError {
    /// An insert of a key that exists.
    static func alreadyExists(_ key: ObjectKey) -> StoreError {
        .conflict("the object already exists", object: key)
    }

    /// An update of an object already at `Int64.max`.
    static func revisionExhausted(_ key: ObjectKey) -> StoreError {
        .conflict("the object's revision cannot be incremented further", object: key)
    }

    /// A precondition on `key` at `expected` that did not hold; `actual` is nil when the object is missing.
    static func revisionMismatch(_ key: ObjectKey, expected: Int64, actual: Int64?) -> StoreError {
        guard let actual else {
            return .notFound("the object does not exist", object: key)
        }
        return .conflict("expected revision \(expected), found \(actual)", object: key)
    }

    /// A claim of a request id already claimed, for `claimed`.
    static func requestClaimed(partition: String, requestID: String, claimed: ObjectKey?) -> StoreError {
        StoreError(
            code: .duplicateRequest,
            message: "request id \"\(requestID)\" is already claimed in partition \"\(partition)\"",
            object: claimed)
    }
}
