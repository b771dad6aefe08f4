import Foundation
import GRPCCore
import Redoubt
import RedoubtClient
import RedoubtProto

extension BrokerCore {
    /// Runs a batch RPC: checks the item count and every payload size (either failing the whole
    /// call, before any item runs), runs the first item alone (an invalid session fails the
    /// whole call with UNAUTHENTICATED), then the rest concurrently on all cores, and answers
    /// one result or ErrorDetail per item in the request's order.
    func batch<Request: BatchRequest, Response: BatchResponse>(
        _ request: ServerRequest<Request>, _ context: ServerContext, as _: Response.Type,
        _ perform: @escaping @Sendable (Request.Item, FieldPath, SessionToken) async throws -> Response.Item.Response
    ) async throws -> ServerResponse<Response> {
        try await unary(request, context) { message, token in
            let items = message.items
            let path = FieldPath.root + "items"
            guard !items.isEmpty else { throw path.invalid("is empty; send 1 to \(limits.maximumBatchItems) items") }
            guard items.count <= limits.maximumBatchItems else {
                throw path.invalid("has \(items.count) items; the limit is \(limits.maximumBatchItems)")
            }
            for (i, item) in items.enumerated() {
                try item.checkPayloads(at: path[i], limit: limits.maximumPayloadBytes)
            }
            let method = context.descriptor.fullyQualifiedMethod
            let logger = self.logger
            let outcomes = try await HSMBatch.outcomes(Array(items.indices)) { try await perform(items[$0], path[$0], token) }
            return Response(
                items: outcomes.map { outcome in
                    switch outcome {
                    case .success(let response): Response.Item(response: response)
                    case .failure(let error): Response.Item(error: StatusMapping.errorDetail(for: error, method: method, logger: logger))
                    }
                })
        }
    }
}
