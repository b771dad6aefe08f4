import Foundation
import Testing
@testable import RedoubtTesting
#if canImport(Glibc)
import Glibc
#endif

/// p11-kit and GnuTLS's p11tool; nginx with the key in its master process and forked workers.
extension PKCS11ConsumerTests {
    /// A HOME whose p11-kit user configuration registers the module and nothing else
    /// (`user-config: only`), with an apiKeyFile configuration inside it. p11-kit ignores user
    /// configuration in a process running as root, so as root the directory is handed to `nobody`
    /// and `prefix` runs the tools as nobody (setpriv).
    static func p11KitHome(_ f: Fixture) throws -> (home: URL, config: String, prefix: [String]) {
        let home = f.scratch.appendingPathComponent("p11kit-home")
        let pkcs11 = home.appendingPathComponent(".config/pkcs11")
        try FileManager.default.createDirectory(at: pkcs11.appendingPathComponent("modules"), withIntermediateDirectories: true)
        try Data("user-config: only\n".utf8).write(to: pkcs11.appendingPathComponent("pkcs11.conf"))
        try Data("module: \(f.module)\n".utf8).write(to: pkcs11.appendingPathComponent("modules/redoubt.module"))
        let config = try autoLoginConfig(f, in: home)
        guard getuid() == 0 else { return (home, config, []) }
        let setpriv = try tool("setpriv", package: "util-linux")
        for dir in [f.scratch.deletingLastPathComponent(), f.scratch] { _ = chmod(dir.path, 0o755) }
        let nobody: uid_t = 65534
        var paths = [home.path]
        if let walker = FileManager.default.enumerator(atPath: home.path) {
            while let relative = walker.nextObject() as? String { paths.append(home.appendingPathComponent(relative).path) }
        }
        for path in paths { try #require(chown(path, nobody, gid_t(nobody)) == 0, "chown \(path): errno \(errno)") }
        return (home, config, [setpriv, "--reuid=\(nobody)", "--regid=\(nobody)", "--clear-groups"])
    }

    /// Runs `arguments` (a tool and its arguments) after `prefix` with HOME and XDG_CONFIG_HOME in `home`.
    static func runIn(_ f: Fixture, home: URL, config: String, prefix: [String], _ arguments: [String]) async throws -> Output {
        let command = prefix + arguments
        let env = environment(f, config: config, ["HOME": home.path, "XDG_CONFIG_HOME": home.appendingPathComponent(".config").path])
        return try await run(command[0], Array(command.dropFirst()), environment: env, scratch: f.scratch)
    }

    @Test("p11-kit: a module file in the user's ~/.config/pkcs11/modules registers the module; p11-kit list-modules shows it with the token dev")
    func p11KitRegistration() async throws {
        try await PKCS11ToolTests.withBroker { f in
            let p11kit = try Self.tool("p11-kit", package: "p11-kit")
            let (home, config, prefix) = try Self.p11KitHome(f)
            let out = try await Self.runIn(f, home: home, config: config, prefix: prefix, [p11kit, "list-modules"])
            #expect(out.status == 0, "\(out)")
            // The module's section: its heading line, then indented lines.
            let lines = out.stdout.split(separator: "\n").map(String.init)
            let start = try #require(lines.firstIndex(of: "redoubt: \(f.module)"), "\(out)")
            let section = lines[(start + 1)...].prefix { $0.hasPrefix(" ") }.map { $0.trimmingCharacters(in: .whitespaces) }
            #expect(section.contains("library-manufacturer: Redoubt"), "\(out)")
            #expect(section.contains("token: dev"), "\(out)")
        }
    }

    @Test(
        "GnuTLS p11tool: --list-tokens and --test-sign (ECDSA, RSA, RSA-PSS), with --provider and through p11-kit. (GnuTLS initialises with CKF_LIBRARY_CANT_CREATE_OS_THREADS)"
    )
    func p11tool() async throws {
        try await PKCS11ToolTests.withBroker { f in
            let p11tool = try Self.tool("p11tool", package: "gnutls-bin")
            try await f.generate("EC:prime256v1", id: "6101", label: "gnutls-ec")
            try await f.generate("rsa:2048", id: "6102", label: "gnutls-rsa")
            let env = Self.environment(f)
            let refused =
                "GnuTLS 3.7 calls C_Initialize with flags CKF_OS_LOCKING_OK | CKF_LIBRARY_CANT_CREATE_OS_THREADS, and the module answers CKR_NEED_TO_CREATE_THREADS"
            let tokens = try await Self.run(p11tool, ["--provider", f.module, "--list-tokens"], environment: env, scratch: f.scratch)
            #expect(
                tokens.status == 0 && tokens.stdout.contains("Label: dev"),
                "\(tokens.all.contains("Thread locking error") ? refused + "\n" : "")\(tokens)")
            for (label, options) in [("gnutls-ec", [String]()), ("gnutls-rsa", []), ("gnutls-rsa", ["--sign-params", "RSA-PSS"])] {
                let out = try await Self.run(
                    p11tool,
                    ["--provider", f.module, "--login", "--set-pin=\(f.pin)"] + options + ["--test-sign", "pkcs11:token=dev;object=\(label);type=private"],
                    environment: env, scratch: f.scratch)
                #expect(out.status == 0 && out.all.contains("Verifying against public key in the token... ok"), "\(label) \(options):\n\(out)")
            }
            // Without --provider, GnuTLS loads the modules p11-kit registers.
            let (home, config, prefix) = try Self.p11KitHome(f)
            let viaKit = try await Self.runIn(f, home: home, config: config, prefix: prefix, [p11tool, "--list-tokens"])
            #expect(viaKit.status == 0 && viaKit.stdout.contains("Label: dev"), "through p11-kit (\(refused)):\n\(viaKit)")
        }
    }

    /// The live children of `parent` (nginx's workers), from /proc.
    static func children(of parent: Int32) -> Set<Int32> {
        guard let entries = try? FileManager.default.contentsOfDirectory(atPath: "/proc") else { return [] }
        var result: Set<Int32> = []
        for entry in entries {
            guard let pid = Int32(entry), let handle = FileHandle(forReadingAtPath: "/proc/\(entry)/stat") else { continue }
            let stat = String(decoding: handle.readDataToEndOfFile(), as: UTF8.self)
            try? handle.close()
            // pid (comm) state ppid …; comm may hold spaces, so read after its closing parenthesis.
            guard let close = stat.lastIndex(of: ")") else { continue }
            let fields = stat[stat.index(after: close)...].split(separator: " ")
            if fields.count > 1, fields[0] != "Z", Int32(fields[1]) == parent { result.insert(pid) }
        }
        return result
    }

    static func canConnect(_ port: Int) -> Bool {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { return false }
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = UInt16(port).bigEndian
        return withUnsafePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) == 0 }
        }
    }

    static func text(_ path: String) -> String { (try? String(contentsOfFile: path, encoding: .utf8)) ?? "" }

    /// 1,000 HTTPS requests with curl (8 at a time), each on a new connection without session
    /// resumption, so each is a full TLS 1.3 handshake that the token signs. Every answer must be
    /// 200, and nginx's access log must show 1,000 new TLS 1.3 requests, none resumed; returns the
    /// worker pids that served them.
    static func thousandRequests(_ f: Fixture, curl: String, cert: String, urls: String, accessLog: String, _ what: String) async throws -> Set<Int32> {
        let before = text(accessLog).split(separator: "\n").count
        let out = try await run(
            curl,
            [
                "-sS", "--cacert", cert, "--no-sessionid", "-H", "Connection: close", "--parallel", "--parallel-max", "8", "-w", "%{http_code}\\n",
                "-K", urls,
            ], environment: environment(f), scratch: f.scratch)
        let codes = out.stdout.split(separator: "\n").map(String.init)
        let tally = Dictionary(grouping: codes, by: { $0 }).mapValues(\.count)
        #expect(
            out.status == 0 && codes.count == 1000 && tally["200"] == 1000,
            "\(what): curl exit \(out.status), HTTP codes \(tally)\nstderr:\n\(out.stderr.prefix(3000))")
        let served = text(accessLog).split(separator: "\n").dropFirst(before).map { $0.split(separator: " ") }
        let full = served.filter { $0.count == 4 && $0[1] == "TLSv1.3" && $0[2] == "." && $0[3] == "200" }
        #expect(served.count == 1000 && full.count == 1000, "\(what): \(served.count) requests logged, \(full.count) of them full TLS 1.3 handshakes with 200")
        return Set(full.compactMap { Int32($0[0]) })
    }

    @Test(
        "nginx (ssl_engine pkcs11, key on the token, 4 forked workers): 1,000 HTTPS requests; nginx -s reload; a worker killed with SIGKILL and respawned; 1,000 more: no failure, each a full TLS 1.3 handshake"
    )
    func nginx() async throws {
        try await PKCS11ToolTests.withBroker { f in
            let nginx = try Self.tool("nginx", package: "nginx"), curl = try Self.tool("curl", package: "curl")
            try await f.generate("EC:prime256v1", id: "4401", label: "nginx-ec")
            let tokenKey = try await f.publicKeyPEM(id: "4401")
            // nginx cannot type a PIN: the slot logs in with its apiKeyFile.
            let config = try Self.autoLoginConfig(f)
            let enginePath = try await Self.engine(f)
            let env = Self.environment(f, config: config, ["OPENSSL_CONF": try Self.engineConfig(f, engine: enginePath, name: "openssl-nginx.cnf")])
            let cert = try await Self.engineCertificate(f, label: "nginx-ec", tokenKey: tokenKey, env: env)

            let prefix = f.file("nginx")
            try FileManager.default.createDirectory(atPath: prefix + "/tmp", withIntermediateDirectories: true)
            let port = try ClusterProcessTests.freePort()
            let errorLog = prefix + "/error.log", accessLog = prefix + "/access.log", conf = prefix + "/nginx.conf"
            try Data(
                """
                daemon off;
                master_process on;
                worker_processes 4;
                \(getuid() == 0 ? "user root root;  # the workers read the 0600 configuration and key file" : "")
                pid \(prefix)/nginx.pid;
                error_log \(errorLog) info;
                env REDOUBT_PKCS11_CONFIG;
                env OPENSSL_CONF;
                env SWIFT_BACKTRACE;
                ssl_engine pkcs11;
                events { worker_connections 256; }
                http {
                    log_format consumer '$pid $ssl_protocol $ssl_session_reused $status';
                    access_log \(accessLog) consumer;
                    client_body_temp_path \(prefix)/tmp/body;
                    proxy_temp_path \(prefix)/tmp/proxy;
                    fastcgi_temp_path \(prefix)/tmp/fastcgi;
                    uwsgi_temp_path \(prefix)/tmp/uwsgi;
                    scgi_temp_path \(prefix)/tmp/scgi;
                    server {
                        listen 127.0.0.1:\(port) ssl reuseport;
                        ssl_protocols TLSv1.3;
                        ssl_session_cache off;
                        ssl_session_tickets off;
                        ssl_certificate \(cert);
                        ssl_certificate_key "engine:pkcs11:pkcs11:token=dev;object=nginx-ec;type=private";
                        location / { return 200 "redoubt\\n"; }
                    }
                }

                """.utf8
            ).write(to: URL(fileURLWithPath: conf))
            let urls = prefix + "/urls.curl"
            try Data((1...1000).map { "url = \"https://127.0.0.1:\(port)/r\($0)\"\noutput = \"/dev/null\"\n" }.joined().utf8).write(
                to: URL(fileURLWithPath: urls))

            let arguments = ["-p", prefix, "-c", conf, "-e", prefix + "/startup.log"]
            let master = try Background(nginx, arguments, environment: env, scratch: f.scratch)
            var seen: Set<Int32> = []
            do {
                let logs = { "\(master.description)\nerror.log:\n\(Self.text(errorLog).suffix(6000))" }
                let up = await Self.waitUntil(60) {
                    (Self.children(of: master.pid).count == 4 && Self.canConnect(port)) || !master.process.isRunning
                }
                try #require(up && master.process.isRunning, "nginx did not start:\n\(logs())")
                seen.formUnion(Self.children(of: master.pid))
                _ = try await Self.thousandRequests(f, curl: curl, cert: cert, urls: urls, accessLog: accessLog, "first 1,000")

                // Reload: the master reads the configuration and loads the key again, then forks new workers.
                // `nginx -s reload` loads the configuration too, so it needs the same environment.
                let old = Self.children(of: master.pid)
                let reload = try await Self.run(nginx, arguments + ["-s", "reload"], environment: env, scratch: f.scratch)
                #expect(reload.status == 0, "\(reload)")
                let reloaded = await Self.waitUntil(60) {
                    let now = Self.children(of: master.pid)
                    return now.count == 4 && now.isDisjoint(with: old)
                }
                try #require(reloaded, "no new workers after the reload: \(old) → \(Self.children(of: master.pid))\n\(logs())")
                seen.formUnion(Self.children(of: master.pid))

                // A worker dies; the master forks a new one.
                let before = Self.children(of: master.pid)
                let victim = try #require(before.min())
                try #require(kill(victim, SIGKILL) == 0)
                let respawned = await Self.waitUntil(30) {
                    let now = Self.children(of: master.pid)
                    return now.count == 4 && !now.contains(victim)
                }
                try #require(respawned, "worker \(victim) was not replaced: \(Self.children(of: master.pid))\n\(logs())")
                let replacement = Self.children(of: master.pid).subtracting(before)
                seen.formUnion(replacement)
                let served = try await Self.thousandRequests(f, curl: curl, cert: cert, urls: urls, accessLog: accessLog, "1,000 after reload and SIGKILL")
                #expect(!served.isDisjoint(with: replacement), "the respawned worker \(replacement) served none of them (served by \(served))")
                let problems = Self.text(errorLog).split(separator: "\n").filter {
                    ($0.contains("[emerg]") || $0.contains("[crit]") || $0.contains("[error]") || $0.contains("[alert]"))
                        && !$0.contains("worker process \(victim) exited on signal 9")
                }
                #expect(problems.isEmpty, "nginx error log:\n\(problems.joined(separator: "\n"))\n\(logs())")
            } catch {
                await Self.stopNginx(master, workers: seen)
                throw error
            }
            await Self.stopNginx(master, workers: seen)
        }
    }

    /// Stops nginx's master (SIGTERM: fast shutdown) and kills any worker that outlived it.
    static func stopNginx(_ master: Background, workers: Set<Int32>) async {
        let current = children(of: master.pid)
        await master.stop()
        for pid in workers.union(current) where kill(pid, 0) == 0 {
            let cmdline = FileHandle(forReadingAtPath: "/proc/\(pid)/cmdline").map { String(decoding: $0.readDataToEndOfFile(), as: UTF8.self) } ?? ""
            if cmdline.contains("nginx") { kill(pid, SIGKILL) }
        }
    }
}
