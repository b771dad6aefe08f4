@_exported import RedoubtCore

// RedoubtClient: `RemoteHSM`, the `HSM` protocol over a broker's gRPC API, and the one map
// between `redoubt.v1` messages and the model (Convert/, Status/) that the broker shares with
// `package` access. It links neither the store nor the server.
