import Foundation
import GRPCCore
import Redoubt
import RedoubtCrypto
@testable import RedoubtClient
import RedoubtProto
import Testing

/// Bad-input messages name the request field as the proto spells it, and say what was
/// wrong with it (issue 16: `Random` said "count", a generic secret's length "secret_byte_count",
/// a refused usage did not say which, ChaCha20-Poly1305 did not say the key's size).
@Suite("Bad input names the proto field")
struct FieldNameMessageTests {
    @Test("Random, generic-secret length, usages and ChaCha20-Poly1305 keys: each message names the field and the fault")
    func fieldNames() async throws {
        try await BrokerHarness.run { h in
            let t = try await h.tenant()
            await expectStatus(.invalidArgument, "length_bytes is 2097152; ask for 1 to 1048576 bytes") {
                _ = try await h.crypto.random(Redoubt_V1_RandomRequest(count: 2 << 20), metadata: t.user)
            }

            var short = KeySpec(algorithm: .genericSecret, label: "short").proto
            short.secretLengthBytes = 8
            await expectStatus(.invalidArgument, "secret_length_bytes must be 16 to 128, not 8") {
                _ = try await h.keys.createKey(Redoubt_V1_CreateKeyRequest.with { $0.spec = short }, metadata: t.user)
            }

            var encryptingEC = KeySpec(algorithm: .p256, label: "ec").proto
            encryptingEC.usages = [.sign, .encrypt]
            await expectStatus(.invalidArgument, "usages: a EC-P256 key cannot encrypt (it can sign, verify, derive)") {
                _ = try await h.keys.createKey(Redoubt_V1_CreateKeyRequest.with { $0.spec = encryptingEC }, metadata: t.user)
            }

            var small = KeySpec(algorithm: .genericSecret, label: "small").proto
            small.secretLengthBytes = 16
            small.usages = [.encrypt, .decrypt]
            let key = try await h.keys.createKey(Redoubt_V1_CreateKeyRequest.with { $0.spec = small }, metadata: t.user).key
            // The key, not the request, is wrong for the scheme: FAILED_PRECONDITION, saying why.
            await expectStatus(.failedPrecondition, "ChaCha20-Poly1305 needs a 32-byte GENERIC-SECRET key, not a 16-byte GENERIC-SECRET") {
                _ = try await h.crypto.encrypt(
                    Redoubt_V1_EncryptRequest(key: key.id, plaintext: Data("x".utf8), scheme: .chaCha20Poly1305, aad: Data()),
                    metadata: t.user)
            }
        }
    }
}
