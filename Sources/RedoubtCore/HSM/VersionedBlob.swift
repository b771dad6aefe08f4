import Foundation

/// Redoubt's versioned form of ciphertexts, tags and wrapped keys: `0x01 ‖ version (4 bytes,
/// big-endian) ‖ body`, the body being the scheme's standard bytes. The one place it is written
/// and read (the HSM, the standard-form extensions of ``HSM``, the PKCS #11 module).
package enum VersionedBlob {
    /// `0x01 ‖ version`.
    package static func header(version: Int) -> [UInt8] {
        let v = UInt32(clamping: version)
        return [1, UInt8(v >> 24), UInt8((v >> 16) & 0xff), UInt8((v >> 8) & 0xff), UInt8(v & 0xff)]
    }

    /// `body` in the versioned form.
    package static func encode(version: Int, _ body: Data) -> Data {
        var out = Data(capacity: body.count + 5)
        out.append(contentsOf: header(version: version))
        out.append(body)
        return out
    }

    /// The version and the body; `what` names the input in the INVALID_ARGUMENT error.
    package static func decode(_ blob: Data, what: String) throws -> (version: Int, body: Data) {
        guard blob.count >= 5, blob[blob.startIndex] == 1 else {
            throw HSMError.invalid("\(what) is not in Redoubt's versioned format (0x01, 4-byte version, body)")
        }
        let b = blob.startIndex
        let v = Int(blob[b + 1]) << 24 | Int(blob[b + 2]) << 16 | Int(blob[b + 3]) << 8 | Int(blob[b + 4])
        return (v, blob.subdata(in: (b + 5)..<blob.endIndex))
    }
}
