import Foundation
import GRPCCore
import Logging
import Redoubt
import RedoubtClient
import RedoubtProto

/// `redoubt.v1.CryptoService`: cryptographic operations, their batches, and SignStream.
struct CryptoService: Redoubt_V1_CryptoService.ServiceProtocol {
    /// The shared handler state.
    let core: BrokerCore

    private var limit: Int { core.limits.maximumPayloadBytes }

    // MARK: Single operations (each also the body of a batch item)

    /// Signs one request.
    func sign(_ message: Redoubt_V1_SignRequest, at path: FieldPath, _ token: SessionToken) async throws -> Redoubt_V1_SignResponse {
        let (key, input, scheme) = try message.decoded(at: path, limit: limit)
        return Redoubt_V1_SignResponse(try await core.hsm.sign(token, key: key, input: input, scheme: scheme))
    }

    /// Verifies one request.
    func verify(_ message: Redoubt_V1_VerifyRequest, at path: FieldPath, _ token: SessionToken) async throws -> Redoubt_V1_VerifyResponse {
        let r = try message.decoded(at: path, limit: limit)
        return Redoubt_V1_VerifyResponse(
            valid: try await core.hsm.verify(
                token, key: r.key, input: r.input, signature: r.signature, scheme: r.scheme, version: r.version))
    }

    /// Encrypts one request.
    func encrypt(_ message: Redoubt_V1_EncryptRequest, at path: FieldPath, _ token: SessionToken) async throws -> Redoubt_V1_EncryptResponse {
        let r = try message.decoded(at: path, limit: limit)
        if let parameters = try message.standardParameters(at: path) {
            return Redoubt_V1_EncryptResponse(
                try await core.hsm.encryptStandard(token, key: r.key, plaintext: r.plaintext, scheme: r.scheme, parameters: parameters))
        }
        return Redoubt_V1_EncryptResponse(
            ciphertext: try await core.hsm.encrypt(
                token, key: r.key, plaintext: r.plaintext, scheme: r.scheme, aad: r.aad))
    }

    /// Decrypts one request.
    func decrypt(_ message: Redoubt_V1_DecryptRequest, at path: FieldPath, _ token: SessionToken) async throws -> Redoubt_V1_DecryptResponse {
        let r = try message.decoded(at: path, limit: limit)
        if let parameters = try message.standardParameters(at: path) {
            return Redoubt_V1_DecryptResponse(
                plaintext: try await core.hsm.decryptStandard(token, key: r.key, ciphertext: r.ciphertext, scheme: r.scheme, parameters: parameters))
        }
        return Redoubt_V1_DecryptResponse(
            plaintext: try await core.hsm.decrypt(
                token, key: r.key, ciphertext: r.ciphertext, scheme: r.scheme, aad: r.aad))
    }

    /// MACs one request.
    func mac(_ message: Redoubt_V1_MacRequest, at path: FieldPath, _ token: SessionToken) async throws -> Redoubt_V1_MacResponse {
        let r = try message.decoded(at: path, limit: limit)
        if let version = try message.standardVersion(at: path) {
            return Redoubt_V1_MacResponse(tag: try await core.hsm.macStandard(token, key: r.key, data: r.data, hash: r.hash, version: version))
        }
        return Redoubt_V1_MacResponse(tag: try await core.hsm.mac(token, key: r.key, data: r.data, hash: r.hash))
    }

    // MARK: Unary RPCs

    func sign(
        request: ServerRequest<Redoubt_V1_SignRequest>,
        context: ServerContext
    ) async throws -> ServerResponse<Redoubt_V1_SignResponse> {
        try await core.governedUnary(request, context) { try await sign($0, at: .root, $1) }
    }

    func verify(
        request: ServerRequest<Redoubt_V1_VerifyRequest>,
        context: ServerContext
    ) async throws -> ServerResponse<Redoubt_V1_VerifyResponse> {
        try await core.unary(request, context) { try await verify($0, at: .root, $1) }
    }

    func encrypt(
        request: ServerRequest<Redoubt_V1_EncryptRequest>,
        context: ServerContext
    ) async throws -> ServerResponse<Redoubt_V1_EncryptResponse> {
        try await core.unary(request, context) { try await encrypt($0, at: .root, $1) }
    }

    func decrypt(
        request: ServerRequest<Redoubt_V1_DecryptRequest>,
        context: ServerContext
    ) async throws -> ServerResponse<Redoubt_V1_DecryptResponse> {
        try await core.governedUnary(request, context) { try await decrypt($0, at: .root, $1) }
    }

    func mac(
        request: ServerRequest<Redoubt_V1_MacRequest>,
        context: ServerContext
    ) async throws -> ServerResponse<Redoubt_V1_MacResponse> {
        try await core.governedUnary(request, context) { try await mac($0, at: .root, $1) }
    }

    func verifyMac(
        request: ServerRequest<Redoubt_V1_VerifyMacRequest>,
        context: ServerContext
    ) async throws -> ServerResponse<Redoubt_V1_VerifyMacResponse> {
        try await core.unary(request, context) { message, token in
            let r = try message.decoded(limit: limit)
            if let version = try message.standardVersion(at: .root) {
                return Redoubt_V1_VerifyMacResponse(
                    valid: try await core.hsm.verifyMACStandard(token, key: r.key, data: r.data, tag: r.tag, hash: r.hash, version: version))
            }
            return Redoubt_V1_VerifyMacResponse(valid: try await core.hsm.verifyMAC(token, key: r.key, data: r.data, tag: r.tag, hash: r.hash))
        }
    }

    func wrap(
        request: ServerRequest<Redoubt_V1_WrapRequest>,
        context: ServerContext
    ) async throws -> ServerResponse<Redoubt_V1_WrapResponse> {
        try await core.unary(request, context) { message, token in
            let (id, wrappingKey, scheme) = try message.decoded()
            if try message.wantsStandard(at: .root) {
                return Redoubt_V1_WrapResponse(try await core.hsm.exportWrappedStandard(token, id: id, wrappingKey: wrappingKey, scheme: scheme))
            }
            return Redoubt_V1_WrapResponse(wrappedKey: try await core.hsm.exportWrapped(token, id: id, wrappingKey: wrappingKey, scheme: scheme))
        }
    }

    func unwrap(
        request: ServerRequest<Redoubt_V1_UnwrapRequest>,
        context: ServerContext
    ) async throws -> ServerResponse<Redoubt_V1_UnwrapResponse> {
        try await core.unary(request, context) { message, token in
            let (spec, material) = try message.decoded(limit: limit)
            if let version = try message.standardVersion(at: .root), case .wrapped(let wrapped, let wrappingKey, let scheme) = material {
                return Redoubt_V1_UnwrapResponse(
                    try await core.hsm.importWrappedStandard(token, spec: spec, wrapped: wrapped, wrappingKey: wrappingKey, scheme: scheme, version: version))
            }
            return Redoubt_V1_UnwrapResponse(try await core.hsm.importKey(token, spec: spec, material: material))
        }
    }

    func deriveKey(
        request: ServerRequest<Redoubt_V1_DeriveKeyRequest>,
        context: ServerContext
    ) async throws -> ServerResponse<Redoubt_V1_DeriveKeyResponse> {
        try await core.unary(request, context) { message, token in
            let r = try message.decoded(limit: limit)
            guard let peer = r.peer else {
                return Redoubt_V1_DeriveKeyResponse(try await core.hsm.deriveKey(token, key: r.key, derivation: r.derivation, spec: r.spec))
            }
            return Redoubt_V1_DeriveKeyResponse(try await core.hsm.deriveKey(token, key: r.key, peer: peer, derivation: r.derivation, spec: r.spec))
        }
    }

    func random(
        request: ServerRequest<Redoubt_V1_RandomRequest>,
        context: ServerContext
    ) async throws -> ServerResponse<Redoubt_V1_RandomResponse> {
        try await core.unary(request, context) { message, token in
            Redoubt_V1_RandomResponse(data: try await core.hsm.random(token, count: try message.decoded()))
        }
    }

    func encapsulate(
        request: ServerRequest<Redoubt_V1_EncapsulateRequest>,
        context: ServerContext
    ) async throws -> ServerResponse<Redoubt_V1_EncapsulateResponse> {
        try await core.unary(request, context) { message, token in
            let (key, spec) = try message.decoded()
            return Redoubt_V1_EncapsulateResponse(try await core.hsm.encapsulate(token, key: key, spec: spec))
        }
    }

    func decapsulate(
        request: ServerRequest<Redoubt_V1_DecapsulateRequest>,
        context: ServerContext
    ) async throws -> ServerResponse<Redoubt_V1_DecapsulateResponse> {
        try await core.unary(request, context) { message, token in
            let r = try message.decoded(limit: limit)
            return Redoubt_V1_DecapsulateResponse(try await core.hsm.decapsulate(token, key: r.key, encapsulated: r.encapsulated, spec: r.spec))
        }
    }

    // MARK: Batches

    func signBatch(
        request: ServerRequest<Redoubt_V1_SignBatchRequest>,
        context: ServerContext
    ) async throws -> ServerResponse<Redoubt_V1_SignBatchResponse> {
        try await core.batch(request, context, as: Redoubt_V1_SignBatchResponse.self) { try await sign($0, at: $1, $2) }
    }

    func verifyBatch(
        request: ServerRequest<Redoubt_V1_VerifyBatchRequest>,
        context: ServerContext
    ) async throws -> ServerResponse<Redoubt_V1_VerifyBatchResponse> {
        try await core.batch(request, context, as: Redoubt_V1_VerifyBatchResponse.self) { try await verify($0, at: $1, $2) }
    }

    func encryptBatch(
        request: ServerRequest<Redoubt_V1_EncryptBatchRequest>,
        context: ServerContext
    ) async throws -> ServerResponse<Redoubt_V1_EncryptBatchResponse> {
        try await core.batch(request, context, as: Redoubt_V1_EncryptBatchResponse.self) { try await encrypt($0, at: $1, $2) }
    }

    func decryptBatch(
        request: ServerRequest<Redoubt_V1_DecryptBatchRequest>,
        context: ServerContext
    ) async throws -> ServerResponse<Redoubt_V1_DecryptBatchResponse> {
        try await core.batch(request, context, as: Redoubt_V1_DecryptBatchResponse.self) { try await decrypt($0, at: $1, $2) }
    }

    func macBatch(
        request: ServerRequest<Redoubt_V1_MacBatchRequest>,
        context: ServerContext
    ) async throws -> ServerResponse<Redoubt_V1_MacBatchResponse> {
        try await core.batch(request, context, as: Redoubt_V1_MacBatchResponse.self) { try await mac($0, at: $1, $2) }
    }

    // MARK: SignStream

    func signStream(
        request: StreamingServerRequest<Redoubt_V1_SignStreamRequest>,
        context: ServerContext
    ) async throws -> StreamingServerResponse<Redoubt_V1_SignStreamResponse> {
        let token = try await core.run(context, metadata: request.metadata) { try BrokerCore.sessionToken(request.metadata) }
        return StreamingServerResponse { writer in
            try await core.run(context, metadata: request.metadata) {
                try await signStream(request.messages, writer, token, method: context.descriptor.fullyQualifiedMethod)
            }
            return [:]
        }
    }

    /// What a stream worker hands the writer: an answer, or the failure that ends the stream.
    private enum StreamAnswer: Sendable {
        case answer(Redoubt_V1_SignStreamResponse)
        case fail(HSMError)
    }

    /// Answers each request of `requests` concurrently, at most ``BrokerLimits/maximumStreamInFlight``
    /// outstanding (counted until written); a bad request gets an error answer, a session that
    /// stops being valid ends the stream with UNAUTHENTICATED.
    private func signStream(
        _ requests: RPCAsyncSequence<Redoubt_V1_SignStreamRequest, any Error>,
        _ writer: RPCWriter<Redoubt_V1_SignStreamResponse>, _ token: SessionToken,
        method: String
    ) async throws {
        let (answers, answerSink) = AsyncStream.makeStream(of: StreamAnswer.self)
        let (permits, permitSink) = AsyncStream.makeStream(of: Void.self)
        let logger = core.logger
        try await withThrowingTaskGroup(of: Void.self) { group in
            // The one writer: answers in completion order; a permit per answer written.
            group.addTask {
                defer { permitSink.finish() }
                for await answer in answers {
                    switch answer {
                    case .answer(let response):
                        try await writer.write(response)
                        permitSink.yield()
                    case .fail(let error):
                        throw error
                    }
                }
            }
            // The reader, in a task of its own: when the writer fails (the session stopped being
            // valid), leaving this group cancels it, instead of waiting for the client to close
            // its side.
            group.addTask {
                defer { answerSink.finish() }
                try await withThrowingTaskGroup(of: Void.self) { workers in
                    var permit = permits.makeAsyncIterator()
                    var outstanding = 0
                    for try await message in requests {
                        while outstanding >= core.limits.maximumStreamInFlight {
                            guard await permit.next() != nil else { throw CancellationError() }
                            outstanding -= 1
                        }
                        outstanding += 1
                        workers.addTask {
                            answerSink.yield(await answer(message, token, method: method, logger: logger))
                        }
                    }
                    try await workers.waitForAll()
                }
            }
            for try await _ in group {}
        }
    }

    /// The answer to one stream request.
    private func answer(
        _ message: Redoubt_V1_SignStreamRequest, _ token: SessionToken,
        method: String, logger: Logger
    ) async -> StreamAnswer {
        do {
            guard message.hasRequest else { throw (FieldPath.root + "request").invalid("is unset; send the SignRequest") }
            return .answer(Redoubt_V1_SignStreamResponse(id: message.id, response: try await sign(message.request, at: .root + "request", token)))
        } catch let error as HSMError where error.code == .unauthenticated {
            return .fail(error)
        } catch {
            return .answer(Redoubt_V1_SignStreamResponse(id: message.id, error: StatusMapping.errorDetail(for: error, method: method, logger: logger)))
        }
    }
}
