// swift-tools-version:6.0
// An example program that summarizes in-process with BrevityKit, depending on this repository by path.
// `swift run --package-path Examples/Summarize summarize-example MODEL [FILE ...]`
import Foundation
import PackageDescription

// A path dependency's identity is its folder's name, whatever the checkout is called.
let brevity = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("../..").standardized

let package = Package(
    name: "SummarizeExample",
    platforms: [.macOS(.v14)],
    products: [.executable(name: "summarize-example", targets: ["SummarizeExample"])],
    dependencies: [.package(path: brevity.path)],
    targets: [
        .executableTarget(
            name: "SummarizeExample",
            dependencies: [.product(name: "BrevityKit", package: brevity.lastPathComponent)]
        ),
    ]
)
