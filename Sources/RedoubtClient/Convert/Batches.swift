import Foundation
import RedoubtCore
import RedoubtProto

// The five batch RPCs and SignStream share one shape: items of the single-item request, and
// per item either the single-item response or an ErrorDetail.

/// A batch request: a list of single-item requests.
package protocol BatchRequest: Sendable {
    /// The single-item request.
    associatedtype Item: PayloadCheckedRequest
    /// Creates an empty request.
    init()
    /// The items.
    var items: [Item] { get set }
}

extension BatchRequest {
    /// The batch of `items`.
    package init(items: [Item]) {
        self.init()
        self.items = items
    }
}

/// One result of a batch response: the single-item response or an ErrorDetail.
package protocol BatchResponseItem: Sendable {
    /// The single-item response.
    associatedtype Response: Sendable
    /// Creates an empty item.
    init()
    /// The response (setting it selects it).
    var response: Response { get set }
    /// The error (setting it selects it).
    var error: Redoubt_V1_ErrorDetail { get set }
    /// Which is set, or `nil` if neither.
    var outcome: Result<Response, HSMError>? { get }
}

extension BatchResponseItem {
    /// A successful item.
    package init(response: Response) {
        self.init()
        self.response = response
    }

    /// A failed item.
    package init(error: Redoubt_V1_ErrorDetail) {
        self.init()
        self.error = error
    }
}

/// A batch response: one item per request item, in order.
package protocol BatchResponse: Sendable {
    /// The result of one item.
    associatedtype Item: BatchResponseItem
    /// Creates an empty response.
    init()
    /// The results.
    var items: [Item] { get set }
}

extension BatchResponse {
    /// The response of `items`.
    package init(items: [Item]) {
        self.init()
        self.items = items
    }

    /// Each item's outcome; an item with neither result set fails as INTERNAL.
    package var outcomes: [Result<Item.Response, HSMError>] {
        items.map { $0.outcome ?? .failure(HSMError(.internalError, "the server sent a batch item without a result")) }
    }
}

extension Redoubt_V1_SignBatchRequest: BatchRequest {}
extension Redoubt_V1_VerifyBatchRequest: BatchRequest {}
extension Redoubt_V1_EncryptBatchRequest: BatchRequest {}
extension Redoubt_V1_DecryptBatchRequest: BatchRequest {}
extension Redoubt_V1_MacBatchRequest: BatchRequest {}
extension Redoubt_V1_SignBatchResponse: BatchResponse {}
extension Redoubt_V1_VerifyBatchResponse: BatchResponse {}
extension Redoubt_V1_EncryptBatchResponse: BatchResponse {}
extension Redoubt_V1_DecryptBatchResponse: BatchResponse {}
extension Redoubt_V1_MacBatchResponse: BatchResponse {}

extension Redoubt_V1_SignBatchResponse.Item: BatchResponseItem {
    package var outcome: Result<Redoubt_V1_SignResponse, HSMError>? {
        switch result {
        case .response(let r): .success(r)
        case .error(let e): .failure(HSMError(e))
        case nil: nil
        }
    }
}

extension Redoubt_V1_VerifyBatchResponse.Item: BatchResponseItem {
    package var outcome: Result<Redoubt_V1_VerifyResponse, HSMError>? {
        switch result {
        case .response(let r): .success(r)
        case .error(let e): .failure(HSMError(e))
        case nil: nil
        }
    }
}

extension Redoubt_V1_EncryptBatchResponse.Item: BatchResponseItem {
    package var outcome: Result<Redoubt_V1_EncryptResponse, HSMError>? {
        switch result {
        case .response(let r): .success(r)
        case .error(let e): .failure(HSMError(e))
        case nil: nil
        }
    }
}

extension Redoubt_V1_DecryptBatchResponse.Item: BatchResponseItem {
    package var outcome: Result<Redoubt_V1_DecryptResponse, HSMError>? {
        switch result {
        case .response(let r): .success(r)
        case .error(let e): .failure(HSMError(e))
        case nil: nil
        }
    }
}

extension Redoubt_V1_MacBatchResponse.Item: BatchResponseItem {
    package var outcome: Result<Redoubt_V1_MacResponse, HSMError>? {
        switch result {
        case .response(let r): .success(r)
        case .error(let e): .failure(HSMError(e))
        case nil: nil
        }
    }
}

extension Redoubt_V1_SignStreamRequest {
    /// A stream request tagged `id`.
    package init(id: UInt64, request: Redoubt_V1_SignRequest) {
        self.init()
        self.id = id
        self.request = request
    }
}

extension Redoubt_V1_SignStreamResponse {
    /// A successful answer to request `id`.
    package init(id: UInt64, response: Redoubt_V1_SignResponse) {
        self.init()
        self.id = id
        self.response = response
    }

    /// A failed answer to request `id`.
    package init(id: UInt64, error: Redoubt_V1_ErrorDetail) {
        self.init()
        self.id = id
        self.error = error
    }

    /// The answer's outcome (INTERNAL if the server set neither).
    package var outcome: Result<SignatureResult, HSMError> {
        switch result {
        case .response(let r): .success(r.model)
        case .error(let e): .failure(HSMError(e))
        case nil: .failure(HSMError(.internalError, "the server sent a stream answer without a result"))
        }
    }
}
