import Extractive
import Generation
import Models
import Tensor

// The engine's types that BrevityKit's API speaks in, under BrevityKit's name: a program (and the service)
// imports BrevityKit alone. Each is the engine type itself, not a copy.

/// Generation values with transformers' names (`max_length`, `num_beams`, ...), as a request gives them.
public typealias GenerationConfig = Generation.GenerationConfig
/// What a request may set of the generation, with transformers' names (``SummaryRequest/parameters``).
public typealias GenerationParameters = Generation.GenerationParameters
/// Generation values merged over the model's defaults and checked: what one text decodes with.
public typealias ResolvedGeneration = Generation.ResolvedGeneration
/// A generation value out of its bounds, naming the field.
public typealias GenerationError = Generation.GenerationError
/// A beam search's stopping rule (`early_stopping`: true, false or "never").
public typealias EarlyStopping = Generation.EarlyStopping
/// How an extractive summary chooses its sentences.
public typealias ExtractiveStrategy = Extractive.ExtractiveStrategy
/// How long an extractive summary is: sentences, a ratio or a token budget.
public typealias SummaryLength = Extractive.SummaryLength
/// An extractive summary: its text and the input's sentences it kept.
public typealias ExtractiveSummary = Extractive.ExtractiveSummary
/// The weights' element type: float32, bfloat16, float16 or int8.
public typealias DType = TensorModuleTypes.ElementType
/// `--device` / `DEVICE`: auto, cpu or cuda.
public typealias DeviceChoice = TensorModuleTypes.Device
/// A CUDA device that passed its self-test.
public typealias CUDADevice = TensorModuleTypes.GPU

/// What the process runs on, for `/health` and the start-up log.
public enum RuntimeFacts {
    /// The CPU kernels' instruction-set tier in use (e.g. avx2, avx512).
    public static var cpuKernels: String { CPUBackend.shared.tier.name }
    /// What runs the CPU's larger products in weights of `dtype` (a user name such as "bfloat16"), and why.
    public static func cpuProducts(dtype: String) -> String { MatrixLibrary.products(DType(userName: dtype) ?? .f32) }
    /// The model types (config.json `model_type`) this build runs, and their role (seq2seq or encoder).
    public static var supportedModelTypes: [String: String] { ModelRegistry.architectures.mapValues(\.role.rawValue) }
}
