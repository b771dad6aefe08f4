@_exported import RedoubtClient

// RedoubtBroker: the transaction-security broker — gRPC services over any `HSM`,
// authentication, limits, health, metrics and scheduled backups.
