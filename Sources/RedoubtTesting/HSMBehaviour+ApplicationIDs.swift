import Foundation
import RedoubtCore
import Testing

extension HSMBehaviour {
    static var applicationIDCases: [Case] {
        [
            Case("keys carry an application identifier and subject, are found by the identifier, and the index follows changes") {
                try await $0.applicationIDs()
            },
            Case("application identifiers and subjects are bounded, and change only on a modifiable key") {
                try await $0.applicationIDLimits()
            },
        ]
    }
}

extension HSMFixture {
    /// The ids of the keys of `partition`'s member with identifier `id`, every page read with `limit`.
    func keyIDs(_ token: SessionToken, applicationID id: Data, label: String? = nil, includeDestroyed: Bool = false, limit: Int = 100)
        async throws -> [String]
    {
        var filter = KeyFilter(label: label, includeDestroyed: includeDestroyed, limit: limit, applicationID: id)
        var ids: [String] = []
        while true {
            let page = try await hsm.listKeys(token, filter: filter)
            #expect(page.count <= limit)
            ids += page.map(\.id)
            guard page.count == limit, let last = page.last else { return ids }
            filter.after = last.id
        }
    }

    func applicationIDs() async throws {
        let user = alpha.user.token
        let officer = alpha.officer.token
        let shared = Data([0x01, 0xa2])
        // A DER Name: SEQUENCE { SET { SEQUENCE { OID 2.5.4.3 (CN), UTF8String "a" } } }.
        let subject = Data([0x30, 0x0c, 0x31, 0x0a, 0x30, 0x08, 0x06, 0x03, 0x55, 0x04, 0x03, 0x0c, 0x01, 0x61])
        let a = try await hsm.generateKey(
            user, spec: KeySpec(algorithm: .p256, label: "a", applicationID: shared, subject: subject))
        let b = try await hsm.generateKey(user, spec: KeySpec(algorithm: .ed25519, label: "b", applicationID: shared))
        let c = try await hsm.generateKey(user, spec: KeySpec(algorithm: .aes256, label: "a", applicationID: shared + Data([0x03])))
        let plain = try await hsm.generateKey(user, spec: KeySpec(algorithm: .p256, label: "a"))
        #expect(a.applicationID == shared && a.subject == subject)
        #expect(plain.applicationID.isEmpty && plain.subject.isEmpty)
        let read = try await hsm.getKey(alpha.auditor.token, id: a.id)
        #expect(read.applicationID == shared && read.subject == subject, "getKey lost the identifier or subject")

        // Found by exactly that identifier (not a prefix of a longer one), in id order, page by page.
        #expect(try await keyIDs(user, applicationID: shared) == [a.id, b.id].sorted())
        #expect(try await keyIDs(user, applicationID: shared, limit: 1) == [a.id, b.id].sorted())
        #expect(try await keyIDs(user, applicationID: shared + Data([0x03])) == [c.id])
        #expect(try await keyIDs(user, applicationID: Data([0x01])).isEmpty)
        #expect(try await keyIDs(user, applicationID: shared, label: "a") == [a.id])
        // The listing without an identifier still shows every key, the identifier included.
        let all = try await hsm.listKeys(user, filter: KeyFilter(limit: 1000))
        #expect(Set(all.map(\.id)).isSuperset(of: [a.id, b.id, c.id, plain.id]))
        #expect(all.first { $0.id == b.id }?.applicationID == shared)
        // Another partition neither sees alpha's keys by it nor mixes its own in.
        #expect(try await keyIDs(beta.user.token, applicationID: shared).isEmpty)
        let theirs = try await hsm.generateKey(beta.user.token, spec: KeySpec(algorithm: .p256, label: "t", applicationID: shared))
        #expect(try await keyIDs(beta.user.token, applicationID: shared) == [theirs.id])
        #expect(try await keyIDs(user, applicationID: shared) == [a.id, b.id].sorted())

        // A new identifier moves the key in the index; an empty one takes it out; the subject goes too.
        let moved = try await hsm.updateKey(officer, id: a.id, update: KeyAttributeUpdate(applicationID: Data([0x09]), subject: Data()))
        #expect(moved.applicationID == Data([0x09]) && moved.subject.isEmpty && moved.label == "a")
        #expect(try await keyIDs(user, applicationID: shared) == [b.id])
        #expect(try await keyIDs(user, applicationID: Data([0x09])) == [a.id])
        let relabelled = try await hsm.updateKey(officer, id: a.id, update: KeyAttributeUpdate(label: "renamed"))
        #expect(relabelled.applicationID == Data([0x09]), "an unrelated change dropped the identifier")
        _ = try await hsm.updateKey(officer, id: a.id, update: KeyAttributeUpdate(applicationID: Data()))
        #expect(try await keyIDs(user, applicationID: Data([0x09])).isEmpty)
        #expect(try await hsm.getKey(user, id: a.id).applicationID.isEmpty)

        // The trash hides a key unless asked for; a purged key is gone from the index too.
        _ = try await hsm.destroyKey(officer, id: b.id)
        #expect(try await keyIDs(user, applicationID: shared).isEmpty)
        #expect(try await keyIDs(user, applicationID: shared, includeDestroyed: true) == [b.id])
        try await hsm.purgeKey(officer, id: b.id)
        #expect(try await keyIDs(user, applicationID: shared, includeDestroyed: true).isEmpty)
        // The identifier is free again for a new key.
        let again = try await hsm.generateKey(user, spec: KeySpec(algorithm: .p256, label: "again", applicationID: shared))
        #expect(try await keyIDs(user, applicationID: shared) == [again.id])
    }

    func applicationIDLimits() async throws {
        let user = alpha.user.token
        let officer = alpha.officer.token
        let long = Data(repeating: 0x41, count: KeyFilter.maximumApplicationIDByteCount + 1)
        await expectHSMError(.invalidArgument, "application_id", "129 bytes") {
            _ = try await hsm.generateKey(user, spec: KeySpec(algorithm: .p256, label: "long", applicationID: long))
        }
        await expectHSMError(.invalidArgument, "subject", "1025 bytes") {
            _ = try await hsm.generateKey(
                user, spec: KeySpec(algorithm: .p256, label: "long", subject: Data(repeating: 0x30, count: KeySpec.maximumSubjectByteCount + 1)))
        }
        await expectHSMError(.invalidArgument, "application_id", "129 bytes") {
            _ = try await hsm.listKeys(user, filter: KeyFilter(applicationID: long))
        }
        #expect(try await hsm.listKeys(user, filter: KeyFilter(limit: 1000)).isEmpty, "a refused create made a key")
        // The longest identifier is accepted and found.
        let longest = Data(repeating: 0xff, count: KeyFilter.maximumApplicationIDByteCount)
        let key = try await hsm.generateKey(user, spec: KeySpec(algorithm: .p256, label: "longest", applicationID: longest))
        #expect(try await keyIDs(user, applicationID: longest) == [key.id])
        await expectHSMError(.invalidArgument, "application_id") {
            _ = try await hsm.updateKey(officer, id: key.id, update: KeyAttributeUpdate(applicationID: long))
        }
        #expect(try await hsm.getKey(user, id: key.id).applicationID == longest, "a refused update changed the key")
        // A key that is not modifiable keeps its identifier and subject (CKA_MODIFIABLE false).
        let fixed = try await hsm.generateKey(
            user, spec: KeySpec(algorithm: .p256, label: "fixed", modifiable: false, applicationID: Data([0x07])))
        await expectHSMError(.failedPrecondition, "not modifiable") {
            _ = try await hsm.updateKey(officer, id: fixed.id, update: KeyAttributeUpdate(applicationID: Data([0x08])))
        }
        await expectHSMError(.failedPrecondition, "not modifiable") {
            _ = try await hsm.updateKey(officer, id: fixed.id, update: KeyAttributeUpdate(subject: Data([0x30, 0x00])))
        }
        #expect(try await keyIDs(user, applicationID: Data([0x07])) == [fixed.id])
    }
}
