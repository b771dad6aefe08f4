import Foundation
import GRPCCore
import RedoubtCore
import RedoubtProto

// Approvers and requests (ApprovalService) and backups (BackupService) of RemoteHSM.

extension RemoteHSM {
    public func registerApprover(_ session: SessionToken, name: String, publicKey: PublicKey) async throws -> Approver {
        var request = Redoubt_V1_RegisterApproverRequest()
        request.approver = Approver(name: name, publicKey: publicKey).proto
        return try await call(.session(session)) {
            try await approvals.registerApprover(request, metadata: $0, options: $1)
        } decode: {
            try Approver(proto: $0.approver, isSet: $0.hasApprover, at: .root + "approver")
        }
    }

    public func listApprovers(_ session: SessionToken) async throws -> [Approver] {
        try await call(.session(session)) {
            try await approvals.listApprovers(Redoubt_V1_ListApproversRequest(), metadata: $0, options: $1)
        } decode: { response in
            try response.approvers.enumerated().map { i, a in try Approver(proto: a, isSet: true, at: (FieldPath.root + "approvers")[i]) }
        }
    }

    public func removeApprover(_ session: SessionToken, name: String) async throws {
        var request = Redoubt_V1_RemoveApproverRequest()
        request.name = name
        try await call(.session(session)) {
            try await approvals.removeApprover(request, metadata: $0, options: $1)
        } decode: { _ in
        }
    }

    public func submitRequest(_ session: SessionToken, key: String, operation: ApprovalOperation) async throws -> ApprovalRequest {
        var request = Redoubt_V1_SubmitRequestRequest()
        request.keyID = key
        request.operation = operation.proto
        return try await call(.session(session)) {
            try await approvals.submitRequest(request, metadata: $0, options: $1)
        } decode: {
            try ApprovalRequest(proto: $0.request, isSet: $0.hasRequest, at: .root + "request")
        }
    }

    public func getRequest(_ session: SessionToken, id: String) async throws -> ApprovalRequest {
        var request = Redoubt_V1_GetRequestRequest()
        request.requestID = id
        return try await call(.session(session)) {
            try await approvals.getRequest(request, metadata: $0, options: $1)
        } decode: {
            try ApprovalRequest(proto: $0.request, isSet: $0.hasRequest, at: .root + "request")
        }
    }

    public func listRequests(_ session: SessionToken, filter: ApprovalRequestFilter) async throws -> [ApprovalRequest] {
        // The wire reads limit 0 as the default: refuse out-of-range limits here, as LocalHSM does.
        guard (1...HSMArgumentChecks.maximumPageSize).contains(filter.limit) else {
            throw HSMError(.invalidArgument, "limit must be 1 to \(HSMArgumentChecks.maximumPageSize)")
        }
        let request = Redoubt_V1_ListRequestsRequest(filter)
        return try await call(.session(session)) {
            try await approvals.listRequests(request, metadata: $0, options: $1)
        } decode: { response in
            try response.requests.enumerated().map { i, r in try ApprovalRequest(proto: r, at: (FieldPath.root + "requests")[i]) }
        }
    }

    public func approveRequest(_ session: SessionToken, id: String, approver: String, signature: Data) async throws -> ApprovalRequest {
        let request = Redoubt_V1_DecideRequestRequest(id: id, approver: approver, signature: signature)
        return try await call(.session(session)) {
            try await approvals.approveRequest(request, metadata: $0, options: $1)
        } decode: {
            try ApprovalRequest(proto: $0.request, isSet: $0.hasRequest, at: .root + "request")
        }
    }

    public func rejectRequest(_ session: SessionToken, id: String, approver: String, signature: Data) async throws -> ApprovalRequest {
        let request = Redoubt_V1_DecideRequestRequest(id: id, approver: approver, signature: signature)
        return try await call(.session(session)) {
            try await approvals.rejectRequest(request, metadata: $0, options: $1)
        } decode: {
            try ApprovalRequest(proto: $0.request, isSet: $0.hasRequest, at: .root + "request")
        }
    }

    // MARK: - Backup

    /// Asks the broker to write a backup into its backup folder; `path` is relative to that folder.
    /// The call is not bounded by ``RemoteHSMConfiguration/callTimeout`` (a large store takes
    /// longer), only by the caller's ``HSMCallContext/deadline``, if set.
    public func createBackup(
        _ session: SessionToken, path: String, partition: String?, overwrite: Bool,
        progress: @escaping @Sendable (BackupProgress) -> Void
    ) async throws -> BackupReport {
        let request = Redoubt_V1_CreateBackupRequest(path: path, partition: partition, overwrite: overwrite)
        let metadata = try Bearer.session(session).metadata()
        var (options, deadline) = try callOptions()
        if let callerDeadline = HSMCallContext.deadline {
            options.timeout = .nanoseconds(Int64(min(callerDeadline.timeIntervalSinceNow, 1e9) * 1e9))
            deadline = callerDeadline
        } else {
            options.timeout = nil
        }
        let report: BackupReport?
        do {
            report = try await backups.createBackup(request, metadata: metadata, options: options) { response in
                var report: BackupReport?
                for try await message in response.messages {
                    guard report == nil else { throw StatusMapping.malformedResponse(HSMError(.internalError, "a message followed the summary")) }
                    switch message.event {
                    case .progress(let step):
                        do { progress(try BackupProgress(proto: step, at: .root + "progress")) } catch {
                            throw StatusMapping.malformedResponse(error)
                        }
                    case .summary(let summary):
                        do { report = try BackupReport(proto: summary, at: .root + "summary") } catch {
                            throw StatusMapping.malformedResponse(error)
                        }
                    case nil:
                        throw StatusMapping.malformedResponse(HSMError(.internalError, "a CreateBackup message has no event"))
                    }
                }
                return report
            }
        } catch let error as HSMError {
            throw error
        } catch {
            throw Self.modelError(forCall: error, deadline: deadline)
        }
        guard let report else {
            throw StatusMapping.malformedResponse(HSMError(.internalError, "the CreateBackup stream ended without a summary"))
        }
        return report
    }
}
