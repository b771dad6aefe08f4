import GRPCCore
import Redoubt
import RedoubtClient
import RedoubtProto

/// `redoubt.v1.PartitionService`: the operator's partitions.
struct PartitionService: Redoubt_V1_PartitionService.ServiceProtocol {
    /// The shared handler state.
    let core: BrokerCore

    func createPartition(
        request: ServerRequest<Redoubt_V1_CreatePartitionRequest>,
        context: ServerContext
    ) async throws -> ServerResponse<Redoubt_V1_CreatePartitionResponse> {
        try await core.unary(request, context) { message, token in
            let (id, settings) = try message.decoded()
            return try await core.hsm.createPartition(token, id: id, settings: settings).proto
        }
    }

    func listPartitions(
        request: ServerRequest<Redoubt_V1_ListPartitionsRequest>,
        context: ServerContext
    ) async throws -> ServerResponse<Redoubt_V1_ListPartitionsResponse> {
        try await core.unary(request, context) { message, token in
            let page = try message.decoded()
            let all = try await core.hsm.listPartitions(token)
            let (partitions, next) = Paging.page(of: all, id: \.id, after: page.after, size: page.size)
            return Redoubt_V1_ListPartitionsResponse(partitions, nextPageToken: next)
        }
    }

    func updatePartition(
        request: ServerRequest<Redoubt_V1_UpdatePartitionRequest>,
        context: ServerContext
    ) async throws -> ServerResponse<Redoubt_V1_UpdatePartitionResponse> {
        try await core.unary(request, context) { message, token in
            let id = try message.decodedID()
            // The HSM takes whole settings; unset fields keep the current values.
            guard let current = try await core.hsm.listPartitions(token).first(where: { $0.id == id }) else {
                throw HSMError(.notFound, "no partition '\(id)'")
            }
            let settings = try message.settings(over: current.settings)
            return Redoubt_V1_UpdatePartitionResponse(try await core.hsm.updatePartition(token, id: id, settings: settings))
        }
    }
}
