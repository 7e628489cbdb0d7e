// Post-processors (HF `processors/`): add special tokens around the model's ids.

indirect enum PostProcessor {
    case roberta(sep: Token, cls: Token)
    case bert(sep: Token, cls: Token)
    case template(single: [TemplatePiece], specials: [String: [Token]])
    case byteLevel
    case sequence([PostProcessor])

    enum TemplatePiece { case special(String), sequence }

    static func load(_ c: Cfg) throws -> PostProcessor {
        let type = try c.type()
        func pair(_ key: String) throws -> Token {
            let p = try c.req(key).array()
            guard p.count == 2 else { throw c.fail("\(key) must be [token, id]") }
            return Token(id: try p[1].int(), value: try p[0].string())
        }
        switch type {
        case "RobertaProcessing": return .roberta(sep: try pair("sep"), cls: try pair("cls"))
        case "BertProcessing": return .bert(sep: try pair("sep"), cls: try pair("cls"))
        case "ByteLevel": return .byteLevel
        case "Sequence": return .sequence(try c.req("processors").array().map(load))
        case "TemplateProcessing":
            var specials: [String: [Token]] = [:]
            if let st = c.opt("special_tokens") {
                for (name, v) in try st.object() {
                    let ids = try v.req("ids").array().map { try $0.int() }
                    let toks = try v.req("tokens").array().map { try $0.string() }
                    guard ids.count == toks.count else { throw v.fail("ids and tokens differ in length") }
                    specials[name] = zip(ids, toks).map { Token(id: $0, value: $1) }
                }
            }
            var single: [TemplatePiece] = []
            for p in try c.req("single").array() {
                if let s = p.opt("SpecialToken") {
                    let id = try s.req("id").string()
                    guard specials[id] != nil else { throw s.fail("special token \"\(id)\" is not in special_tokens") }
                    single.append(.special(id))
                } else if p.opt("Sequence") != nil {
                    single.append(.sequence)
                } else {
                    throw p.fail("expected SpecialToken or Sequence")
                }
            }
            return .template(single: single, specials: specials)
        default:
            throw c.fail("unsupported post-processor type \"\(type)\"")
        }
    }

    /// How many tokens `process` adds to a single sequence.
    var addedTokens: Int {
        switch self {
        case .roberta, .bert: return 2
        case .byteLevel: return 0
        case .template(let single, let specials):
            return single.reduce(0) { n, p in
                if case .special(let id) = p { return n + (specials[id]?.count ?? 0) }
                return n
            }
        case .sequence(let ps): return ps.reduce(0) { $0 + $1.addedTokens }
        }
    }

    func process(_ tokens: [Token], addSpecialTokens: Bool) -> [Token] {
        guard addSpecialTokens else { return tokens }
        switch self {
        case .roberta(let sep, let cls), .bert(let sep, let cls):
            return [cls] + tokens + [sep]
        case .byteLevel:
            return tokens
        case .template(let single, let specials):
            var out: [Token] = []
            for p in single {
                switch p {
                case .sequence: out.append(contentsOf: tokens)
                case .special(let id): out.append(contentsOf: specials[id] ?? [])
                }
            }
            return out
        case .sequence(let ps):
            var t = tokens
            for p in ps { t = p.process(t, addSpecialTokens: addSpecialTokens) }
            return t
        }
    }
}
