// The CUDA kernels' own source run on the host, for tests without a GPU. `translate` turns the CUDA C++ of
// CUDAKernelSource into host C++: the cuda_fp16/bf16 includes give way to the simulator's runtime
// (CUDASimulatorRuntime.swift: half and bfloat16 types, __syncthreads, __shfl_xor_sync, the fiber
// scheduler), each `__shared__` declaration becomes a region of the block's shared memory, and every
// `extern "C" __global__` kernel gets a trampoline that takes cuLaunchKernel's parameter array. The toolchain's
// clang++ compiles that into a library, loaded with dlopen. A launch runs every block of the grid in turn,
// each thread of a block a fiber, so barriers, warp shuffles and shared memory behave as on a GPU, and
// what a GPU would fault or hang on is an error naming the block and thread.

import Foundation
import Tensor

struct CUDASimulatorError: Error, CustomStringConvertible {
    let description: String
}

final class CUDASimulator: @unchecked Sendable {
    private let library: UnsafeMutableRawPointer
    private let launchEntry: @convention(c) (UnsafeMutableRawPointer?, UInt32, UInt32, UInt32, UInt32,
                                             UnsafeMutablePointer<UnsafeMutableRawPointer?>?, UnsafeMutablePointer<CChar>?, Int32) -> Int32
    private var kernels: [String: UnsafeMutableRawPointer] = [:]
    private let lock = NSLock()

    /// CUDAKernelSource's kernels, compiled once per process.
    static let brevityKernels: Result<CUDASimulator, Error> = Result { try CUDASimulator(source: CUDAKernelSource.source) }

    /// Compiles `source` (CUDA C++ whose kernels are `extern "C" __global__`, instantiated by macros or not).
    init(source: String) throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("brevity-cuda-sim-\(getpid())-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let code = folder.appendingPathComponent("kernels.cpp"), image = folder.appendingPathComponent("kernels.so")
        try Self.translate(source).write(to: code, atomically: true, encoding: .utf8)
        let compiler = try Self.compiler()
        let process = Process()
        process.executableURL = URL(fileURLWithPath: compiler)
        process.arguments = ["-std=c++17", "-O1", "-fPIC", "-shared", "-Wall", "-Wno-unused-function", "-o", image.path, code.path]
        let output = Pipe()
        process.standardOutput = output
        process.standardError = output
        try process.run()
        let log = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        guard process.terminationStatus == 0 else {
            throw CUDASimulatorError(description: "clang++ could not compile the translated kernels:\n\(log)")
        }
        guard let handle = dlopen(image.path, RTLD_NOW | RTLD_LOCAL) else {
            throw CUDASimulatorError(description: "dlopen: \(String(cString: dlerror()))")
        }
        library = handle
        guard let entry = dlsym(handle, "brv_sim_launch") else { throw CUDASimulatorError(description: "no brv_sim_launch") }
        launchEntry = unsafeBitCast(entry, to: type(of: launchEntry))
    }

    /// clang++: $CXX, else the one on PATH (the Swift toolchain ships it).
    static func compiler() throws -> String {
        if let cxx = ProcessInfo.processInfo.environment["CXX"], !cxx.isEmpty { return cxx }
        for folder in (ProcessInfo.processInfo.environment["PATH"] ?? "").split(separator: ":") {
            let path = "\(folder)/clang++"
            if FileManager.default.isExecutableFile(atPath: path) { return path }
        }
        throw CUDASimulatorError(description: "no clang++ on PATH (the Swift toolchain's) and CXX unset")
    }

    /// The host C++ for `source`: the runtime first, shared memory rewritten, trampolines after.
    static func translate(_ source: String) throws -> String {
        // blank lines for the includes, so the compiler's line numbers are the kernel source's
        var text = source.replacingOccurrences(of: "#include <cuda_fp16.h>\n", with: "\n")
            .replacingOccurrences(of: "#include <cuda_bf16.h>\n", with: "\n")
        text = text.replacing(try Regex(#"extern __shared__ (\w+) (\w+)\[\];"#)) { m in
            "BRV_SIM_DYNAMIC_SHARED(\(m.output[1].substring!), \(m.output[2].substring!));"
        }
        var declarations = 0
        text = text.replacing(try Regex(#"__shared__ (\w+) (\w+)\[(\w+)\];"#)) { m in
            declarations += 1
            return "BRV_SIM_STATIC_SHARED(\(m.output[1].substring!), \(m.output[2].substring!), \(m.output[3].substring!), \(declarations - 1));"
        }
        if text.contains("__shared__") {
            throw CUDASimulatorError(description: "a __shared__ declaration the simulator does not know (T name[N]; or extern T name[];)")
        }
        // kernels: those written inside a macro with a type parameter (name_##S, instantiated by NAME(S, T)
        // lines) and plain ones
        let flat = text.replacingOccurrences(of: "\\\n", with: " ")
        var templated: [String] = [], plain: [String] = []
        for m in flat.matches(of: try Regex(#"extern "C" __global__ void ([\w#]+)\(([^)]*)\)"#)) {
            let name = String(m.output[1].substring!)
            let parameters = m.output[2].substring!.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }
            let arguments = parameters.enumerated().map { i, p -> String in
                let type = p.replacing(try! Regex(#"\w+$"#), with: "").trimmingCharacters(in: .whitespaces)
                return "*(\(type) *)p[\(i)]"
            }
            let line = "extern \"C\" void brv_sim_\(name)(void **p) { \(name)(\(arguments.joined(separator: ", "))); }"
            if name.hasSuffix("_##S") { templated.append(line) } else { plain.append(line) }
        }
        var out = CUDASimulatorRuntime.source + "\n#line 1 \"kernels.cu\"\n" + text + "\n"
        out += plain.joined(separator: "\n") + "\n"
        if !templated.isEmpty {
            out += "#define BRV_SIM_TRAMPOLINES(S, T) \\\n" + templated.joined(separator: " \\\n") + "\n"
            // the lines that use a two-parameter macro (#define INSTANTIATE(S, T)), e.g. INSTANTIATE(f32, float)
            let macros = Set(text.matches(of: try Regex(#"(?m)^#define (\w+)\(\w+, \w+\)"#)).map { String($0.output[1].substring!) })
            for m in text.matches(of: try Regex(#"(?m)^(\w+)\((\w+), ([\w ]+)\)\s*$"#)) where macros.contains(String(m.output[1].substring!)) {
                out += "BRV_SIM_TRAMPOLINES(\(m.output[2].substring!), \(m.output[3].substring!))\n"
            }
        }
        return out
    }

    /// Runs kernel `name` (with its type suffix) over `grid` blocks of `block` threads.
    func launch(_ name: String, grid: (Int, Int), block: Int, sharedBytes: Int, _ arguments: KernelArguments) throws {
        lock.lock()
        defer { lock.unlock() }
        let kernel: UnsafeMutableRawPointer
        if let k = kernels[name] { kernel = k } else {
            guard let k = dlsym(library, "brv_sim_\(name)") else { throw CUDASimulatorError(description: "no kernel \(name)") }
            kernels[name] = k
            kernel = k
        }
        guard grid.0 > 0, grid.1 > 0, block > 0, sharedBytes >= 0, grid.0 <= Int(UInt32.max), grid.1 <= Int(UInt32.max),
              block <= Int(UInt32.max), sharedBytes <= Int(UInt32.max) else {
            throw CUDASimulatorError(description: "\(name): grid \(grid), block \(block), \(sharedBytes) shared bytes")
        }
        var message = [CChar](repeating: 0, count: 1024)
        let status = arguments.withParameters { parameters in
            launchEntry(kernel, UInt32(grid.0), UInt32(grid.1), UInt32(block), UInt32(sharedBytes), parameters, &message, Int32(message.count))
        }
        if status != 0 { throw CUDASimulatorError(description: "\(name): \(String(cString: message))") }
    }
}
