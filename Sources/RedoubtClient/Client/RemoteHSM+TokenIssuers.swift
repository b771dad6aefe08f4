import Foundation
import GRPCCore
import RedoubtCore
import RedoubtProto

// Token issuer bindings (UserService) of RemoteHSM.

extension RemoteHSM {
    public func bindTokenIssuer(_ session: SessionToken, issuer: TokenIssuer) async throws -> TokenIssuer {
        var request = Redoubt_V1_BindTokenIssuerRequest()
        request.issuer = issuer.proto
        return try await call(.session(session)) {
            try await users.bindTokenIssuer(request, metadata: $0, options: $1)
        } decode: {
            try TokenIssuer(proto: $0.issuer, isSet: $0.hasIssuer, at: .root + "issuer")
        }
    }

    public func listTokenIssuers(_ session: SessionToken) async throws -> [TokenIssuer] {
        try await call(.session(session)) {
            try await users.listTokenIssuers(Redoubt_V1_ListTokenIssuersRequest(), metadata: $0, options: $1)
        } decode: { response in
            try response.issuers.enumerated().map { i, issuer in try TokenIssuer(proto: issuer, isSet: true, at: (FieldPath.root + "issuers")[i]) }
        }
    }

    public func unbindTokenIssuer(_ session: SessionToken, name: String) async throws {
        var request = Redoubt_V1_UnbindTokenIssuerRequest()
        request.name = name
        try await call(.session(session)) {
            try await users.unbindTokenIssuer(request, metadata: $0, options: $1)
        } decode: { _ in
        }
    }
}
