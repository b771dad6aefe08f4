import Foundation

/// The address of a stored object: a partition, a kind within it, and an identifier.
///
/// Partitions separate tenants (the layer above maps them to HSM partitions);
/// the empty partition `""` holds cluster-level objects. Kinds group objects of
/// one type (for example `"key"` or `"user"`) so they can be listed and counted.
///
/// ```swift
/// let key = ObjectKey(partition: "tenant-a", kind: "key", id: "k-0001")
/// ```
public struct ObjectKey: Sendable, Hashable, Codable {
    /// The partition the object belongs to; `""` for cluster-level objects.
    public var partition: String
    /// The kind of object, for example `"key"`.
    public var kind: String
    /// The identifier of the object, unique within its partition and kind.
    public var id: String

    /// Creates an object key.
    public init(partition: String, kind: String, id: String) {
        self.partition = partition
        self.kind = kind
        self.id = id
    }
}

extension ObjectKey: CustomStringConvertible {
    /// A readable form, `partition/kind/id`, for logs and error messages.
    public var description: String {
        "\(partition)/\(kind)/\(id)"
    }
}

/// An object as held by the store: its key, an optional label, the revision the
/// store assigned, and its opaque bytes.
///
/// The store never interprets ``data``; the layer above seals anything secret
/// before it arrives here. ``description`` never prints the bytes.
public struct StoredObject: Sendable, Hashable, Codable {
    /// The address of the object.
    public var key: ObjectKey
    /// A free-form label, indexed for lookup; several objects may share one.
    public var label: String?
    /// The revision assigned by the store: 1 on insert, incremented by every update.
    public var revision: Int64
    /// The opaque bytes of the object.
    public var data: Data

    /// Creates a stored object value (used by backends and by backup restore).
    public init(key: ObjectKey, label: String?, revision: Int64, data: Data) {
        self.key = key
        self.label = label
        self.revision = revision
        self.data = data
    }
}

extension StoredObject: CustomStringConvertible {
    /// A description with key, label, revision and size; never the bytes.
    public var description: String {
        "StoredObject(\(key), label: \(label.map { "\"\($0)\"" } ?? "nil"), revision: \(revision), \(data.count) bytes)"
    }
}
