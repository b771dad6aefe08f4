import Foundation
import GRPCCore
import Redoubt
import RedoubtCrypto
@testable import RedoubtClient
@testable import RedoubtBroker
import RedoubtProto
import Testing

/// Every RPC that names a key, as a probe an attacker aims at one key id: unary calls, each
/// batch (the id in an item) and SignStream (the id in a streamed request). A batch item's or
/// stream answer's ErrorDetail is rethrown as the RPCError it stands for, so every probe's
/// refusal compares the same way.
struct KeyProbe: Sendable {
    typealias Call = @Sendable (AdversarialArena.Client, Metadata, String) async throws -> Void

    let rpc: String
    /// Which of the victim's keys the probe aims at (a key the call would work on).
    let target: KeyRole
    let call: Call

    /// The victim's keys by what they are for.
    enum KeyRole: Sendable, CaseIterable {
        case signing, cipher, exportable, mac, agreement, kem
    }

    /// The attacker's own keys some probes need beside the victim's id.
    struct Own: Sendable {
        let wrapping: String
        let exportable: String
        let agreement: PublicKey
    }

    static func item<Item: BatchResponseItem>(_ item: Item?) throws {
        if case .failure(let error)? = item?.outcome { throw RPCError(error) }
    }

    static func all(own: Own) -> [KeyProbe] {
        typealias A = AdversarialArena
        let message = SigningInput.message(Data("pay 1000 to mallory".utf8))
        let spec = KeySpec(algorithm: .aes256, label: "loot")
        return [
            // KeyService
            KeyProbe(rpc: "GetKey", target: .signing) { c, m, id in _ = try await A.keys(c).getKey(.init(keyID: id), metadata: m) },
            KeyProbe(rpc: "UpdateKey", target: .signing) { c, m, id in
                _ = try await A.keys(c).updateKey(Redoubt_V1_UpdateKeyRequest(id: id, update: KeyAttributeUpdate(label: "pwned")), metadata: m)
            },
            KeyProbe(rpc: "RotateKey", target: .signing) { c, m, id in _ = try await A.keys(c).rotateKey(.init(keyID: id), metadata: m) },
            KeyProbe(rpc: "BlockKey", target: .signing) { c, m, id in _ = try await A.keys(c).blockKey(.init(keyID: id), metadata: m) },
            KeyProbe(rpc: "UnblockKey", target: .signing) { c, m, id in _ = try await A.keys(c).unblockKey(.init(keyID: id), metadata: m) },
            KeyProbe(rpc: "DestroyKey", target: .signing) { c, m, id in _ = try await A.keys(c).destroyKey(.init(keyID: id), metadata: m) },
            KeyProbe(rpc: "RestoreKey", target: .signing) { c, m, id in _ = try await A.keys(c).restoreKey(.init(keyID: id), metadata: m) },
            KeyProbe(rpc: "PurgeKey", target: .signing) { c, m, id in _ = try await A.keys(c).purgeKey(.init(keyID: id), metadata: m) },
            KeyProbe(rpc: "ExportPublicKey", target: .signing) { c, m, id in
                _ = try await A.keys(c).exportPublicKey(Redoubt_V1_ExportPublicKeyRequest(id: id, version: nil), metadata: m)
            },
            KeyProbe(rpc: "ExportWrapped(key)", target: .exportable) { c, m, id in
                _ = try await A.keys(c).exportWrapped(Redoubt_V1_ExportWrappedRequest(id: id, wrappingKey: own.wrapping, scheme: .aesKWP), metadata: m)
            },
            KeyProbe(rpc: "ExportWrapped(wrapping key)", target: .cipher) { c, m, id in
                _ = try await A.keys(c).exportWrapped(Redoubt_V1_ExportWrappedRequest(id: own.exportable, wrappingKey: id, scheme: .aesKWP), metadata: m)
            },
            KeyProbe(rpc: "ExportPlaintext", target: .exportable) { c, m, id in
                _ = try await A.keys(c).exportPlaintext(.init(keyID: id), metadata: m)
            },
            KeyProbe(rpc: "ImportKey(wrapped under)", target: .cipher) { c, m, id in
                _ = try await A.keys(c).importKey(
                    Redoubt_V1_ImportKeyRequest(spec: spec, material: .wrapped(Data(count: 40), wrappingKey: id, scheme: .aesKWP)),
                    metadata: m)
            },
            // CryptoService
            KeyProbe(rpc: "Sign", target: .signing) { c, m, id in
                _ = try await A.crypto(c).sign(Redoubt_V1_SignRequest(key: id, input: message, scheme: .ed25519), metadata: m)
            },
            KeyProbe(rpc: "Verify", target: .signing) { c, m, id in
                _ = try await A.crypto(c).verify(
                    Redoubt_V1_VerifyRequest(key: id, input: message, signature: Data(count: 64), scheme: .ed25519, version: nil),
                    metadata: m)
            },
            KeyProbe(rpc: "Encrypt", target: .cipher) { c, m, id in
                _ = try await A.crypto(c).encrypt(Redoubt_V1_EncryptRequest(key: id, plaintext: Data([1]), scheme: .aesGCM, aad: Data()), metadata: m)
            },
            KeyProbe(rpc: "Decrypt", target: .cipher) { c, m, id in
                _ = try await A.crypto(c).decrypt(Redoubt_V1_DecryptRequest(key: id, ciphertext: Data(count: 40), scheme: .aesGCM, aad: Data()), metadata: m)
            },
            KeyProbe(rpc: "Mac", target: .mac) { c, m, id in
                _ = try await A.crypto(c).mac(Redoubt_V1_MacRequest(key: id, data: Data([1]), hash: .sha256), metadata: m)
            },
            KeyProbe(rpc: "VerifyMac", target: .mac) { c, m, id in
                _ = try await A.crypto(c).verifyMac(Redoubt_V1_VerifyMacRequest(key: id, data: Data([1]), tag: Data(count: 32), hash: .sha256), metadata: m)
            },
            KeyProbe(rpc: "Wrap(key)", target: .exportable) { c, m, id in
                _ = try await A.crypto(c).wrap(Redoubt_V1_WrapRequest(id: id, wrappingKey: own.wrapping, scheme: .aesKWP), metadata: m)
            },
            KeyProbe(rpc: "Wrap(wrapping key)", target: .cipher) { c, m, id in
                _ = try await A.crypto(c).wrap(Redoubt_V1_WrapRequest(id: own.exportable, wrappingKey: id, scheme: .aesKWP), metadata: m)
            },
            KeyProbe(rpc: "Unwrap", target: .cipher) { c, m, id in
                _ = try await A.crypto(c).unwrap(
                    Redoubt_V1_UnwrapRequest(wrappedKey: Data(count: 40), wrappingKey: id, scheme: .aesKWP, spec: spec), metadata: m)
            },
            KeyProbe(rpc: "DeriveKey", target: .agreement) { c, m, id in
                _ = try await A.crypto(c).deriveKey(
                    Redoubt_V1_DeriveKeyRequest(
                        key: id, peer: own.agreement, derivation: .hkdf(.sha256, outputByteCount: 32),
                        spec: spec), metadata: m)
            },
            KeyProbe(rpc: "Encapsulate", target: .kem) { c, m, id in
                _ = try await A.crypto(c).encapsulate(Redoubt_V1_EncapsulateRequest(key: id, spec: spec), metadata: m)
            },
            KeyProbe(rpc: "Decapsulate", target: .kem) { c, m, id in
                _ = try await A.crypto(c).decapsulate(Redoubt_V1_DecapsulateRequest(key: id, encapsulated: Data(count: 1088), spec: spec), metadata: m)
            },
            // Batches: the id in an item (the first, which runs alone, and a later one).
            KeyProbe(rpc: "SignBatch", target: .signing) { c, m, id in
                let r = Redoubt_V1_SignRequest(key: id, input: message, scheme: .ed25519)
                let items = try await A.crypto(c).signBatch(Redoubt_V1_SignBatchRequest(items: [r, r]), metadata: m).items
                #expect(items.count == 2)
                #expect(items.first == items.last)
                try item(items.last)
            },
            KeyProbe(rpc: "VerifyBatch", target: .signing) { c, m, id in
                let r = Redoubt_V1_VerifyRequest(key: id, input: message, signature: Data(count: 64), scheme: .ed25519, version: nil)
                let items = try await A.crypto(c).verifyBatch(Redoubt_V1_VerifyBatchRequest(items: [r, r]), metadata: m).items
                try item(items.last)
            },
            KeyProbe(rpc: "EncryptBatch", target: .cipher) { c, m, id in
                let r = Redoubt_V1_EncryptRequest(key: id, plaintext: Data([1]), scheme: .aesGCM, aad: Data())
                let items = try await A.crypto(c).encryptBatch(Redoubt_V1_EncryptBatchRequest(items: [r, r]), metadata: m).items
                try item(items.last)
            },
            KeyProbe(rpc: "DecryptBatch", target: .cipher) { c, m, id in
                let r = Redoubt_V1_DecryptRequest(key: id, ciphertext: Data(count: 40), scheme: .aesGCM, aad: Data())
                let items = try await A.crypto(c).decryptBatch(Redoubt_V1_DecryptBatchRequest(items: [r, r]), metadata: m).items
                try item(items.last)
            },
            KeyProbe(rpc: "MacBatch", target: .mac) { c, m, id in
                let r = Redoubt_V1_MacRequest(key: id, data: Data([1]), hash: .sha256)
                let items = try await A.crypto(c).macBatch(Redoubt_V1_MacBatchRequest(items: [r, r]), metadata: m).items
                try item(items.last)
            },
            KeyProbe(rpc: "SignStream", target: .signing) { c, m, id in
                let r = Redoubt_V1_SignRequest(key: id, input: message, scheme: .ed25519)
                let answers = try await A.crypto(c).signStream(
                    metadata: m,
                    requestProducer: { writer in
                        try await writer.write(Redoubt_V1_SignStreamRequest(id: 7, request: r))
                        try await writer.write(Redoubt_V1_SignStreamRequest(id: 8, request: r))
                    },
                    onResponse: { response in
                        var all: [Redoubt_V1_SignStreamResponse] = []
                        for try await answer in response.messages { all.append(answer) }
                        return all
                    })
                #expect(Set(answers.map(\.id)) == [7, 8])
                if case .error(let detail)? = answers.first?.result { throw RPCError(HSMError(detail)) }
            },
        ]
    }
}
