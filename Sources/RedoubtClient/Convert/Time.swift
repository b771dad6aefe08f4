import Foundation
import SwiftProtobuf

// Times are google.protobuf.Timestamp (UTC); lengths of time are google.protobuf.Duration.

extension Google_Protobuf_Timestamp {
    /// The earliest and latest times accepted: years 1 to 9999, as the Timestamp spec allows.
    private static let validSeconds: ClosedRange<Int64> = -62_135_596_800...253_402_300_799

    /// The timestamp of a date, to the nanosecond where the date holds it.
    package init(_ date: Date) {
        self.init(date: date)
    }

    /// The date, refusing a timestamp outside the years 1 to 9999 or with nanos outside 0 to 999,999,999.
    package func date(at path: FieldPath) throws -> Date {
        guard Self.validSeconds.contains(seconds), (0..<1_000_000_000).contains(nanos) else {
            throw path.invalid("is not a valid timestamp (seconds \(seconds), nanos \(nanos)); use years 1 to 9999")
        }
        return date
    }
}

extension Google_Protobuf_Duration {
    /// The duration of a time interval (seconds, fractions to the nanosecond).
    package init(_ interval: TimeInterval) {
        guard interval.isFinite else {
            self.init()
            return
        }
        let clamped = min(max(interval, -315_576_000_000), 315_576_000_000)
        let whole = clamped.rounded(.towardZero)
        let nanos = min(max(((clamped - whole) * 1e9).rounded(), -999_999_999), 999_999_999)
        self.init(seconds: Int64(whole), nanos: Int32(nanos))
    }

    /// The interval, refusing a negative or malformed duration (nanos of another sign than
    /// seconds, or beyond ±999,999,999) or one longer than 10,000 years.
    package func timeInterval(at path: FieldPath) throws -> TimeInterval {
        guard (-999_999_999...999_999_999).contains(nanos), seconds == 0 || nanos == 0 || (seconds < 0) == (nanos < 0) else {
            throw path.invalid("is not a valid duration (seconds \(seconds), nanos \(nanos))")
        }
        guard seconds >= 0, nanos >= 0 else { throw path.invalid("is negative; send a duration of 0 or more") }
        guard seconds <= 315_576_000_000 else { throw path.invalid("is longer than 10,000 years") }
        return TimeInterval(seconds) + TimeInterval(nanos) / 1e9
    }
}
