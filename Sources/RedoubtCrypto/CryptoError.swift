/// An error raised by the cryptographic engine.
///
/// Errors are extensible structs: compare ``code`` against the static members
/// of ``CryptoError/Code``. The ``message`` says what was wrong with the input
/// in words a person can act on; it never contains key bytes, plaintext or
/// any other secret. Failures of secret-dependent checks (an AEAD tag, an
/// unwrap) stay coarse on purpose: ``Code/authenticationFailure`` and nothing more.
public struct CryptoError: Error, Sendable, Hashable, CustomStringConvertible {
    /// The kind of failure.
    public struct Code: Sendable, Hashable, CustomStringConvertible {
        private enum Wrapped: String, Sendable, Hashable {
            case invalidKey = "invalid key"
            case invalidInput = "invalid input"
            case malformedSignature = "malformed signature"
            case authenticationFailure = "authentication failure"
            case unsupportedOperation = "unsupported operation"
            case internalFailure = "internal failure"
        }

        private let wrapped: Wrapped
        private init(_ wrapped: Wrapped) { self.wrapped = wrapped }

        /// Key bytes or an encoded key are malformed, of the wrong type, or on the wrong curve.
        public static let invalidKey = Code(.invalidKey)
        /// Data or parameters are malformed or out of range (a length, a nonce size, a digest size…).
        public static let invalidInput = Code(.invalidInput)
        /// A signature is not a well-formed encoding for the scheme and key.
        public static let malformedSignature = Code(.malformedSignature)
        /// Decryption, unwrapping or a MAC check failed. Deliberately says nothing more.
        public static let authenticationFailure = Code(.authenticationFailure)
        /// The key's algorithm cannot perform this operation or scheme.
        public static let unsupportedOperation = Code(.unsupportedOperation)
        /// The underlying library failed for a reason input cannot explain.
        public static let internalFailure = Code(.internalFailure)

        /// A short, stable name for the code.
        public var description: String { wrapped.rawValue }
    }

    /// The kind of failure.
    public var code: Code
    /// What went wrong, for a person. Never contains secrets.
    public var message: String

    /// Creates an error.
    public init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }

    /// `"<code>: <message>"`.
    public var description: String { "\(code): \(message)" }

    static func invalidKey(_ message: String) -> CryptoError { .init(.invalidKey, message) }
    static func invalidInput(_ message: String) -> CryptoError { .init(.invalidInput, message) }
    static func malformedSignature(_ message: String) -> CryptoError { .init(.malformedSignature, message) }
    static func unsupported(_ message: String) -> CryptoError { .init(.unsupportedOperation, message) }
    static func internalFailure(_ message: String) -> CryptoError { .init(.internalFailure, message) }
    static let authenticationFailure = CryptoError(.authenticationFailure, "authentication failure")
}
