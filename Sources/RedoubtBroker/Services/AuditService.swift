import GRPCCore
import Redoubt
import RedoubtClient
import RedoubtProto

/// `redoubt.v1.AuditService`: the audit log of the session's partition.
struct AuditService: Redoubt_V1_AuditService.ServiceProtocol {
    /// The shared handler state.
    let core: BrokerCore

    func listAuditRecords(
        request: ServerRequest<Redoubt_V1_ListAuditRecordsRequest>,
        context: ServerContext
    ) async throws -> ServerResponse<Redoubt_V1_ListAuditRecordsResponse> {
        try await core.unary(request, context) { message, token in
            let (from, limit) = try message.decoded()
            return Redoubt_V1_ListAuditRecordsResponse(try await core.hsm.auditRecords(token, from: from, limit: limit))
        }
    }

    func verifyAudit(
        request: ServerRequest<Redoubt_V1_VerifyAuditRequest>,
        context: ServerContext
    ) async throws -> ServerResponse<Redoubt_V1_VerifyAuditResponse> {
        try await core.unary(request, context) { message, token in
            let checkpoint =
                message.hasCheckpoint ? try AuditCheckpoint(proto: message.checkpoint, at: FieldPath.root + "checkpoint") : nil
            return try await core.hsm.verifyAudit(token, against: checkpoint).proto
        }
    }

    func exportAuditCheckpoint(
        request: ServerRequest<Redoubt_V1_ExportAuditCheckpointRequest>,
        context: ServerContext
    ) async throws -> ServerResponse<Redoubt_V1_ExportAuditCheckpointResponse> {
        try await core.unary(request, context) { _, token in
            var response = Redoubt_V1_ExportAuditCheckpointResponse()
            response.checkpoint = try await core.hsm.auditCheckpoint(token).proto
            return response
        }
    }
}
