import Foundation

/// An error from an HSM: the library's one error type, mapped to a gRPC status in one place
/// by the broker.
///
/// Messages say which check failed in words a person can act on, and never contain key
/// bytes, passwords, tokens or plaintext. Authentication failures stay coarse: a wrong
/// API key, a wrong password and an unknown user all read "invalid credentials".
/// A key of another partition is indistinguishable from a missing one (``Code/notFound``).
///
/// Two errors are equal when their codes are: recognise an error by ``code``, never by its
/// message text. The failure underneath (a store or transport error), when there is one, stays in
/// ``underlying`` for logs and debugging; it never travels to a remote caller.
public struct HSMError: Error, Sendable, Hashable, CustomStringConvertible {
    /// The kind of failure; each maps to one gRPC status code.
    public struct Code: Sendable, Hashable, CustomStringConvertible {
        private enum Wrapped: String, Sendable, Hashable {
            case invalidArgument = "INVALID_ARGUMENT"
            case unauthenticated = "UNAUTHENTICATED"
            case permissionDenied = "PERMISSION_DENIED"
            case notFound = "NOT_FOUND"
            case alreadyExists = "ALREADY_EXISTS"
            case failedPrecondition = "FAILED_PRECONDITION"
            case resourceExhausted = "RESOURCE_EXHAUSTED"
            case unavailable = "UNAVAILABLE"
            case deadlineExceeded = "DEADLINE_EXCEEDED"
            case cancelled = "CANCELLED"
            case aborted = "ABORTED"
            case internalError = "INTERNAL"
        }
        private let wrapped: Wrapped
        private init(_ wrapped: Wrapped) { self.wrapped = wrapped }

        /// Malformed or out-of-range input; the message names the field.
        public static let invalidArgument = Code(.invalidArgument)
        /// No valid session or credential.
        public static let unauthenticated = Code(.unauthenticated)
        /// The session's role may not do this.
        public static let permissionDenied = Code(.permissionDenied)
        /// No such object visible to the caller.
        public static let notFound = Code(.notFound)
        /// The object already exists.
        public static let alreadyExists = Code(.alreadyExists)
        /// The object's state forbids it: blocked, expired, wrong usage, read-only partition…
        public static let failedPrecondition = Code(.failedPrecondition)
        /// A limit was reached: object quota, rate, lockout.
        public static let resourceExhausted = Code(.resourceExhausted)
        /// The store or a node cannot be reached; retrying may help.
        public static let unavailable = Code(.unavailable)
        /// The caller's deadline (``HSMCallContext/deadline``, or a router's call timeout) passed
        /// before an answer came; the operation may or may not have happened.
        public static let deadlineExceeded = Code(.deadlineExceeded)
        /// The caller cancelled the call (its task was cancelled) before an answer came; the
        /// operation may or may not have happened.
        public static let cancelled = Code(.cancelled)
        /// A concurrent change to the same object won the race (an optimistic store conflict);
        /// nothing was changed by this call, and retrying it may succeed.
        public static let aborted = Code(.aborted)
        /// A failure the caller cannot fix; details are in the log, not here.
        public static let internalError = Code(.internalError)

        /// The gRPC status name.
        public var description: String { wrapped.rawValue }
    }

    /// The kind of failure.
    public var code: Code
    /// What went wrong, for a person.
    public var message: String
    /// The request a direct operation on a governed key created instead of running
    /// (``approvalPending(_:)``); `nil` for every other error.
    ///
    /// A sign, decrypt, MAC, block, unblock or update of a key whose policy rule for it is not
    /// empty does not run: it is submitted as an ``ApprovalRequest`` with status
    /// ``ApprovalStatus/pending``, and the call throws this error carrying it. Fetch the request
    /// with ``HSM/getRequest(_:id:)`` for its status and, once executed, its result.
    public var pendingRequest: ApprovalRequest?
    /// The failure underneath, when there is one (a store error, a transport error): for logs and
    /// debugging. It is not part of ``description``, not compared, and never sent to a remote
    /// caller (the broker sends only ``code`` and ``message``).
    public var underlying: (any Error)?

    /// Creates an error, optionally with the failure underneath it.
    public init(_ code: Code, _ message: String, underlying: (any Error)? = nil) {
        self.code = code
        self.message = message
        self.pendingRequest = nil
        self.underlying = underlying
    }

    /// Whether two errors have the same code (messages and causes are for people, not matching).
    public static func == (lhs: HSMError, rhs: HSMError) -> Bool { lhs.code == rhs.code }

    /// Hashes the code, as ``==`` compares it.
    public func hash(into hasher: inout Hasher) { hasher.combine(code) }

    /// FAILED_PRECONDITION carrying `request`: the direct operation was submitted as that
    /// request instead of running (``pendingRequest``). The message names the key and the
    /// request id only, never the operation's data.
    public static func approvalPending(_ request: ApprovalRequest) -> HSMError {
        var error = HSMError(
            .failedPrecondition,
            "key '\(request.keyID)' is governed by an approval policy: request \(request.id) is "
                + "\(request.status.rawValue); it runs once approved (GetRequest for status and result)")
        error.pendingRequest = request
        return error
    }

    /// `"<CODE>: <message>"`.
    public var description: String { "\(code): \(message)" }

    package static func invalid(_ message: String) -> HSMError { .init(.invalidArgument, message) }
    package static func denied(_ message: String) -> HSMError { .init(.permissionDenied, message) }
    package static func notFound(_ message: String) -> HSMError { .init(.notFound, message) }
    package static func precondition(_ message: String) -> HSMError { .init(.failedPrecondition, message) }
    /// UNAUTHENTICATED "invalid credentials": every failed login reads the same.
    public static let invalidCredentials = HSMError(.unauthenticated, "invalid credentials")
    /// UNAUTHENTICATED: the session token names no open session.
    public static let invalidSession = HSMError(.unauthenticated, "the session is invalid, expired or closed; open a new one")
}

extension HSMError {
    /// Maps an engine error: input problems become INVALID_ARGUMENT; an authentication
    /// failure (a tag, an unwrap) stays coarse; internal failures say nothing more.
    package init(_ error: CryptoError) {
        switch error.code {
        case .invalidKey, .invalidInput, .malformedSignature: self.init(.invalidArgument, error.message, underlying: error)
        case .authenticationFailure:
            self.init(.invalidArgument, "decryption or unwrapping failed: wrong key, or the data was altered", underlying: error)
        case .unsupportedOperation: self.init(.failedPrecondition, error.message, underlying: error)
        default: self.init(.internalError, "cryptographic operation failed", underlying: error)
        }
    }
}
