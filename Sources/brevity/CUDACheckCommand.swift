import ArgumentParser
import Foundation
import Tensor

/// `brevity cuda-check`: NVRTC compiles every CUDA kernel for each architecture (no GPU needed), and the
/// driver is probed. Exit 1 when a kernel does not compile or an entry point is missing.
struct CUDACheckCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "cuda-check",
        abstract: "Compile the CUDA kernels with NVRTC for the given architectures and report the GPU, if any."
    )

    @Option(name: .customLong("arch"), help: "sm_XY (a cubin) or compute_XY (PTX); repeatable.")
    var architectures: [String] = ["sm_80", "sm_90"]

    @Option(help: "libnvrtc to load (default: BREVITY_NVRTC, else libnvrtc.so.13 / .so.12).")
    var nvrtc: String?

    @Option(help: "Folder with cuda_fp16.h and cuda_bf16.h (default: BREVITY_CUDA_INCLUDE, else the CUDA toolkit's).")
    var include: [String] = []

    func run() throws {
        let compiler: NVRTCCompiler
        do {
            compiler = try NVRTCCompiler(path: nvrtc ?? ProcessInfo.processInfo.environment["BREVITY_NVRTC"],
                                         includes: include.isEmpty ? nil : include)
        } catch {
            printError("cuda-check: \(error)")
            throw ExitCode(2)
        }
        print("nvrtc \(compiler.version.major).\(compiler.version.minor) from \(compiler.library); includes \(compiler.includes)")
        var failed = false
        do {
            for r in try CUDAKernelCheck(compiler: compiler).run(architectures: architectures, cache: nil) {
                print("\(r.arch): \(r.bytes) bytes in \(String(format: "%.1f", r.seconds)) s, "
                      + "\(CUDAKernelCheck.entryPoints.count - r.missing.count)/\(CUDAKernelCheck.entryPoints.count) entry points")
                if !r.missing.isEmpty { printError("\(r.arch): missing \(r.missing.joined(separator: ", "))"); failed = true }
            }
        } catch {
            printError("cuda-check: \(error)")
            throw ExitCode(1)
        }
        do {
            let gpu = try CUDADevice.open()
            print("gpu: \(gpu.name), \(gpu.architecture), \(gpu.memoryBytes >> 20) MiB, driver \(gpu.driverVersion)")
        } catch {
            print("gpu: none (\(error))")
        }
        if failed { throw ExitCode(1) }
    }
}
