import CPKCS11
import Foundation
import RedoubtClient

/// The module's JSON configuration (docs/pkcs11.md):
///
/// ```json
/// {
///   "slots": [
///     { "label": "payments", "partition": "payments",
///       "backend": { "endpoint": "hsm.example.com:8443",
///                    "tls": { "trustRoots": "/etc/redoubt/ca.pem" } } },
///     { "label": "signing", "partition": "signing", "backend": { "nodes": "/etc/redoubt/nodes.json" } },
///     { "label": "local", "partition": "dev",
///       "backend": { "embedded": { "store": "/var/lib/redoubt/redoubt.sqlite", "devKeyFile": "/var/lib/redoubt/dev-unseal.key" } },
///       "apiKeyFile": "/etc/redoubt/app.key" }
///   ],
///   "callTimeoutSeconds": 10,
///   "searchCacheSeconds": 2,
///   "logFile": "/var/log/redoubt-pkcs11.log"
/// }
/// ```
///
/// Found by ``locate(reserved:)``: `C_Initialize`'s reserved argument, then
/// `REDOUBT_PKCS11_CONFIG`, then `$XDG_CONFIG_HOME/redoubt/pkcs11.json` (or
/// `~/.config/redoubt/pkcs11.json`), then `/etc/redoubt/pkcs11.json`.
struct ModuleConfiguration: Decodable, Sendable {
    /// One slot: a partition through a backend.
    struct Slot: Decodable, Sendable {
        /// The token label (at most 32 bytes).
        var label: String
        /// The Redoubt partition.
        var partition: String
        /// How to reach it.
        var backend: Backend
        /// A file holding an API key: the slot logs in as its user on its own (no PIN needed).
        var apiKeyFile: String?
    }

    /// One broker, several nodes with failover, or a local store.
    struct Backend: Decodable, Sendable {
        var endpoint: String?
        var tls: RouterConfiguration.TLSFiles?
        /// A `--nodes` file (the format of `redoubt serve --nodes`).
        var nodes: String?
        var embedded: Embedded?
    }

    /// A local SQLite store, unsealed by a dev key file or a passphrase file.
    struct Embedded: Decodable, Sendable {
        var store: String
        var devKeyFile: String?
        var passphraseFile: String?
    }

    var slots: [Slot]
    var callTimeoutSeconds: Double?
    /// How long the answer of a search (C_FindObjectsInit) is used again, 0 to 60 s (default 2).
    var searchCacheSeconds: Double?
    var logFile: String?

    /// The per-call deadline.
    var callTimeout: Duration { .milliseconds(Int64((callTimeoutSeconds ?? 30) * 1000)) }

    /// Where the configuration is, by the rules above; `nil` when none is given or present.
    static func locate(reserved: String?, environment: [String: String] = ProcessInfo.processInfo.environment) -> String? {
        if let reserved, !reserved.isEmpty { return reserved }
        if let path = environment["REDOUBT_PKCS11_CONFIG"], !path.isEmpty { return path }
        var candidates: [String] = []
        if let xdg = environment["XDG_CONFIG_HOME"], !xdg.isEmpty {
            candidates.append(xdg + "/redoubt/pkcs11.json")
        } else if let home = environment["HOME"], !home.isEmpty {
            candidates.append(home + "/.config/redoubt/pkcs11.json")
        }
        candidates.append("/etc/redoubt/pkcs11.json")
        return candidates.first { FileManager.default.fileExists(atPath: $0) }
    }

    /// Reads and checks the file. Refuses a file that others may write (someone could point the
    /// module at their own broker) and names what is wrong in the message.
    static func load(path: String) throws(P11Error) -> ModuleConfiguration {
        var info = stat()
        guard stat(path, &info) == 0 else {
            throw P11Error(CK_RV(CKR_GENERAL_ERROR), "cannot read the configuration \(path)")
        }
        if info.st_mode & (S_IWGRP | S_IWOTH) != 0 {
            throw P11Error(CK_RV(CKR_GENERAL_ERROR), "the configuration \(path) is writable by others: chmod go-w it")
        }
        guard let data = FileManager.default.contents(atPath: path), data.count <= 1 << 20 else {
            throw P11Error(CK_RV(CKR_GENERAL_ERROR), "cannot read the configuration \(path)")
        }
        let decoded: ModuleConfiguration
        do {
            decoded = try JSONDecoder().decode(ModuleConfiguration.self, from: data)
        } catch {
            throw P11Error(CK_RV(CKR_GENERAL_ERROR), "the configuration \(path) is not valid: \(error)")
        }
        try decoded.validate(path: path)
        return decoded
    }

    func validate(path: String) throws(P11Error) {
        func bad(_ what: String) -> P11Error { P11Error(CK_RV(CKR_GENERAL_ERROR), "the configuration \(path): \(what)") }
        guard !slots.isEmpty, slots.count <= 64 else { throw bad("slots must list 1 to 64 slots") }
        if let t = callTimeoutSeconds, !(t >= 0.1 && t <= 3600) { throw bad("callTimeoutSeconds must be 0.1 to 3600") }
        if let t = searchCacheSeconds, !(t >= 0 && t <= 60) { throw bad("searchCacheSeconds must be 0 to 60") }
        var labels = Set<String>()
        for (i, slot) in slots.enumerated() {
            guard !slot.label.isEmpty, slot.label.utf8.count <= 32 else { throw bad("slots[\(i)].label must be 1 to 32 bytes") }
            guard labels.insert(slot.label).inserted else { throw bad("slots[\(i)].label '\(slot.label)' is used twice") }
            guard !slot.partition.isEmpty else { throw bad("slots[\(i)].partition is empty") }
            let kinds = [slot.backend.endpoint != nil, slot.backend.nodes != nil, slot.backend.embedded != nil].filter { $0 }.count
            guard kinds == 1 else { throw bad("slots[\(i)].backend needs exactly one of endpoint, nodes or embedded") }
            if let e = slot.backend.embedded, (e.devKeyFile == nil) == (e.passphraseFile == nil) {
                throw bad("slots[\(i)].backend.embedded needs exactly one of devKeyFile or passphraseFile")
            }
        }
    }
}
