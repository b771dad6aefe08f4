import GRPCCore
import Redoubt
import RedoubtClient
import RedoubtProto

/// `redoubt.v1.KeyService`: key objects and their life cycle.
struct KeyService: Redoubt_V1_KeyService.ServiceProtocol {
    /// The shared handler state.
    let core: BrokerCore

    func createKey(
        request: ServerRequest<Redoubt_V1_CreateKeyRequest>,
        context: ServerContext
    ) async throws -> ServerResponse<Redoubt_V1_CreateKeyResponse> {
        try await core.unary(request, context) { message, token in
            Redoubt_V1_CreateKeyResponse(try await core.hsm.generateKey(token, spec: try message.decoded()))
        }
    }

    func importKey(
        request: ServerRequest<Redoubt_V1_ImportKeyRequest>,
        context: ServerContext
    ) async throws -> ServerResponse<Redoubt_V1_ImportKeyResponse> {
        try await core.unary(request, context) { message, token in
            let (spec, material) = try message.decoded(limit: core.limits.maximumPayloadBytes)
            return Redoubt_V1_ImportKeyResponse(try await core.hsm.importKey(token, spec: spec, material: material))
        }
    }

    func getKey(
        request: ServerRequest<Redoubt_V1_GetKeyRequest>,
        context: ServerContext
    ) async throws -> ServerResponse<Redoubt_V1_GetKeyResponse> {
        try await core.unary(request, context) { message, token in
            Redoubt_V1_GetKeyResponse(try await core.hsm.getKey(token, id: try message.decodedKeyID()))
        }
    }

    func listKeys(
        request: ServerRequest<Redoubt_V1_ListKeysRequest>,
        context: ServerContext
    ) async throws -> ServerResponse<Redoubt_V1_ListKeysResponse> {
        try await core.unary(request, context) { message, token in
            var filter = try message.decoded()
            let (page, next) = try await Paging.page(size: filter.limit, id: \.id) { limit in
                filter.limit = limit
                return try await core.hsm.listKeys(token, filter: filter)
            }
            return Redoubt_V1_ListKeysResponse(page, nextPageToken: next)
        }
    }

    func updateKey(
        request: ServerRequest<Redoubt_V1_UpdateKeyRequest>,
        context: ServerContext
    ) async throws -> ServerResponse<Redoubt_V1_UpdateKeyResponse> {
        try await core.governedUnary(request, context) { message, token in
            let (id, update) = try message.decoded()
            return Redoubt_V1_UpdateKeyResponse(try await core.hsm.updateKey(token, id: id, update: update))
        }
    }

    func rotateKey(
        request: ServerRequest<Redoubt_V1_RotateKeyRequest>,
        context: ServerContext
    ) async throws -> ServerResponse<Redoubt_V1_RotateKeyResponse> {
        try await core.unary(request, context) { message, token in
            Redoubt_V1_RotateKeyResponse(try await core.hsm.rotateKey(token, id: try message.decodedKeyID()))
        }
    }

    func blockKey(
        request: ServerRequest<Redoubt_V1_BlockKeyRequest>,
        context: ServerContext
    ) async throws -> ServerResponse<Redoubt_V1_BlockKeyResponse> {
        try await core.governedUnary(request, context) { message, token in
            Redoubt_V1_BlockKeyResponse(try await core.hsm.blockKey(token, id: try message.decodedKeyID()))
        }
    }

    func unblockKey(
        request: ServerRequest<Redoubt_V1_UnblockKeyRequest>,
        context: ServerContext
    ) async throws -> ServerResponse<Redoubt_V1_UnblockKeyResponse> {
        try await core.governedUnary(request, context) { message, token in
            Redoubt_V1_UnblockKeyResponse(try await core.hsm.unblockKey(token, id: try message.decodedKeyID()))
        }
    }

    func destroyKey(
        request: ServerRequest<Redoubt_V1_DestroyKeyRequest>,
        context: ServerContext
    ) async throws -> ServerResponse<Redoubt_V1_DestroyKeyResponse> {
        try await core.unary(request, context) { message, token in
            Redoubt_V1_DestroyKeyResponse(try await core.hsm.destroyKey(token, id: try message.decodedKeyID()))
        }
    }

    func restoreKey(
        request: ServerRequest<Redoubt_V1_RestoreKeyRequest>,
        context: ServerContext
    ) async throws -> ServerResponse<Redoubt_V1_RestoreKeyResponse> {
        try await core.unary(request, context) { message, token in
            Redoubt_V1_RestoreKeyResponse(try await core.hsm.restoreKey(token, id: try message.decodedKeyID()))
        }
    }

    func purgeKey(
        request: ServerRequest<Redoubt_V1_PurgeKeyRequest>,
        context: ServerContext
    ) async throws -> ServerResponse<Redoubt_V1_PurgeKeyResponse> {
        try await core.unary(request, context) { message, token in
            try await core.hsm.purgeKey(token, id: try message.decodedKeyID())
            return Redoubt_V1_PurgeKeyResponse()
        }
    }

    func exportPublicKey(
        request: ServerRequest<Redoubt_V1_ExportPublicKeyRequest>,
        context: ServerContext
    ) async throws -> ServerResponse<Redoubt_V1_ExportPublicKeyResponse> {
        try await core.unary(request, context) { message, token in
            let (id, version) = try message.decoded()
            return Redoubt_V1_ExportPublicKeyResponse(try await core.hsm.exportPublicKey(token, id: id, version: version))
        }
    }

    func exportWrapped(
        request: ServerRequest<Redoubt_V1_ExportWrappedRequest>,
        context: ServerContext
    ) async throws -> ServerResponse<Redoubt_V1_ExportWrappedResponse> {
        try await core.unary(request, context) { message, token in
            let (id, wrappingKey, scheme) = try message.decoded()
            return Redoubt_V1_ExportWrappedResponse(
                wrappedKey: try await core.hsm.exportWrapped(token, id: id, wrappingKey: wrappingKey, scheme: scheme))
        }
    }

    func exportPlaintext(
        request: ServerRequest<Redoubt_V1_ExportPlaintextRequest>,
        context: ServerContext
    ) async throws -> ServerResponse<Redoubt_V1_ExportPlaintextResponse> {
        try await core.unary(request, context) { message, token in
            Redoubt_V1_ExportPlaintextResponse(try await core.hsm.exportPlaintext(token, id: try message.decodedKeyID()))
        }
    }

    // MARK: Certificates

    func createCertificate(
        request: ServerRequest<Redoubt_V1_CreateCertificateRequest>,
        context: ServerContext
    ) async throws -> ServerResponse<Redoubt_V1_CreateCertificateResponse> {
        try await core.unary(request, context) { message, token in
            Redoubt_V1_CreateCertificateResponse(try await core.hsm.createCertificate(token, spec: try message.decoded()))
        }
    }

    func getCertificate(
        request: ServerRequest<Redoubt_V1_GetCertificateRequest>,
        context: ServerContext
    ) async throws -> ServerResponse<Redoubt_V1_GetCertificateResponse> {
        try await core.unary(request, context) { message, token in
            Redoubt_V1_GetCertificateResponse(try await core.hsm.getCertificate(token, id: try message.decodedCertificateID()))
        }
    }

    func listCertificates(
        request: ServerRequest<Redoubt_V1_ListCertificatesRequest>,
        context: ServerContext
    ) async throws -> ServerResponse<Redoubt_V1_ListCertificatesResponse> {
        try await core.unary(request, context) { message, token in
            var filter = try message.decoded()
            let (page, next) = try await Paging.page(size: filter.limit, id: \.id) { limit in
                filter.limit = limit
                return try await core.hsm.listCertificates(token, filter: filter)
            }
            return Redoubt_V1_ListCertificatesResponse(page, nextPageToken: next)
        }
    }

    func deleteCertificate(
        request: ServerRequest<Redoubt_V1_DeleteCertificateRequest>,
        context: ServerContext
    ) async throws -> ServerResponse<Redoubt_V1_DeleteCertificateResponse> {
        try await core.unary(request, context) { message, token in
            try await core.hsm.deleteCertificate(token, id: try message.decodedCertificateID())
            return Redoubt_V1_DeleteCertificateResponse()
        }
    }
}
