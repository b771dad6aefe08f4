// swift-tools-version:6.1
import PackageDescription

let package = Package(
    name: "redoubt",
    platforms: [.macOS(.v15)],
    products: [
        .library(name: "RedoubtCrypto", targets: ["RedoubtCrypto"]),
        .library(name: "RedoubtStore", targets: ["RedoubtStore"]),
        .library(name: "Redoubt", targets: ["Redoubt"]),
        .library(name: "RedoubtGRPC", targets: ["RedoubtGRPC"]),
        // The generated gRPC/protobuf code of Protos/ (also what Fuzz/'s differential target decodes with).
        .library(name: "RedoubtProto", targets: ["RedoubtProto"]),
        .executable(name: "redoubt", targets: ["redoubt"]),
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
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        // The HSM model: sealing, partitions, users, sessions, keys, audit, backup; LocalHSM.
        .target(
            name: "Redoubt",
            dependencies: [
                "RedoubtCrypto",
                "RedoubtStore",
                "CZstd",
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "_CryptoExtras", package: "swift-crypto"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        // Code generated from Protos/ by scripts/generate-protos (committed; never edited by hand).
        .target(
            name: "RedoubtProto",
            dependencies: [
                .product(name: "SwiftProtobuf", package: "swift-protobuf"),
                .product(name: "GRPCCore", package: "grpc-swift-2"),
                .product(name: "GRPCProtobuf", package: "grpc-swift-protobuf"),
            ]
        ),
        // The broker (gRPC services over any HSM, auth, limits, health, metrics) and RemoteHSM:
        // the only place that maps between protobuf messages and the model.
        .target(
            name: "RedoubtGRPC",
            dependencies: [
                "Redoubt",
                "RedoubtCrypto",
                "RedoubtProto",
                .product(name: "SwiftProtobuf", package: "swift-protobuf"),
                .product(name: "GRPCCore", package: "grpc-swift-2"),
                .product(name: "GRPCProtobuf", package: "grpc-swift-protobuf"),
                .product(name: "GRPCNIOTransportHTTP2", package: "grpc-swift-nio-transport"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "X509", package: "swift-certificates"),
                .product(name: "SwiftASN1", package: "swift-asn1"),
            ]
        ),
        // The command-line tool.
        .executableTarget(
            name: "redoubt",
            dependencies: [
                "Redoubt",
                "RedoubtCrypto",
                "RedoubtStore",
                "RedoubtGRPC",
                "RedoubtProto",
                "CRedoubtOpenSSL",
                "CSecp256k1",
                .product(name: "GRPCCore", package: "grpc-swift-2"),
                .product(name: "GRPCNIOTransportHTTP2", package: "grpc-swift-nio-transport"),
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
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
            dependencies: ["Redoubt", "RedoubtGRPC"],
            path: "Examples/RemoteSigner"
        ),
        // The implementation-independent behaviour suite every HSM runs (LocalHSM in RedoubtTests,
        // RemoteHSM over a real broker in RedoubtGRPCTests): a plain library target so that both
        // test targets share it without copies. Its declarations stay internal; test targets
        // reach them with `@testable import` (debug builds, as `swift test` does).
        .target(
            name: "RedoubtBehaviourSuite",
            dependencies: ["Redoubt"],
            path: "Tests/RedoubtBehaviourSuite"
        ),
        .testTarget(
            name: "RedoubtCryptoTests",
            dependencies: [
                "RedoubtCrypto",
                .product(name: "PropertyBased", package: "swift-property-based"),
            ],
            resources: [.copy("Vectors")]
        ),
        .testTarget(
            name: "RedoubtStoreTests",
            dependencies: [
                "RedoubtStore",
                // Test databases are created and dropped directly (Postgres/PostgresTestDatabases.swift).
                .product(name: "PostgresNIO", package: "postgres-nio"),
            ]
        ),
        .testTarget(
            name: "RedoubtTests",
            dependencies: [
                "Redoubt", "RedoubtCrypto", "RedoubtStore", "RedoubtBehaviourSuite",
                // For FuzzFailCases/, which compiles the fuzz targets' own checks (symlinks into Fuzz/).
                "CZstd",
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "_CryptoExtras", package: "swift-crypto"),
                // FuzzBrokerRequest's replay: the broker's services, also over the in-process transport.
                "RedoubtGRPC", "RedoubtProto",
                .product(name: "SwiftProtobuf", package: "swift-protobuf"),
                .product(name: "GRPCCore", package: "grpc-swift-2"),
                .product(name: "GRPCInProcessTransport", package: "grpc-swift-2"),
                .product(name: "GRPCProtobuf", package: "grpc-swift-protobuf"),
                .product(name: "Logging", package: "swift-log"),
                // Nodes over one PostgreSQL database (Postgres/, sharing RedoubtStoreTests' test databases).
                .product(name: "PostgresNIO", package: "postgres-nio"),
            ]
        ),
        .testTarget(
            name: "RedoubtGRPCTests",
            dependencies: [
                "RedoubtGRPC",
                "Redoubt",
                "RedoubtCrypto",
                "RedoubtStore",
                "RedoubtProto",
                "RedoubtBehaviourSuite",
                .product(name: "GRPCCore", package: "grpc-swift-2"),
                .product(name: "GRPCNIOTransportHTTP2", package: "grpc-swift-nio-transport"),
                .product(name: "X509", package: "swift-certificates"),
                .product(name: "SwiftASN1", package: "swift-asn1"),
                .product(name: "Crypto", package: "swift-crypto"),
                // `redoubt serve --store postgres://…` on throw-away databases (RedoubtStoreTests' helper, symlinked).
                .product(name: "PostgresNIO", package: "postgres-nio"),
            ]
        ),
    ],
    swiftLanguageModes: [.v6]
)
