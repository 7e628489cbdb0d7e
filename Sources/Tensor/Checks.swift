// Invariant checks that survive release builds. The engine targets build with `-Ounchecked`, which
// removes `precondition` and `assert`; `require` traps in every configuration. It guards what model code
// hands the backend (shapes, ids already validated at the API boundary). Data from outside is checked
// earlier with typed errors (`TokenIdError`, `WeightError`, `GenerationError`); a trap here is a bug.

@inline(__always)
public func require(_ condition: @autoclosure () -> Bool, _ message: @autoclosure () -> String,
                    file: StaticString = #fileID, line: UInt = #line) {
    if !condition() { fatalError(message(), file: file, line: line) }
}

/// A token id outside an embedding table: `position` is its index in the input it came from.
public struct TokenIdError: Error, CustomStringConvertible, Equatable {
    public let position: Int
    public let id: Int
    public let vocabulary: Int

    public init(position: Int, id: Int, vocabulary: Int) {
        self.position = position
        self.id = id
        self.vocabulary = vocabulary
    }

    /// The first id of `ids` outside `0..<vocabulary`, as an error.
    public static func check(_ ids: [Int], vocabulary: Int) throws {
        if let p = ids.firstIndex(where: { $0 < 0 || $0 >= vocabulary }) {
            throw TokenIdError(position: p, id: ids[p], vocabulary: vocabulary)
        }
    }

    public var description: String {
        "token id \(id) at position \(position) is outside the model's vocabulary of \(vocabulary) embeddings"
    }
}
