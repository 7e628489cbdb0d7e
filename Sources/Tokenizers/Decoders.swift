import Foundation

// Decoders (HF `decoders/`): turn token strings back into text. Each works on the whole token list
// (`decode_chain`); the results are concatenated.

indirect enum Decoder {
    case byteLevel
    case wordPiece(prefix: String, cleanup: Bool)
    case metaspace(replacement: Unicode.Scalar, prependScheme: PreTokenizer.PrependScheme)
    case bpe(suffix: String)
    case replace(pattern: Pattern, content: String)
    case strip(content: Unicode.Scalar, start: Int, stop: Int)
    case fuse
    case byteFallback
    case sequence([Decoder])

    static func load(_ c: Cfg) throws -> Decoder {
        let type = try c.type()
        switch type {
        case "ByteLevel": return .byteLevel
        case "WordPiece":
            return .wordPiece(prefix: try c.string("prefix", default: "##"), cleanup: try c.bool("cleanup", default: true))
        case "Metaspace":
            let r = try c.req("replacement").char()
            var scheme = PreTokenizer.PrependScheme.always
            if let p = c.opt("prepend_scheme") {
                guard let s = PreTokenizer.PrependScheme(rawValue: try p.string()) else { throw p.fail("unknown prepend_scheme") }
                scheme = s
            }
            if let a = c.opt("add_prefix_space"), try a.bool() == false { scheme = .never }
            return .metaspace(replacement: r, prependScheme: scheme)
        case "BPEDecoder": return .bpe(suffix: try c.string("suffix", default: "</w>"))
        case "Replace":
            return .replace(pattern: try loadStringOrRegex(try c.req("pattern")), content: try c.req("content").string())
        case "Strip":
            return .strip(content: try c.req("content").char(), start: try c.int("start", default: 0), stop: try c.int("stop", default: 0))
        case "Fuse": return .fuse
        case "ByteFallback": return .byteFallback
        case "Sequence": return .sequence(try c.req("decoders").array().map(load))
        default:
            throw c.fail("unsupported decoder type \"\(type)\"")
        }
    }

    func decodeChain(_ tokens: [String]) -> [String] {
        switch self {
        case .byteLevel:
            var bytes: [UInt8] = []
            for t in tokens {
                if let b = ByteLevelMap.decode(t) { bytes.append(contentsOf: b) } else { bytes.append(contentsOf: t.utf8) }
            }
            return [String(decoding: bytes, as: UTF8.self)]
        case .wordPiece(let prefix, let cleanup):
            return tokens.enumerated().map { i, t in
                var tok = t
                if i != 0 {
                    if tok.utf8.starts(with: prefix.utf8) { tok = String(tok.utf8.dropFirst(prefix.utf8.count))! } else { tok = " " + tok }
                }
                return cleanup ? cleanupTokenization(tok) : tok
            }
        case .metaspace(let r, let scheme):
            return tokens.enumerated().map { i, t in
                var out = String.UnicodeScalarView()
                for c in t.unicodeScalars {
                    if c == r {
                        if !(i == 0 && scheme != .never) { out.append(" ") }
                    } else {
                        out.append(c)
                    }
                }
                return String(out)
            }
        case .bpe(let suffix):
            return tokens.enumerated().map { i, t in
                replaceAll(t, suffix, with: i == tokens.count - 1 ? "" : " ")
            }
        case .replace(let pattern, let content):
            return tokens.map { Normalizer.replace(pattern: pattern, content: content).normalize($0) }
        case .strip(let content, let start, let stop):
            return tokens.map { t in
                let chars = Array(t.unicodeScalars)
                var startCut = 0
                for i in 0..<min(start, chars.count) {
                    if chars[i] == content { startCut = i + 1 } else { break }
                }
                var stopCut = chars.count
                for i in 0..<min(stop, chars.count) {
                    let idx = chars.count - i - 1
                    if chars[idx] == content { stopCut = idx } else { break }
                }
                if startCut >= stopCut { return "" }
                return String(String.UnicodeScalarView(chars[startCut..<stopCut]))
            }
        case .fuse:
            return [tokens.joined()]
        case .byteFallback:
            var out: [String] = []
            var pending: [UInt8] = []
            func flush() {
                if pending.isEmpty { return }
                if let s = String(validating: pending, as: UTF8.self) {
                    out.append(s)
                } else {
                    out.append(contentsOf: Array(repeating: "\u{FFFD}", count: pending.count))
                }
                pending.removeAll()
            }
            for t in tokens {
                let u = Array(t.utf8)
                if u.count == 6, u[0] == UInt8(ascii: "<"), u[1] == UInt8(ascii: "0"), u[2] == UInt8(ascii: "x"),
                   u[5] == UInt8(ascii: ">"), let b = UInt8(String(decoding: u[3..<5], as: UTF8.self), radix: 16) {
                    pending.append(b)
                } else {
                    flush()
                    out.append(t)
                }
            }
            flush()
            return out
        case .sequence(let ds):
            var t = tokens
            for d in ds { t = d.decodeChain(t) }
            return t
        }
    }
}

func replaceAll(_ s: String, _ target: String, with rep: String) -> String {
    if target.isEmpty { return s }
    let t = Array(target.utf8)
    let b = Array(s.utf8)
    var out: [UInt8] = []
    var i = 0
    while i < b.count {
        if i + t.count <= b.count && b[i] == t[0] && b[i..<(i + t.count)].elementsEqual(t) {
            out.append(contentsOf: rep.utf8); i += t.count
        } else {
            out.append(b[i]); i += 1
        }
    }
    return String(decoding: out, as: UTF8.self)
}

/// The WordPiece decoder's clean-up (HF `decoders/wordpiece.rs::cleanup`), also transformers'
/// `clean_up_tokenization` minus its ` do not` rule.
func cleanupTokenization(_ s: String) -> String {
    var t = s
    for (a, b) in [(" .", "."), (" ?", "?"), (" !", "!"), (" ,", ","), (" ' ", "'"), (" n't", "n't"), (" 'm", "'m"),
                   (" do not", " don't"), (" 's", "'s"), (" 've", "'ve"), (" 're", "'re")] {
        t = replaceAll(t, a, with: b)
    }
    return t
}

/// transformers' `PreTrainedTokenizerBase.clean_up_tokenization`.
func transformersCleanUp(_ s: String) -> String {
    var t = s
    for (a, b) in [(" .", "."), (" ?", "?"), (" !", "!"), (" ,", ","), (" ' ", "'"), (" n't", "n't"), (" 'm", "'m"),
                   (" 's", "'s"), (" 've", "'ve"), (" 're", "'re")] {
        t = replaceAll(t, a, with: b)
    }
    return t
}
