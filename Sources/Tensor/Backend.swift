// The small contract a compute backend fulfils: memory, and the operations encoder-decoder
// transformers need. Activations are float32; weights (the `weight` argument of `linear`, `embedding`'s
// table) may be any `DType`, fixed at load by `weight(from:...)`. The CPU backend implements it with its C
// kernels and OpenBLAS; a CUDA backend joins by implementing the same protocol, without touching model code.

public enum Activation: String, Sendable {
    case gelu           // exact erf GELU (HF "gelu")
    case geluTanh       // HF "gelu_new" / "gelu_pytorch_tanh"
    case relu
    case silu
    case tanh

    /// Hugging Face `activation_function` names.
    public init?(huggingFace name: String) {
        switch name {
        case "gelu": self = .gelu
        case "gelu_new", "gelu_pytorch_tanh", "gelu_fast": self = .geluTanh
        case "relu": self = .relu
        case "silu", "swish": self = .silu
        case "tanh": self = .tanh
        default: return nil
        }
    }
}

/// One sequence's share of a packed attention call.
/// Query rows `queryStart..<queryStart+queryCount` of the packed query attend to rows
/// `keyStart..<keyStart+keyCount` of `keys[keyIndex]` / `values[keyIndex]`. With `causal`, query j (0-based in the span) sees keys
/// `0..<(keyCount - queryCount + j + 1)`: the new tokens are the last `queryCount` keys.
public struct AttentionSpan: Sendable {
    public var queryStart: Int
    public var queryCount: Int
    public var keyIndex: Int
    public var keyStart: Int
    public var keyCount: Int
    public var causal: Bool

    public init(queryStart: Int, queryCount: Int, keyIndex: Int, keyStart: Int = 0, keyCount: Int, causal: Bool) {
        self.queryStart = queryStart
        self.queryCount = queryCount
        self.keyIndex = keyIndex
        self.keyStart = keyStart
        self.keyCount = keyCount
        self.causal = causal
    }
}

/// T5's relative position bias, added to the attention scores before the softmax: for query position q and
/// key position k of a span, head h adds `table[h, clamp(k - q, -radius, radius) + radius]`. The model
/// fills `table` ([heads, 2·radius + 1], float32) from its bucket embedding: beyond ±radius every
/// distance falls in the same bucket. Query positions are those of the span's last `queryCount` keys
/// (q = keyCount - queryCount + j), so the same table serves the encoder and the cached decoder.
public struct RelativePositionBias: @unchecked Sendable {
    public let table: Tensor   // [heads, 2·radius + 1]
    public let radius: Int

    public init(table: Tensor, radius: Int) {
        require(table.columns == 2 * radius + 1, "relative bias: \(table.columns) columns for radius \(radius)")
        self.table = table
        self.radius = radius
    }
}

public protocol Backend: AnyObject, Sendable {
    var name: String { get }

    // memory
    func allocate(count: Int, zeroed: Bool) -> TensorStorage
    func upload(_ values: UnsafeBufferPointer<Float>) -> TensorStorage
    func download(_ tensor: Tensor) -> [Float]
    /// The type this backend holds a weight asked for in `requested`: the CPU holds each type asked for
    /// (projections in DTYPE, vectors in float32); a GPU backend holds every tensor in its one type.
    func heldType(_ requested: DType) -> DType
    /// A checkpoint tensor seen as [rows, columns], held as `target` (a type `heldType` gives), made from
    /// host memory of `sourceType` (a mapped checkpoint kept alive by `owner`): widened, narrowed, or
    /// quantized per row for int8. The CPU backend uses the mapped bytes in place when the types agree.
    func weight(from source: UnsafeRawPointer, type sourceType: DType, rows: Int, columns: Int, as target: DType,
                owner: AnyObject) -> TensorStorage
    func copy(_ storage: TensorStorage, count: Int) -> TensorStorage
    /// dst rows `row..<row+rows` (row width `width`) = src rows `row..<row+rows`.
    func copyRows(from source: Tensor, row sourceRow: Int, into destination: TensorStorage, row: Int, rows: Int,
                  width: Int)

    // ops
    /// x: [N, K] · weight: [M, K]ᵀ + bias: [M] -> [N, M] (weight of any DType; int8 rows times their scales)
    func linear(_ x: Tensor, weight: Tensor, bias: Tensor?) -> Tensor
    func add(_ a: Tensor, _ b: Tensor) -> Tensor
    /// Element-wise a · b (gated feed-forward layers).
    func multiply(_ a: Tensor, _ b: Tensor) -> Tensor
    /// Over the last dimension.
    func layerNorm(_ x: Tensor, weight: Tensor, bias: Tensor, eps: Float) -> Tensor
    /// T5's RMS norm over the last dimension: x · rsqrt(mean(x²) + eps) · weight (no mean, no bias).
    func rmsNorm(_ x: Tensor, weight: Tensor, eps: Float) -> Tensor
    func activation(_ x: Tensor, _ kind: Activation) -> Tensor
    func embedding(_ ids: [Int], table: Tensor, scale: Float) -> Tensor
    func gatherRows(_ x: Tensor, rows: [Int]) -> Tensor
    func logSoftmax(_ x: Tensor) -> Tensor
    /// query: [Nq, H*D] packed over spans; keys[i], values[i]: [capacity_i, H*D] -> [Nq, H*D].
    /// scores = scale · q·kᵀ (+ the relative position bias), softmax over each query's visible keys.
    func attention(query: Tensor, keys: [Tensor], values: [Tensor], spans: [AttentionSpan], heads: Int,
                   scale: Float, bias: RelativePositionBias?) -> Tensor

    /// Whether `topK` runs where the tensors are, so a caller should ask it for the best entries of rows
    /// rather than read whole rows (a GPU: only the candidates cross to the host).
    var ranksOnDevice: Bool { get }
    /// Rows a decoder pass may hold at about the cost of one (its products stay bound by reading the
    /// weights): where drafted positions are nearly free. Past it each row adds its arithmetic.
    var nearlyFreeRows: Int { get }
    /// The best k entries of some rows of `logits` [rows, V] (RowTopK.swift), with each row's log-softmax
    /// constants and the excluded columns' raw values.
    func topK(_ logits: Tensor, rows: [TopKRow], k: Int) -> [TopKRowResult]
}

public extension Backend {
    /// The host reads the rows and ranks them (the CPU backend's tensors already are host memory).
    var ranksOnDevice: Bool { false }
    /// A GPU's pass is bound by its launches and the weights' bytes well past the rows a pass may hold.
    var nearlyFreeRows: Int { 64 }
    func topK(_ logits: Tensor, rows: [TopKRow], k: Int) -> [TopKRowResult] {
        hostTopK(logits, rows: rows, k: k)
    }

    /// Attention without a position bias (BART, Pegasus, BERT).
    func attention(query: Tensor, keys: [Tensor], values: [Tensor], spans: [AttentionSpan], heads: Int,
                   scale: Float) -> Tensor {
        attention(query: query, keys: keys, values: values, spans: spans, heads: heads, scale: scale, bias: nil)
    }
}
