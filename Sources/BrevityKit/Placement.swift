import Foundation
import Tensor

/// Where a model runs and in which type, as `brevity serve`, the commands and ``Summarizer`` choose it:
/// `DEVICE`/`--device` (auto: a GPU when one is usable and passes the start-up self-test against the CPU,
/// else the CPU) and `DTYPE`/`--dtype` (float32 on the CPU unless given; float16 on a GPU, bfloat16 for
/// T5; int8 is CPU-only).
public struct Placement: @unchecked Sendable {
    /// The CPU backend, or a self-tested `CUDABackend` whose tensors are all `weightType`.
    public let backend: any Backend
    /// The type the weights are held in (float32, bfloat16, float16, int8).
    public let weightType: DType
    /// Why it runs there, for logs and `/health` ("--device cpu", "no usable GPU: ...", ...).
    public let reason: String
    /// The GPU that was found but not used, and why (only with `auto`).
    public let gpuFailure: (gpu: String, error: Error)?
    /// Seconds the GPU took to open and pass the self-test (0 on the CPU).
    public let gpuSeconds: Double
    /// What was asked: the device (`auto`, `cpu`, `cuda`) and the type (nil: the device's default).
    public var requested: (device: DeviceChoice, dtype: DType?) = (.cpu, nil)

    /// The type activations are computed in: float32 on the CPU (narrower weights are widened in the
    /// products), the GPU's one type there.
    public var activationType: DType { backend.heldType(.f32) }

    /// The GPU's name when the model runs on one.
    public var gpuName: String? { (backend as? CUDABackend)?.deviceName }

    /// The CPU in `type`.
    public static func cpu(_ type: DType = .f32, reason: String = "--device cpu") -> Placement {
        Placement(backend: CPUBackend.shared, weightType: type, reason: reason, gpuFailure: nil, gpuSeconds: 0, requested: (.cpu, type))
    }

    /// Places a model of `modelType` (config.json's, for T5's bfloat16 default): `gpu` is what
    /// `DeviceChoice.resolve()` found for `choice` (nil: the CPU, for `foundReason`), `dtype` the type asked
    /// for (nil: the device's default, `weightType(requested:onGPU:modelType:)`). With `cuda` a GPU that
    /// fails its self-test throws; with `auto` the CPU serves and `gpuFailure` says why.
    public static func choose(gpu: CUDADevice?, choice: DeviceChoice, foundReason: String, dtype: DType?,
                              modelType: String?) throws -> Placement {
        var placed = try place(gpu: gpu, choice: choice, foundReason: foundReason, dtype: dtype, modelType: modelType)
        placed.requested = (choice, dtype)
        return placed
    }

    private static func place(gpu: CUDADevice?, choice: DeviceChoice, foundReason: String, dtype: DType?,
                              modelType: String?) throws -> Placement {
        EngineEnvironment.apply()
        let cpuType = weightType(requested: dtype, onGPU: false)
        guard let gpu else { return .cpu(cpuType, reason: foundReason) }
        let type = weightType(requested: dtype, onGPU: true, modelType: modelType)
        let t0 = Date()
        switch try CUDAStartup.place(gpu, choice: choice, dtype: type) {
        case let .success(backend):
            return Placement(backend: backend, weightType: type,
                             reason: "\(foundReason); it passed the start-up self-test in \(type.userName)",
                             gpuFailure: nil, gpuSeconds: Date().timeIntervalSince(t0))
        case let .failure(error):
            return Placement(backend: CPUBackend.shared, weightType: cpuType,
                             reason: "\(gpu.name) was found but not used: \(error)", gpuFailure: (gpu.name, error), gpuSeconds: 0)
        }
    }

    /// The same from the device's and the type's names as a user gives them (`auto`, `cpu`, `cuda`; DTYPE's
    /// names): finds the GPU first.
    public static func choose(device: String, dtype: String?, modelType: String?) throws -> Placement {
        EngineEnvironment.apply()
        guard let choice = parseDevice(device) else { throw PlacementError("device \(device): expected auto, cpu or cuda") }
        let type = try parseDType(dtype)
        let (gpu, reason) = try choice.resolve()
        return try choose(gpu: gpu, choice: choice, foundReason: reason, dtype: type, modelType: modelType)
    }

    /// The weights' type: `requested` when given, else the device's default: float32 on a CPU, where outputs
    /// equal transformers' float32; float16 on a GPU, the originals' default there, or bfloat16 for
    /// `modelType` t5, whose v1.1 and FLAN-T5 checkpoints overflow float16 in their feed-forward outputs,
    /// which transformers keeps in float32.
    public static func weightType(requested: DType?, onGPU: Bool, modelType: String? = nil) -> DType {
        requested ?? (onGPU ? (modelType == "t5" ? .bf16 : .f16) : .f32)
    }

    /// DEVICE's and `--device`'s one parse: auto, cpu or cuda in any case; nil for anything else.
    public static func parseDevice(_ s: String) -> DeviceChoice? { DeviceChoice(rawValue: s.lowercased()) }

    /// DTYPE's one parse: float32 (fp32), bfloat16 (bf16), float16 (fp16), int8 in any case; nil, empty or
    /// `auto` give nil, the device's default.
    public static func parseDType(_ s: String?) throws -> DType? {
        guard let s, !s.isEmpty, s.lowercased() != "auto" else { return nil }
        guard let d = DType(userName: s) else {
            throw PlacementError("DTYPE=\(s): expected float32 (fp32), bfloat16 (bf16), float16 (fp16) or int8")
        }
        return d
    }
}

/// A device or type that cannot be used, with the reason for the operator.
public struct PlacementError: Error, CustomStringConvertible {
    /// The reason, naming the setting ("DTYPE=int4: expected ...").
    public let description: String
    /// An error with `description` as its message.
    public init(_ description: String) { self.description = description }
}
