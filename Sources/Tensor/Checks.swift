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
    /// The token's text, when a tokenizer could name it.
    public var token: String?

    public init(position: Int, id: Int, vocabulary: Int, token: String? = nil) {
        self.position = position
        self.id = id
        self.vocabulary = vocabulary
        self.token = token
    }

    /// The same error naming the token (`tokenizer.idToToken(id)`).
    public func named(_ token: String?) -> TokenIdError {
        TokenIdError(position: position, id: id, vocabulary: vocabulary, token: token)
    }

    /// The first id of `ids` outside `0..<vocabulary`, as an error.
    public static func check(_ ids: [Int], vocabulary: Int) throws {
        if let p = ids.firstIndex(where: { $0 < 0 || $0 >= vocabulary }) {
            throw TokenIdError(position: p, id: ids[p], vocabulary: vocabulary)
        }
    }

    public var description: String {
        let what = token.map { "token '\($0)' (id \(id))" } ?? "token id \(id)"
        return "\(what) at position \(position) is outside the model's vocabulary of \(vocabulary) embeddings"
    }
}
