import CZstd
import Foundation

/// zstd compression of backup chunks, with bounded decompression.
enum Zstd {
    /// The compression level of backup chunks.
    static let level: Int32 = 3
    /// `ZSTD_CONTENTSIZE_UNKNOWN` and `ZSTD_CONTENTSIZE_ERROR` (macros Swift does not import).
    private static let contentSizeUnknown = UInt64.max
    private static let contentSizeError = UInt64.max - 1

    /// A zstd failure, with zstd's own reason (never data).
    struct Failure: Error {
        var reason: String
    }

    /// One zstd frame holding `input`, with its content size recorded.
    static func compress(_ input: Data) throws(Failure) -> Data {
        let bound = ZSTD_compressBound(input.count)
        guard ZSTD_isError(bound) == 0 else { throw Failure(reason: "input too large to compress") }
        var output = Data(count: max(bound, 1))
        let written = output.withUnsafeMutableBytes { out in
            input.withUnsafeBytes { src in
                ZSTD_compress(out.baseAddress, out.count, src.baseAddress, src.count, level)
            }
        }
        guard ZSTD_isError(written) == 0 else { throw Failure(reason: errorName(written)) }
        output.count = written
        return output
    }

    /// Decompresses one frame whose declared content size is at most `limit`.
    ///
    /// A frame without a declared size, or declaring more than `limit`, is
    /// refused before any memory is allocated for it: no decompression bombs.
    static func decompress(_ input: Data, limit: Int) throws(Failure) -> Data {
        let declared = input.withUnsafeBytes { ZSTD_getFrameContentSize($0.baseAddress, $0.count) }
        guard declared != contentSizeError else { throw Failure(reason: "not a zstd frame") }
        guard declared != contentSizeUnknown else { throw Failure(reason: "the frame does not declare its size") }
        guard declared <= UInt64(limit) else { throw Failure(reason: "the frame declares \(declared) bytes, more than the \(limit)-byte limit") }
        let size = Int(declared)
        var output = Data(count: max(size, 1))
        let produced = output.withUnsafeMutableBytes { out in
            input.withUnsafeBytes { src in
                ZSTD_decompress(out.baseAddress, size, src.baseAddress, src.count)
            }
        }
        guard ZSTD_isError(produced) == 0 else { throw Failure(reason: errorName(produced)) }
        guard produced == size else { throw Failure(reason: "the frame holds \(produced) bytes, not the \(size) it declares") }
        output.count = size
        return output
    }

    private static func errorName(_ code: Int) -> String {
        guard let name = ZSTD_getErrorName(code) else { return "zstd error" }
        return String(cString: name)
    }
}
