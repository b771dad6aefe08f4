import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// An IPv4 or IPv6 CIDR block (`10.0.0.0/8`, `2001:db8::/32`, or one address), for
/// ``PartitionSettings/allowedSources``.
package struct AddressBlock: Sendable, Hashable {
    /// 4 or 16 network-order bytes.
    package let network: [UInt8]
    package let prefixLength: Int

    /// Parses a block; `nil` if it is not one. Host bits must be zero (`10.0.0.1/8` is refused,
    /// as it is almost always a typo).
    package init?(_ text: String) {
        guard text.utf8.count <= 64 else { return nil }
        let parts = text.split(separator: "/", omittingEmptySubsequences: false)
        guard parts.count <= 2, let address = AddressBlock.parseAddress(String(parts[0])) else { return nil }
        let bits = address.count * 8
        var prefix = bits
        if parts.count == 2 {
            guard let p = Int(parts[1]), (0...bits).contains(p), parts[1].allSatisfy(\.isASCII) else { return nil }
            prefix = p
        }
        for i in 0..<address.count {
            let hostBits = max(0, min(8, (i + 1) * 8 - prefix))
            let mask: UInt8 = hostBits == 8 ? 0xFF : UInt8((1 << hostBits) - 1)
            guard address[i] & mask == 0 else { return nil }
        }
        self.network = address
        self.prefixLength = prefix
    }

    /// Whether an address (text) lies in the block. An IPv4-mapped IPv6 address
    /// (`::ffff:10.1.2.3`) counts as its IPv4 address.
    package func contains(_ addressText: String) -> Bool {
        guard var address = AddressBlock.parseAddress(addressText) else { return false }
        if address.count == 16, network.count == 4, address[0..<10].allSatisfy({ $0 == 0 }), address[10] == 0xFF, address[11] == 0xFF {
            address = Array(address[12..<16])
        }
        guard address.count == network.count else { return false }
        var remaining = prefixLength
        for i in 0..<address.count where remaining > 0 {
            let bits = min(8, remaining)
            let mask = UInt8(truncatingIfNeeded: 0xFF << (8 - bits))
            guard address[i] & mask == network[i] & mask else { return false }
            remaining -= bits
        }
        return true
    }

    /// 4 bytes for IPv4, 16 for IPv6, or nil.
    package static func parseAddress(_ text: String) -> [UInt8]? {
        guard !text.isEmpty, text.utf8.count <= 45 else { return nil }
        var v4 = in_addr()
        if inet_pton(AF_INET, text, &v4) == 1 {
            return withUnsafeBytes(of: &v4) { Array($0) }
        }
        var v6 = in6_addr()
        if inet_pton(AF_INET6, text, &v6) == 1 {
            return withUnsafeBytes(of: &v6) { Array($0) }
        }
        return nil
    }
}

extension PartitionSettings {
    /// Whether calls from `address` are allowed (always, when no blocks are listed).
    package func allowsSource(_ address: String) -> Bool {
        allowedSources.isEmpty || allowedSources.contains { AddressBlock($0)?.contains(address) ?? false }
    }
}
