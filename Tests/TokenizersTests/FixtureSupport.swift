import Foundation
import XCTest
@testable import Tokenizers

/// Paths of the committed fixtures (Tests/Fixtures/tokenizers), found from this file's location.
enum Fixtures {
    static let root: URL = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent("Fixtures/tokenizers")

    static func url(_ name: String) -> URL { root.appendingPathComponent(name) }

    static func jsonLines(_ url: URL) throws -> [JSONValue] {
        let data = try Data(contentsOf: url)
        var out: [JSONValue] = []
        for line in data.split(separator: 0x0A, omittingEmptySubsequences: true) {
            out.append(try JSONValue.parse(data: [UInt8](line)))
        }
        return out
    }

    static func json(_ url: URL) throws -> JSONValue {
        try JSONValue.parse(data: [UInt8](try Data(contentsOf: url)))
    }

    static let corpus: [String] = {
        guard let lines = try? jsonLines(url("corpus.jsonl")) else { return [] }
        return lines.map { if case .string(let s)? = $0["text"] { return s } else { return "" } }
    }()
}

extension JSONValue {
    var intArray: [Int]? {
        guard case .array(let a) = self else { return nil }
        return a.compactMap { if case .number(let d, _) = $0 { return Int(d) } else { return nil } }
    }

    var stringArray: [String]? {
        guard case .array(let a) = self else { return nil }
        return a.compactMap { if case .string(let s) = $0 { return s } else { return nil } }
    }

    var stringValue: String? { if case .string(let s) = self { return s } else { return nil } }
}

/// Escapes a string for readable failure messages.
func visible(_ s: String) -> String {
    s.unicodeScalars.map { c in
        (c.value < 0x20 || c.value == 0x7F || (c.value >= 0x80 && c.value < 0xA0) || c.properties.generalCategory == .format
            || c.properties.isWhitespace && c != " ") ? "\\u{\(String(c.value, radix: 16))}" : String(c)
    }.joined()
}
