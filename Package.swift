// swift-tools-version:6.0
import PackageDescription

// Targets follow GUIDE §1; each depends only on the ones above it.
let engineFlags: [SwiftSetting] = [.unsafeFlags(["-Ounchecked"], .when(configuration: .release))]
let package = Package(
    name: "Brevity",
    platforms: [.macOS(.v14)],
    products: [
        .executable(name: "brevity", targets: ["brevity"]),
        .library(name: "Tokenizers", targets: ["Tokenizers"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
    ],
    targets: [
        .target(
            name: "Tokenizers",
            swiftSettings: [.unsafeFlags(["-Ounchecked"], .when(configuration: .release))]
        ),
        // The engine (issue 3): CBLAS -> Tensor -> NN -> Models -> Generation.
        .systemLibrary(name: "CBLAS", path: "Sources/CBLAS"),
        .target(name: "Tensor", dependencies: ["CBLAS"], swiftSettings: engineFlags),
        .target(name: "NN", dependencies: ["Tensor"], swiftSettings: engineFlags),
        .target(name: "Models", dependencies: ["NN", "Tensor"], swiftSettings: engineFlags),
        .target(name: "Generation", dependencies: ["Models", "Tensor"], swiftSettings: engineFlags),
        .executableTarget(
            name: "brevity",
            dependencies: [
                "Tokenizers",
                "Models", "Generation",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),
        .testTarget(name: "TokenizersTests", dependencies: ["Tokenizers"]),
        .testTarget(name: "EngineTests", dependencies: ["Tensor", "NN", "Models", "Generation"]),
    ],
    swiftLanguageModes: [.v5]
)
