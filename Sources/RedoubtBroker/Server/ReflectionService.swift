import Foundation
import GRPCCore
import RedoubtProto
import SwiftProtobuf

/// The standard gRPC server reflection service (`grpc.reflection.v1.ServerReflection`, and
/// `grpc.reflection.v1alpha` for older tools), so that grpcurl, Postman, Python's
/// grpcio-reflection and the like can list the broker's services and read their descriptors —
/// comments included — with no proto file at hand. The descriptors are generated with the code
/// (``RedoubtDescriptors``); nothing here reads a file.
///
/// The service needs no session: what it tells is what the published protos say.
struct ReflectionService: Grpc_Reflection_V1_ServerReflection.SimpleServiceProtocol {
    let index: ReflectionIndex

    func serverReflectionInfo(
        request: RPCAsyncSequence<Grpc_Reflection_V1_ServerReflectionRequest, any Error>,
        response: RPCWriter<Grpc_Reflection_V1_ServerReflectionResponse>,
        context: ServerContext
    ) async throws {
        for try await question in request {
            try await response.write(index.answer(question))
        }
    }
}

/// The same protocol under its older package name: the messages are the same on the wire, so
/// each question is read as a v1 question and each answer written back as v1alpha.
struct ReflectionServiceV1Alpha: Grpc_Reflection_V1alpha_ServerReflection.SimpleServiceProtocol {
    let index: ReflectionIndex

    func serverReflectionInfo(
        request: RPCAsyncSequence<Grpc_Reflection_V1alpha_ServerReflectionRequest, any Error>,
        response: RPCWriter<Grpc_Reflection_V1alpha_ServerReflectionResponse>,
        context: ServerContext
    ) async throws {
        for try await question in request {
            let v1 = try Grpc_Reflection_V1_ServerReflectionRequest(serializedBytes: try question.serializedBytes() as [UInt8])
            let answer = index.answer(v1)
            try await response.write(Grpc_Reflection_V1alpha_ServerReflectionResponse(serializedBytes: try answer.serializedBytes() as [UInt8]))
        }
    }
}

/// What the reflection services answer from: the served services, and each generated file
/// descriptor by name and by the symbols it defines.
struct ReflectionIndex: Sendable {
    let services: [String]
    private let files: [String: RedoubtDescriptors.File]
    private let descriptors: [String: Data]
    private let symbols: [String: String]

    /// - Parameter services: The fully qualified names of the services the server has.
    init(services: [String]) {
        self.services = services.sorted()
        var files: [String: RedoubtDescriptors.File] = [:]
        var descriptors: [String: Data] = [:]
        var symbols: [String: String] = [:]
        for file in RedoubtDescriptors.files {
            files[file.name] = file
            descriptors[file.name] = Data(base64Encoded: file.descriptorBase64) ?? Data()
            for symbol in file.symbols { symbols[symbol] = file.name }
        }
        self.files = files
        self.descriptors = descriptors
        self.symbols = symbols
    }

    func answer(_ question: Grpc_Reflection_V1_ServerReflectionRequest) -> Grpc_Reflection_V1_ServerReflectionResponse {
        var answer = Grpc_Reflection_V1_ServerReflectionResponse()
        answer.validHost = question.host
        answer.originalRequest = question
        switch question.messageRequest {
        case .listServices:
            answer.listServicesResponse.service = services.map { name in Grpc_Reflection_V1_ServiceResponse.with { $0.name = name } }
        case .fileByFilename(let name):
            if files[name] != nil {
                answer.fileDescriptorResponse.fileDescriptorProto = closure(of: name)
            } else {
                answer.errorResponse = Self.notFound("no file \(name.prefix(200)) (ask for a symbol, or list the services first)")
            }
        case .fileContainingSymbol(let symbol):
            // A field or method may be named with its enclosing type: fall back to the enclosing scope.
            var scope = Substring(symbol)
            var found: String?
            while !scope.isEmpty, found == nil {
                found = symbols[String(scope)]
                guard let dot = scope.lastIndex(of: ".") else { break }
                scope = scope[..<dot]
            }
            if let found {
                answer.fileDescriptorResponse.fileDescriptorProto = closure(of: found)
            } else {
                answer.errorResponse = Self.notFound("no symbol \(symbol.prefix(200))")
            }
        case .fileContainingExtension(let request):
            answer.errorResponse = Self.notFound("no extension \(request.extensionNumber) of \(request.containingType.prefix(200)): these protos define none")
        case .allExtensionNumbersOfType(let type):
            if symbols[type] != nil {
                answer.allExtensionNumbersResponse.baseTypeName = type
            } else {
                answer.errorResponse = Self.notFound("no type \(type.prefix(200))")
            }
        case nil:
            answer.errorResponse = .with {
                $0.errorCode = Int32(Status.Code.invalidArgument.rawValue)
                $0.errorMessage = "the request asks nothing: set one of its message_request fields"
            }
        }
        return answer
    }

    /// The file's descriptor, then those of every file it imports, directly or not.
    private func closure(of name: String) -> [Data] {
        var order: [String] = []
        var seen: Set<String> = []
        var stack = [name]
        while let next = stack.popLast() {
            guard seen.insert(next).inserted, let file = files[next] else { continue }
            order.append(next)
            stack.append(contentsOf: file.dependencies.reversed())
        }
        return order.compactMap { descriptors[$0] }
    }

    private static func notFound(_ message: String) -> Grpc_Reflection_V1_ErrorResponse {
        .with {
            $0.errorCode = Int32(Status.Code.notFound.rawValue)
            $0.errorMessage = message
        }
    }
}
