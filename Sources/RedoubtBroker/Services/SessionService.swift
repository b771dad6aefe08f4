import GRPCCore
import Redoubt
import RedoubtClient
import RedoubtProto

/// `redoubt.v1.SessionService`: opens sessions with an API key or a JWT (bearer), a password (in
/// the message) or the client certificate of a mutual-TLS connection, and closes them.
struct SessionService: Redoubt_V1_SessionService.ServiceProtocol {
    /// The shared handler state.
    let core: BrokerCore

    func openSession(
        request: ServerRequest<Redoubt_V1_OpenSessionRequest>,
        context: ServerContext
    ) async throws -> ServerResponse<Redoubt_V1_OpenSessionResponse> {
        try await core.run(context, metadata: request.metadata) {
            let apiKey = try BrokerCore.bearer(request.metadata)
            let password = try request.message.passwordCredential()
            let credential: Credential
            switch (apiKey, password) {
            case (.some, .some):
                throw HSMError(
                    .invalidArgument,
                    "password is set and so is a bearer (`authorization: Bearer <api key or JWT>`): send one credential, not both")
            case (.some(let bearer), nil):
                // A JWT's header is a JSON object, so its base64url starts `eyJ` (`{"`); anything
                // else is taken for an API key (`rdk1.<id>.<secret>`), and refused as one.
                credential = bearer.hasPrefix("eyJ") ? .jwt(bearer) : .apiKey(bearer)
            case (nil, .some(let password)):
                credential = password
            case (nil, nil):
                guard let fingerprint = BrokerCore.clientCertificateSHA256(context) else {
                    throw HSMError(
                        .unauthenticated,
                        "no credential: send an API key or a JWT as `authorization: Bearer <credential>`, a password credential, or connect with a registered client certificate"
                    )
                }
                credential = .clientCertificate(sha256: fingerprint)
            }
            let session = try await core.hsm.openSession(partition: request.message.partitionID, credential: credential)
            return ServerResponse(message: session.proto)
        }
    }

    func closeSession(
        request: ServerRequest<Redoubt_V1_CloseSessionRequest>,
        context: ServerContext
    ) async throws -> ServerResponse<Redoubt_V1_CloseSessionResponse> {
        try await core.unary(request, context) { _, token in
            try await core.hsm.closeSession(token)
            return Redoubt_V1_CloseSessionResponse()
        }
    }
}
