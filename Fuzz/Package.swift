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
]

let package = Package(
    name: "redoubt-fuzz",
    platforms: [.macOS(.v15)],
    dependencies: [
        .package(path: ".."),
        // The same versions the main package resolves: differential checks and building valid inputs.
        .package(url: "https://github.com/apple/swift-crypto", from: "4.5.2"),
    ],
    targets: [
        // What every target shares: input carving, invariant checks, sync bridge, seed writing.
        .target(
            name: "FuzzSupport",
            dependencies: [.product(name: "RedoubtCrypto", package: mainPackage)]
        ),
        // zstd, to build valid backup chunks from fuzzed records.
        .systemLibrary(name: "CFuzzZstd", pkgConfig: "libzstd", providers: [.apt(["libzstd-dev"])]),
    ] + fuzzTargets.map { name in
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
        )
    },
    swiftLanguageModes: [.v6]
)
