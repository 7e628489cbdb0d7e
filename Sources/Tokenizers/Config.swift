// Typed access to tokenizer.json with errors that name the field path, e.g.
// `model.merges[3]: expected a string`.

public struct TokenizerError: Error, CustomStringConvertible, Equatable {
    public let message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}

struct Cfg {
    let value: JSONValue
    let path: String

    init(_ value: JSONValue, path: String) {
        self.value = value
        self.path = path
    }

    func fail(_ message: String) -> TokenizerError { TokenizerError("\(path): \(message)") }

    private func child(_ key: String) -> String { path.isEmpty ? key : "\(path).\(key)" }

    /// The member `key`, or nil when absent or null.
    func opt(_ key: String) -> Cfg? {
        guard case .object = value else { return nil }
        guard let v = value[key], !v.isNull else { return nil }
        return Cfg(v, path: child(key))
    }

    func req(_ key: String) throws -> Cfg {
        guard case .object = value else { throw fail("expected an object, found \(value.typeName)") }
        guard let v = value[key], !v.isNull else { throw TokenizerError("\(child(key)): missing required field") }
        return Cfg(v, path: child(key))
    }

    func string() throws -> String {
        guard case .string(let s) = value else { throw fail("expected a string, found \(value.typeName)") }
        return s
    }

    func int() throws -> Int {
        guard case .number(let d, _) = value, d == d.rounded(), abs(d) < 9.0e15 else {
            throw fail("expected an integer, found \(value.typeName)")
        }
        return Int(d)
    }

    func double() throws -> Double {
        guard case .number(let d, _) = value else { throw fail("expected a number, found \(value.typeName)") }
        return d
    }

    func bool() throws -> Bool {
        guard case .bool(let b) = value else { throw fail("expected a boolean, found \(value.typeName)") }
        return b
    }

    func array() throws -> [Cfg] {
        guard case .array(let items) = value else { throw fail("expected an array, found \(value.typeName)") }
        return items.enumerated().map { Cfg($1, path: "\(path)[\($0)]") }
    }

    func object() throws -> [(String, Cfg)] {
        guard case .object(let pairs) = value else { throw fail("expected an object, found \(value.typeName)") }
        return pairs.map { ($0, Cfg($1, path: child($0))) }
    }

    func string(_ key: String, default d: String) throws -> String { try opt(key)?.string() ?? d }
    func bool(_ key: String, default d: Bool) throws -> Bool { try opt(key)?.bool() ?? d }
    func int(_ key: String, default d: Int) throws -> Int { try opt(key)?.int() ?? d }
    func type() throws -> String { try req("type").string() }

    /// A single Unicode scalar given as a one-character string (serde's `char`).
    func char() throws -> Unicode.Scalar {
        let s = try string()
        var it = s.unicodeScalars.makeIterator()
        guard let c = it.next(), it.next() == nil else { throw fail("expected a single character, found \"\(s)\"") }
        return c
    }
}
