@_exported import RedoubtCore

// Redoubt: the embedded HSM — `LocalHSM` over the cryptographic engine and the durable store:
// sealing, partitions, users, sessions, keys, approvals, audit and backup.
// `import Redoubt` brings `RedoubtCore` (the `HSM` protocol and its types) and `RedoubtCrypto`.
