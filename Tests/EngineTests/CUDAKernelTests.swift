// The CUDA backend's host side without a GPU: every kernel compiles with NVRTC for sm_80 and
// sm_90 (and as PTX for newer GPUs) with each entry point present, the disk cache is used on the second
// compilation, compile errors carry NVRTC's log, missing libraries are errors naming what was tried, and
// the device choice falls back to the CPU with a reason. `make test` installs NVRTC from PyPI; without it
// these skip locally and fail under CI.

import Foundation
import Tensor
import TestSupport
import XCTest

final class CUDAKernelTests: XCTestCase {
    func compiler() throws -> NVRTCCompiler { try Fixtures.nvrtc() }

    func testEveryKernelCompilesForAmpereHopperAndAsPTX() throws {
        let nvrtc = try compiler()
        let cache = KernelCache(folder: FileManager.default.temporaryDirectory.appendingPathComponent("brevity-kernels-\(UUID().uuidString)"))
        defer { try? FileManager.default.removeItem(at: cache.folder) }
        let check = CUDAKernelCheck(compiler: nvrtc)
        let first = try check.run(architectures: ["sm_80", "sm_90", "compute_90"], cache: cache)
        XCTAssertEqual(CUDAKernelCheck.entryPoints.count, CUDAKernelSource.kernels.count * 3)
        for r in first {
            XCTAssertEqual(r.missing, [], r.arch)
            XCTAssertGreaterThan(r.bytes, 10_000, r.arch)
            XCTAssertFalse(r.cached, r.arch)
        }
        // the second time comes from the disk cache, byte for byte
        let second = try check.run(architectures: ["sm_90"], cache: cache)
        XCTAssertTrue(second[0].cached)
        XCTAssertEqual(second[0].bytes, first[1].bytes)
    }

    /// ptxas' report for each entry point of `log` (NVRTC with --ptxas-options=-v).
    func resources(_ log: String) -> [String: (registers: Int, sharedBytes: Int, spillBytes: Int)] {
        var out: [String: (registers: Int, sharedBytes: Int, spillBytes: Int)] = [:]
        var entry = ""
        func number(_ line: Substring, before word: String) -> Int {
            guard let r = line.range(of: " \(word)") else { return 0 }
            return Int(line[..<r.lowerBound].split(separator: " ").last ?? "") ?? 0
        }
        for line in log.split(separator: "\n") {
            if let r = line.range(of: "Compiling entry function '") {
                entry = String(line[r.upperBound...].prefix { $0 != "'" })
                out[entry] = (0, 0, 0)
            } else if line.contains("spill stores") {
                out[entry]?.spillBytes = number(line, before: "bytes spill stores") + number(line, before: "bytes spill loads")
            } else if line.contains("Used ") {
                out[entry]?.registers = number(line, before: "registers")
                out[entry]?.sharedBytes = number(line, before: "bytes smem")
            }
        }
        return out
    }

    func testEveryKernelFitsABlockOf1024ThreadsWithoutSpills() throws {
        // a launch fails on the GPU when registers x threads pass 64 K or shared memory passes 48 KiB: every
        // kernel stays within 64 registers (any block up to 1024 threads; log_softmax takes 1024), spills
        // nothing, and attention's static shared memory leaves room for its largest row of scores
        let nvrtc = try compiler()
        for arch in ["sm_80", "sm_90"] {
            let out = try nvrtc.compile(CUDAKernelSource.source, name: "brevity_kernels.cu", arch: arch, cache: nil,
                                        extraOptions: ["--ptxas-options=-v"])
            let usage = resources(out.log)
            XCTAssertEqual(Set(usage.keys), Set(CUDAKernelCheck.entryPoints), arch)
            for (name, u) in usage {
                XCTAssertGreaterThan(u.registers, 0, "\(arch) \(name)")
                XCTAssertLessThanOrEqual(u.registers, 64, "\(arch) \(name)")
                XCTAssertEqual(u.spillBytes, 0, "\(arch) \(name)")
                XCTAssertLessThanOrEqual(u.sharedBytes + (name.hasPrefix("attention") ? 4 * CUDABackend.maxAttentionKeys : 0), 48 * 1024,
                                         "\(arch) \(name)")
            }
            print("ptxas \(arch): most registers \(usage.values.map(\.registers).max() ?? 0), most static shared memory \(usage.values.map(\.sharedBytes).max() ?? 0) B")
        }
    }

    func testCompileErrorsCarryTheLog() throws {
        let nvrtc = try compiler()
        XCTAssertThrowsError(try nvrtc.compile("extern \"C\" __global__ void k() { undeclared_thing(); }", name: "broken.cu",
                                               arch: "sm_90", cache: nil)) { error in
            let m = "\(error)"
            XCTAssertTrue(m.contains("broken.cu") && m.contains("undeclared_thing"), m)
        }
    }

    func testMissingLibrariesAreErrorsNamingWhatWasTried() {
        XCTAssertThrowsError(try NVRTCCompiler(path: "/nonexistent/libnvrtc.so.12")) { error in
            XCTAssertTrue("\(error)".contains("/nonexistent/libnvrtc.so.12"), "\(error)")
        }
        if (try? CUDADevice.open()) == nil {
            XCTAssertThrowsError(try CUDADevice.open()) { error in
                XCTAssertTrue("\(error)".contains("libcuda.so.1") || "\(error)".contains("device"), "\(error)")
            }
        }
    }

    func testDeviceChoice() throws {
        let h200 = CUDADevice(ordinal: 0, name: "NVIDIA H200", capability: (9, 0), memoryBytes: 140 << 30, driverVersion: 13000)
        let old = CUDADevice(ordinal: 0, name: "Tesla T4", capability: (7, 5), memoryBytes: 16 << 30, driverVersion: 12000)
        let none = { () throws -> CUDADevice in throw CUDAError.libraryMissing("the CUDA driver (libcuda.so.1)", tried: "not found") }
        // cpu never probes; auto falls back with the reason; cuda makes the reason an error
        XCTAssertNil(try DeviceChoice.cpu.resolve(open: { XCTFail("probed"); return h200 }).device)
        let fallback = try DeviceChoice.auto.resolve(open: none)
        XCTAssertNil(fallback.device)
        XCTAssertTrue(fallback.reason.contains("libcuda.so.1"), fallback.reason)
        XCTAssertThrowsError(try DeviceChoice.cuda.resolve(open: none))
        XCTAssertTrue(try DeviceChoice.auto.resolve(open: { old }, backendAvailable: true).reason.contains("7.5"))
        XCTAssertEqual(try DeviceChoice.auto.resolve(open: { h200 }, backendAvailable: true).device?.architecture, "sm_90")
        XCTAssertNil(try DeviceChoice.auto.resolve(open: { h200 }, backendAvailable: false).device)
        XCTAssertThrowsError(try DeviceChoice.cuda.resolve(open: { h200 }, backendAvailable: false))
    }
}
