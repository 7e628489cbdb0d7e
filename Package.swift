// swift-tools-version:6.0
import PackageDescription

// Targets follow docs/architecture.md §1; each depends only on the ones above it.
let engineFlags: [SwiftSetting] = [.unsafeFlags(["-Ounchecked"], .when(configuration: .release))]
let package = Package(
    name: "Brevity",
    platforms: [.macOS(.v14)],
    products: [
        .executable(name: "brevity", targets: ["brevity"]),
        .library(name: "Tokenizers", targets: ["Tokenizers"]),
        // For the libFuzzer targets in Fuzz/ (make fuzz), a package of its own that depends on this one.
        .library(name: "Tensor", targets: ["Tensor"]),
        .library(name: "NN", targets: ["NN"]),
        .library(name: "Serving", targets: ["Serving"]),
        // Summaries in-process for Swift programs: Summarizer, streaming, extractive mode.
        .library(name: "BrevityKit", targets: ["BrevityKit"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.0.0"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.0.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus", from: "2.0.0"),
        .package(url: "https://github.com/apple/swift-log", from: "1.5.0"),
        .package(url: "https://github.com/swift-server/async-http-client", from: "1.37.0"),
        .package(url: "https://github.com/apple/swift-crypto", from: "3.12.3"),
        .package(url: "https://github.com/apple/swift-nio", from: "2.101.2"),
    ],
    targets: [
        .target(
            name: "Tokenizers",
            swiftSettings: [.unsafeFlags(["-Ounchecked"], .when(configuration: .release))]
        ),
        // The engine: CBLAS -> Tensor -> NN -> Models -> Generation.
        .systemLibrary(name: "CBLAS", path: "Sources/CBLAS"),
        // Innermost SIMD kernels, chosen at run time by CPU features.
        .target(name: "CKernels", cSettings: [.unsafeFlags(["-O3"])]),
        // The CUDA driver, cuBLAS and NVRTC through dlopen: no CUDA SDK at build time.
        .target(name: "CCUDA", linkerSettings: [.linkedLibrary("dl")]),
        .target(name: "Tensor", dependencies: ["CBLAS", "CKernels", "CCUDA"], swiftSettings: engineFlags),
        .target(name: "NN", dependencies: ["Tensor"], swiftSettings: engineFlags),
        .target(name: "Models", dependencies: ["NN", "Tensor"], swiftSettings: engineFlags),
        .target(name: "Generation", dependencies: ["Models", "Tensor"], swiftSettings: engineFlags),
        // Extractive summaries over sentence embeddings.
        .target(name: "Extractive", dependencies: ["Tokenizers", "Models", "NN", "Tensor"], swiftSettings: engineFlags),
        // The library the service, the commands and other Swift programs summarize with.
        .target(name: "BrevityKit", dependencies: [
            "Tokenizers", "Tensor", "Models", "Generation", "Extractive", "Hub", .product(name: "Logging", package: "swift-log"),
        ]),
        // The service.
        .target(
            name: "Serving",
            dependencies: [
                "BrevityKit",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),   // OTLP trace export
            ]
        ),
        // Model resolution: a folder, the hub cache, or a download.
        .target(
            name: "Hub",
            dependencies: [
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
            ]
        ),
        .executableTarget(
            name: "brevity",
            dependencies: [
                "Tokenizers",
                "BrevityKit", "Tensor", "Models", "Generation", "Serving", "Hub", "NN", "Extractive",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),
        // Paths, the brevity binary, ports and a raw HTTP client shared by the test targets.
        .target(name: "TestSupport", path: "Tests/TestSupport"),
        .testTarget(name: "TokenizersTests", dependencies: ["Tokenizers", "TestSupport"]),
        .testTarget(name: "ServingTests", dependencies: [
            "Serving", "BrevityKit", "Tokenizers", "Models", "Generation", "Extractive", "NN", "Tensor", "TestSupport",
            .product(name: "HummingbirdTesting", package: "hummingbird"),
        ]),
        .testTarget(name: "HubTests", dependencies: [
            "Hub", "NN", "Tensor", "Models", "Generation", "TestSupport",
            .product(name: "Hummingbird", package: "hummingbird"),
            .product(name: "Crypto", package: "swift-crypto"),
            .product(name: "NIOCore", package: "swift-nio"),
        ]),
        .testTarget(name: "EngineTests", dependencies: ["Tensor", "NN", "Models", "Generation", "TestSupport"]),
        .testTarget(name: "BrevityKitTests", dependencies: ["BrevityKit", "Generation", "Extractive", "Hub", "Tensor", "TestSupport"]),
        .testTarget(name: "ExtractiveTests", dependencies: ["Extractive", "Models", "NN", "Tensor", "Tokenizers", "TestSupport"]),
    ],
    swiftLanguageModes: [.v5]
)
