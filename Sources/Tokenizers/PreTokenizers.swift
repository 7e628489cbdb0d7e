// Pre-tokenizers (HF `pre_tokenizers/`): split pieces into words before the model sees them.

indirect enum PreTokenizer {
    case byteLevel(addPrefixSpace: Bool, useRegex: Bool)
    case bert
    case whitespace
    case whitespaceSplit
    case metaspace(replacement: Unicode.Scalar, prepend: PrependScheme, split: Bool)
    case punctuation(SplitBehavior)
    case split(pattern: Pattern, behavior: SplitBehavior, invert: Bool)
    case digits(individual: Bool)
    case sequence([PreTokenizer])

    enum PrependScheme: String { case first, never, always }

    static func load(_ c: Cfg) throws -> PreTokenizer {
        let type = try c.type()
        switch type {
        case "ByteLevel":
            return .byteLevel(addPrefixSpace: try c.bool("add_prefix_space", default: true),
                              useRegex: try c.bool("use_regex", default: true))
        case "BertPreTokenizer": return .bert
        case "Whitespace": return .whitespace
        case "WhitespaceSplit": return .whitespaceSplit
        case "Metaspace":
            let replacement = try c.req("replacement").char()
            var scheme = PrependScheme.always
            if let p = c.opt("prepend_scheme") {
                guard let s = PrependScheme(rawValue: try p.string()) else { throw p.fail("unknown prepend_scheme") }
                scheme = s
            }
            if let a = c.opt("add_prefix_space"), try a.bool() == false {
                if c.opt("prepend_scheme") != nil && scheme != .never {
                    throw a.fail("add_prefix_space does not match declared prepend_scheme")
                }
                scheme = .never
            }
            return .metaspace(replacement: replacement, prepend: scheme, split: try c.bool("split", default: true))
        case "Punctuation":
            return .punctuation(try c.opt("behavior").map(SplitBehavior.init(json:)) ?? .isolated)
        case "Split":
            return .split(pattern: try loadStringOrRegex(try c.req("pattern")),
                          behavior: try SplitBehavior(json: try c.req("behavior")),
                          invert: try c.bool("invert", default: false))
        case "Digits": return .digits(individual: try c.bool("individual_digits", default: false))
        case "Sequence": return .sequence(try c.req("pretokenizers").array().map(load))
        default:
            throw c.fail("unsupported pre-tokenizer type \"\(type)\"")
        }
    }

    func preTokenize(_ splits: inout [Split]) {
        switch self {
        case .byteLevel(let addPrefixSpace, let useRegex):
            splitEach(&splits) { s, atStart in
                let t = (addPrefixSpace && s.utf8.first != 0x20) ? " " + s : s
                if !useRegex { return [(t, atStart)] }
                return pieces(t, gpt2Split(t), atStart: atStart)
            }
            for i in splits.indices where splits[i].tokens == nil {
                splits[i].text = ByteLevelMap.encode(splits[i].text)
            }
        case .bert:
            // Whitespace removed, then punctuation isolated, in one pass.
            splitEach(&splits) { s, a in pieces(s, bertRanges(s), atStart: a) }
        case .whitespace:
            // \w+|[^\w\s]+ kept, the rest removed.
            splitEach(&splits) { s, a in pieces(s, whitespaceRuns(s), atStart: a) }
        case .whitespaceSplit:
            splitEach(&splits) { s, a in pieces(s, splitRanges(s, .predicate { $0.isWS }, .removed), atStart: a) }
        case .metaspace(let replacement, let prepend, let split):
            let rep = String(replacement)
            splitEach(&splits) { s, atStart in
                var t = s.utf8.contains(0x20) ? replaceSpaces(s, with: rep) : s
                switch prepend {
                case .always: if !t.unicodeScalars.starts(with: [replacement]) { t = rep + t }
                case .first: if atStart && !t.unicodeScalars.starts(with: [replacement]) { t = rep + t }
                case .never: break
                }
                if !split { return [(t, atStart)] }
                return pieces(t, splitRanges(t, .predicate { $0 == replacement }, .mergedWithNext), atStart: atStart)
            }
        case .punctuation(let behavior):
            splitEach(&splits) { s, a in pieces(s, splitRanges(s, .predicate { $0.isBertPunctuation }, behavior), atStart: a) }
        case .split(let pattern, let behavior, let invert):
            splitEach(&splits) { s, a in pieces(s, splitRanges(s, pattern, behavior, invert: invert), atStart: a) }
        case .digits(let individual):
            splitEach(&splits) { s, a in
                pieces(s, splitRanges(s, .predicate { $0.isNumber }, individual ? .isolated : .contiguous), atStart: a)
            }
        case .sequence(let ps):
            for p in ps { p.preTokenize(&splits) }
        }
    }
}

func replaceSpaces(_ s: String, with rep: String) -> String {
    var out = ""
    out.reserveCapacity(s.utf8.count + 8)
    for c in s.unicodeScalars {
        if c == " " { out += rep } else { out.unicodeScalars.append(c) }
    }
    return out
}

/// Byte ranges of `\w+|[^\w\s]+` in `s` (the Whitespace pre-tokenizer keeps these).
func whitespaceRuns(_ s: String) -> [Range<Int>] {
    var out: [Range<Int>] = []
    var b = 0
    var runStart = -1
    var runKind = 0  // 1: word, 2: other non-space
    for c in s.unicodeScalars {
        let kind = c.isWordChar ? 1 : (c.isWS ? 0 : 2)
        if kind != runKind {
            if runKind != 0 { out.append(runStart..<b) }
            runStart = b
            runKind = kind
        }
        b += UTF8.width(c)
    }
    if runKind != 0 { out.append(runStart..<b) }
    return out
}

/// Byte ranges of BertPreTokenizer's words: runs between whitespace, with each punctuation scalar alone.
func bertRanges(_ s: String) -> [Range<Int>] {
    var out: [Range<Int>] = []
    var b = 0
    var start = -1
    for c in s.unicodeScalars {
        let w = UTF8.width(c)
        if c.isWS {
            if start >= 0 { out.append(start..<b); start = -1 }
        } else if c.isBertPunctuation {
            if start >= 0 { out.append(start..<b); start = -1 }
            out.append(b..<(b + w))
        } else if start < 0 {
            start = b
        }
        b += w
    }
    if start >= 0 { out.append(start..<b) }
    return out
}
