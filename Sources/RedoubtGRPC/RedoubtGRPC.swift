/// RedoubtGRPC: the transaction-security broker (gRPC services over any ``Redoubt/HSM``,
/// authentication, limits, health and metrics) and ``RemoteHSM``, the HSM protocol over a
/// broker. This module is the only place that maps between `redoubt.v1` messages and the model.
