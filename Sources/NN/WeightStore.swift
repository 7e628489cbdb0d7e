// Checkpoint weights by name: one safetensors file, or shards through `model.safetensors.index.json`
// (or the PyTorch equivalents, `pytorch_model.bin` and its index, read by PyTorchCheckpoint.swift).
// Layers look their weights up through scoped prefixes matching the checkpoint keys
// (`vb.scope("self_attn").tensor("q_proj.weight")`), so there is no mapping table far from the layer.

import Foundation
import Tensor

public final class WeightStore: @unchecked Sendable {
    public let backend: any Backend
    /// The type `matrix` weights (projections, embedding tables) are asked for in: DTYPE. The backend
    /// decides what it holds (`Backend.heldType`): the CPU holds them in it and vectors (norms, biases,
    /// `tensor` lookups) in float32; a GPU holds every tensor in its one type.
    public let weightType: DType
    private let files: [any WeightFile]
    private let owner: [String: Int]   // tensor name -> index into files
    private let description: String

    /// A model folder: `model.safetensors`, or the shards named by `model.safetensors.index.json`; else
    /// (PyTorch checkpoints) `pytorch_model.bin` or the shards named by `pytorch_model.bin.index.json`.
    public convenience init(folder: URL, backend: any Backend, weightType: DType = .f32) throws {
        let fm = FileManager.default
        let candidates = ["model.safetensors", "model.safetensors.index.json", "pytorch_model.bin", "pytorch_model.bin.index.json"]
        guard let found = candidates.first(where: { fm.fileExists(atPath: folder.appendingPathComponent($0).path) }) else {
            throw WeightError.unreadable(file: folder.path, reason: "no model.safetensors, model.safetensors.index.json, "
                                         + "pytorch_model.bin or pytorch_model.bin.index.json in the folder")
        }
        let index = folder.appendingPathComponent(found)
        if !found.hasSuffix(".index.json") {
            try self.init(files: [index], backend: backend, weightType: weightType)
        } else {
            guard let json = try? JSONSerialization.jsonObject(with: Data(contentsOf: index)) as? [String: Any],
                  let map = json["weight_map"] as? [String: String] else {
                throw WeightError.corruptHeader(file: index.path, reason: "no weight_map object")
            }
            let shards = Array(Set(map.values)).sorted()
            try self.init(files: shards.map { folder.appendingPathComponent($0) }, backend: backend, weightType: weightType)
            for (name, shard) in map where owner[name] == nil {
                throw WeightError.missing(tensor: name, searched: "shard \(shard) (listed in \(index.lastPathComponent))")
            }
        }
    }

    public init(files urls: [URL], backend: any Backend, weightType: DType = .f32) throws {
        self.backend = backend
        self.weightType = weightType
        files = try urls.map { try openWeightFile($0) }   // safetensors or a PyTorch zip checkpoint
        var owner: [String: Int] = [:]
        for (i, f) in files.enumerated() { for name in f.entries.keys { owner[name] = i } }
        self.owner = owner
        description = urls.map(\.lastPathComponent).joined(separator: ", ")
    }

    public var names: [String] { owner.keys.sorted() }
    public func contains(_ name: String) -> Bool { owner[name] != nil }
    public func shape(of name: String) -> [Int]? { owner[name].flatMap { files[$0].entries[name]?.shape } }

    /// Loads `name` (or the first present of `name` + `aliases`: tied copies are often absent from a file),
    /// checking the shape when given.
    public func tensor(_ name: String, shape: [Int]? = nil, aliases: [String] = []) throws -> Tensor {
        let (file, found) = try locate(name, shape: shape, aliases: aliases)
        return try file.load(found, on: backend)
    }

    /// The file holding `name` (or the first present alias) and the name found, its shape checked when given.
    private func locate(_ name: String, shape: [Int]?, aliases: [String]) throws -> (file: any WeightFile, name: String) {
        guard let found = ([name] + aliases).first(where: { owner[$0] != nil }), let i = owner[found] else {
            throw WeightError.missing(tensor: name, searched: description)
        }
        if let shape, let actual = files[i].entries[found]?.shape, actual != shape {
            throw WeightError.shapeMismatch(tensor: found, expected: shape, actual: actual)
        }
        return (files[i], found)
    }

    /// A 2-D weight used in products or as an embedding table, held in `weightType`: the checkpoint's
    /// bytes converted once (bf16 stored and bf16 wanted: used in place from the mapping).
    public func matrix(_ name: String, shape: [Int], aliases: [String] = []) throws -> Tensor {
        let held = backend.heldType(weightType)
        guard held != .f32 else { return try tensor(name, shape: shape, aliases: aliases) }
        require(shape.count == 2, "matrix: 2-D shapes only")
        let (file, found) = try locate(name, shape: shape, aliases: aliases)
        if let (pointer, dtype) = try file.contiguousBytes(found) {
            let t = file.adopt(pointer, dtype: dtype, shape: shape, as: held, on: backend)
            // converted (not used in place): the source pages need not stay resident
            if UnsafeRawPointer(t.storage.pointer) != pointer {
                file.dropPages(pointer, count: shape[0] * shape[1] * dtype.byteSize)
            }
            return t
        }
        // a strided view: gathered to float32 first
        let gathered = try file.load(found, on: CPUBackend.shared).toArray()
        let storage = gathered.withUnsafeBytes { raw in
            backend.weight(from: raw.baseAddress!, type: .f32, rows: shape[0], columns: shape[1], as: held, owner: file)
        }
        return Tensor(shape: shape, storage: storage)
    }

    public var root: WeightScope { WeightScope(store: self, prefix: "") }
}

/// A prefix into a `WeightStore` (`model.decoder.layers.3.`).
public struct WeightScope: @unchecked Sendable {
    public let store: WeightStore
    public let prefix: String

    public func scope(_ component: String) -> WeightScope {
        WeightScope(store: store, prefix: prefix + component + ".")
    }
    public func scope(_ component: Int) -> WeightScope { scope(String(component)) }

    public func contains(_ name: String) -> Bool { store.contains(prefix + name) }

    /// `aliases` are full keys (not prefixed) tried when `prefix + name` is absent.
    public func tensor(_ name: String, shape: [Int]? = nil, aliases: [String] = []) throws -> Tensor {
        try store.tensor(prefix + name, shape: shape, aliases: aliases)
    }

    /// A projection or embedding matrix, in the store's weight type.
    public func matrix(_ name: String, shape: [Int], aliases: [String] = []) throws -> Tensor {
        try store.matrix(prefix + name, shape: shape, aliases: aliases)
    }
}
