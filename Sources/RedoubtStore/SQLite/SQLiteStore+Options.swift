extension SQLiteStore {
    /// Tuning for a ``SQLiteStore``: a plain value, start from ``defaults``.
    ///
    /// ```swift
    /// var options = SQLiteStore.Options.defaults
    /// options.busyTimeout = .seconds(30)
    /// let store = try SQLiteStore(path: path, options: options)
    /// ```
    public struct Options: Sendable, Hashable {
        /// How long an operation waits for a lock held by another connection or
        /// process before failing with ``StoreError/Code/unavailable`` (at most 24 hours).
        public var busyTimeout: Duration
        /// The most batches group commit puts into one SQLite transaction (at least 1).
        public var maxBatchesPerTransaction: Int
        /// The most concurrent reader connections (at least 1).
        public var maximumReaderCount: Int

        /// Creates options; every parameter has the value of ``defaults``.
        public init(
            busyTimeout: Duration = .seconds(10),
            maxBatchesPerTransaction: Int = 256,
            maximumReaderCount: Int = 4
        ) {
            self.busyTimeout = busyTimeout
            self.maxBatchesPerTransaction = maxBatchesPerTransaction
            self.maximumReaderCount = maximumReaderCount
        }

        /// A 10 s busy timeout, up to 256 batches per transaction, 4 readers.
        public static var defaults: Options {
            Options()
        }

        func validate() throws {
            guard maxBatchesPerTransaction >= 1 else {
                throw StoreError.invalidArgument("maxBatchesPerTransaction must be at least 1")
            }
            guard maximumReaderCount >= 1 else {
                throw StoreError.invalidArgument("maximumReaderCount must be at least 1")
            }
            // SQLite takes the timeout in milliseconds as a 32-bit integer.
            guard busyTimeout >= .zero, busyTimeout <= .seconds(86_400) else {
                throw StoreError.invalidArgument("busyTimeout must be between 0 and 24 hours")
            }
        }

        var busyTimeoutSeconds: Double {
            let components = busyTimeout.components
            return Double(components.seconds) + Double(components.attoseconds) / 1e18
        }
    }
}
