// swift-tools-version:6.0
import PackageDescription

// Targets follow GUIDE §1; each depends only on the ones above it.
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
        .executableTarget(
            name: "brevity",
            dependencies: [
                "Tokenizers",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),
        .testTarget(name: "TokenizersTests", dependencies: ["Tokenizers"]),
    ],
    swiftLanguageModes: [.v5]
)
