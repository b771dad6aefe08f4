/// An error raised while writing, reading or verifying a backup file.
///
/// An extensible struct: compare ``code`` against the static members of
/// ``BackupError/Code``. The ``message`` says what is wrong and, for a damaged
/// file, which chunk (also in ``chunk``). It never contains key bytes or record
/// contents. Any failure while reading means no record of the failing chunk
/// was produced, and a restore fed by the reader rolls back.
public struct BackupError: Error, Sendable, Hashable, CustomStringConvertible {
    /// The kind of failure.
    public struct Code: Sendable, Hashable, CustomStringConvertible {
        private enum Wrapped: String, Sendable, Hashable {
            case notABackup = "not a backup"
            case unsupportedVersion = "unsupported version"
            case wrongCluster = "wrong cluster"
            case damaged = "damaged"
            case truncated = "truncated"
            case invalidArgument = "invalid argument"
            case fileAccess = "file access"
            case internalFailure = "internal failure"
        }

        private let wrapped: Wrapped
        private init(_ wrapped: Wrapped) { self.wrapped = wrapped }

        /// The file does not start with the Redoubt backup magic.
        public static let notABackup = Code(.notABackup)
        /// The file was written by a newer format version.
        public static let unsupportedVersion = Code(.unsupportedVersion)
        /// The backup was made under another cluster's master key.
        public static let wrongCluster = Code(.wrongCluster)
        /// A header or chunk fails authentication, decompression or decoding, or is out of place.
        public static let damaged = Code(.damaged)
        /// The file ends before its final chunk.
        public static let truncated = Code(.truncated)
        /// A parameter or a record cannot be written (for example a record too large for a chunk).
        public static let invalidArgument = Code(.invalidArgument)
        /// The file cannot be created, read or written.
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
    /// The index of the chunk at fault (from 0), when one is.
    public var chunk: Int?

    /// Creates an error.
    public init(_ code: Code, _ message: String, chunk: Int? = nil) {
        self.code = code
        self.message = message
        self.chunk = chunk
    }

    /// `"<code>: <message>"`.
    public var description: String { "\(code): \(message)" }

    static func damaged(_ message: String, chunk: Int? = nil) -> BackupError { .init(.damaged, message, chunk: chunk) }
    static func truncated(_ message: String, chunk: Int? = nil) -> BackupError { .init(.truncated, message, chunk: chunk) }
    static func fileAccess(_ message: String) -> BackupError { .init(.fileAccess, message) }
    static func internalFailure(_ message: String) -> BackupError { .init(.internalFailure, message) }
}
