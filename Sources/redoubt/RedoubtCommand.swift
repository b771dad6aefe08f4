import ArgumentParser

/// The `redoubt` command-line tool.
@main
struct RedoubtCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "redoubt",
        abstract: "Redoubt: a self-hostable cloud HSM.",
        discussion: """
            Every command on keys, users, partitions, the audit log, approvals and backups works on a local \
            store (--data DIR, unsealed with --passphrase-file, --shares-file or --dev) or through a broker \
            (--endpoint HOST:PORT or REDOUBT_ENDPOINT; TLS with --tls-ca, mutual TLS with --tls-cert and \
            --tls-key). The session's credential is --api-key and --partition (or REDOUBT_API_KEY and \
            REDOUBT_PARTITION); without --partition you act as the operator. Flags beat environment variables. \
            Output is lines for people; list, get and create commands take --json for scripts.

            Try it (development):
              redoubt serve --dev --data ./dev --listen 127.0.0.1:8443 &
              export REDOUBT_ENDPOINT=127.0.0.1:8443 REDOUBT_PARTITION=dev
              export REDOUBT_API_KEY=$(jq -r .api_key ./dev/dev-credentials.json)
              redoubt keys create --algorithm EC-P256 --label signer
              echo hello | redoubt sign --key k0123…

            A local store instead of a broker:
              redoubt init --data ./hsm --dev
              redoubt partitions create payments --data ./hsm --dev --api-key $OPERATOR_KEY

            Run `redoubt help <command>` for each command's options and examples.
            """,
        groupedSubcommands: [
            CommandGroup(
                name: "Keys and cryptography",
                subcommands: [
                    KeysCommand.self, CertificatesCommand.self, SignCommand.self, VerifyCommand.self, EncryptCommand.self,
                    DecryptCommand.self,
                ]),
            CommandGroup(
                name: "Administration",
                subcommands: [
                    PartitionCommand.self, UserCommand.self, IssuersCommand.self, AuditCommand.self, BackupCommand.self,
                ]),
            CommandGroup(
                name: "Approvals",
                subcommands: [
                    RequestsCommand.self, ApproversCommand.self, ApproveCommand.self, ApproverKeyCommand.self,
                ]),
            CommandGroup(
                name: "Running an HSM (local only)",
                subcommands: [
                    InitCommand.self, ServeCommand.self, BenchCommand.self, DebugCommand.self,
                ]),
        ]
    )
}

/// `redoubt bench …`: benchmarks that print ratios against a peer measured in the same run.
struct BenchCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench",
        abstract: "Measure Redoubt against a baseline run side by side (local only: starts its own stores and brokers).",
        subcommands: [
            CryptoBenchCommand.self, HSMBenchCommand.self, RPCBenchCommand.self, FailoverBenchCommand.self, SignInBenchCommand.self,
            ClusterBenchCommand.self, PKCS11BenchCommand.self, ScaleBenchCommand.self,
        ]
    )
}
