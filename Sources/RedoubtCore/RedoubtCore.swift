@_exported import RedoubtCrypto

/// RedoubtCore: the vocabulary every door into Redoubt shares — the ``HSM`` protocol, its value
/// types, ``HSMError``, ``HSMCallContext``, the approval types and ``FailoverHSM``.
///
/// It holds no store, no NIO and no gRPC: an application that only calls a broker links this
/// and `RedoubtClient`.
public enum RedoubtVersion {
    /// The library version.
    public static let current = "0.1.0"
}
