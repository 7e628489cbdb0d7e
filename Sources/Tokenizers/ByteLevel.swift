// GPT-2's byte-level alphabet and its pre-tokenization regex, hand-written for speed:
//   's|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+
// (HF `pre_tokenizers/byte_level.rs`).

enum ByteLevelMap {
    /// byte -> the printable scalar standing for it.
    static let byteToScalar: [Unicode.Scalar] = {
        var bs: [Int] = Array(0x21...0x7E) + Array(0xA1...0xAC) + Array(0xAE...0xFF)
        var cs = bs
        var n = 0
        for b in 0..<256 where !bs.contains(b) {
            bs.append(b)
            cs.append(256 + n)
            n += 1
        }
        var table = [Unicode.Scalar](repeating: " ", count: 256)
        for (b, c) in zip(bs, cs) { table[b] = Unicode.Scalar(UInt32(c))! }
        return table
    }()

    /// The UTF-8 encoding of each byte's scalar, for building strings quickly.
    static let byteToUTF8: [[UInt8]] = byteToScalar.map { Array(String($0).utf8) }

    /// scalar value -> byte (or -1) for scalars below 0x144.
    static let scalarToByte: [Int16] = {
        var t = [Int16](repeating: -1, count: 0x144)
        for (b, c) in byteToScalar.enumerated() { t[Int(c.value)] = Int16(b) }
        return t
    }()

    static func encode(_ s: String) -> String {
        var out: [UInt8] = []
        out.reserveCapacity(s.utf8.count * 2)
        for b in s.utf8 { out.append(contentsOf: byteToUTF8[Int(b)]) }
        return String(decoding: out, as: UTF8.self)
    }

    static func encode(bytes: ArraySlice<UInt8>) -> String {
        var out: [UInt8] = []
        out.reserveCapacity(bytes.count * 2)
        for b in bytes { out.append(contentsOf: byteToUTF8[Int(b)]) }
        return String(decoding: out, as: UTF8.self)
    }

    /// The bytes a token stands for, or nil when a scalar is outside the alphabet.
    static func decode(_ token: String) -> [UInt8]? {
        var out: [UInt8] = []
        for c in token.unicodeScalars {
            guard c.value < 0x144, scalarToByte[Int(c.value)] >= 0 else { return nil }
            out.append(UInt8(scalarToByte[Int(c.value)]))
        }
        return out
    }
}

/// Scalar classes for the GPT-2 regex.
enum GPT2Class: UInt8 { case letter, number, space, other }

@inline(__always) func gpt2Class(_ c: Unicode.Scalar) -> GPT2Class {
    if c.value < 0x80 { return asciiClass[Int(c.value)] }
    if c.isWS { return .space }
    if c.isLetter { return .letter }
    if c.isNumber { return .number }
    return .other
}

private let asciiClass: [GPT2Class] = (0..<128).map { v -> GPT2Class in
    let c = Unicode.Scalar(UInt8(v))
    if c.isWS { return .space }
    if c.isLetter { return .letter }
    if c.isNumber { return .number }
    return .other
}

/// Byte ranges of the GPT-2 regex matches in `s` (they cover `s` completely).
func gpt2Split(_ s: String) -> [Range<Int>] {
    var scalars: [Unicode.Scalar] = []
    var offs: [Int] = []
    scalars.reserveCapacity(s.utf8.count)
    offs.reserveCapacity(s.utf8.count + 1)
    var b = 0
    for c in s.unicodeScalars {
        scalars.append(c)
        offs.append(b)
        b += UTF8.width(c)
    }
    offs.append(b)
    let n = scalars.count
    var classes = [GPT2Class](repeating: .other, count: n)
    for i in 0..<n { classes[i] = gpt2Class(scalars[i]) }
    var out: [Range<Int>] = []
    var i = 0
    while i < n {
        let start = i
        let c = scalars[i]
        // 's|'t|'re|'ve|'m|'ll|'d
        if c == "'" && i + 1 < n {
            let c1 = scalars[i + 1]
            if c1 == "s" || c1 == "t" || c1 == "m" || c1 == "d" {
                out.append(offs[i]..<offs[i + 2]); i += 2; continue
            }
            if i + 2 < n {
                let c2 = scalars[i + 2]
                if (c1 == "r" && c2 == "e") || (c1 == "v" && c2 == "e") || (c1 == "l" && c2 == "l") {
                    out.append(offs[i]..<offs[i + 3]); i += 3; continue
                }
            }
        }
        var j = i
        if c == " " && i + 1 < n && classes[i + 1] != .space { j = i + 1 }
        let k = classes[j]
        if k == .letter || k == .number || k == .other {
            //  ?\p{L}+ |  ?\p{N}+ |  ?[^\s\p{L}\p{N}]+
            var e = j + 1
            while e < n && classes[e] == k { e += 1 }
            out.append(offs[start]..<offs[e]); i = e; continue
        }
        // \s+(?!\S) | \s+
        var e = i + 1
        while e < n && classes[e] == .space { e += 1 }
        if e < n && e - i > 1 { e -= 1 }
        out.append(offs[start]..<offs[e]); i = e
    }
    return out
}
