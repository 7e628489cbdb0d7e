// safetensors files read by mmap, the header validated before any tensor is touched:
// [u64 little-endian header size N][N bytes JSON header][data]. A truncated or corrupt file is an error
// naming the file (and the tensor, where one is at fault), never a crash.

import Foundation
import Tensor
#if canImport(Glibc)
import Glibc
#endif

public enum WeightError: Error, CustomStringConvertible, Equatable {
    case unreadable(file: String, reason: String)
    case corruptHeader(file: String, reason: String)
    case badTensor(file: String, tensor: String, reason: String)
    case missing(tensor: String, searched: String)
    case shapeMismatch(tensor: String, expected: [Int], actual: [Int])
    case unsupportedDType(tensor: String, dtype: String)

    public var description: String {
        switch self {
        case let .unreadable(file, reason): return "cannot read \(file): \(reason)"
        case let .corruptHeader(file, reason): return "corrupt safetensors header in \(file): \(reason)"
        case let .badTensor(file, tensor, reason): return "tensor '\(tensor)' in \(file): \(reason)"
        case let .missing(tensor, searched): return "tensor '\(tensor)' not found in \(searched)"
        case let .shapeMismatch(tensor, expected, actual):
            return "tensor '\(tensor)' has shape \(actual), expected \(expected)"
        case let .unsupportedDType(tensor, dtype):
            return "tensor '\(tensor)' has dtype \(dtype); supported: F32, F16, BF16"
        }
    }
}

public struct TensorEntry: Sendable {
    public let name: String
    public let dtypeName: String
    public let shape: [Int]
    /// Byte range inside the data section.
    public let begin: Int
    public let end: Int
}

/// One mapped safetensors file.
public final class SafetensorsFile: @unchecked Sendable {
    public let path: String
    public let entries: [String: TensorEntry]
    public let metadata: [String: String]
    private let file: MappedFile
    private var base: UnsafeMutableRawPointer { file.base }
    private let dataOffset: Int

    public convenience init(path: String) throws {
        try self.init(file: MappedFile(path: path, minimumSize: 8, tooSmall: { "file of \($0) bytes" }))
    }

    /// A safetensors file's bytes held in memory (copied), checked as a mapped file is; `name` stands for
    /// its path in errors.
    public convenience init(bytes: [UInt8], name: String) throws {
        try self.init(file: MappedFile(copying: bytes, name: name, minimumSize: 8, tooSmall: { "file of \($0) bytes" }))
    }

    private init(file: MappedFile) throws {
        let path = file.path
        self.path = path
        self.file = file
        let p = file.base, size = file.size
        let headerSize = p.loadUnaligned(as: UInt64.self).littleEndian
        guard headerSize <= UInt64(size - 8) else {
            throw WeightError.corruptHeader(file: path, reason: "header of \(headerSize) bytes in a \(size)-byte file")
        }
        dataOffset = 8 + Int(headerSize)
        let header = Data(bytes: p + 8, count: Int(headerSize))
        guard let json = try? JSONSerialization.jsonObject(with: header) as? [String: Any] else {
            throw WeightError.corruptHeader(file: path, reason: "header is not a JSON object")
        }
        (entries, metadata) = try SafetensorsFile.parse(json, file: path, dataSize: size - dataOffset)
    }

    private static func parse(_ json: [String: Any], file: String, dataSize: Int) throws
        -> ([String: TensorEntry], [String: String]) {
        var entries: [String: TensorEntry] = [:]
        var metadata: [String: String] = [:]
        for (name, value) in json {
            if name == "__metadata__" {
                for (k, v) in (value as? [String: Any]) ?? [:] { metadata[k] = "\(v)" }
                continue
            }
            guard let info = value as? [String: Any], let dtype = info["dtype"] as? String,
                  let shapeAny = info["shape"] as? [Any], let offsAny = info["data_offsets"] as? [Any],
                  offsAny.count == 2 else {
                throw WeightError.badTensor(file: file, tensor: name, reason: "entry lacks dtype, shape or data_offsets")
            }
            let shape = shapeAny.compactMap { ($0 as? NSNumber)?.intValue }
            let offs = offsAny.compactMap { ($0 as? NSNumber)?.intValue }
            guard shape.count == shapeAny.count, shape.allSatisfy({ $0 >= 0 }), offs.count == 2 else {
                throw WeightError.badTensor(file: file, tensor: name, reason: "malformed shape or offsets")
            }
            let (begin, end) = (offs[0], offs[1])
            guard begin >= 0, begin <= end, end <= dataSize else {
                throw WeightError.badTensor(file: file, tensor: name,
                                            reason: "data [\(begin), \(end)) outside the \(dataSize)-byte data section (truncated file?)")
            }
            let elementSize: Int? = ["F64": 8, "F32": 4, "F16": 2, "BF16": 2, "I64": 8, "I32": 4, "I16": 2, "I8": 1,
                                     "U8": 1, "BOOL": 1, "U16": 2, "U32": 4, "U64": 8, "F8_E4M3": 1, "F8_E5M2": 1][dtype]
            guard let elementSize else {
                throw WeightError.badTensor(file: file, tensor: name, reason: "unknown dtype \(dtype)")
            }
            let (elements, overflow) = shape.reduce((1, false)) { acc, d in
                let r = acc.0.multipliedReportingOverflow(by: d); return (r.partialValue, acc.1 || r.overflow)
            }
            let bytes = elements.multipliedReportingOverflow(by: elementSize)
            guard !overflow, !bytes.overflow else {
                throw WeightError.badTensor(file: file, tensor: name, reason: "shape \(shape) of \(dtype) overflows a 64-bit byte count")
            }
            guard bytes.partialValue == end - begin else {
                throw WeightError.badTensor(file: file, tensor: name,
                                            reason: "shape \(shape) of \(dtype) needs \(bytes.partialValue) bytes, offsets give \(end - begin)")
            }
            entries[name] = TensorEntry(name: name, dtypeName: dtype, shape: shape, begin: begin, end: end)
        }
        return (entries, metadata)
    }

    public func dropPages(_ pointer: UnsafeRawPointer, count: Int) { file.dropPages(pointer, count: count) }

    public func contiguousBytes(_ name: String) throws -> (pointer: UnsafeRawPointer, dtype: DType)? {
        guard let e = entries[name] else { throw WeightError.missing(tensor: name, searched: path) }
        guard let dtype = DType(rawValue: e.dtypeName), dtype.isCheckpointType else {
            throw WeightError.unsupportedDType(tensor: name, dtype: e.dtypeName)
        }
        return (UnsafeRawPointer(base + dataOffset + e.begin), dtype)
    }

    /// The tensor in float32 on `backend` (its `heldType(.f32)`: a GPU's one type); float32 stored on the CPU is the mapped bytes themselves, no copy.
    public func load(_ name: String, on backend: any Backend) throws -> Tensor {
        // safetensors data is always contiguous: contiguousBytes is nil only for a missing tensor (thrown)
        guard let e = entries[name], let (pointer, dtype) = try contiguousBytes(name) else {
            throw WeightError.missing(tensor: name, searched: path)
        }
        return adopt(pointer, dtype: dtype, shape: e.shape, as: backend.heldType(.f32), on: backend)
    }
}

/// Writes a safetensors file (tests and tools; F32/F16/BF16 from float32 values).
public func writeSafetensors(_ tensors: [(name: String, shape: [Int], values: [Float], dtype: DType)], to url: URL) throws {
    var header: [String: Any] = [:]
    var data = Data()
    for t in tensors {
        let begin = data.count
        switch t.dtype {
        case .f32: for v in t.values { withUnsafeBytes(of: v.bitPattern.littleEndian) { data.append(contentsOf: $0) } }
        case .f16: for v in t.values { withUnsafeBytes(of: floatToHalf(v).littleEndian) { data.append(contentsOf: $0) } }
        case .bf16: for v in t.values { withUnsafeBytes(of: floatToBFloat16(v).littleEndian) { data.append(contentsOf: $0) } }
        case .int8: throw WeightError.unsupportedDType(tensor: t.name, dtype: "I8 (int8 weights carry scales; write float types)")
        }
        header[t.name] = ["dtype": t.dtype.rawValue, "shape": t.shape, "data_offsets": [begin, data.count]]
    }
    var json = try JSONSerialization.data(withJSONObject: header, options: [.sortedKeys])
    while json.count % 8 != 0 { json.append(0x20) }
    var out = Data()
    withUnsafeBytes(of: UInt64(json.count).littleEndian) { out.append(contentsOf: $0) }
    out.append(json)
    out.append(data)
    try out.write(to: url)
}
