// swift-tools-version:6.1
// A Swift app that only calls a broker: it depends on the RedoubtClient product alone, so it links
// neither the store (GRDB, PostgresNIO) nor the server (Prometheus) nor the CLI (argument-parser).
// scripts/check-client-graph builds it and checks its dependency graph says so.
import PackageDescription

// The Redoubt package is two folders up; SwiftPM names a path dependency after its folder,
// which differs between checkouts ("main", "redoubt", …).
let redoubt = Context.packageDirectory.split(separator: "/").dropLast(2).last.map { String($0).lowercased() } ?? "redoubt"

let package = Package(
    name: "ClientOnly",
    platforms: [.macOS(.v15)],
    // `traits: []`: without the default "Server" trait, none of the store's, the broker's or the
    // CLI's packages are in this graph.
    dependencies: [.package(path: "../..", traits: [])],
    targets: [
        .executableTarget(
            name: "ClientOnly",
            dependencies: [.product(name: "RedoubtClient", package: redoubt)]
        )
    ],
    swiftLanguageModes: [.v6]
)
