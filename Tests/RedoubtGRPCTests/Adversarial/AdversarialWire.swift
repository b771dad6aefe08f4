import Foundation
import GRPCCore
#if canImport(Glibc)
import Glibc
#endif

/// What an attacker sends below the generated clients: arbitrary bytes as a message, and raw
/// TCP connections that speak just enough HTTP/2 to start a call and then stall.
enum AdversarialWire {
    /// Sends and receives messages as raw bytes.
    struct RawBytes: MessageSerializer, MessageDeserializer {
        typealias Message = [UInt8]
        func serialize<Bytes: GRPCContiguousBytes>(_ message: [UInt8]) throws -> Bytes { Bytes(message) }
        func deserialize<Bytes: GRPCContiguousBytes>(_ serializedMessageBytes: Bytes) throws -> [UInt8] {
            serializedMessageBytes.withUnsafeBytes { Array($0) }
        }
    }

    /// Calls unary `method` with `bytes` as the request message; the response's raw bytes.
    static func call(_ client: AdversarialArena.Client, _ method: MethodDescriptor, bytes: [UInt8], metadata: Metadata) async throws -> [UInt8] {
        var options = CallOptions.defaults
        options.timeout = .seconds(20)
        return try await client.unary(
            request: ClientRequest(message: bytes, metadata: metadata), descriptor: method,
            serializer: RawBytes(), deserializer: RawBytes(), options: options
        ) { try $0.message }
    }

    /// A TCP connection to 127.0.0.1:`port`, closed by ``close()``.
    final class Socket: @unchecked Sendable {
        let fd: Int32

        init(port: Int) throws {
            fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
            guard fd >= 0 else { throw POSIXError(.EMFILE) }
            var address = sockaddr_in()
            address.sin_family = sa_family_t(AF_INET)
            address.sin_port = in_port_t(UInt16(port).bigEndian)
            address.sin_addr.s_addr = inet_addr("127.0.0.1")
            let connected = withUnsafePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
            }
            guard connected == 0 else {
                Glibc.close(fd)
                throw POSIXError(.ECONNREFUSED)
            }
            var timeout = timeval(tv_sec: 2, tv_usec: 0)
            setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        }

        func write(_ bytes: [UInt8]) {
            _ = bytes.withUnsafeBytes { Glibc.send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
        }

        /// Reads what arrives within the receive timeout (2 s); the byte count, 0 on close or timeout.
        func readSome() -> Int {
            var buffer = [UInt8](repeating: 0, count: 4096)
            let n = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            return max(0, n)
        }

        func close() { Glibc.close(fd) }
    }

    // MARK: HTTP/2 by hand

    static let preface = Array("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n".utf8)

    static func frame(type: UInt8, flags: UInt8, stream: UInt32, _ payload: [UInt8]) -> [UInt8] {
        let n = UInt32(payload.count)
        let length: [UInt8] = [UInt8(truncatingIfNeeded: n >> 16), UInt8(truncatingIfNeeded: n >> 8), UInt8(truncatingIfNeeded: n)]
        let id: [UInt8] = [
            UInt8(truncatingIfNeeded: stream >> 24) & 0x7f, UInt8(truncatingIfNeeded: stream >> 16),
            UInt8(truncatingIfNeeded: stream >> 8), UInt8(truncatingIfNeeded: stream),
        ]
        return length + [type, flags] + id + payload
    }

    /// An HPACK header block of literal fields without indexing (names and values under 127 bytes).
    static func headerBlock(_ headers: [(String, String)]) -> [UInt8] {
        var block: [UInt8] = []
        for (name, value) in headers {
            block += [0x00, UInt8(name.utf8.count)]
            block += Array(name.utf8)
            block.append(UInt8(value.utf8.count))
            block += Array(value.utf8)
        }
        return block
    }

    /// The bytes of a connection that starts a call of `path` and sends the first `sent` bytes
    /// of a message it announces as `announced` bytes long — then nothing more.
    static func halfCall(path: String, token: String, announced: Int, sent: Int) -> [UInt8] {
        let headers = headerBlock([
            (":method", "POST"), (":scheme", "http"), (":path", path), (":authority", "127.0.0.1"),
            ("content-type", "application/grpc"), ("te", "trailers"), ("authorization", "Bearer \(token)"),
        ])
        let n = UInt32(announced)
        var data: [UInt8] = [
            0, UInt8(truncatingIfNeeded: n >> 24), UInt8(truncatingIfNeeded: n >> 16),
            UInt8(truncatingIfNeeded: n >> 8), UInt8(truncatingIfNeeded: n),
        ]
        data += [UInt8](repeating: 0x41, count: sent)
        var bytes = preface
        bytes += frame(type: 0x4, flags: 0, stream: 0, [])  // SETTINGS
        bytes += frame(type: 0x1, flags: 0x4, stream: 1, headers)  // HEADERS, END_HEADERS
        bytes += frame(type: 0x0, flags: 0, stream: 1, data)  // DATA without END_STREAM
        return bytes
    }
}
