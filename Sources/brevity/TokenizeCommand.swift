import ArgumentParser
import Foundation
import Tokenizers

/// `brevity tokenize --tokenizer PATH [--no-special-tokens] --format jsonl`
/// reads `{"text": ...}` lines and writes `{"ids": [...], "tokens": [...]}` lines, in order.
/// With `--decode` it reads `{"ids": [...]}` lines and writes `{"text": ...}`.
struct TokenizeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "tokenize",
        abstract: "Tokenize JSON Lines from standard input with a Hugging Face tokenizer."
    )

    enum Format: String, ExpressibleByArgument { case jsonl, text }

    @Option(help: "A tokenizer.json file or a model folder.")
    var tokenizer: String

    @Flag(help: "Do not add the post-processor's special tokens.")
    var noSpecialTokens = false

    @Option(help: "jsonl: {\"text\": ...} lines in, {\"ids\", \"tokens\"} lines out; text: each line is a text, ids out.")
    var format: Format = .jsonl

    @Option(help: "Truncate to this many tokens (special tokens included).")
    var maxLength: Int?

    @Flag(help: "Ignore the padding configured in tokenizer.json.")
    var noPadding = false

    @Flag(help: "Ignore the truncation configured in tokenizer.json.")
    var noTruncation = false

    @Flag(help: "Decode {\"ids\": [...]} lines to {\"text\": ...} instead.")
    var decode = false

    @Flag(help: "With --decode: drop special tokens.")
    var skipSpecialTokens = false

    func validate() throws {
        if let m = maxLength, m < 1 { throw ValidationError("--max-length must be at least 1") }
    }

    func run() throws {
        let tok: Tokenizer
        do { tok = try Tokenizer.load(from: URL(fileURLWithPath: tokenizer)) } catch {
            printError("cannot load tokenizer: \(error)")
            throw ExitCode(2)
        }
        let truncation: Truncation = maxLength.map { .maxLength($0, .right) } ?? (noTruncation ? .none : .fromFile)
        let out = StdoutWriter()
        var lineNo = 0
        var lines = StdinLines()
        do {
            while let raw = lines.next() {
                lineNo += 1
                var buf: [UInt8] = []
                if decode {
                    let ids = try readIds(raw, line: lineNo)
                    buf.append(contentsOf: Array("{\"text\": ".utf8))
                    JSONWriter.appendString(tok.decode(ids, skipSpecialTokens: skipSpecialTokens), to: &buf)
                    buf.append(contentsOf: Array("}\n".utf8))
                    out.write(buf)
                    continue
                }
                let text: String
                switch format {
                case .text:
                    guard let t = String(validating: raw, as: UTF8.self) else { throw InputError(description: "line \(lineNo): invalid UTF-8") }
                    text = t
                case .jsonl:
                    if raw.allSatisfy({ $0 == 0x20 || $0 == 0x09 }) { continue }
                    text = try readText(raw, line: lineNo)
                }
                let enc: Encoding
                do { enc = try tok.encode(text, addSpecialTokens: !noSpecialTokens, truncation: truncation, padding: !noPadding) } catch {
                    throw InputError(description: "line \(lineNo): \(error)")
                }
                if format == .text {
                    buf.append(contentsOf: Array(enc.ids.map(String.init).joined(separator: " ").utf8))
                    buf.append(0x0A)
                } else {
                    buf.append(contentsOf: Array("{\"ids\": [".utf8))
                    for (i, id) in enc.ids.enumerated() {
                        if i > 0 { buf.append(contentsOf: [0x2C, 0x20]) }
                        JSONWriter.appendInt(id, to: &buf)
                    }
                    buf.append(contentsOf: Array("], \"tokens\": [".utf8))
                    for (i, t) in enc.tokens.enumerated() {
                        if i > 0 { buf.append(contentsOf: [0x2C, 0x20]) }
                        JSONWriter.appendString(t, to: &buf)
                    }
                    buf.append(contentsOf: Array("]}\n".utf8))
                }
                out.write(buf)
            }
        } catch {
            out.flush()
            printError("\(error)")
            throw ExitCode(1)
        }
        out.flush()
    }

    private func readText(_ raw: [UInt8], line: Int) throws -> String {
        let v: JSONValue
        do { v = try JSONValue.parse(data: raw) } catch { throw InputError(description: "line \(line): \(error)") }
        guard case .object = v else { throw InputError(description: "line \(line): expected a JSON object with a \"text\" field") }
        guard let t = v["text"] else { throw InputError(description: "line \(line): missing field \"text\"") }
        guard case .string(let s) = t else { throw InputError(description: "line \(line): field \"text\" must be a string, found \(t.typeName)") }
        return s
    }

    private func readIds(_ raw: [UInt8], line: Int) throws -> [Int] {
        let v: JSONValue
        do { v = try JSONValue.parse(data: raw) } catch { throw InputError(description: "line \(line): \(error)") }
        guard case .array(let items)? = v["ids"] else { throw InputError(description: "line \(line): field \"ids\" must be an array of integers") }
        return try items.map { item in
            guard case .number(let d, true) = item, d >= 0, d < 1e9 else {
                throw InputError(description: "line \(line): field \"ids\" must hold non-negative integers")
            }
            return Int(d)
        }
    }
}
