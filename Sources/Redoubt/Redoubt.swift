@_exported import RedoubtCrypto

/// Redoubt: the HSM model over the cryptographic engine and the durable store.
///
/// `import Redoubt` brings the engine (``RedoubtCrypto``) with it.
public enum RedoubtVersion {
    /// The library version.
    public static let current = "0.1.0"
}
