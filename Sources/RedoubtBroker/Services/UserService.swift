import GRPCCore
import Redoubt
import RedoubtClient
import RedoubtProto

/// `redoubt.v1.UserService`: users of the session's partition (operators, for an operator), and
/// the token issuers whose JWTs sign its users in.
struct UserService: Redoubt_V1_UserService.ServiceProtocol {
    /// The shared handler state.
    let core: BrokerCore

    func addUser(
        request: ServerRequest<Redoubt_V1_AddUserRequest>,
        context: ServerContext
    ) async throws -> ServerResponse<Redoubt_V1_AddUserResponse> {
        try await core.unary(request, context) { message, token in
            let user = try message.decoded()
            return try await core.hsm.addUser(
                token, name: user.name, role: user.role, password: user.password,
                clientCertificateSHA256: user.clientCertificateSHA256
            ).proto
        }
    }

    func listUsers(
        request: ServerRequest<Redoubt_V1_ListUsersRequest>,
        context: ServerContext
    ) async throws -> ServerResponse<Redoubt_V1_ListUsersResponse> {
        try await core.unary(request, context) { message, token in
            let page = try message.decoded()
            let all = try await core.hsm.listUsers(token)
            let (users, next) = Paging.page(of: all, id: \.id, after: page.after, size: page.size)
            return Redoubt_V1_ListUsersResponse(users, nextPageToken: next)
        }
    }

    func removeUser(
        request: ServerRequest<Redoubt_V1_RemoveUserRequest>,
        context: ServerContext
    ) async throws -> ServerResponse<Redoubt_V1_RemoveUserResponse> {
        try await core.unary(request, context) { message, token in
            try await core.hsm.removeUser(token, id: try message.decoded())
            return Redoubt_V1_RemoveUserResponse()
        }
    }

    func bindTokenIssuer(
        request: ServerRequest<Redoubt_V1_BindTokenIssuerRequest>,
        context: ServerContext
    ) async throws -> ServerResponse<Redoubt_V1_BindTokenIssuerResponse> {
        try await core.unary(request, context) { message, token in
            let issuer = try TokenIssuer(proto: message.issuer, isSet: message.hasIssuer, at: .root + "issuer")
            var response = Redoubt_V1_BindTokenIssuerResponse()
            response.issuer = try await core.hsm.bindTokenIssuer(token, issuer: issuer).proto
            return response
        }
    }

    func listTokenIssuers(
        request: ServerRequest<Redoubt_V1_ListTokenIssuersRequest>,
        context: ServerContext
    ) async throws -> ServerResponse<Redoubt_V1_ListTokenIssuersResponse> {
        try await core.unary(request, context) { _, token in
            var response = Redoubt_V1_ListTokenIssuersResponse()
            response.issuers = try await core.hsm.listTokenIssuers(token).sorted { $0.name < $1.name }.map(\.proto)
            return response
        }
    }

    func unbindTokenIssuer(
        request: ServerRequest<Redoubt_V1_UnbindTokenIssuerRequest>,
        context: ServerContext
    ) async throws -> ServerResponse<Redoubt_V1_UnbindTokenIssuerResponse> {
        try await core.unary(request, context) { message, token in
            guard !message.name.isEmpty else { throw (FieldPath.root + "name").invalid("is empty; send the binding's name") }
            try (FieldPath.root + "name").checkSize(message.name, limit: 64)
            try await core.hsm.unbindTokenIssuer(token, name: message.name)
            return Redoubt_V1_UnbindTokenIssuerResponse()
        }
    }
}
