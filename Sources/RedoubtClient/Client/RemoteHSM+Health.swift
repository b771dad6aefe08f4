import Foundation
import GRPCCore
import RedoubtCore
import RedoubtProto

extension RemoteHSM: HSMHealthProbe {
    /// Asks the broker's standard health service (`grpc.health.v1.Health/Check`, service `""`)
    /// whether it serves, within a second at most (less if
    /// ``RemoteHSMConfiguration/callTimeout`` is shorter). `false` on NOT_SERVING and on any error:
    /// unreachable, timed out, closed.
    ///
    /// ```swift
    /// let node = try RemoteHSM(configuration: .init(endpoint: "10.0.0.5:8443", tls: tls))
    /// let endpoint = FailoverEndpoint(name: "node-a", site: "fra", hsm: node, probe: node)
    /// ```
    public func isServing() async -> Bool {
        var options = CallOptions.defaults
        options.timeout = min(configuration.callTimeout, .seconds(1))
        let health = Grpc_Health_V1_Health.Client(wrapping: client)
        do {
            let response = try await health.check(Grpc_Health_V1_HealthCheckRequest(), options: options)
            return response.status == .serving
        } catch {
            return false
        }
    }
}
