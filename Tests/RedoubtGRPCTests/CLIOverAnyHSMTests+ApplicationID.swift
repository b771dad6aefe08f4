import Foundation
import Testing

extension CLIOverAnyHSMTests {
    /// `keys create --app-id` sets a key's application identifier (CKA_ID); `keys list --app-id`
    /// finds exactly the keys with it; `keys get` and `--json` show it; bad hex is refused.
    static func applicationIDs(_ user: [String]) async throws {
        let created = try await succeed(
            ["keys", "create", "--algorithm", "ED25519", "--label", "ssh", "--app-id", "01A2", "--json"] + user
        ).json()
        let id = try #require(created["id"] as? String)
        #expect(created["application_id"] as? String == "01a2", "\(created)")
        let other = try await succeed(["keys", "create", "--algorithm", "ED25519", "--label", "ssh", "--app-id", "01a203", "--json"] + user).json()
        #expect(other["application_id"] as? String == "01a203")
        let found = try #require(try await succeed(["keys", "list", "--app-id", "01a2", "--json"] + user).json()["keys"] as? [[String: Any]])
        #expect(found.compactMap { $0["id"] as? String } == [id], "\(found)")
        let shown = try await succeed(["keys", "get", id] + user)
        #expect(shown.stdout.contains("application_id: 01a2"), "\(shown)")
        for bad in ["01a", "zz", String(repeating: "00", count: 129)] {
            let refused = try await redoubt(["keys", "list", "--app-id", bad] + user)
            #expect(refused.status != 0 && refused.stderr.contains("--app-id"), "\(refused)")
        }
    }
}
