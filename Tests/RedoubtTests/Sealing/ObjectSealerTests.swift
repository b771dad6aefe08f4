import Foundation
import Redoubt
import RedoubtStore
import Testing

@Suite("Partition keys and sealed objects")
struct ObjectSealerTests {
    static func master() throws -> MasterKey {
        try MasterKey.create(passphrase: nil, shares: (2, 2), dev: false).key
    }

    @Test("a wrapped partition key unwraps only for its partition and master key")
    func partitionKeyBinding() throws {
        let master = try Self.master()
        let partitionKey = try PartitionKey.generate()
        let wrapped = try master.wrap(partitionKey, partitionID: "tenant-a")
        #expect(wrapped.count == 60)
        #expect(try master.unwrap(wrapped, partitionID: "tenant-a") == partitionKey)

        expectSealingError(.authenticationFailure) { try master.unwrap(wrapped, partitionID: "tenant-b") }
        expectSealingError(.authenticationFailure) { try master.unwrap(wrapped, partitionID: "tenant-a ") }
        expectSealingError(.authenticationFailure) { try Self.master().unwrap(wrapped, partitionID: "tenant-a") }
        for position in wrapped.indices {
            var altered = wrapped
            altered[position] ^= 0x80
            expectSealingError(.authenticationFailure) { try master.unwrap(altered, partitionID: "tenant-a") }
        }
        expectSealingError(.malformedBlob) { try master.unwrap(wrapped.dropLast(), partitionID: "tenant-a") }
        expectSealingError(.invalidArgument) { try PartitionKey(try SecretKey.generate(.aes128)) }
    }

    @Test("secret material and data payloads round-trip in the RS1 format")
    func roundTrip() throws {
        let sealer = ObjectSealer(try PartitionKey.generate())
        let identity = SealIdentity(partition: "p", kind: "key", objectID: "k1", version: 3)
        let secret = try SecretBytes.random(count: 48)
        let blob = try sealer.seal(secret, identity: identity)
        #expect(Array(blob.prefix(4)) == [0x52, 0x53, 0x31, 0x01])
        #expect(blob.count == 4 + 12 + 48 + 16)
        #expect(try sealer.open(blob, identity: identity) == secret)
        #expect(!leaks(secret.exportedBytes(), in: blob.base64EncodedString()))

        let payload = Data("confidential attributes".utf8)
        let sealedPayload = try sealer.seal(payload, identity: identity)
        #expect(try sealer.openData(sealedPayload, identity: identity) == payload)
        #expect(try sealer.openData(try sealer.seal(Data(), identity: identity), identity: identity) == Data())
        // Fresh nonce per call.
        #expect(try sealer.seal(payload, identity: identity) != sealedPayload)
    }

    @Test("a blob opens only for its own partition, kind, id and version, with one coarse error")
    func identityBinding() throws {
        let sealer = ObjectSealer(try PartitionKey.generate())
        let identity = SealIdentity(ObjectKey(partition: "p", kind: "key", id: "k1"), version: 1)
        let blob = try sealer.seal(try SecretBytes.random(count: 32), identity: identity)
        let others = [
            SealIdentity(partition: "q", kind: "key", objectID: "k1", version: 1),
            SealIdentity(partition: "p", kind: "user", objectID: "k1", version: 1),
            SealIdentity(partition: "p", kind: "key", objectID: "k2", version: 1),
            SealIdentity(partition: "p", kind: "key", objectID: "k1", version: 2),
            SealIdentity(partition: "p", kind: "keyk", objectID: "1", version: 1),  // same concatenation
        ]
        var messages = Set<String>()
        for other in others {
            if let error = expectSealingError(.authenticationFailure, { try sealer.open(blob, identity: other) }) {
                messages.insert(error.message)
            }
        }
        let stranger = ObjectSealer(try PartitionKey.generate())
        if let error = expectSealingError(.authenticationFailure, { try stranger.open(blob, identity: identity) }) {
            messages.insert(error.message)
        }
        #expect(messages.count == 1, "errors must not say which part differed")
    }

    @Test("every altered byte of a blob is refused")
    func tampering() throws {
        let sealer = ObjectSealer(try PartitionKey.generate())
        let identity = SealIdentity(partition: "p", kind: "key", objectID: "k1", version: 1)
        let blob = try sealer.seal(Data("payload".utf8), identity: identity)
        for position in blob.indices {
            var altered = blob
            altered[position] ^= 0x01
            #expect(throws: SealingError.self) { try sealer.openData(altered, identity: identity) }
        }
        expectSealingError(.malformedBlob) { try sealer.openData(blob.prefix(31), identity: identity) }
        var future = blob
        future[3] = 2
        expectSealingError(.unsupportedVersion) { try sealer.openData(future, identity: identity) }
        expectSealingError(.invalidArgument) {
            try sealer.seal(Data(), identity: SealIdentity(partition: "p", kind: "k", objectID: "i", version: -1))
        }
    }
}
