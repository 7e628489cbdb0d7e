// Compiles every CUDA kernel for a list of architectures and checks that each entry point is in the image:
// `brevity cuda-check`, `make cuda-check` and the tests run it on machines without a GPU.

import Foundation

public struct CUDAKernelCheck: Sendable {
    public struct Result: Sendable {
        public let arch: String
        public let bytes: Int
        public let seconds: Double
        public let cached: Bool
        /// Entry points absent from the image (empty when all are there).
        public let missing: [String]
    }

    /// Every `extern "C"` entry point: each kernel with its three activation-type suffixes.
    public static var entryPoints: [String] {
        CUDAKernelSource.kernels.flatMap { k in ["f32", "f16", "bf16"].map { "\(k)_\($0)" } }
    }

    public let compiler: NVRTCCompiler

    public init(compiler: NVRTCCompiler) { self.compiler = compiler }

    public func run(architectures: [String], cache: KernelCache? = nil) throws -> [Result] {
        try architectures.map { arch in
            let t0 = Date()
            let out = try compiler.compile(CUDAKernelSource.source, name: "brevity_kernels.cu", arch: arch, cache: cache)
            let seconds = Date().timeIntervalSince(t0)
            // entry names are stored as NUL-terminated strings in the cubin's symbol table, and as
            // `.entry name(` in PTX
            let text = out.image
            let missing = Self.entryPoints.filter { name in
                let needle = out.isPTX ? Array(".entry \(name)(".utf8) : Array(name.utf8) + [0]
                return !contains(text, needle)
            }
            return Result(arch: arch, bytes: out.image.count, seconds: seconds, cached: out.cached, missing: missing)
        }
    }

    private func contains(_ haystack: [UInt8], _ needle: [UInt8]) -> Bool {
        guard needle.count <= haystack.count, let first = needle.first else { return needle.isEmpty }
        var i = 0
        while i <= haystack.count - needle.count {
            if haystack[i] == first && Array(haystack[i..<i + needle.count]) == needle { return true }
            i += 1
        }
        return false
    }
}
