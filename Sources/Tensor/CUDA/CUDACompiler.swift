// NVRTC: CUDA C++ source -> a cubin for one architecture (or PTX for newer ones), cached on disk by a hash
// of everything that decides the output. Works on a machine without a GPU (NVRTC from the PyPI wheel
// nvidia-cuda-nvrtc-cu12, headers from nvidia-cuda-runtime-cu12): `make cuda-check` and the tests use that.

import CCUDA
import Foundation

public enum CUDAError: Error, CustomStringConvertible, Equatable {
    /// A library could not be opened or lacks an entry point: what was tried.
    case libraryMissing(String, tried: String)
    case compile(kernel: String, arch: String, log: String)
    case driver(call: String, code: Int32, message: String)
    case unusable(String)

    public var description: String {
        switch self {
        case let .libraryMissing(what, tried): return "\(what) is not available (\(tried))"
        case let .compile(kernel, arch, log): return "NVRTC could not compile \(kernel) for \(arch):\n\(log)"
        case let .driver(call, code, message): return "\(call) failed: CUDA error \(code) (\(message))"
        case let .unusable(m): return m
        }
    }
}

public final class NVRTCCompiler: @unchecked Sendable {
    let api: UnsafePointer<brv_nvrtc>
    /// The library that was loaded and its version.
    public let library: String
    public let version: (major: Int, minor: Int)
    /// Folders holding cuda_fp16.h and cuda_bf16.h.
    public let includes: [String]

    /// `path`: a libnvrtc file (the `nvrtcPath` setting), else the system's libnvrtc.so.13 / .12.
    /// `includes`: the `cudaIncludes` setting's folders, else the CUDA toolkit's.
    public init(path: String? = EngineSettings.current.nvrtcPath, includes: [String]? = nil) throws {
        var error = [CChar](repeating: 0, count: 2048), loaded = [CChar](repeating: 0, count: 512)
        guard let api = brv_nvrtc_load(path, &error, error.count, &loaded, loaded.count) else {
            throw CUDAError.libraryMissing("NVRTC", tried: String(cString: error))
        }
        self.api = api
        library = String(cString: loaded)
        var major: Int32 = 0, minor: Int32 = 0
        _ = api.pointee.nvrtcVersion(&major, &minor)
        version = (Int(major), Int(minor))
        self.includes = includes ?? NVRTCCompiler.defaultIncludes()
    }

    static func defaultIncludes() -> [String] {
        if let given = EngineSettings.current.cudaIncludes, !given.isEmpty { return given }
        let found = ["/usr/local/cuda/include", "/usr/include"].filter {
            FileManager.default.fileExists(atPath: $0 + "/cuda_fp16.h")
        }
        // CUDA 13 keeps CCCL (nv/target, cuda/std) under include/cccl
        return found + found.map { $0 + "/cccl" }.filter { FileManager.default.fileExists(atPath: $0) }
    }

    /// What one compilation gives: a cubin (`sm_XX`) or PTX (`compute_XX`, for architectures newer than
    /// the cubins this NVRTC can make; the driver finishes it).
    public struct Output: Sendable {
        public let image: [UInt8]
        public let isPTX: Bool
        public let log: String
        public let cached: Bool
        /// Why the image could not be kept in the disk cache (a full or read-only disk), naming the path;
        /// it is used all the same and compiled again next time.
        public var cacheProblem: String? = nil
    }

    /// Compiles `source` for `arch` ("sm_90" for a cubin, "compute_90" for PTX), through the disk cache;
    /// `extraOptions` go to NVRTC after the usual ones (e.g. "--ptxas-options=-v": each kernel's registers
    /// and shared memory in the log).
    public func compile(_ source: String, name: String, arch: String, cache: KernelCache? = KernelCache.standard,
                        extraOptions: [String] = []) throws -> Output {
        let isPTX = arch.hasPrefix("compute_")
        let options = ["--gpu-architecture=\(arch)", "--std=c++17", "-default-device", "-DNDEBUG"]
            + includes.map { "-I\($0)" } + extraOptions
        let key = KernelCache.key([source, arch, "\(version.major).\(version.minor)"] + options)
        if let cache, let image = cache.load(key: key, arch: arch) {
            return Output(image: image, isPTX: isPTX, log: "", cached: true)
        }
        var program: brv_nvrtcProgram?
        try check(api.pointee.nvrtcCreateProgram(&program, source, name, 0, nil, nil), "nvrtcCreateProgram", name, arch)
        defer { _ = api.pointee.nvrtcDestroyProgram(&program) }
        let cOptions = options.map { strdup($0) }
        defer { cOptions.forEach { free($0) } }
        let compiled = cOptions.map { UnsafePointer($0) }.withUnsafeBufferPointer {
            api.pointee.nvrtcCompileProgram(program, Int32(options.count), $0.baseAddress)
        }
        var logSize = 0
        _ = api.pointee.nvrtcGetProgramLogSize(program, &logSize)
        var logBytes = [CChar](repeating: 0, count: max(logSize, 1))
        _ = api.pointee.nvrtcGetProgramLog(program, &logBytes)
        let log = String(cString: logBytes)
        guard compiled == 0 else {
            throw CUDAError.compile(kernel: name, arch: arch, log: log.isEmpty ? message(compiled) : log)
        }
        let a = api.pointee
        // every entry is resolved at load (brv_nvrtc_load fails otherwise)
        let (kind, getSize, get) = isPTX ? ("PTX", a.nvrtcGetPTXSize!, a.nvrtcGetPTX!) : ("CUBIN", a.nvrtcGetCUBINSize!, a.nvrtcGetCUBIN!)
        var size = 0
        try check(getSize(program, &size), "nvrtcGet\(kind)Size", name, arch)
        var image = [UInt8](repeating: 0, count: size)
        try image.withUnsafeMutableBufferPointer { buf in
            try buf.withMemoryRebound(to: CChar.self) { try check(get(program, $0.baseAddress), "nvrtcGet\(kind)", name, arch) }
        }
        let problem = cache?.store(image, key: key, arch: arch)
        if let problem { FileHandle.standardError.write(Data("brevity: \(problem)\n".utf8)) }
        return Output(image: image, isPTX: isPTX, log: log, cached: false, cacheProblem: problem)
    }

    private func message(_ code: brv_nvrtcResult) -> String {
        api.pointee.nvrtcGetErrorString(code).map { String(cString: $0) } ?? "NVRTC error \(code)"
    }

    private func check(_ code: brv_nvrtcResult, _ call: String, _ name: String, _ arch: String) throws {
        if code != 0 { throw CUDAError.compile(kernel: name, arch: arch, log: "\(call): \(message(code))") }
    }
}

/// Compiled kernels on disk: `<folder>/<hash>-<arch>.bin`, written atomically (a temporary file renamed).
public struct KernelCache: Sendable {
    public let folder: URL

    public init(folder: URL) { self.folder = folder }

    /// The `kernelCache` setting (BREVITY_KERNEL_CACHE, else $XDG_CACHE_HOME/brevity/kernels), else
    /// ~/.cache/brevity/kernels.
    public static var standard: KernelCache {
        if let p = EngineSettings.current.kernelCache, !p.isEmpty { return KernelCache(folder: URL(fileURLWithPath: p)) }
        return KernelCache(folder: FileManager.default.homeDirectoryForCurrentUser.appendingPathComponent(".cache/brevity/kernels"))
    }

    /// FNV-1a 64 over the parts (with separators), as 16 hex digits.
    public static func key(_ parts: [String]) -> String {
        var h: UInt64 = 0xcbf2_9ce4_8422_2325
        for part in parts {
            for byte in part.utf8 { h = (h ^ UInt64(byte)) &* 0x100_0000_01b3 }
            h = (h ^ 0xFF) &* 0x100_0000_01b3
        }
        return String(format: "%016llx", h)
    }

    func url(key: String, arch: String) -> URL { folder.appendingPathComponent("\(key)-\(arch).bin") }

    public func load(key: String, arch: String) -> [UInt8]? {
        guard let data = FileManager.default.contents(atPath: url(key: key, arch: arch).path), !data.isEmpty else { return nil }
        return [UInt8](data)
    }

    /// Best effort: a read-only or full disk only costs a recompilation next time. Returns why the image was
    /// not kept, naming the path; nothing is left behind then (the image reaches its name only whole, by
    /// renaming a temporary file written in full).
    @discardableResult
    public func store(_ image: [UInt8], key: String, arch: String) -> String? {
        let target = url(key: key, arch: arch)
        let temp = folder.appendingPathComponent(".\(key)-\(arch).\(getpid()).tmp")
        do { try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true) } catch {
            return "kernel cache: cannot create \(folder.path): \(error); the kernels are compiled again next start"
        }
        if let why = writeWhole(image, to: temp.path) ?? (rename(temp.path, target.path) == 0 ? nil : String(cString: strerror(errno))) {
            unlink(temp.path)
            return "kernel cache: cannot write \(target.path): \(why); the kernels are compiled again next start"
        }
        return nil
    }
}

/// Writes `bytes` to a new file at `path` and syncs it: nil, or why it failed (strerror). A failed file is
/// left for the caller to remove.
func writeWhole(_ bytes: [UInt8], to path: String) -> String? {
    let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
    guard fd >= 0 else { return String(cString: strerror(errno)) }
    defer { close(fd) }
    var off = 0
    while off < bytes.count {
        let n = bytes.withUnsafeBytes { write(fd, $0.baseAddress! + off, bytes.count - off) }
        if n < 0 {
            if errno == EINTR { continue }
            return String(cString: strerror(errno))
        }
        off += n
    }
    return fsync(fd) == 0 ? nil : String(cString: strerror(errno))
}
