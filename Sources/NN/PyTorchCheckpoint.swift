// PyTorch checkpoints (`pytorch_model.bin`) in the zip format torch.save has written since 1.6:
//   <prefix>/data.pkl      the state dict, pickled; tensors reference storages by persistent id
//   <prefix>/data/<key>    each storage's raw little-endian bytes (stored, not compressed, 64-byte aligned)
//   <prefix>/byteorder     "little" (absent in old files: little)
// The file is mapped once; `data.pkl` goes through `RestrictedUnpickler`, which executes nothing. Tensors
// load through the same `WeightFile` interface as safetensors, so models never know which format they read.
// The legacy (pre-1.6) format is a bare pickle stream and gets an error saying how to convert it.

import Foundation
import Tensor
#if canImport(Glibc)
import Glibc
#endif

/// One file of named tensors: safetensors or a PyTorch checkpoint.
public protocol WeightFile: AnyObject, Sendable {
    var path: String { get }
    /// dtype (safetensors names), shape and byte extent of each tensor.
    var entries: [String: TensorEntry] { get }
    /// The tensor in float32 on `backend` (its `heldType(.f32)`: a GPU's one type).
    func load(_ name: String, on backend: any Backend) throws -> Tensor
    /// The tensor's bytes in the mapping and their type, when stored contiguously (nil: a strided view).
    func contiguousBytes(_ name: String) throws -> (pointer: UnsafeRawPointer, dtype: DType)?
    /// The mapped pages of `count` bytes at `pointer` are no longer needed (converted elsewhere).
    func dropPages(_ pointer: UnsafeRawPointer, count: Int)
}

extension SafetensorsFile: WeightFile {}

extension WeightFile {
    /// A tensor of `shape` over contiguous mapped bytes of `dtype`, held as `target` on `backend` (seen as
    /// [first dimension, the rest]): the bytes themselves when nothing changes, else converted once.
    func adopt(_ pointer: UnsafeRawPointer, dtype: DType, shape: [Int], as target: DType, on backend: any Backend) -> Tensor {
        let count = shape.reduce(1, *)
        let rows = count == 0 ? 0 : shape.count >= 2 ? shape[0] : 1
        let storage = backend.weight(from: pointer, type: dtype, rows: rows, columns: rows == 0 ? 0 : count / rows,
                                     as: target, owner: self)
        return Tensor(shape: shape, storage: storage)
    }
}

/// Opens a weights file by its content: a zip is a PyTorch checkpoint, a bare pickle is torch's legacy
/// format (refused with advice), anything else is read as safetensors.
public func openWeightFile(_ url: URL) throws -> any WeightFile {
    let path = url.path
    guard let handle = FileHandle(forReadingAtPath: path) else {
        throw WeightError.unreadable(file: path, reason: String(cString: strerror(errno)))
    }
    let head = [UInt8](handle.readData(ofLength: 14))
    try? handle.close()
    if head.starts(with: [0x50, 0x4B, 0x03, 0x04]) || head.starts(with: [0x50, 0x4B, 0x05, 0x06]) {
        return try PyTorchCheckpoint(path: path)
    }
    // the legacy format opens with pickle PROTO 2 and torch's magic number 0x1950a86a20f9469cfc6c as LONG1
    if head == [0x80, 0x02, 0x8A, 0x0A, 0x6C, 0xFC, 0x9C, 0x46, 0xF9, 0x20, 0x6A, 0xA8, 0x50, 0x19] {
        throw PyTorchCheckpoint.legacyError(path)
    }
    return try SafetensorsFile(path: path)
}

public final class PyTorchCheckpoint: WeightFile, @unchecked Sendable {
    public let path: String
    public let entries: [String: TensorEntry]
    private let tensors: [String: (tensor: PickleTensor, dataOffset: Int)]
    private let file: MappedFile
    private var base: UnsafeMutableRawPointer { file.base }

    static func legacyError(_ path: String) -> WeightError {
        .unreadable(file: path, reason: "unsupported: this is PyTorch's legacy (pre-1.6, non-zip) checkpoint format; "
            + "convert it with: python -c \"import torch; from safetensors.torch import save_file; "
            + "save_file({k: v.contiguous() for k, v in torch.load('pytorch_model.bin', weights_only=True).items()}, "
            + "'model.safetensors', metadata={'format': 'pt'})\" (or re-save it with torch.save from torch >= 1.6)")
    }

    public convenience init(path: String) throws {
        try self.init(file: MappedFile(path: path, minimumSize: 22, tooSmall: { "file of \($0) bytes is no zip archive" }))
    }

    /// A checkpoint's bytes held in memory (copied), read as a mapped file is; `name` stands for its path
    /// in errors.
    public convenience init(bytes: [UInt8], name: String) throws {
        try self.init(file: MappedFile(copying: bytes, name: name, minimumSize: 22, tooSmall: { "file of \($0) bytes is no zip archive" }))
    }

    private init(file: MappedFile) throws {
        let path = file.path
        self.path = path
        self.file = file
        let zip = try ZipDirectory(file.bytes, file: path)
        (tensors, entries) = try PyTorchCheckpoint.read(zip, base: UnsafeRawPointer(file.base), file: path)
    }

    private static func read(_ archive: ZipDirectory, base: UnsafeRawPointer, file: String) throws
        -> ([String: (tensor: PickleTensor, dataOffset: Int)], [String: TensorEntry]) {
        guard let pkl = archive.entries.keys.filter({ $0 == "data.pkl" || $0.hasSuffix("/data.pkl") }).min(by: { $0.count < $1.count }),
              let pklEntry = archive.entries[pkl] else {
            throw WeightError.corruptHeader(file: file, reason: "zip archive without data.pkl: not a torch.save checkpoint")
        }
        let prefix = String(pkl.dropLast("data.pkl".count))
        if let order = archive.entries[prefix + "byteorder"] {
            let text = String(decoding: UnsafeRawBufferPointer(start: base + order.offset, count: order.size), as: UTF8.self)
            guard text.trimmingCharacters(in: .whitespacesAndNewlines) == "little" else {
                throw WeightError.corruptHeader(file: file, reason: "byteorder '\(text)': only little-endian checkpoints are supported")
            }
        }
        let pickle = [UInt8](UnsafeRawBufferPointer(start: base + pklEntry.offset, count: pklEntry.size))
        let root: PickleValue
        do { root = try RestrictedUnpickler.load(pickle, what: "\(file): \(pkl)") } catch let e as UnpicklingError {
            throw WeightError.corruptHeader(file: file, reason: e.description)
        }
        guard case .dict(let dict) = root else {
            throw WeightError.corruptHeader(file: file, reason: "\(pkl) holds \(root), not a state dict")
        }
        var tensors: [String: (tensor: PickleTensor, dataOffset: Int)] = [:]
        var entries: [String: TensorEntry] = [:]
        var visited = Set<ObjectIdentifier>()
        func collect(_ d: PickleDict, _ prefixKey: String, depth: Int) throws {
            // a pickle can make a dict contain itself: visit each dict once, and not too deep
            guard depth < 16, visited.insert(ObjectIdentifier(d)).inserted else {
                throw WeightError.corruptHeader(file: file, reason: "state dict nested too deeply or cyclic at '\(prefixKey)'")
            }
            for (k, v) in d.items {
                guard case .string(let key) = k else { continue }
                let name = prefixKey + key
                switch v {
                case .tensor(let t):
                    let record = prefix + "data/" + t.storage.key
                    guard let rec = archive.entries[record] else {
                        throw WeightError.badTensor(file: file, tensor: name, reason: "storage record \(record) is missing")
                    }
                    // sizes come from the pickle: checked arithmetic, so absurd ones are errors, not traps
                    guard let bytes = checkedProduct([t.storage.count, t.storage.elementSize]), rec.size >= bytes else {
                        throw WeightError.badTensor(file: file, tensor: name,
                            reason: "storage \(record) has \(rec.size) bytes, fewer than its \(t.storage.count) elements need (truncated file?)")
                    }
                    guard let elements = checkedProduct(t.shape), elements <= max(t.storage.count, 0) || elements == 0 else {
                        throw WeightError.badTensor(file: file, tensor: name,
                            reason: "shape \(t.shape) has more elements than its storage of \(t.storage.count)")
                    }
                    // the last element the view touches must lie inside the storage
                    var last = t.offset, overflow = false
                    for (size, stride) in zip(t.shape, t.stride) where size > 0 {
                        guard let step = checkedProduct([size - 1, stride]) else { overflow = true; break }
                        let (sum, o) = last.addingReportingOverflow(step)
                        if o { overflow = true; break }
                        last = sum
                    }
                    if elements > 0 && (overflow || last >= t.storage.count) {
                        throw WeightError.badTensor(file: file, tensor: name,
                            reason: "view (offset \(t.offset), shape \(t.shape), stride \(t.stride)) exceeds its storage of \(t.storage.count) elements")
                    }
                    tensors[name] = (t, rec.offset)
                    let begin = rec.offset + t.offset * t.storage.elementSize
                    entries[name] = TensorEntry(name: name, dtypeName: t.dtype, shape: t.shape,
                                                begin: begin, end: begin + elements * t.storage.elementSize)
                case .dict(let inner):
                    try collect(inner, name + ".", depth: depth + 1)   // {"model": {...}} wrappers: model.<key>
                default:
                    continue                           // ints, strings: not weights
                }
            }
        }
        try collect(dict, "", depth: 0)
        return (tensors, entries)
    }

    public func dropPages(_ pointer: UnsafeRawPointer, count: Int) { file.dropPages(pointer, count: count) }

    /// The tensor's record and its element type (a checkpoint type).
    private func entry(_ name: String) throws -> (t: PickleTensor, dataOffset: Int, dtype: DType) {
        guard let (t, dataOffset) = tensors[name] else { throw WeightError.missing(tensor: name, searched: path) }
        guard let dtype = DType(rawValue: t.dtype), dtype.isCheckpointType else {
            throw WeightError.unsupportedDType(tensor: name, dtype: t.dtype)
        }
        return (t, dataOffset, dtype)
    }

    public func contiguousBytes(_ name: String) throws -> (pointer: UnsafeRawPointer, dtype: DType)? {
        let (t, dataOffset, dtype) = try entry(name)
        guard PyTorchCheckpoint.isContiguous(t.shape, t.stride) else { return nil }
        return (UnsafeRawPointer(base + dataOffset) + t.offset * t.storage.elementSize, dtype)
    }

    public func load(_ name: String, on backend: any Backend) throws -> Tensor {
        // contiguous: float32 is the mapped bytes themselves (torch aligns each storage record to 64 bytes)
        if let (pointer, dtype) = try contiguousBytes(name) {
            return adopt(pointer, dtype: dtype, shape: tensors[name]!.tensor.shape, as: backend.heldType(.f32), on: backend)
        }
        let (t, dataOffset, dtype) = try entry(name)
        let count = t.shape.reduce(1, *)
        let storage = UnsafeRawPointer(base + dataOffset)
        let es = t.storage.elementSize
        var host = [Float](repeating: 0, count: count)
        host.withUnsafeMutableBufferPointer { buf in
            guard let dst = buf.baseAddress, count > 0 else { return }
            // a strided view (a transposed weight saved as is): gather element by element, row-major
            var index = [Int](repeating: 0, count: t.shape.count)
            var src = t.offset
            for i in 0..<count {
                dtype.widen(storage + src * es, count: 1, into: dst + i)
                var d = t.shape.count - 1
                while d >= 0 {
                    index[d] += 1
                    src += t.stride[d]
                    if index[d] < t.shape[d] { break }
                    src -= t.stride[d] * t.shape[d]
                    index[d] = 0
                    d -= 1
                }
            }
        }
        return Tensor(host, shape: t.shape, on: backend)
    }

    /// The product, or nil when it overflows or a factor is negative.
    static func checkedProduct(_ values: [Int]) -> Int? {
        var p = 1
        for v in values {
            guard v >= 0 else { return nil }
            let (r, o) = p.multipliedReportingOverflow(by: v)
            if o { return nil }
            p = r
        }
        return p
    }

    static func isContiguous(_ shape: [Int], _ stride: [Int]) -> Bool {
        var expected = 1
        for d in stride.indices.reversed() where shape[d] != 1 {
            if stride[d] != expected { return false }
            expected *= shape[d]
        }
        return true
    }
}

/// The central directory of a zip archive (zip64 included), stored entries only.
struct ZipDirectory {
    struct Entry { let offset: Int; let size: Int }
    let entries: [String: Entry]

    init(_ buf: UnsafeRawBufferPointer, file: String) throws {
        func u16(_ o: Int) -> Int { Int(buf.loadUnaligned(fromByteOffset: o, as: UInt16.self).littleEndian) }
        func u32(_ o: Int) -> Int { Int(buf.loadUnaligned(fromByteOffset: o, as: UInt32.self).littleEndian) }
        func u64(_ o: Int) -> Int { Int(truncatingIfNeeded: buf.loadUnaligned(fromByteOffset: o, as: UInt64.self).littleEndian) }
        func bad(_ reason: String) -> WeightError { .corruptHeader(file: file, reason: "zip archive: \(reason)") }
        let n = buf.count
        // end of central directory: 22 bytes + a comment of up to 65535
        var eocd = -1
        var i = n - 22
        while i >= max(0, n - 22 - 65535) {
            if u32(i) == 0x0605_4B50 { eocd = i; break }
            i -= 1
        }
        guard eocd >= 0 else { throw bad("no end-of-central-directory record (truncated file?)") }
        var count = u16(eocd + 10), cdSize = u32(eocd + 12), cdOffset = u32(eocd + 16)
        if count == 0xFFFF || cdSize == 0xFFFF_FFFF || cdOffset == 0xFFFF_FFFF {
            // zip64: the locator sits right before the EOCD and points at the zip64 EOCD record
            guard eocd >= 20, u32(eocd - 20) == 0x0706_4B50 else { throw bad("zip64 locator missing") }
            let z = u64(eocd - 20 + 8)
            guard z >= 0, z <= n - 56, u32(z) == 0x0606_4B50 else { throw bad("zip64 end record missing") }
            count = u64(z + 32); cdSize = u64(z + 40); cdOffset = u64(z + 48)
        }
        guard count >= 0, cdOffset >= 0, cdSize >= 0, cdOffset <= n, cdSize <= n - cdOffset, count <= cdSize / 46 else {
            throw bad("central directory outside the file (truncated?)")
        }
        var entries: [String: Entry] = [:]
        var spans: [(start: Int, end: Int, name: String)] = []   // local header through data, per entry
        var p = cdOffset
        for _ in 0..<count {
            guard p + 46 <= n, u32(p) == 0x0201_4B50 else { throw bad("corrupt central directory") }
            let method = u16(p + 10)
            var compressed = u32(p + 20), uncompressed = u32(p + 24), local = u32(p + 42)
            let nameLen = u16(p + 28), extraLen = u16(p + 30), commentLen = u16(p + 32)
            guard p + 46 + nameLen + extraLen + commentLen <= n else { throw bad("corrupt central directory") }
            let name = String(decoding: UnsafeRawBufferPointer(rebasing: buf[(p + 46)..<(p + 46 + nameLen)]), as: UTF8.self)
            // zip64 extended information: the 64-bit values of the fields that read 0xFFFFFFFF, in order
            var e = p + 46 + nameLen
            let extraEnd = e + extraLen
            while e + 4 <= extraEnd {
                let id = u16(e), len = u16(e + 2), fieldEnd = e + 4 + len
                // a field claiming more bytes than the extra area holds would read past the record
                guard fieldEnd <= extraEnd else { throw bad("entry \(name): extra field of \(len) bytes overruns its record") }
                if id == 0x0001 {
                    var q = e + 4
                    if uncompressed == 0xFFFF_FFFF, q + 8 <= fieldEnd { uncompressed = u64(q); q += 8 }
                    if compressed == 0xFFFF_FFFF, q + 8 <= fieldEnd { compressed = u64(q); q += 8 }
                    if local == 0xFFFF_FFFF, q + 8 <= fieldEnd { local = u64(q); q += 8 }
                }
                e = fieldEnd
            }
            p = extraEnd + commentLen
            guard local >= 0, local <= n - 30, u32(local) == 0x0403_4B50 else { throw bad("entry \(name): bad local header") }
            let data = local + 30 + u16(local + 26) + u16(local + 28)
            guard method == 0 else {
                throw bad("entry \(name) is compressed (method \(method)); torch.save writes stored entries only")
            }
            guard compressed == uncompressed, uncompressed >= 0, data <= n, uncompressed <= n - data else {
                throw bad("entry \(name) extends past the end of the file (truncated?)")
            }
            guard entries[name] == nil else { throw bad("entry \(name) appears twice") }
            entries[name] = Entry(offset: data, size: uncompressed)
            spans.append((local, data + uncompressed, name))
        }
        // Records that overlap each other or the central directory (a zip bomb's trick, or two tensors
        // aliasing one range) are refused, as CPython's zipfile does since 3.12.
        spans.sort { $0.start < $1.start }
        for (a, b) in zip(spans, spans.dropFirst()) where b.start < a.end {
            throw bad("entries \(a.name) and \(b.name) overlap")
        }
        if let last = spans.last, last.end > cdOffset { throw bad("entry \(last.name) overlaps the central directory") }
        self.entries = entries
    }
}
