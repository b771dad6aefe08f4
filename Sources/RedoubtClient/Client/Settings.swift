import Foundation

// What the client's and the broker's configurations share: host-and-port parsing, one JSON
// settings-file reader, and the configuration error a person can act on.

/// Reading a JSON settings file (the broker's config, the router's node list), with errors that
/// name the file and the field.
package enum JSONSettingsFile {
    /// Decodes `path` (at most 1 MiB); `kind` names the file ("config file"), `what` its content,
    /// `badValueHint` is added to an error about an unusable value.
    package static func decode<T: Decodable>(
        _ type: T.Type, path: String, kind: String, what: String,
        badValueHint: String = ""
    ) throws(BrokerConfigurationError) -> T {
        let data: Data
        do { data = try Data(contentsOf: URL(fileURLWithPath: path)) } catch {
            throw .init("cannot read \(kind) \(path): \(error.localizedDescription)")
        }
        guard data.count <= 1 << 20 else { throw .init("\(kind) \(path) is larger than 1 MiB") }
        do { return try JSONDecoder().decode(T.self, from: data) } catch let DecodingError.keyNotFound(key, context) {
            throw .init("\(kind) \(path): missing \"\(render(context.codingPath + [key]))\"")
        } catch let DecodingError.typeMismatch(_, context) {
            throw .init("\(kind) \(path): wrong type at \(render(context.codingPath))")
        } catch let DecodingError.dataCorrupted(context) where !context.codingPath.isEmpty {
            throw .init("\(kind) \(path): bad value at \(render(context.codingPath))\(badValueHint)")
        } catch {
            throw .init("\(kind) \(path) is not valid JSON for \(what)")
        }
    }

    /// `nodes[0].site` for a decoding path.
    package static func render(_ path: [any CodingKey]) -> String {
        path.reduce("") { text, key in
            if let index = key.intValue { return text + "[\(index)]" }
            return text.isEmpty ? key.stringValue : text + "." + key.stringValue
        }
    }
}

/// A host and port, as in `127.0.0.1:8443` or `[::1]:8443`.
public struct HostAndPort: Sendable, Hashable, CustomStringConvertible {
    /// The host: an IP address or `localhost`.
    public var host: String
    /// The port (0: any free port).
    public var port: Int

    /// A host and port.
    public init(host: String, port: Int) {
        self.host = host
        self.port = port
    }

    /// Parses `HOST:PORT`; `what` names the setting in errors.
    public init(parsing text: String, what: String) throws(BrokerConfigurationError) {
        var host: Substring
        let portText: Substring
        if text.hasPrefix("[") {
            guard let close = text.firstIndex(of: "]"), text[text.index(after: close)...].hasPrefix(":") else {
                throw .init("\(what) must be HOST:PORT, like 127.0.0.1:8443 or [::1]:8443; got '\(text)'")
            }
            host = text[text.index(after: text.startIndex)..<close]
            portText = text[text.index(close, offsetBy: 2)...]
        } else {
            guard let colon = text.lastIndex(of: ":") else {
                throw .init("\(what) must be HOST:PORT, like 127.0.0.1:8443 or [::1]:8443; got '\(text)'")
            }
            host = text[..<colon]
            portText = text[text.index(after: colon)...]
        }
        if host == "localhost" { host = "127.0.0.1" }
        guard let port = Int(portText), (0...65_535).contains(port), !host.isEmpty, host.utf8.count <= 253 else {
            throw .init("\(what) must be HOST:PORT with a port of 0 to 65535; got '\(text)'")
        }
        self.host = String(host)
        self.port = port
    }

    /// Whether the host is a loopback address.
    public var isLoopback: Bool {
        host == "::1" || host.hasPrefix("127.")
    }

    /// Whether the host is IPv6.
    public var isIPv6: Bool { host.contains(":") }

    /// `host:port`, with brackets for IPv6.
    public var description: String { isIPv6 ? "[\(host)]:\(port)" : "\(host):\(port)" }
}

/// A configuration problem, said so a person can fix it.
public struct BrokerConfigurationError: Error, Sendable, CustomStringConvertible {
    /// What is wrong.
    public var message: String
    /// An error.
    public init(_ message: String) { self.message = message }
    /// The message.
    public var description: String { message }
}
