// swift-tools-version:6.1
import PackageDescription

/// Dependencies only the store, the broker, the CLI and the tests use (see the "Server" trait).
let server: TargetDependencyCondition? = .when(traits: ["Server"])

let package = Package(
    name: "redoubt",
    platforms: [.macOS(.v15)],
    products: [
        .library(name: "RedoubtCrypto", targets: ["RedoubtCrypto"]),
        .library(name: "RedoubtStore", targets: ["RedoubtStore"]),
        // The vocabulary every door shares: the HSM protocol, its types and errors, FailoverHSM.
        .library(name: "RedoubtCore", targets: ["RedoubtCore"]),
        // The embedded HSM: LocalHSM over a store.
        .library(name: "Redoubt", targets: ["Redoubt"]),
        // RemoteHSM: a client of a broker. Links neither the store nor the server.
        .library(name: "RedoubtClient", targets: ["RedoubtClient"]),
        // The broker: gRPC services over any HSM.
        .library(name: "RedoubtBroker", targets: ["RedoubtBroker"]),
        // The HSM behaviour suite (Swift Testing), for any implementation of the HSM protocol.
        .library(name: "RedoubtTesting", targets: ["RedoubtTesting"]),
        // The generated gRPC/protobuf code of Protos/ (also what Fuzz/'s differential target decodes with).
        .library(name: "RedoubtProto", targets: ["RedoubtProto"]),
        .executable(name: "redoubt", targets: ["redoubt"]),
        // libredoubt-pkcs11.so: the PKCS #11 module (C ABI) over a broker, several nodes, or a local store.
        .library(name: "redoubt-pkcs11", type: .dynamic, targets: ["RedoubtPKCS11"]),
    ],
    traits: [
        // The store, LocalHSM's backups, the broker and the CLI. An app that only calls a broker
        // depends on this package with `traits: []` and its graph then holds none of their packages
        // (GRDB, PostgresNIO, Prometheus, argument-parser…): see Examples/ClientOnly.
        .trait(name: "Server", description: "The store, the broker and the CLI, and the packages they need (on by default)."),
        .default(enabledTraits: ["Server"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-crypto", from: "4.5.2"),
        .package(url: "https://github.com/apple/swift-asn1", from: "1.7.4"),
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/x-sheep/swift-property-based", from: "2.0.1"),
        .package(url: "https://github.com/groue/GRDB.swift", from: "7.10.0"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-protobuf", from: "1.39.0"),
        .package(url: "https://github.com/grpc/grpc-swift-2", from: "2.4.3"),
        .package(url: "https://github.com/grpc/grpc-swift-protobuf", from: "2.4.1"),
        .package(url: "https://github.com/grpc/grpc-swift-nio-transport", from: "2.9.2"),
        .package(url: "https://github.com/apple/swift-metrics", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus", from: "2.4.1"),
        .package(url: "https://github.com/apple/swift-nio", from: "2.101.3"),
        .package(url: "https://github.com/apple/swift-certificates", from: "1.21.1"),
        .package(url: "https://github.com/vapor/postgres-nio", exact: "1.33.2"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.13.0"),
        // The broker's HTTP/JSON door (no swift-configuration, no full-Foundation extras).
        .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.28.1", traits: []),
        .package(url: "https://github.com/apple/swift-nio-ssl", from: "2.37.6"),
        // JWT sign-in: JWS verification and JWK parsing (on swift-crypto).
        .package(url: "https://github.com/vapor/jwt-kit", from: "5.8.0"),
    ],
    targets: [
        // System libraries, installed by scripts/bootstrap (Debian packages).
        .systemLibrary(
            name: "CRedoubtOpenSSL",
            pkgConfig: "libcrypto",
            providers: [.apt(["libssl-dev"])]
        ),
        .systemLibrary(
            name: "CZstd",
            pkgConfig: "libzstd",
            providers: [.apt(["libzstd-dev"])]
        ),
        .systemLibrary(
            name: "CSecp256k1",
            pkgConfig: "libsecp256k1",
            providers: [.apt(["libsecp256k1-dev"])]
        ),
        // The pure cryptographic engine: algorithms, key material, encodings. No I/O.
        .target(
            name: "RedoubtCrypto",
            dependencies: [
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "_CryptoExtras", package: "swift-crypto"),
                .product(name: "SwiftASN1", package: "swift-asn1"),
                "CRedoubtOpenSSL",
                "CSecp256k1",
            ]
        ),
        // The durable store of sealed objects: SQLite (GRDB, embedded default) and PostgreSQL
        // (postgres-nio, several nodes) behind one protocol.
        .target(
            name: "RedoubtStore",
            dependencies: [
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "GRDB", package: "GRDB.swift", condition: server),
                // SQLite's C API, for the audit insert's binds (GRDB's own arguments cost a third of it).
                .product(name: "GRDBSQLite", package: "GRDB.swift", condition: server),
                .product(name: "PostgresNIO", package: "postgres-nio", condition: server),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle", condition: server),
            ]
        ),
        // The vocabulary every door shares: the HSM protocol, its value types, HSMError,
        // HSMCallContext, the approval types and FailoverHSM. No store, no NIO, no gRPC.
        .target(
            name: "RedoubtCore",
            dependencies: [
                "RedoubtCrypto",
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ]
        ),
        // The embedded HSM: sealing, partitions, users, sessions, keys, audit, backup; LocalHSM.
        .target(
            name: "Redoubt",
            dependencies: [
                "RedoubtCore",
                "RedoubtCrypto",
                "RedoubtStore",
                "CZstd",
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "_CryptoExtras", package: "swift-crypto"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                // JWT sign-in: tokens verified with jwt-kit, key sets fetched over NIO (HTTP/1.1, TLS).
                .product(name: "JWTKit", package: "jwt-kit", condition: server),
                .product(name: "NIOCore", package: "swift-nio", condition: server),
                .product(name: "NIOPosix", package: "swift-nio", condition: server),
                .product(name: "NIOHTTP1", package: "swift-nio", condition: server),
                .product(name: "NIOSSL", package: "swift-nio-ssl", condition: server),
            ]
        ),
        // Code generated from Protos/ by scripts/generate-protos (committed; never edited by hand).
        .target(
            name: "RedoubtProto",
            dependencies: [
                .product(name: "SwiftProtobuf", package: "swift-protobuf"),
                .product(name: "GRPCCore", package: "grpc-swift-2"),
                .product(name: "GRPCProtobuf", package: "grpc-swift-protobuf"),
            ],
            // The OpenAPI document for readers; the code holds the same (RedoubtHTTPMethods.openAPIDocument).
            exclude: ["openapi.json"]
        ),
        // RemoteHSM and the one map between protobuf messages and the model (Convert/, Status/),
        // which the broker uses with `package` access.
        .target(
            name: "RedoubtClient",
            dependencies: [
                "RedoubtCore",
                "RedoubtProto",
                .product(name: "SwiftProtobuf", package: "swift-protobuf"),
                .product(name: "GRPCCore", package: "grpc-swift-2"),
                .product(name: "GRPCProtobuf", package: "grpc-swift-protobuf"),
                .product(name: "GRPCNIOTransportHTTP2", package: "grpc-swift-nio-transport"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ]
        ),
        // The broker: gRPC services over any HSM, auth, limits, health, metrics, scheduled backups.
        .target(
            name: "RedoubtBroker",
            dependencies: [
                "Redoubt",
                "RedoubtClient",
                "RedoubtProto",
                .product(name: "SwiftProtobuf", package: "swift-protobuf"),
                .product(name: "GRPCCore", package: "grpc-swift-2"),
                .product(name: "GRPCProtobuf", package: "grpc-swift-protobuf"),
                .product(name: "GRPCNIOTransportHTTP2", package: "grpc-swift-nio-transport"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics", condition: server),
                .product(name: "Prometheus", package: "swift-prometheus", condition: server),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "NIOCore", package: "swift-nio", condition: server),
                .product(name: "NIOPosix", package: "swift-nio", condition: server),
                .product(name: "NIOHTTP1", package: "swift-nio", condition: server),
                .product(name: "X509", package: "swift-certificates", condition: server),
                .product(name: "SwiftASN1", package: "swift-asn1"),
                .product(name: "Hummingbird", package: "hummingbird", condition: server),
                .product(name: "HummingbirdTLS", package: "hummingbird", condition: server),
                .product(name: "NIOSSL", package: "swift-nio-ssl", condition: server),
            ]
        ),
        // The C side of the PKCS #11 module: the function tables and C_GetFunctionList/C_GetInterface*.
        .target(
            name: "CRedoubtPKCS11",
            dependencies: ["CPKCS11"],
            linkerSettings: [.linkedLibrary("dl")]
        ),
        // The PKCS #11 types alone (for the module and for tests that load it through dlopen).
        .target(name: "CPKCS11"),
        // The PKCS #11 module: slots, sessions, objects and mechanisms over any HSM, each C_*
        // entry point a Swift function exported under its C name.
        .target(
            name: "RedoubtPKCS11",
            dependencies: [
                "CPKCS11",
                "CRedoubtPKCS11",
                "RedoubtCore",
                "RedoubtCrypto",
                "RedoubtClient",
                "Redoubt",
                "RedoubtStore",
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "SwiftASN1", package: "swift-asn1"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOPosix", package: "swift-nio"),
            ],
            // Export only the C_* entry points (Sources/CRedoubtPKCS11/exports.map).
            linkerSettings: [
                .unsafeFlags(["-Xlinker", "--version-script=\(Context.packageDirectory)/Sources/CRedoubtPKCS11/exports.map"])
            ]
        ),
        // The command-line tool.
        .executableTarget(
            name: "redoubt",
            dependencies: [
                "Redoubt",
                "RedoubtCrypto",
                "RedoubtStore",
                "RedoubtClient",
                "RedoubtBroker",
                "RedoubtProto",
                "CRedoubtOpenSSL",
                "CSecp256k1",
                "CPKCS11",
                .product(name: "GRPCCore", package: "grpc-swift-2"),
                .product(name: "GRPCNIOTransportHTTP2", package: "grpc-swift-nio-transport"),
                .product(name: "ArgumentParser", package: "swift-argument-parser", condition: server),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        // Examples a user copies; built with the package so they never rot.
        .executableTarget(
            name: "EmbeddedSigner",
            dependencies: ["Redoubt", "RedoubtStore"],
            path: "Examples/EmbeddedSigner"
        ),
        // The same signing through a broker: RemoteHSM instead of LocalHSM, one line apart.
        .executableTarget(
            name: "RemoteSigner",
            dependencies: ["RedoubtClient"],
            path: "Examples/RemoteSigner"
        ),
        // The implementation-independent behaviour suite every HSM runs (LocalHSM, RemoteHSM over a
        // real broker, FailoverHSM), a product so that a third-party HSM implementation runs it too.
        .target(
            name: "RedoubtTesting",
            dependencies: ["RedoubtCore", .product(name: "Crypto", package: "swift-crypto")]
        ),
        .testTarget(
            name: "RedoubtCryptoTests",
            dependencies: [
                "RedoubtCrypto",
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "PropertyBased", package: "swift-property-based", condition: server),
            ],
            resources: [.copy("Vectors")]
        ),
        .testTarget(
            name: "RedoubtStoreTests",
            dependencies: [
                "RedoubtStore",
                // ChildProcess (the sqlite3 shell in a child process).
                "RedoubtTesting",
                // Test databases are created and dropped directly (Postgres/PostgresTestDatabases.swift).
                .product(name: "PostgresNIO", package: "postgres-nio", condition: server),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle", condition: server),
            ]
        ),
        .testTarget(
            name: "RedoubtTests",
            dependencies: [
                "Redoubt", "RedoubtCrypto", "RedoubtStore", "RedoubtTesting",
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "_CryptoExtras", package: "swift-crypto"),
                .product(name: "Logging", package: "swift-log"),
                // TokenSignIn/: a local key-set server for JWT sign-in, over HTTP or HTTPS (its
                // certificates from RedoubtGRPCTests' TLSFixtures, symlinked).
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl", condition: server),
                .product(name: "X509", package: "swift-certificates", condition: server),
                .product(name: "SwiftASN1", package: "swift-asn1"),
                // Nodes over one PostgreSQL database (Postgres/, sharing RedoubtStoreTests' test databases).
                .product(name: "PostgresNIO", package: "postgres-nio", condition: server),
            ],
            // Fuzz crashers as unit tests (FuzzFailCases/): copies of Fuzz/FailCases/<Target>/<name>.
            resources: [.copy("FuzzFailCases/Crashers")]
        ),
        .testTarget(
            name: "RedoubtGRPCTests",
            dependencies: [
                "RedoubtClient",
                "RedoubtBroker",
                "Redoubt",
                "RedoubtCrypto",
                "RedoubtStore",
                "RedoubtProto",
                "RedoubtTesting",
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "GRPCCore", package: "grpc-swift-2"),
                .product(name: "GRPCNIOTransportHTTP2", package: "grpc-swift-nio-transport"),
                .product(name: "X509", package: "swift-certificates", condition: server),
                .product(name: "SwiftASN1", package: "swift-asn1"),
                .product(name: "Crypto", package: "swift-crypto"),
                // `redoubt serve --store postgres://…` on throw-away databases (RedoubtStoreTests' helper, symlinked).
                .product(name: "PostgresNIO", package: "postgres-nio", condition: server),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ]
        ),
        // libredoubt-pkcs11.so loaded with dlopen and driven through its C function list only: the
        // PKCS #11 types (CPKCS11), never the module's own targets (a second copy of its entry points).
        .testTarget(
            name: "RedoubtPKCS11Tests",
            dependencies: [
                "CPKCS11",
                "Redoubt",
                "RedoubtStore",
                "RedoubtCrypto",
                .product(name: "Crypto", package: "swift-crypto"),
            ]
        ),
    ],
    swiftLanguageModes: [.v6]
)
