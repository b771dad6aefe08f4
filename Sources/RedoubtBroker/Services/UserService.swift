import GRPCCore
import Redoubt
import RedoubtClient
import RedoubtProto

/// `redoubt.v1.UserService`: users of the session's partition (operators, for an operator).
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
}
