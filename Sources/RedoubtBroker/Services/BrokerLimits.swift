import Foundation

/// The broker's limits on what one call may ask for.
public struct BrokerLimits: Sendable, Hashable {
    /// The most items one batch call may carry (more: INVALID_ARGUMENT).
    public var maximumBatchItems: Int = 1000
    /// The most bytes one payload field (a message, plaintext, ciphertext…) may hold.
    public var maximumPayloadBytes: Int = 1 << 20
    /// The most SignStream requests processed at once on one stream.
    public var maximumStreamInFlight: Int = 256

    /// 1,000 batch items, 1 MiB payloads, 256 stream requests in flight.
    public static var defaults: BrokerLimits { .init() }

    /// Limits; unspecified values take the defaults.
    public init(maximumBatchItems: Int = 1000, maximumPayloadBytes: Int = 1 << 20, maximumStreamInFlight: Int = 256) {
        self.maximumBatchItems = max(1, maximumBatchItems)
        self.maximumPayloadBytes = max(1, maximumPayloadBytes)
        self.maximumStreamInFlight = max(1, maximumStreamInFlight)
    }
}
