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
            @Sendable func run(_ i: Int) async -> Response.Item {
                do {
                    return Response.Item(response: try await perform(items[i], path[i], token))
                } catch {
                    return Response.Item(error: StatusMapping.errorDetail(for: error, method: method, logger: logger))
                }
            }
            // The first item alone: a session that is not valid fails the call, not every item.
            let first: Response.Item
            do {
                first = Response.Item(response: try await perform(items[0], path[0], token))
            } catch let error as HSMError where error.code == .unauthenticated {
                throw error
            } catch {
                first = Response.Item(error: StatusMapping.errorDetail(for: error, method: method, logger: logger))
            }
            let rest = try await Self.concurrentMap(count: items.count - 1) { await run($0 + 1) }
            return Response(items: [first] + rest)
        }
    }

    /// `transform(0..<count)` in order, run by about one worker per core, each taking every
    /// n-th index (no task per item). Checks for cancellation every few items; throws
    /// `CancellationError` if the call was cancelled.
    static func concurrentMap<R: Sendable>(count: Int, _ transform: @escaping @Sendable (Int) async -> R) async throws -> [R] {
        guard count > 0 else { return [] }
        let workers = min(count, max(1, ProcessInfo.processInfo.activeProcessorCount))
        if workers == 1 {
            var out: [R] = []
            out.reserveCapacity(count)
            for i in 0..<count {
                if i % 16 == 0 { try Task.checkCancellation() }
                out.append(await transform(i))
            }
            return out
        }
        var slots = [R?](repeating: nil, count: count)
        try await withThrowingTaskGroup(of: [(Int, R)].self) { group in
            for worker in 0..<workers {
                group.addTask {
                    var done: [(Int, R)] = []
                    done.reserveCapacity(count / workers + 1)
                    for (n, i) in stride(from: worker, to: count, by: workers).enumerated() {
                        if n % 16 == 0 { try Task.checkCancellation() }
                        done.append((i, await transform(i)))
                    }
                    return done
                }
            }
            for try await done in group {
                for (i, r) in done { slots[i] = r }
            }
        }
        let results = slots.compactMap { $0 }
        guard results.count == count else { throw CancellationError() }
        return results
    }
}
