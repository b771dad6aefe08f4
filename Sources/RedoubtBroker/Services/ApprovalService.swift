import Foundation
import GRPCCore
import Redoubt
import RedoubtClient
import RedoubtProto

/// `redoubt.v1.ApprovalService`: approvers, and requests on governed keys.
struct ApprovalService: Redoubt_V1_ApprovalService.ServiceProtocol {
    /// The shared handler state.
    let core: BrokerCore

    private var limit: Int { core.limits.maximumPayloadBytes }

    func registerApprover(
        request: ServerRequest<Redoubt_V1_RegisterApproverRequest>,
        context: ServerContext
    ) async throws -> ServerResponse<Redoubt_V1_RegisterApproverResponse> {
        try await core.unary(request, context) { message, token in
            let approver = try Approver(proto: message.approver, isSet: message.hasApprover, at: .root + "approver")
            let registered = try await core.hsm.registerApprover(token, name: approver.name, publicKey: approver.publicKey)
            var response = Redoubt_V1_RegisterApproverResponse()
            response.approver = registered.proto
            return response
        }
    }

    func listApprovers(
        request: ServerRequest<Redoubt_V1_ListApproversRequest>,
        context: ServerContext
    ) async throws -> ServerResponse<Redoubt_V1_ListApproversResponse> {
        try await core.unary(request, context) { _, token in
            var response = Redoubt_V1_ListApproversResponse()
            response.approvers = try await core.hsm.listApprovers(token).map(\.proto)
            return response
        }
    }

    func removeApprover(
        request: ServerRequest<Redoubt_V1_RemoveApproverRequest>,
        context: ServerContext
    ) async throws -> ServerResponse<Redoubt_V1_RemoveApproverResponse> {
        try await core.unary(request, context) { message, token in
            guard !message.name.isEmpty else { throw (FieldPath.root + "name").invalid("is empty; send the approver's name") }
            try (FieldPath.root + "name").checkSize(message.name, limit: 64)
            try await core.hsm.removeApprover(token, name: message.name)
            return Redoubt_V1_RemoveApproverResponse()
        }
    }

    func submitRequest(
        request: ServerRequest<Redoubt_V1_SubmitRequestRequest>,
        context: ServerContext
    ) async throws -> ServerResponse<Redoubt_V1_SubmitRequestResponse> {
        try await core.unary(request, context) { message, token in
            let key = try requiredID(message.keyID, at: .root + "key_id")
            let operation = try ApprovalOperation(proto: message.operation, isSet: message.hasOperation, at: .root + "operation", limit: limit)
            var response = Redoubt_V1_SubmitRequestResponse()
            response.request = try await core.hsm.submitRequest(token, key: key, operation: operation).proto
            return response
        }
    }

    func getRequest(
        request: ServerRequest<Redoubt_V1_GetRequestRequest>,
        context: ServerContext
    ) async throws -> ServerResponse<Redoubt_V1_GetRequestResponse> {
        try await core.unary(request, context) { message, token in
            let id = try requiredID(message.requestID, at: .root + "request_id")
            var response = Redoubt_V1_GetRequestResponse()
            response.request = try await core.hsm.getRequest(token, id: id).proto
            return response
        }
    }

    func listRequests(
        request: ServerRequest<Redoubt_V1_ListRequestsRequest>,
        context: ServerContext
    ) async throws -> ServerResponse<Redoubt_V1_ListRequestsResponse> {
        try await core.unary(request, context) { message, token in
            let filter = try message.filter()
            let requests = try await core.hsm.listRequests(token, filter: filter)
            var response = Redoubt_V1_ListRequestsResponse()
            response.requests = requests.map(\.proto)
            if requests.count == filter.limit, let last = requests.last { response.nextPageToken = Paging.token(after: last.id) }
            return response
        }
    }

    func approveRequest(
        request: ServerRequest<Redoubt_V1_DecideRequestRequest>,
        context: ServerContext
    ) async throws -> ServerResponse<Redoubt_V1_DecideRequestResponse> {
        try await decide(request, context, .approve)
    }

    func rejectRequest(
        request: ServerRequest<Redoubt_V1_DecideRequestRequest>,
        context: ServerContext
    ) async throws -> ServerResponse<Redoubt_V1_DecideRequestResponse> {
        try await decide(request, context, .reject)
    }

    /// ApproveRequest and RejectRequest: the same message, another challenge.
    private func decide(
        _ request: ServerRequest<Redoubt_V1_DecideRequestRequest>, _ context: ServerContext,
        _ decision: ApprovalChallenge.Decision
    ) async throws -> ServerResponse<Redoubt_V1_DecideRequestResponse> {
        try await core.unary(request, context) { message, token in
            let (id, approver, signature) = try message.decoded()
            let hsm = core.hsm
            var response = Redoubt_V1_DecideRequestResponse()
            switch decision {
            case .approve: response.request = try await hsm.approveRequest(token, id: id, approver: approver, signature: signature).proto
            case .reject: response.request = try await hsm.rejectRequest(token, id: id, approver: approver, signature: signature).proto
            }
            return response
        }
    }
}
