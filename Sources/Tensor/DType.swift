// Element types a checkpoint may store. Compute is float32: f16 and bf16 are widened on load.

public enum DType: String, Sendable, CaseIterable {
    case f32 = "F32"
    case f16 = "F16"
    case bf16 = "BF16"

    public var byteSize: Int {
        switch self {
        case .f32: return 4
        case .f16, .bf16: return 2
        }
    }

    /// Widens `count` elements at `source` (any alignment) into float32 at `destination`.
    public func widen(_ source: UnsafeRawPointer, count: Int, into destination: UnsafeMutablePointer<Float>) {
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
        }
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
