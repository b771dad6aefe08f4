import Foundation
import Redoubt
@testable import RedoubtClient
import RedoubtCrypto
import Testing

/// ``RemoteHSM/withSignStream(_:_:)`` through a real broker: concurrent signers on one stream,
/// per-signature errors, the end of the stream, and a session that stops being valid.
@Suite("RemoteHSM sign stream", .timeLimit(.minutes(1)))
struct RemoteHSMSignStreamTests {
    /// A broker, a RemoteHSM to it, a crypto user's session, a P-256 key and a way to open another
    /// session of the same user; `body` runs with them.
    static func withSigner(
        _ body: (RemoteHSM, SessionToken, KeyInfo, VerifyingKey, _ newSession: () async throws -> SessionToken) async throws -> Void
    ) async throws {
        let served = try await RemoteHSMSupport.serve()
        let remote: RemoteHSM
        do {
            remote = try RemoteHSM(configuration: RemoteHSMConfiguration(endpoint: "127.0.0.1:\(served.port)")).start()
        } catch {
            await served.stop()
            throw error
        }
        do {
            let op = try await remote.openSession(partition: "", credential: .apiKey(served.operatorAPIKey))
            let partition = try await remote.createPartition(op.token, id: "st", settings: .defaults)
            let so = try await remote.openSession(partition: "st", credential: .apiKey(partition.securityOfficerAPIKey))
            let user = try await remote.addUser(so.token, name: "u", role: .cryptoUser, password: nil)
            let session = try await remote.openSession(partition: "st", credential: .apiKey(user.apiKey)).token
            let key = try await remote.generateKey(session, spec: KeySpec(algorithm: .p256, label: "st"))
            let verifying = try VerifyingKey(try await remote.exportPublicKey(session, id: key.id, version: nil))
            try await body(remote, session, key, verifying) {
                try await remote.openSession(partition: "st", credential: .apiKey(user.apiKey)).token
            }
        } catch {
            Issue.record(error)
        }
        await remote.close()
        await served.stop()
    }

    @Test("64 concurrent signers share one stream: each signature verifies over its own message; an unknown key fails as its single call")
    func concurrentSigners() async throws {
        try await Self.withSigner { remote, session, key, verifying, _ in
            let missing = "k" + String(repeating: "1", count: 32)
            let singleError = await #expect(throws: HSMError.self) {
                try await remote.sign(session, key: missing, input: .message(Data("x".utf8)), scheme: .ecdsa(.sha256))
            }
            let messages = (0..<64).map { Data("stream message \($0)".utf8) }
            let outcomes = try await remote.withSignStream(session) { stream in
                await withTaskGroup(of: (Int, Result<SignatureResult, any Error>).self) { group in
                    for (i, message) in messages.enumerated() {
                        group.addTask {
                            do {
                                let key = i % 10 == 3 ? missing : key.id
                                return (i, .success(try await stream.sign(key: key, input: .message(message), scheme: .ecdsa(.sha256))))
                            } catch {
                                return (i, .failure(error))
                            }
                        }
                    }
                    return await group.reduce(into: [Int: Result<SignatureResult, any Error>]()) { $0[$1.0] = $1.1 }
                }
            }
            #expect(outcomes.count == 64)
            for (i, message) in messages.enumerated() {
                let outcome = try #require(outcomes[i])
                if i % 10 == 3 {
                    #expect((outcome.failure as? HSMError) == singleError, "signature \(i)")
                } else {
                    let signed = try outcome.get()
                    #expect(signed.version == 1)
                    #expect(try verifying.isValidSignature(signed.signature, for: .message(message), scheme: .ecdsa(.sha256)), "signature \(i)")
                }
            }
        }
    }

    @Test("a stream to a broker that is gone fails UNAVAILABLE rather than waiting for it")
    func brokerGone() async throws {
        let served = try await RemoteHSMSupport.serve()
        let remote = try RemoteHSM(configuration: RemoteHSMConfiguration(endpoint: "127.0.0.1:\(served.port)")).start()
        let op = try await remote.openSession(partition: "", credential: .apiKey(served.operatorAPIKey))
        await served.stop()
        let error = await #expect(throws: HSMError.self) {
            try await remote.withSignStream(op.token) { stream in
                try await stream.sign(key: "k" + String(repeating: "2", count: 32), input: .message(Data("x".utf8)), scheme: .ed25519)
            }
        }
        #expect(error?.code == .unavailable)
        await remote.close()
    }

    @Test("a stream used after its body returned refuses; a closed session fails the stream's signatures as UNAUTHENTICATED")
    func endOfStream() async throws {
        try await Self.withSigner { remote, session, key, _, newSession in
            let kept = try await remote.withSignStream(session) { stream in
                _ = try await stream.sign(key: key.id, input: .message(Data("one".utf8)), scheme: .ecdsa(.sha256))
                return stream
            }
            let late = await #expect(throws: HSMError.self) {
                try await kept.sign(key: key.id, input: .message(Data("late".utf8)), scheme: .ecdsa(.sha256))
            }
            #expect(late?.code == .failedPrecondition)

            let closed = try await newSession()
            try await remote.closeSession(closed)
            let refused = await #expect(throws: HSMError.self) {
                try await remote.withSignStream(closed) { stream in
                    try await stream.sign(key: key.id, input: .message(Data("x".utf8)), scheme: .ecdsa(.sha256))
                }
            }
            #expect(refused?.code == .unauthenticated)
        }
    }
}
