// swift-tools-version:5.4
// libFuzzer targets for Brevity's parsers of untrusted bytes (hardening item 6). A package of its own so
// that the main package's `make test` and CI never build it; `make fuzz` (top-level Makefile) builds it
// with `-sanitize=fuzzer,address` and runs each target. See docs/reliability-fuzzing.md.
import Foundation
import PackageDescription

// A path dependency's identity is its folder's name, whatever the checkout is called.
let brevity = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
    .lastPathComponent.lowercased()

// The entry point is libFuzzer's main, not Swift top-level code. Tools version 5.4, the last before SwiftPM
// renamed an executable's entry point to `<module>_main` (for testable executables) and aliased main to it:
// these modules define no main of their own, so that alias would not link.
let fuzzSettings: [SwiftSetting] = [.unsafeFlags(["-parse-as-library"])]

let package = Package(
    name: "BrevityFuzz",
    dependencies: [.package(path: "..")],
    targets: [
        .executableTarget(name: "FuzzRequest", dependencies: [.product(name: "Serving", package: brevity)],
                          swiftSettings: fuzzSettings),
        .executableTarget(name: "FuzzTokenizerJSON", dependencies: [.product(name: "Tokenizers", package: brevity)],
                          swiftSettings: fuzzSettings),
        .executableTarget(name: "FuzzSafetensors", dependencies: [.product(name: "NN", package: brevity),
                                                                  .product(name: "Tensor", package: brevity)],
                          swiftSettings: fuzzSettings),
        .executableTarget(name: "FuzzZip", dependencies: [.product(name: "NN", package: brevity),
                                                          .product(name: "Tensor", package: brevity)],
                          swiftSettings: fuzzSettings),
        .executableTarget(name: "FuzzUnpickler", dependencies: [.product(name: "NN", package: brevity)],
                          swiftSettings: fuzzSettings),
    ],
    swiftLanguageVersions: [.v5]
)
