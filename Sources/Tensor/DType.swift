// Element types. Checkpoints store f32, f16 or bf16; weights are kept in the type chosen at load (DTYPE):
// f32, f16, bf16, or int8 with one float32 scale per 64 elements of a row (symmetric, BRV_I8_GROUP). Activations,
// norms and biases stay float32 on the CPU; products widen weights to float32 in registers and accumulate
// in float32 (Sources/CKernels).

import CKernels

public enum DType: String, Sendable, CaseIterable {
    case f32 = "F32"
    case f16 = "F16"
    case bf16 = "BF16"
    /// int8 weights, row r = q[r, :] · scales[r]; never a checkpoint type here (safetensors' raw I8 has no scales).
    case int8 = "I8"

    public var byteSize: Int {
        switch self {
        case .f32: return 4
        case .f16, .bf16: return 2
        case .int8: return 1
        }
    }

    /// The types a checkpoint tensor may be read from.
    public var isCheckpointType: Bool { self != .int8 }

    /// Names as `DTYPE` and `--dtype` take them (the originals' values and the usual aliases).
    public init?(userName: String) {
        switch userName.lowercased() {
        case "float32", "fp32", "f32": self = .f32
        case "float16", "fp16", "f16", "half": self = .f16
        case "bfloat16", "bf16": self = .bf16
        case "int8", "i8", "qint8": self = .int8
        default: return nil
        }
    }

    /// The name reported in `/health` and logs (torch's spelling).
    public var userName: String {
        switch self {
        case .f32: return "float32"
        case .f16: return "float16"
        case .bf16: return "bfloat16"
        case .int8: return "int8"
        }
    }

    /// The kernels' code for weights of this type.
    var kernelCode: Int32 {
        switch self {
        case .f32: return Int32(BRV_W_F32)
        case .bf16: return Int32(BRV_W_BF16)
        case .f16: return Int32(BRV_W_F16)
        case .int8: return Int32(BRV_W_I8)
        }
    }

    /// int8 rows share one scale per this many consecutive elements (the C kernels' BRV_I8_GROUP).
    public static let int8Group = Int(BRV_I8_GROUP)

    /// Group scales per row of `columns` int8 elements.
    public static func int8Groups(columns: Int) -> Int { (columns + int8Group - 1) / int8Group }

    /// Widens `count` elements at `source` (any alignment) into float32 at `destination`; int8 elements
    /// are multiplied by their group's scale from `scales` (the row's group scales).
    public func widen(_ source: UnsafeRawPointer, count: Int, into destination: UnsafeMutablePointer<Float>,
                      scales: UnsafePointer<Float>? = nil) {
        switch self {
        case .f32:
            UnsafeMutableRawPointer(destination).copyMemory(from: source, byteCount: count * 4)
        case .bf16:
            for i in 0..<count {
                let bits = UInt32(source.loadUnaligned(fromByteOffset: 2 * i, as: UInt16.self)) << 16
                destination[i] = Float(bitPattern: bits)
            }
        case .f16:
            for i in 0..<count {
                destination[i] = halfToFloat(source.loadUnaligned(fromByteOffset: 2 * i, as: UInt16.self))
            }
        case .int8:
            require(scales != nil, "widen: int8 needs its scales")
            brv_widen(Int32(BRV_W_I8), source, scales, destination, count)
        }
    }

    /// Narrows `count` float32 values into this (floating) type at `destination`, rounding to nearest even.
    public func narrow(_ source: UnsafePointer<Float>, count: Int, into destination: UnsafeMutableRawPointer) {
        switch self {
        case .f32:
            destination.copyMemory(from: source, byteCount: count * 4)
        case .bf16:
            let d = destination.assumingMemoryBound(to: UInt16.self)
            for i in 0..<count { d[i] = floatToBFloat16(source[i]) }
        case .f16:
            let d = destination.assumingMemoryBound(to: UInt16.self)
            for i in 0..<count { d[i] = floatToHalf(source[i]) }
        case .int8:
            require(false, "narrow: int8 needs scales (quantizeRow)")
        }
    }
}

/// Symmetric int8 quantization of one weight row in groups of `DType.int8Group` elements (as llama.cpp's
/// Q8_0): q = round(w / s), s = max|w| / 127 over the group, written to `scales` (one per group). Groups
/// keep a row's outliers from flattening the rest of it (one scale per row costs all-MiniLM-L6-v2's
/// embeddings cosine 0.996 against float32; groups of 64 keep it above 0.999). An all-zero group gets s = 0.
public func quantizeRow(_ source: UnsafePointer<Float>, count: Int, into q: UnsafeMutablePointer<Int8>,
                        scales: UnsafeMutablePointer<Float>) {
    let g = DType.int8Group
    for (n, start) in stride(from: 0, to: count, by: g).enumerated() {
        let end = min(count, start + g)
        var amax: Float = 0
        for i in start..<end { amax = max(amax, abs(source[i])) }
        guard amax > 0, amax.isFinite else {
            for i in start..<end { q[i] = 0 }
            scales[n] = 0
            continue
        }
        let inv = 127 / amax
        for i in start..<end { q[i] = Int8(max(-127, min(127, (source[i] * inv).rounded(.toNearestOrEven)))) }
        scales[n] = amax / 127
    }
}

/// IEEE 754 binary16 bits -> Float (exact; Float16 is unavailable on some Linux targets).
@inline(__always)
public func halfToFloat(_ h: UInt16) -> Float {
    let sign = UInt32(h & 0x8000) << 16
    let exponent = Int((h >> 10) & 0x1F)
    let mantissa = UInt32(h & 0x3FF)
    if exponent == 0 {
        if mantissa == 0 { return Float(bitPattern: sign) }
        // subnormal: mantissa * 2^-24
        let value = Float(mantissa) * Float(bitPattern: 0x3380_0000)
        return sign != 0 ? -value : value
    }
    if exponent == 31 {
        return Float(bitPattern: sign | 0x7F80_0000 | (mantissa << 13))
    }
    return Float(bitPattern: sign | UInt32(exponent - 15 + 127) << 23 | (mantissa << 13))
}

/// Float -> binary16 bits, round to nearest even (tests write f16 checkpoints with it).
public func floatToHalf(_ f: Float) -> UInt16 {
    let bits = f.bitPattern
    let sign = UInt16((bits >> 16) & 0x8000)
    let exponent = Int((bits >> 23) & 0xFF) - 127 + 15
    var mantissa = bits & 0x7F_FFFF
    if (bits >> 23) & 0xFF == 0xFF { return sign | 0x7C00 | (mantissa != 0 ? 0x200 : 0) }
    if exponent >= 31 { return sign | 0x7C00 }
    if exponent <= 0 {
        if exponent < -10 { return sign }
        mantissa |= 0x80_0000
        let shift = UInt32(14 - exponent)
        var half = mantissa >> shift
        let rem = mantissa & ((1 << shift) - 1), halfway = UInt32(1) << (shift - 1)
        if rem > halfway || (rem == halfway && half & 1 == 1) { half += 1 }
        return sign | UInt16(half)
    }
    var half = UInt32(exponent) << 10 | (mantissa >> 13)
    let rem = mantissa & 0x1FFF
    if rem > 0x1000 || (rem == 0x1000 && half & 1 == 1) { half += 1 }
    return sign | UInt16(half)
}

/// Float -> bfloat16 bits, round to nearest even.
public func floatToBFloat16(_ f: Float) -> UInt16 {
    let bits = f.bitPattern
    if f.isNaN { return 0x7FC0 }
    let rounding = ((bits >> 16) & 1) + 0x7FFF
    return UInt16((bits &+ rounding) >> 16)
}

/// `f` rounded to bfloat16 (nearest even) and back: the value a bfloat16 product sees.
public func bfloat16Rounded(_ f: Float) -> Float {
    Float(bitPattern: UInt32(floatToBFloat16(f)) << 16)
}
