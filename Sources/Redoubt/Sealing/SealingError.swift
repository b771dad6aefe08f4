/// An error raised while creating, unsealing or using the cluster master key,
/// partition keys and sealed objects.
///
/// An extensible struct: compare ``code`` against the static members of
/// ``SealingError/Code``. The ``message`` says what to do about it; it never
/// contains key bytes, passphrases, share bytes or plaintext. Failures of
/// secret-dependent checks (a wrong passphrase, a blob that does not open) stay
/// coarse: ``Code/authenticationFailure`` and a fixed message.
///
/// ```swift
/// do {
///     let master = try MasterKey.unseal(envelope: envelope, passphrase: input)
/// } catch let error as SealingError where error.code == .authenticationFailure {
///     print("wrong passphrase or damaged envelope")
/// }
/// ```
public struct SealingError: Error, Sendable, Hashable, CustomStringConvertible {
    /// The kind of failure.
    public struct Code: Sendable, Hashable, CustomStringConvertible {
        private enum Wrapped: String, Sendable, Hashable {
            case invalidArgument = "invalid argument"
            case authenticationFailure = "authentication failure"
            case invalidShare = "invalid share"
            case wrongCluster = "wrong cluster"
            case insufficientShares = "insufficient shares"
            case malformedEnvelope = "malformed envelope"
            case unsupportedVersion = "unsupported version"
            case malformedBlob = "malformed blob"
            case fileAccess = "file access"
            case internalFailure = "internal failure"
        }

        private let wrapped: Wrapped
        private init(_ wrapped: Wrapped) { self.wrapped = wrapped }

        /// A parameter is out of range (a short passphrase, a bad threshold, no unseal method…).
        public static let invalidArgument = Code(.invalidArgument)
        /// A wrong passphrase, a wrong key, or damaged sealed data. Deliberately says nothing more.
        public static let authenticationFailure = Code(.authenticationFailure)
        /// A share is malformed, corrupted, or does not match the envelope's check value.
        public static let invalidShare = Code(.invalidShare)
        /// A share or key file belongs to another cluster (another master key id).
        public static let wrongCluster = Code(.wrongCluster)
        /// Fewer distinct valid shares than the threshold were given.
        public static let insufficientShares = Code(.insufficientShares)
        /// A master key envelope is missing fields or holds values out of range.
        public static let malformedEnvelope = Code(.malformedEnvelope)
        /// An envelope, blob or file was made by a newer format version.
        public static let unsupportedVersion = Code(.unsupportedVersion)
        /// A sealed blob or wrapped key is not in the expected format (too short, bad magic).
        public static let malformedBlob = Code(.malformedBlob)
        /// A key file could not be read or written, or has unsafe permissions.
        public static let fileAccess = Code(.fileAccess)
        /// The system failed for a reason input cannot explain.
        public static let internalFailure = Code(.internalFailure)

        /// A short, stable name for the code.
        public var description: String { wrapped.rawValue }
    }

    /// The kind of failure.
    public var code: Code
    /// What went wrong and what to do, for a person. Never contains secrets.
    public var message: String

    /// Creates an error.
    public init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }

    /// `"<code>: <message>"`.
    public var description: String { "\(code): \(message)" }

    static func invalidArgument(_ message: String) -> SealingError { .init(.invalidArgument, message) }
    static func invalidShare(_ message: String) -> SealingError { .init(.invalidShare, message) }
    static func wrongCluster(_ message: String) -> SealingError { .init(.wrongCluster, message) }
    static func malformedEnvelope(_ message: String) -> SealingError { .init(.malformedEnvelope, message) }
    static func malformedBlob(_ message: String) -> SealingError { .init(.malformedBlob, message) }
    static func fileAccess(_ message: String) -> SealingError { .init(.fileAccess, message) }
    static func internalFailure(_ message: String) -> SealingError { .init(.internalFailure, message) }

    /// The one message for a failed passphrase unseal.
    static let wrongPassphrase = SealingError(.authenticationFailure, "wrong passphrase or damaged envelope")
    /// The one message for a sealed object that does not open.
    static let sealedObjectFailure = SealingError(
        .authenticationFailure, "sealed data does not open: wrong key, wrong identity, or damaged data")
}
