// swift-tools-version:6.1
// Fuzz targets for Redoubt: a separate package, so fuzzer flags never touch the main build.
//
// Build and run through `Fuzz/run` (see Fuzz/README.md):
//   swift build --package-path Fuzz --sanitize fuzzer -Xswiftc -sanitize=fuzzer,address
import PackageDescription

// The main package is this package's parent directory; SwiftPM names a path dependency
// after its directory, which differs between checkouts ("main", "redoubt", …).
let mainPackage = Context.packageDirectory.split(separator: "/").dropLast().last.map { String($0).lowercased() } ?? "redoubt"

/// One executable per libFuzzer entry point; the entry file is `Sources/<Name>/<Name>.swift`.
let fuzzTargets = [
    "FuzzPublicKeyImport",
    "FuzzPrivateKeyImport",
    "FuzzSignatureVerify",
    "FuzzCiphertexts",
    "FuzzSealedBlob",
    "FuzzBackupReader",
    "FuzzMasterKeyShare",
    "FuzzAuditChain",
    "FuzzCredentials",
    "FuzzProtoDifferential",
    "FuzzBrokerRequest",
    "FuzzApprovalChallenge",
]

let package = Package(
    name: "redoubt-fuzz",
    platforms: [.macOS(.v15)],
    dependencies: [
        .package(path: ".."),
        // The same versions the main package resolves: differential checks and building valid inputs.
        .package(url: "https://github.com/apple/swift-crypto", from: "4.5.2"),
        .package(url: "https://github.com/apple/swift-protobuf", from: "1.39.0"),
        // FuzzBrokerRequest: the broker's services over grpc-swift-2's in-process transport.
        .package(url: "https://github.com/grpc/grpc-swift-2", from: "2.4.3"),
        .package(url: "https://github.com/grpc/grpc-swift-protobuf", from: "2.4.1"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
    ],
    targets: [
        // What every target shares: input carving, invariant checks, sync bridge, seed writing.
        .target(
            name: "FuzzSupport",
            dependencies: [.product(name: "RedoubtCrypto", package: mainPackage)]
        ),
        // zstd, to build valid backup chunks from fuzzed records.
        .systemLibrary(name: "CFuzzZstd", pkgConfig: "libzstd", providers: [.apt(["libzstd-dev"])]),
        // protobuf-c code of Protos/ (Fuzz/scripts/generate-protobuf-c; never edited by hand), for
        // FuzzProtoDifferential. Built with ASan too (the Swift flags of Fuzz/run do not reach C);
        // libprotobuf-c itself is the system's uninstrumented library.
        .target(
            name: "CRedoubtProtoC",
            cSettings: [.unsafeFlags(["-fsanitize=address", "-Wno-unused-parameter"])],
            linkerSettings: [.linkedLibrary("protobuf-c")]
        ),
    ]
        + fuzzTargets.map { name in
            .executableTarget(
                name: name,
                dependencies: [
                    "FuzzSupport",
                    .product(name: "RedoubtCrypto", package: mainPackage),
                    .product(name: "RedoubtStore", package: mainPackage),
                    .product(name: "Redoubt", package: mainPackage),
                    .product(name: "Crypto", package: "swift-crypto"),
                    .product(name: "_CryptoExtras", package: "swift-crypto"),
                ] + (name == "FuzzBackupReader" ? ["CFuzzZstd"] : [])
                    + (name == "FuzzProtoDifferential"
                        ? [
                            "CRedoubtProtoC",
                            .product(name: "RedoubtProto", package: mainPackage),
                            .product(name: "SwiftProtobuf", package: "swift-protobuf"),
                        ] : [])
                    + (name == "FuzzBrokerRequest"
                        ? [
                            .product(name: "RedoubtBroker", package: mainPackage),
                            .product(name: "RedoubtProto", package: mainPackage),
                            .product(name: "SwiftProtobuf", package: "swift-protobuf"),
                            .product(name: "GRPCCore", package: "grpc-swift-2"),
                            .product(name: "GRPCInProcessTransport", package: "grpc-swift-2"),
                            .product(name: "GRPCProtobuf", package: "grpc-swift-protobuf"),
                            .product(name: "Logging", package: "swift-log"),
                        ] : [])
            )
        },
    swiftLanguageModes: [.v6]
)
