// A small protobuf wire-format reader (https://protobuf.dev/programming-guides/encoding/), enough for
// SentencePiece's ModelProto: varints, 64-bit, length-delimited and 32-bit fields. Every read is bounds-checked
// and malformed input throws a `TokenizerError` naming the byte offset; unknown fields are skipped.

struct ProtoReader {
    enum WireType: UInt8 {
        case varint = 0, fixed64 = 1, lengthDelimited = 2, startGroup = 3, endGroup = 4, fixed32 = 5
    }

    let bytes: ArraySlice<UInt8>
    /// The index into `bytes` (slices keep their parent's indices).
    private(set) var pos: Int
    /// Names the message in errors, e.g. `spiece.model: pieces[3]`.
    let context: String

    init(_ bytes: ArraySlice<UInt8>, context: String) {
        self.bytes = bytes
        self.pos = bytes.startIndex
        self.context = context
    }

    var atEnd: Bool { pos >= bytes.endIndex }

    func fail(_ message: String, at offset: Int? = nil) -> TokenizerError {
        TokenizerError("\(context): byte \(offset ?? pos): \(message)")
    }

    /// Up to 10 bytes, 7 bits each, least significant group first.
    mutating func varint() throws -> UInt64 {
        let start = pos
        var result: UInt64 = 0
        var shift: UInt64 = 0
        while true {
            guard pos < bytes.endIndex else { throw fail("truncated varint", at: start) }
            let b = bytes[pos]
            pos += 1
            if shift == 63 && b > 1 { throw fail("varint overflows 64 bits", at: start) }
            result |= UInt64(b & 0x7F) << shift
            if b & 0x80 == 0 { return result }
            shift += 7
            if shift > 63 { throw fail("varint longer than 10 bytes", at: start) }
        }
    }

    mutating func fixed32() throws -> UInt32 { try fixed(UInt32.self) }

    mutating func fixed64() throws -> UInt64 { try fixed(UInt64.self) }

    /// A little-endian fixed-width field (wire types 5 and 1).
    private mutating func fixed<T: FixedWidthInteger & UnsignedInteger>(_: T.Type) throws -> T {
        let size = T.bitWidth / 8
        guard bytes.endIndex - pos >= size else { throw fail("truncated \(T.bitWidth)-bit field") }
        var v: T = 0
        for i in 0..<size { v |= T(bytes[pos + i]) << (8 * i) }
        pos += size
        return v
    }

    /// A length-delimited payload (string, bytes or embedded message), checked against what is left.
    mutating func lengthDelimited() throws -> ArraySlice<UInt8> {
        let start = pos
        let n = try varint()
        let left = bytes.endIndex - pos
        guard n <= UInt64(left) else {
            throw fail("length \(n) runs past the end of the message (\(left) bytes left)", at: start)
        }
        let out = bytes[pos..<(pos + Int(n))]
        pos += Int(n)
        return out
    }

    /// The next field's number and wire type, or nil at the end of the message.
    mutating func nextField() throws -> (number: Int, wire: WireType)? {
        if atEnd { return nil }
        let start = pos
        let key = try varint()
        guard let wire = WireType(rawValue: UInt8(key & 7)) else {
            throw fail("invalid wire type \(key & 7)", at: start)
        }
        let number = key >> 3
        guard number >= 1 && number <= 0x1FFF_FFFF else { throw fail("invalid field number \(number)", at: start) }
        return (Int(number), wire)
    }

    /// Skips an unknown field's payload. Groups (deprecated, unused by SentencePiece) are refused.
    mutating func skip(_ wire: WireType) throws {
        switch wire {
        case .varint: _ = try varint()
        case .fixed64: _ = try fixed64()
        case .lengthDelimited: _ = try lengthDelimited()
        case .fixed32: _ = try fixed32()
        case .startGroup, .endGroup: throw fail("groups (wire type \(wire.rawValue)) are not supported")
        }
    }

    /// Fails unless a known field came with the wire type its declaration implies.
    func expect(_ wire: WireType, _ want: WireType, field: String) throws {
        guard wire == want else { throw fail("field \(field) has wire type \(wire.rawValue), expected \(want.rawValue)") }
    }

    // Typed reads of known fields.

    mutating func string(_ wire: WireType, field: String) throws -> String {
        try expect(wire, .lengthDelimited, field: field)
        let start = pos
        let b = try lengthDelimited()
        guard let s = String(validating: b, as: UTF8.self) else { throw fail("field \(field) is not valid UTF-8", at: start) }
        return s
    }

    mutating func data(_ wire: WireType, field: String) throws -> [UInt8] {
        try expect(wire, .lengthDelimited, field: field)
        return Array(try lengthDelimited())
    }

    mutating func message(_ wire: WireType, field: String) throws -> ArraySlice<UInt8> {
        try expect(wire, .lengthDelimited, field: field)
        return try lengthDelimited()
    }

    /// int32 and enum: a varint truncated to 32 bits (negative values are sign-extended to 10 bytes).
    mutating func int32(_ wire: WireType, field: String) throws -> Int32 {
        try expect(wire, .varint, field: field)
        return Int32(truncatingIfNeeded: try varint())
    }

    mutating func bool(_ wire: WireType, field: String) throws -> Bool {
        try expect(wire, .varint, field: field)
        return try varint() != 0
    }

    mutating func float(_ wire: WireType, field: String) throws -> Float {
        try expect(wire, .fixed32, field: field)
        return Float(bitPattern: try fixed32())
    }
}
