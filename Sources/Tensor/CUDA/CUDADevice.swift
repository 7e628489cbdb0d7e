// The GPU the CUDA backend would run on: the driver opened with dlopen (libcuda.so.1, part of the NVIDIA
// driver), the first visible device (the driver honours CUDA_VISIBLE_DEVICES), its name and compute
// capability. `DeviceChoice` is `--device` / DEVICE: cuda, cpu, or auto (CUDA when usable, with the reason
// either way for the start-up log and /health).

import CCUDA
import Foundation

public struct CUDADevice: Sendable {
    public let ordinal: Int
    public let name: String
    public let capability: (major: Int, minor: Int)
    public let memoryBytes: Int
    public let driverVersion: Int

    public init(ordinal: Int, name: String, capability: (major: Int, minor: Int), memoryBytes: Int, driverVersion: Int) {
        self.ordinal = ordinal
        self.name = name
        self.capability = capability
        self.memoryBytes = memoryBytes
        self.driverVersion = driverVersion
    }

    /// sm_XY for NVRTC.
    public var architecture: String { "sm_\(capability.major)\(capability.minor)" }

    /// The driver API (libcuda.so.1), or an error naming what was tried.
    static func driver() throws -> brv_cuda_driver {
        var error = [CChar](repeating: 0, count: 2048)
        guard let api = brv_cuda_driver_load(&error, error.count) else {
            throw CUDAError.libraryMissing("the CUDA driver (libcuda.so.1)", tried: String(cString: error))
        }
        return api.pointee
    }

    /// A driver call's failure as an error naming the call and the driver's message.
    static func check(_ api: brv_cuda_driver, _ code: brv_CUresult, _ call: String) throws {
        guard code != 0 else { return }
        var text: UnsafePointer<CChar>?
        _ = api.cuGetErrorString(code, &text)
        throw CUDAError.driver(call: call, code: code, message: text.map { String(cString: $0) } ?? "unknown")
    }

    /// The first visible device, or an error saying why there is none.
    public static func open() throws -> CUDADevice {
        let d = try driver()
        func check(_ code: brv_CUresult, _ call: String) throws { try CUDADevice.check(d, code, call) }
        try check(d.cuInit(0), "cuInit")
        var version: Int32 = 0, count: Int32 = 0
        try check(d.cuDriverGetVersion(&version), "cuDriverGetVersion")
        try check(d.cuDeviceGetCount(&count), "cuDeviceGetCount")
        guard count > 0 else { throw CUDAError.unusable("the CUDA driver sees no device (CUDA_VISIBLE_DEVICES?)") }
        var device: brv_CUdevice = 0
        try check(d.cuDeviceGet(&device, 0), "cuDeviceGet")
        var name = [CChar](repeating: 0, count: 256)
        try check(d.cuDeviceGetName(&name, Int32(name.count), device), "cuDeviceGetName")
        var major: Int32 = 0, minor: Int32 = 0, bytes = 0
        try check(d.cuDeviceGetAttribute(&major, Int32(BRV_CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR), device), "cuDeviceGetAttribute")
        try check(d.cuDeviceGetAttribute(&minor, Int32(BRV_CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MINOR), device), "cuDeviceGetAttribute")
        try check(d.cuDeviceTotalMem(&bytes, device), "cuDeviceTotalMem")
        return CUDADevice(ordinal: 0, name: String(cString: name), capability: (Int(major), Int(minor)),
                          memoryBytes: bytes, driverVersion: Int(version))
    }
}

public enum DeviceChoice: String, Sendable, CaseIterable {
    case auto, cpu, cuda

    /// What runs, and why: `auto` takes the GPU when one is usable (the device and a compute capability
    /// of 8.0 or newer) and the CUDA backend is built into this binary, else the CPU.
    public func resolve(open: () throws -> CUDADevice = CUDADevice.open,
                        backendAvailable: Bool = CUDADevice.backendAvailable) throws -> (device: CUDADevice?, reason: String) {
        if self == .cpu { return (nil, "--device cpu") }
        do {
            let gpu = try open()
            guard gpu.capability.major >= 8 else {
                throw CUDAError.unusable("\(gpu.name) has compute capability \(gpu.capability.major).\(gpu.capability.minor); 8.0 or newer is needed")
            }
            guard backendAvailable else {
                throw CUDAError.unusable("\(gpu.name) is present, but this build has no CUDA backend")
            }
            return (gpu, "\(gpu.name) (\(gpu.architecture)) found")
        } catch {
            if self == .cuda { throw error }
            return (nil, "no usable GPU: \(error)")
        }
    }
}

extension CUDADevice {
    /// Whether this build can run models on a GPU (`CUDABackend`; each start still runs `CUDAStartup`'s
    /// self-test against the CPU before the GPU serves).
    public static let backendAvailable = true
}
