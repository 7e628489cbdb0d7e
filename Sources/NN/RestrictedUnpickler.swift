// A restricted unpickler for PyTorch state dicts (`data.pkl` inside a torch >= 1.6 zip checkpoint).
//
// Python's pickle is a small stack machine whose GLOBAL + REDUCE opcodes call arbitrary functions: a
// checkpoint can run `os.system` on load. This one *interprets* the opcodes into plain values and never
// calls anything: the only globals it accepts are the ones a state dict needs (the tensor rebuild
// functions, storage types, OrderedDict), each of which it models itself; any other global (os.system,
// builtins.eval, ...) or an object-building opcode (INST, OBJ, NEWOBJ, ...) is refused with an error
// naming it, before anything after it is read. Reference: CPython's Lib/pickle.py and pickletools.py,
// torch/serialization.py (`_load`, persistent ids) and torch/_utils.py (`_rebuild_tensor_v2`).

import Foundation

/// A value on the unpickler's stack. Lists and dicts are reference types, as in Python: the memo and the
/// stack may share one and APPENDS/SETITEMS must be seen through both.
public indirect enum PickleValue: CustomStringConvertible {
    case none
    case bool(Bool)
    case int(Int)
    case float(Double)
    case string(String)
    case bytes([UInt8])
    case tuple([PickleValue])
    case list(PickleList)
    case dict(PickleDict)
    /// An allowed global, not yet called (`torch._utils._rebuild_tensor_v2`, `torch.FloatStorage`, ...).
    case global(module: String, name: String)
    /// A storage named by a persistent id: `('storage', torch.FloatStorage, '0', 'cpu', 12)`.
    case storage(PickleStorage)
    case tensor(PickleTensor)

    /// Bounded: a pickle can build cyclic or enormous values, and errors quote them.
    public var description: String { describe(depth: 0) }

    func describe(depth: Int) -> String {
        if depth > 4 { return "..." }
        func list(_ items: [PickleValue]) -> String {
            items.prefix(8).map { $0.describe(depth: depth + 1) }.joined(separator: ", ") + (items.count > 8 ? ", ..." : "")
        }
        switch self {
        case .none: return "None"
        case .bool(let b): return b ? "True" : "False"
        case .int(let i): return String(i)
        case .float(let d): return String(d)
        case .string(let s): return s.count > 80 ? "'\(s.prefix(80))...'" : "'\(s)'"
        case .bytes(let b): return "b<\(b.count) bytes>"
        case .tuple(let t): return "(" + list(t) + ")"
        case .list(let l): return "[" + list(l.items) + "]"
        case .dict(let d):
            return "{" + d.items.prefix(8).map { "\($0.key.describe(depth: depth + 1)): \($0.value.describe(depth: depth + 1))" }
                .joined(separator: ", ") + (d.items.count > 8 ? ", ..." : "") + "}"
        case let .global(m, n): return "\(m).\(n)"
        case .storage(let s): return "storage(\(s.key), \(s.dtype), \(s.count))"
        case .tensor(let t): return "tensor(\(t.dtype), \(t.shape))"
        }
    }
}

public final class PickleList { public var items: [PickleValue] = [] }
public final class PickleDict { public var items: [(key: PickleValue, value: PickleValue)] = [] }

public struct PickleStorage {
    public let key: String          // the record `data/<key>` in the zip
    public let dtype: String        // safetensors names: F32, F16, BF16, F64, I64, ...
    public let elementSize: Int
    public let count: Int           // elements
}

public struct PickleTensor {
    public let storage: PickleStorage
    public let offset: Int          // elements into the storage
    public let shape: [Int]
    public let stride: [Int]
    public var dtype: String { storage.dtype }
}

public struct UnpicklingError: Error, CustomStringConvertible {
    public let description: String
    init(_ message: String) { description = message }
}

/// Interprets a pickle into a `PickleValue`, calling nothing. Storages come from persistent ids.
public struct RestrictedUnpickler {
    /// torch storage classes -> (safetensors dtype name, element size).
    public static let storageTypes: [String: (String, Int)] = [
        "FloatStorage": ("F32", 4), "HalfStorage": ("F16", 2), "BFloat16Storage": ("BF16", 2),
        "DoubleStorage": ("F64", 8), "LongStorage": ("I64", 8), "IntStorage": ("I32", 4),
        "ShortStorage": ("I16", 2), "CharStorage": ("I8", 1), "ByteStorage": ("U8", 1), "BoolStorage": ("BOOL", 1),
    ]
    /// Callables a state dict needs; each is modelled below, none is ever executed.
    public static let allowedCallables: Set<String> = [
        "collections.OrderedDict",
        "torch._utils._rebuild_tensor", "torch._utils._rebuild_tensor_v2",
        "torch._utils._rebuild_parameter", "torch._utils._rebuild_parameter_with_state",
    ]

    public static func isAllowed(module: String, name: String) -> Bool {
        if module == "torch", storageTypes[name] != nil { return true }
        return allowedCallables.contains("\(module).\(name)")
    }

    private let bytes: [UInt8]
    private var pos = 0
    private var stack: [PickleValue] = []
    private var marks: [Int] = []
    private var memo: [Int: PickleValue] = [:]
    private let what: String

    /// `what` names the source in errors (`pytorch_model.bin: archive/data.pkl`).
    public init(_ bytes: [UInt8], what: String) {
        self.bytes = bytes
        self.what = what
    }

    public static func load(_ bytes: [UInt8], what: String) throws -> PickleValue {
        var u = RestrictedUnpickler(bytes, what: what)
        return try u.run()
    }

    // MARK: reading

    private func fail(_ message: String) -> UnpicklingError {
        UnpicklingError("\(what): \(message) (at byte \(pos))")
    }

    private mutating func take(_ n: Int) throws -> ArraySlice<UInt8> {
        guard n >= 0, pos + n <= bytes.count else { throw fail("truncated pickle") }
        defer { pos += n }
        return bytes[pos..<pos + n]
    }

    private mutating func uint(_ n: Int) throws -> UInt64 {
        var v: UInt64 = 0
        for (i, b) in try take(n).enumerated() { v |= UInt64(b) << (8 * UInt64(i)) }
        return v
    }

    private mutating func length(_ n: Int) throws -> Int {
        let v = try uint(n)
        guard v <= UInt64(bytes.count) else { throw fail("length \(v) past the end of the pickle") }
        return Int(v)
    }

    private mutating func line() throws -> String {
        guard let nl = bytes[pos...].firstIndex(of: 0x0A) else { throw fail("unterminated line") }
        defer { pos = nl + 1 }
        return String(decoding: bytes[pos..<nl], as: UTF8.self)
    }

    private mutating func pop() throws -> PickleValue {
        guard let v = stack.popLast() else { throw fail("stack underflow") }
        if let m = marks.last, stack.count < m { throw fail("stack underflow past a MARK") }
        return v
    }

    private mutating func popMark() throws -> [PickleValue] {
        guard let m = marks.popLast() else { throw fail("no MARK on the stack") }
        guard m <= stack.count else { throw fail("corrupt MARK") }
        defer { stack.removeSubrange(m...) }
        return Array(stack[m...])
    }

    private mutating func top() throws -> PickleValue {
        guard let v = stack.last else { throw fail("stack underflow") }
        return v
    }

    /// Two's-complement little-endian integer (LONG1/LONG4); must fit in 64 bits.
    private func long(_ b: ArraySlice<UInt8>) throws -> Int {
        if b.isEmpty { return 0 }
        guard b.count <= 8 else { throw fail("integer of \(b.count) bytes does not fit in 64 bits") }
        var v: UInt64 = 0
        for (i, byte) in b.enumerated() { v |= UInt64(byte) << (8 * UInt64(i)) }
        if b.count < 8, b.last! & 0x80 != 0 { v |= ~UInt64(0) << (8 * UInt64(b.count)) }
        return Int(bitPattern: UInt(v))
    }

    private mutating func global(_ module: String, _ name: String) throws -> PickleValue {
        guard RestrictedUnpickler.isAllowed(module: module, name: name) else {
            throw fail("refusing global '\(module).\(name)': a state dict may reference only "
                + "torch storage types, torch._utils tensor rebuild functions and collections.OrderedDict; "
                + "nothing was executed")
        }
        return .global(module: module, name: name)
    }

    // MARK: the machine

    public mutating func run() throws -> PickleValue {
        while true {
            guard pos < bytes.count else { throw fail("pickle ends without STOP") }
            let op = bytes[pos]
            pos += 1
            switch op {
            case 0x80: _ = try take(1)                                          // PROTO
            case 0x95: _ = try take(8)                                          // FRAME (protocol 4)
            case 0x2E: return try pop()                                         // STOP
            case 0x28: marks.append(stack.count)                                // MARK
            case 0x30: _ = try pop()                                            // POP
            case 0x31: _ = try popMark()                                        // POP_MARK
            case 0x32: stack.append(try top())                                  // DUP
            case 0x4E: stack.append(.none)                                      // NONE
            case 0x88: stack.append(.bool(true))                                // NEWTRUE
            case 0x89: stack.append(.bool(false))                               // NEWFALSE
            case 0x4A: stack.append(.int(Int(Int32(bitPattern: UInt32(try uint(4))))))   // BININT
            case 0x4B: stack.append(.int(Int(try uint(1))))                     // BININT1
            case 0x4D: stack.append(.int(Int(try uint(2))))                     // BININT2
            case 0x8A: let n = try length(1); stack.append(.int(try long(try take(n))))   // LONG1
            case 0x8B: let n = try length(4); stack.append(.int(try long(try take(n))))   // LONG4
            case 0x49:                                                          // INT (text)
                let s = try line()
                if s == "01" { stack.append(.bool(true)) } else if s == "00" { stack.append(.bool(false)) }
                else if let i = Int(s) { stack.append(.int(i)) } else { throw fail("bad INT '\(s)'") }
            case 0x4C:                                                          // LONG (text)
                var s = try line()
                if s.hasSuffix("L") { s.removeLast() }
                guard let i = Int(s) else { throw fail("bad LONG '\(s)'") }
                stack.append(.int(i))
            case 0x47:                                                          // BINFLOAT (big-endian)
                stack.append(.float(Double(bitPattern: (try uint(8)).byteSwapped)))
            case 0x46:                                                          // FLOAT (text)
                let s = try line()
                guard let d = Double(s) else { throw fail("bad FLOAT '\(s)'") }
                stack.append(.float(d))
            case 0x58: let n = try length(4); stack.append(.string(String(decoding: try take(n), as: UTF8.self)))  // BINUNICODE
            case 0x8C: let n = try length(1); stack.append(.string(String(decoding: try take(n), as: UTF8.self)))  // SHORT_BINUNICODE
            case 0x8D: let n = try length(8); stack.append(.string(String(decoding: try take(n), as: UTF8.self)))  // BINUNICODE8
            case 0x56: stack.append(.string(try line()))                        // UNICODE (raw-unicode-escape; ASCII here)
            case 0x54: let n = try length(4); stack.append(.string(String(decoding: try take(n), as: UTF8.self)))  // BINSTRING
            case 0x55: let n = try length(1); stack.append(.string(String(decoding: try take(n), as: UTF8.self)))  // SHORT_BINSTRING
            case 0x42: let n = try length(4); stack.append(.bytes(Array(try take(n))))  // BINBYTES
            case 0x43: let n = try length(1); stack.append(.bytes(Array(try take(n))))  // SHORT_BINBYTES
            case 0x8E: let n = try length(8); stack.append(.bytes(Array(try take(n))))  // BINBYTES8
            case 0x29: stack.append(.tuple([]))                                 // EMPTY_TUPLE
            case 0x74: stack.append(.tuple(try popMark()))                      // TUPLE
            case 0x85: let a = try pop(); stack.append(.tuple([a]))             // TUPLE1
            case 0x86: let b = try pop(), a = try pop(); stack.append(.tuple([a, b]))               // TUPLE2
            case 0x87: let c = try pop(), b = try pop(), a = try pop(); stack.append(.tuple([a, b, c]))  // TUPLE3
            case 0x5D: stack.append(.list(PickleList()))                        // EMPTY_LIST
            case 0x6C: let l = PickleList(); l.items = try popMark(); stack.append(.list(l))  // LIST
            case 0x61:                                                          // APPEND
                let v = try pop()
                guard case .list(let l) = try top() else { throw fail("APPEND to a non-list") }
                l.items.append(v)
            case 0x65:                                                          // APPENDS
                let vs = try popMark()
                guard case .list(let l) = try top() else { throw fail("APPENDS to a non-list") }
                l.items.append(contentsOf: vs)
            case 0x7D: stack.append(.dict(PickleDict()))                        // EMPTY_DICT
            case 0x64:                                                          // DICT
                let kv = try popMark()
                let d = PickleDict()
                try setItems(d, kv)
                stack.append(.dict(d))
            case 0x73:                                                          // SETITEM
                let v = try pop(), k = try pop()
                guard case .dict(let d) = try top() else { throw fail("SETITEM on a non-dict") }
                d.items.append((k, v))
            case 0x75:                                                          // SETITEMS
                let kv = try popMark()
                guard case .dict(let d) = try top() else { throw fail("SETITEMS on a non-dict") }
                try setItems(d, kv)
            case 0x63:                                                          // GLOBAL "module\nname\n"
                let module = try line(), name = try line()
                stack.append(try global(module, name))
            case 0x93:                                                          // STACK_GLOBAL
                guard case .string(let name) = try pop(), case .string(let module) = try pop() else {
                    throw fail("STACK_GLOBAL needs two strings")
                }
                stack.append(try global(module, name))
            case 0x52:                                                          // REDUCE
                let args = try pop(), callable = try pop()
                stack.append(try call(callable, args))
            case 0x62:                                                          // BUILD: state on an allowed object
                let state = try pop()
                switch try top() {
                case .dict, .tensor: break      // OrderedDict._metadata, Parameter state: not needed
                default: throw fail("BUILD on \(try top()) with state \(state) is not allowed")
                }
            case 0x51:                                                          // BINPERSID
                stack.append(try persistent(try pop()))
            case 0x50:                                                          // PERSID (text)
                throw fail("text persistent id '\(try line())' is not a torch storage")
            case 0x71: memo[Int(try uint(1))] = try top()                       // BINPUT
            case 0x72: memo[Int(try uint(4))] = try top()                       // LONG_BINPUT
            case 0x70:                                                          // PUT
                let s = try line()
                guard let i = Int(s) else { throw fail("bad PUT '\(s)'") }
                memo[i] = try top()
            case 0x94: memo[memo.count] = try top()                             // MEMOIZE
            case 0x68: stack.append(try get(Int(try uint(1))))                  // BINGET
            case 0x6A: stack.append(try get(Int(try uint(4))))                  // LONG_BINGET
            case 0x67:                                                          // GET
                let s = try line()
                guard let i = Int(s) else { throw fail("bad GET '\(s)'") }
                stack.append(try get(i))
            default:
                let names: [UInt8: String] = [
                    0x69: "INST", 0x6F: "OBJ", 0x81: "NEWOBJ", 0x92: "NEWOBJ_EX", 0x82: "EXT1", 0x83: "EXT2",
                    0x84: "EXT4", 0x8F: "EMPTY_SET", 0x90: "ADDITEMS", 0x91: "FROZENSET", 0x96: "BYTEARRAY8",
                    0x97: "NEXT_BUFFER", 0x98: "READONLY_BUFFER",
                ]
                let name = names[op].map { "opcode \($0)" } ?? String(format: "unknown opcode 0x%02x", op)
                throw fail("\(name) is not allowed in a state dict; nothing was executed")
            }
        }
    }

    private func get(_ i: Int) throws -> PickleValue {
        guard let v = memo[i] else { throw fail("memo key \(i) was never stored") }
        return v
    }

    private func setItems(_ d: PickleDict, _ kv: [PickleValue]) throws {
        guard kv.count % 2 == 0 else { throw fail("odd number of items for a dict") }
        for i in stride(from: 0, to: kv.count, by: 2) { d.items.append((kv[i], kv[i + 1])) }
    }

    /// `('storage', torch.FloatStorage, '0', 'cpu', 12)` -> a storage reference (no data is read here).
    private func persistent(_ pid: PickleValue) throws -> PickleValue {
        guard case .tuple(let t) = pid, t.count >= 5, case .string("storage") = t[0],
              case let .global(module, typeName) = t[1], module == "torch",
              let (dtype, size) = RestrictedUnpickler.storageTypes[typeName],
              case .string(let key) = t[2], case .int(let count) = t[4], count >= 0 else {
            throw fail("persistent id \(pid) is not a torch storage ('storage', type, key, location, numel)")
        }
        return .storage(PickleStorage(key: key, dtype: dtype, elementSize: size, count: count))
    }

    /// The allowed callables, modelled: nothing runs.
    private func call(_ callable: PickleValue, _ args: PickleValue) throws -> PickleValue {
        guard case let .global(module, name) = callable else { throw fail("REDUCE on \(callable), which is not callable") }
        guard case .tuple(let a) = args else { throw fail("REDUCE of \(module).\(name) with arguments \(args)") }
        switch "\(module).\(name)" {
        case "collections.OrderedDict":
            let d = PickleDict()
            if let first = a.first {
                let pairs: [PickleValue]
                switch first {
                case .list(let l): pairs = l.items
                case .tuple(let t): pairs = t
                default: throw fail("OrderedDict(\(first)) is not a list of pairs")
                }
                for p in pairs {
                    guard case .tuple(let kv) = p, kv.count == 2 else { throw fail("OrderedDict item \(p) is not a pair") }
                    d.items.append((kv[0], kv[1]))
                }
            }
            return .dict(d)
        case "torch._utils._rebuild_tensor", "torch._utils._rebuild_tensor_v2":
            // (storage, storage_offset, size, stride[, requires_grad, backward_hooks[, metadata]])
            guard a.count >= 4, case .storage(let s) = a[0], case .int(let offset) = a[1],
                  case .tuple(let size) = a[2], case .tuple(let stride) = a[3] else {
                throw fail("\(name) arguments \(args) are not (storage, offset, size, stride, ...)")
            }
            let shape = try size.map { v -> Int in
                guard case .int(let i) = v, i >= 0 else { throw fail("bad size \(args)") }
                return i
            }
            let strides = try stride.map { v -> Int in
                guard case .int(let i) = v, i >= 0 else { throw fail("bad stride \(args)") }
                return i
            }
            guard shape.count == strides.count, offset >= 0 else { throw fail("size and stride differ in rank in \(args)") }
            return .tensor(PickleTensor(storage: s, offset: offset, shape: shape, stride: strides))
        case "torch._utils._rebuild_parameter", "torch._utils._rebuild_parameter_with_state":
            guard let data = a.first, case .tensor = data else { throw fail("\(name) of \(args) is not a tensor") }
            return data
        default:
            // storage types are allowed as persistent-id arguments, never as calls
            throw fail("calling '\(module).\(name)' is not allowed in a state dict; nothing was executed")
        }
    }
}
