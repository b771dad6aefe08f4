extension PostgresStore {
    /// Tuning for a ``PostgresStore``: a plain value, start from ``defaults``.
    ///
    /// ```swift
    /// var options = PostgresStore.Options.defaults
    /// options.connectTimeout = .seconds(3)
    /// let store = try await PostgresStore.connect(url: url, options: options)
    /// ```
    public struct Options: Sendable, Hashable {
        /// How long an operation waits for a connection before failing with
        /// ``StoreError/Code/unavailable`` (between 1 ms and 1 hour).
        public var connectTimeout: Duration
        /// The most connections in the pool (at least 2: one of them listens for changes; from 4 on,
        /// another is kept for reads of one object, which then need no lease from the pool).
        public var maximumConnections: Int
        /// How long the change listener waits before reconnecting after losing its connection (at least 1 ms).
        public var listenerRetryDelay: Duration
        /// How long one operation (a read, a commit, opening the store) may take, waiting for a
        /// connection included, before it fails with ``StoreError/Code/unavailable`` and its
        /// connection is closed (between 1 ms and 1 hour; at least ``connectTimeout``). A commit
        /// cut off this way may or may not have been applied, as with any lost connection.
        /// ``PostgresStore/importAll(_:)`` is not bounded by it.
        public var operationTimeout: Duration

        /// Creates options; every parameter has the value of ``defaults``.
        public init(
            connectTimeout: Duration = .seconds(10),
            maximumConnections: Int = 20,
            listenerRetryDelay: Duration = .milliseconds(500),
            operationTimeout: Duration = .seconds(60)
        ) {
            self.connectTimeout = connectTimeout
            self.maximumConnections = maximumConnections
            self.listenerRetryDelay = listenerRetryDelay
            self.operationTimeout = operationTimeout
        }

        /// A 10 s connect timeout, up to 20 connections, listener retry after 0.5 s, 60 s per operation.
        public static var defaults: Options {
            Options()
        }

        func validate() throws {
            guard connectTimeout >= .milliseconds(1), connectTimeout <= .seconds(3600) else {
                throw StoreError.invalidArgument("connectTimeout must be between 1 ms and 1 hour")
            }
            guard maximumConnections >= 2 else {
                throw StoreError.invalidArgument("maximumConnections must be at least 2")
            }
            guard listenerRetryDelay >= .milliseconds(1), listenerRetryDelay <= .seconds(3600) else {
                throw StoreError.invalidArgument("listenerRetryDelay must be between 1 ms and 1 hour")
            }
            guard operationTimeout >= connectTimeout, operationTimeout <= .seconds(3600) else {
                throw StoreError.invalidArgument(
                    "operationTimeout must be at least connectTimeout and at most 1 hour")
            }
        }
    }
}
