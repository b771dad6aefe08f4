import GRPCCore
import Logging
import RedoubtCore
import RedoubtProto

/// The one place where errors become gRPC statuses, and statuses become errors again.
///
/// Server side: an ``HSMError`` keeps its code and message (the codes have the same names, and
/// `redoubt.v1.ErrorCode` has every one, for a batch item's ErrorDetail); its
/// ``HSMError/underlying`` cause is never sent. `CancellationError` becomes CANCELLED; an
/// `RPCError` passes through unchanged; anything else is INTERNAL "internal error", its cause
/// logged with the method name and never sent.
///
/// Client side (``modelError(for:)``, and ``modelError(forCall:)`` for anything a call throws):
///
/// | status | becomes |
/// | --- | --- |
/// | the ten codes of ``HSMError/Code`` in ``codes`` (ABORTED included) | that ``HSMError`` |
/// | CANCELLED | `CancellationError` (in a batch item's ErrorDetail: ``HSMError/Code/cancelled``) |
/// | DEADLINE_EXCEEDED | UNAVAILABLE "deadline exceeded: …" (another node may answer in time); RemoteHSM makes it DEADLINE_EXCEEDED when the caller's ``HSMCallContext/deadline`` set the timeout (in a batch item's ErrorDetail: ``HSMError/Code/deadlineExceeded``) |
/// | OUT_OF_RANGE | INVALID_ARGUMENT |
/// | UNIMPLEMENTED, UNKNOWN, DATA_LOSS | INTERNAL, the message kept |
/// | the client's own `RuntimeError` (closed, transport down) | UNAVAILABLE |
/// | a response the client cannot decode | INTERNAL "the broker sent a malformed response: …" |
///
/// One exception to "an error is a status": an ``HSMError`` with a ``HSMError/pendingRequest``
/// (a governed operation submitted as a request) answers a unary RPC OK with only
/// `pending_request` set (``pendingAnswer(for:as:)``), and the client turns that response back
/// into the same error (``pendingError(for:)``); in a batch or stream item it travels in the
/// ErrorDetail's `pending_request`.
package enum StatusMapping {
    /// Each model code and its gRPC status code.
    package static let codes: [(model: HSMError.Code, rpc: RPCError.Code)] = [
        (.invalidArgument, .invalidArgument), (.unauthenticated, .unauthenticated),
        (.permissionDenied, .permissionDenied), (.notFound, .notFound), (.alreadyExists, .alreadyExists),
        (.failedPrecondition, .failedPrecondition), (.resourceExhausted, .resourceExhausted),
        (.unavailable, .unavailable), (.internalError, .internalError), (.aborted, .aborted),
    ]

    /// The gRPC status code of a model code: the table, DEADLINE_EXCEEDED and CANCELLED (server
    /// side only: a client reads DEADLINE_EXCEEDED as UNAVAILABLE, since another node may answer in
    /// time, and CANCELLED as `CancellationError`).
    package static func rpcCode(_ model: HSMError.Code) -> RPCError.Code {
        if model == .deadlineExceeded { return .deadlineExceeded }
        if model == .cancelled { return .cancelled }
        return codes.first(where: { $0.model == model })?.rpc ?? .internalError
    }

    /// The message every unexpected failure shows the caller.
    package static let internalMessage = "internal error"

    /// The status for `error`, thrown by the handler of `method`; logs unexpected errors.
    package static func rpcError(for error: any Error, method: String, logger: Logger) -> RPCError {
        switch error {
        case let error as HSMError:
            return RPCError(error)
        case let error as RPCError:
            return error
        case is CancellationError:
            return RPCError(code: .cancelled, message: "the call was cancelled")
        default:
            logUnexpected(error, method: method, logger: logger)
            return RPCError(code: .internalError, message: internalMessage)
        }
    }

    /// The OK answer of a unary RPC whose HSM call threw `error`: for an ``HSMError`` with a
    /// ``HSMError/pendingRequest`` (a governed operation submitted as a request), the response
    /// with only `pending_request` set; `nil` for every other error, which stays a status.
    package static func pendingAnswer<Response: PendingRequestCarrier>(for error: any Error, as _: Response.Type) -> Response? {
        guard let request = (error as? HSMError)?.pendingRequest else { return nil }
        return Response(pending: request)
    }

    /// The model error of a response with `pending_request` set: ``HSMError/approvalPending(_:)``,
    /// as the HSM itself throws it; `nil` for a response holding its result.
    package static func pendingError(for response: some PendingRequestCarrier) throws -> HSMError? {
        try response.decodedPendingRequest().map { HSMError.approvalPending($0) }
    }

    /// The ErrorDetail for a failed batch or stream item of `method`; logs unexpected errors.
    /// Cancellation reads CANCELLED "the call was cancelled".
    package static func errorDetail(for error: any Error, method: String, logger: Logger) -> Redoubt_V1_ErrorDetail {
        switch error {
        case let error as HSMError:
            return Redoubt_V1_ErrorDetail(error)
        case is CancellationError:
            return Redoubt_V1_ErrorDetail(HSMError(.cancelled, "the call was cancelled"))
        case let error as RPCError:
            return Redoubt_V1_ErrorDetail(modelError(for: error) as? HSMError ?? HSMError(.cancelled, "the call was cancelled"))
        default:
            logUnexpected(error, method: method, logger: logger)
            return Redoubt_V1_ErrorDetail(HSMError(.internalError, internalMessage))
        }
    }

    /// The model error for a status a call ended with: an ``HSMError``, or `CancellationError`.
    package static func modelError(for error: RPCError) -> any Error {
        if let pair = codes.first(where: { $0.rpc == error.code }) {
            return HSMError(pair.model, error.message)
        }
        switch error.code {
        case .cancelled: return CancellationError()
        case .deadlineExceeded: return HSMError(.unavailable, "deadline exceeded: \(error.message)")
        case .outOfRange: return HSMError(.invalidArgument, error.message)
        default: return HSMError(.internalError, "\(error.code): \(error.message)")
        }
    }

    /// The model error for anything a client call threw: a status by ``modelError(for:)``; the
    /// client's own `RuntimeError` (closed, or the transport failed) UNAVAILABLE; an ``HSMError``
    /// or `CancellationError` unchanged; anything else INTERNAL with its type only.
    package static func modelError(forCall error: any Error) -> any Error {
        switch error {
        case let error as RPCError:
            return modelError(for: error)
        case let error as RuntimeError where error.code == .clientIsStopped:
            return HSMError(.unavailable, "the connection to the broker is closed")
        case let error as RuntimeError:
            return HSMError(.unavailable, "cannot reach the broker: \(error.message)")
        case is HSMError, is CancellationError:
            return error
        default:
            return HSMError(.internalError, "the call failed: \(String(reflecting: type(of: error)))")
        }
    }

    /// The error for a response the client cannot decode (a field unset or out of range): the
    /// broker's fault, not the caller's, so INTERNAL rather than the decoder's INVALID_ARGUMENT.
    package static func malformedResponse(_ error: any Error) -> HSMError {
        let reason = (error as? HSMError)?.message ?? String(reflecting: type(of: error))
        return HSMError(.internalError, "the broker sent a malformed response: \(reason)")
    }

    private static func logUnexpected(_ error: any Error, method: String, logger: Logger) {
        logger.error(
            "broker.unexpected_error",
            metadata: [
                "rpc.method": "\(method)",
                "error.type": "\(String(reflecting: type(of: error)))",
                "error.description": "\(String(describing: error))",
            ])
    }
}

extension RPCError {
    /// The status of an ``HSMError``: the same code, the same message.
    package init(_ error: HSMError) {
        self.init(code: StatusMapping.rpcCode(error.code), message: error.message)
    }
}

extension HSMError.Code {
    /// ``HSMError/Code`` ⇄ `redoubt.v1.ErrorCode` (whose numbers are gRPC's).
    package static let protoMapping = EnumMapping<Redoubt_V1_ErrorCode, HSMError.Code>(
        prefix: "ERROR_CODE",
        pairs: [
            (.invalidArgument, .invalidArgument, "INVALID_ARGUMENT"), (.notFound, .notFound, "NOT_FOUND"),
            (.alreadyExists, .alreadyExists, "ALREADY_EXISTS"), (.permissionDenied, .permissionDenied, "PERMISSION_DENIED"),
            (.resourceExhausted, .resourceExhausted, "RESOURCE_EXHAUSTED"),
            (.failedPrecondition, .failedPrecondition, "FAILED_PRECONDITION"), (.internal, .internalError, "INTERNAL"),
            (.unavailable, .unavailable, "UNAVAILABLE"), (.unauthenticated, .unauthenticated, "UNAUTHENTICATED"),
            (.cancelled, .cancelled, "CANCELLED"), (.deadlineExceeded, .deadlineExceeded, "DEADLINE_EXCEEDED"),
            (.aborted, .aborted, "ABORTED"),
        ])
}

extension Redoubt_V1_ErrorDetail {
    /// The detail of an ``HSMError``.
    package init(_ error: HSMError) {
        self.init()
        code = HSMError.Code.protoMapping.proto(error.code)
        message = error.message
        if let request = error.pendingRequest { pendingRequest = request.proto }
    }
}

extension HSMError {
    /// The error of a batch or stream item's ErrorDetail; a code this client does not know
    /// (or none) becomes INTERNAL with the message kept. A `pending_request` that decodes is
    /// kept as ``HSMError/pendingRequest``.
    package init(_ detail: Redoubt_V1_ErrorDetail) {
        if let code = try? HSMError.Code.protoMapping.model(detail.code, at: .root) {
            self.init(code, detail.message)
            pendingRequest = try? detail.decodedPendingRequest()
        } else {
            self.init(.internalError, "error code \(detail.code.rawValue): \(detail.message)")
        }
    }
}
