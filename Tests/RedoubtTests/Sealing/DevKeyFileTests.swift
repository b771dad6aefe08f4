import Foundation
import Redoubt
import Testing

@Suite("Development key file")
struct DevKeyFileTests {
    @Test("write then read gives the key back, in a 0600 file that warns")
    func roundTrip() throws {
        let directory = try ScratchDirectory()
        let path = directory.path("dev.key")
        let (master, envelope, _) = try MasterKey.create(passphrase: nil, shares: nil, dev: true)
        #expect(envelope.dev)
        try DevKeyFile.write(master, envelope: envelope, to: path)

        let attributes = try FileManager.default.attributesOfItem(atPath: path)
        #expect((attributes[.posixPermissions] as? NSNumber)?.intValue == 0o600)
        let json = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: path))) as? [String: Any])
        #expect(json["warning"] as? String == "DEVELOPMENT ONLY: this file unseals the HSM; never use it in production")
        #expect(json["keyID"] as? String == envelope.keyID)

        #expect(try DevKeyFile.read(path, envelope: envelope) == master)
        // Only the final file is left: no temporary siblings.
        #expect(try FileManager.default.contentsOfDirectory(atPath: directory.url.path) == ["dev.key"])
    }

    @Test("an existing file is kept unless overwrite is asked for")
    func overwrite() throws {
        let directory = try ScratchDirectory()
        let path = directory.path("dev.key")
        let (first, firstEnvelope, _) = try MasterKey.create(passphrase: nil, shares: nil, dev: true)
        let (second, secondEnvelope, _) = try MasterKey.create(passphrase: nil, shares: nil, dev: true)
        try DevKeyFile.write(first, envelope: firstEnvelope, to: path)
        let error = expectSealingError(.fileAccess) { try DevKeyFile.write(second, envelope: secondEnvelope, to: path) }
        #expect(error?.message.contains("overwrite") == true)
        #expect(try DevKeyFile.read(path, envelope: firstEnvelope) == first)
        try DevKeyFile.write(second, envelope: secondEnvelope, to: path, overwrite: true)
        #expect(try DevKeyFile.read(path, envelope: secondEnvelope) == second)
        #expect(try FileManager.default.contentsOfDirectory(atPath: directory.url.path) == ["dev.key"])
    }

    @Test("a production cluster neither writes nor reads a key file")
    func notDev() throws {
        let directory = try ScratchDirectory()
        let (master, envelope, _) = try MasterKey.create(passphrase: testPassphrase, shares: nil, dev: false, scrypt: fastScrypt)
        expectSealingError(.invalidArgument) { try DevKeyFile.write(master, envelope: envelope, to: directory.path("k")) }
        #expect(!FileManager.default.fileExists(atPath: directory.path("k")))
        expectSealingError(.invalidArgument) { try DevKeyFile.read(directory.path("k"), envelope: envelope) }
    }

    @Test("a key file of another cluster, a world-readable file, or an altered key is refused")
    func refused() throws {
        let directory = try ScratchDirectory()
        let path = directory.path("dev.key")
        let (master, envelope, _) = try MasterKey.create(passphrase: nil, shares: nil, dev: true)
        let (other, otherEnvelope, _) = try MasterKey.create(passphrase: nil, shares: nil, dev: true)
        try DevKeyFile.write(master, envelope: envelope, to: path)
        expectSealingError(.wrongCluster) { try DevKeyFile.read(path, envelope: otherEnvelope) }
        expectSealingError(.wrongCluster) { try DevKeyFile.write(other, envelope: envelope, to: directory.path("x")) }

        try FileManager.default.setAttributes([.posixPermissions: 0o644], ofItemAtPath: path)
        let error = expectSealingError(.fileAccess) { try DevKeyFile.read(path, envelope: envelope) }
        #expect(error?.message.contains("chmod 600") == true)

        // Same key id, different key bytes: the key-check value catches it.
        var json = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: path))) as? [String: Any])
        json["masterKey"] = try Random.bytes(count: 32).base64EncodedString()
        let altered = directory.path("altered.key")
        #expect(
            FileManager.default.createFile(
                atPath: altered, contents: try JSONSerialization.data(withJSONObject: json), attributes: [.posixPermissions: 0o600]))
        expectSealingError(.authenticationFailure) { try DevKeyFile.read(altered, envelope: envelope) }

        expectSealingError(.fileAccess) { try DevKeyFile.read(directory.path("missing.key"), envelope: envelope) }
        let garbage = directory.path("garbage.key")
        #expect(FileManager.default.createFile(atPath: garbage, contents: Data("not json".utf8), attributes: [.posixPermissions: 0o600]))
        expectSealingError(.fileAccess) { try DevKeyFile.read(garbage, envelope: envelope) }
    }
}
