// Character classes as the Rust `tokenizers` crate defines them, on Unicode scalars (Rust `char`s),
// never on grapheme clusters.

extension Unicode.Scalar {
    /// Rust `char::is_whitespace`: the White_Space property.
    @inline(__always) var isWS: Bool {
        if value < 0x80 { return value == 0x20 || (value >= 0x09 && value <= 0x0D) }
        return properties.isWhitespace
    }

    /// `\p{L}`
    @inline(__always) var isLetter: Bool {
        if value < 0x80 { return (value | 0x20) >= 0x61 && (value | 0x20) <= 0x7A }
        switch properties.generalCategory {
        case .uppercaseLetter, .lowercaseLetter, .titlecaseLetter, .modifierLetter, .otherLetter: return true
        default: return false
        }
    }

    /// `\p{N}`; also Rust `char::is_numeric` (Nd, Nl, No).
    @inline(__always) var isNumber: Bool {
        if value < 0x80 { return value >= 0x30 && value <= 0x39 }
        switch properties.generalCategory {
        case .decimalNumber, .letterNumber, .otherNumber: return true
        default: return false
        }
    }

    /// unicode_categories `is_punctuation`: Pc, Pd, Ps, Pe, Pi, Pf, Po.
    var isPunctuationCategory: Bool {
        switch properties.generalCategory {
        case .connectorPunctuation, .dashPunctuation, .openPunctuation, .closePunctuation,
             .initialPunctuation, .finalPunctuation, .otherPunctuation: return true
        default: return false
        }
    }

    /// `char::is_ascii_punctuation(c) || c.is_punctuation()` (BERT and the Punctuation pre-tokenizer).
    var isBertPunctuation: Bool {
        if value < 0x80 {
            return (value >= 0x21 && value <= 0x2F) || (value >= 0x3A && value <= 0x40)
                || (value >= 0x5B && value <= 0x60) || (value >= 0x7B && value <= 0x7E)
        }
        return isPunctuationCategory
    }

    /// unicode_categories `is_other`: Cc, Cf, Co, Cs (its tables leave unassigned code points out, so
    /// BERT's clean-up keeps them and they become [UNK]).
    var isOtherCategory: Bool {
        if value < 0x80 { return value < 0x20 || value == 0x7F }   // ASCII: only the C0 controls and DEL are Cc
        switch properties.generalCategory {
        case .control, .format, .privateUse, .surrogate: return true
        default: return false
        }
    }

    /// Mn
    var isNonspacingMark: Bool { value >= 0x300 && properties.generalCategory == .nonspacingMark }   // no Mn below U+0300

    /// Mn, Mc, Me (unicode-normalization `is_combining_mark`).
    var isMark: Bool {
        if value < 0x300 { return false }   // no combining mark below U+0300
        switch properties.generalCategory {
        case .nonspacingMark, .spacingMark, .enclosingMark: return true
        default: return false
        }
    }

    /// Regex `\w` (Unicode): Alphabetic, Mark, Decimal_Number, Connector_Punctuation, Join_Control.
    var isWordChar: Bool {
        if value < 0x80 {
            return (value | 0x20) >= 0x61 && (value | 0x20) <= 0x7A || (value >= 0x30 && value <= 0x39) || value == 0x5F
        }
        let p = properties
        if p.isAlphabetic || p.isJoinControl { return true }
        switch p.generalCategory {
        case .nonspacingMark, .spacingMark, .enclosingMark, .decimalNumber, .connectorPunctuation: return true
        default: return false
        }
    }

    /// The CJK ranges BERT isolates (`is_chinese_char`).
    var isCJK: Bool {
        switch value {
        case 0x4E00...0x9FFF, 0x3400...0x4DBF, 0x20000...0x2A6DF, 0x2A700...0x2B73F, 0x2B740...0x2B81F,
             0x2B920...0x2CEAF, 0xF900...0xFAFF, 0x2F800...0x2FA1F: return true
        default: return false
        }
    }
}

extension String {
    /// Rust `str::to_lowercase` per scalar (no context-dependent final sigma: NormalizedString
    /// lowercases char by char).
    func lowercasedScalars() -> String {
        var out = ScalarBuffer(capacity: utf8.count)
        for c in unicodeScalars {
            if c.value < 0x80 {
                out.append((c.value >= 0x41 && c.value <= 0x5A) ? Unicode.Scalar(c.value + 32)! : c)
            } else {
                for l in c.properties.lowercaseMapping.unicodeScalars { out.append(l) }
            }
        }
        return out.string
    }

    var isASCII: Bool { utf8.allSatisfy { $0 < 0x80 } }
}

/// A String key compared and hashed by its UTF-8 bytes. Swift's `String` equality is canonical
/// equivalence ("é" == "e\u{301}"), which would merge vocabulary entries the reference keeps apart.
struct RawKey: Hashable {
    let s: String
    init(_ s: String) { self.s = s }
    static func == (a: RawKey, b: RawKey) -> Bool {
        let x = a.s.utf8, y = b.s.utf8
        guard x.count == y.count else { return false }
        let fast = x.withContiguousStorageIfAvailable { p in y.withContiguousStorageIfAvailable { q in p.elementsEqual(q) } }
        return (fast ?? nil) ?? x.elementsEqual(y)
    }
    func hash(into h: inout Hasher) {
        var s = self.s
        s.withUTF8 { h.combine(bytes: UnsafeRawBufferPointer($0)) }
    }
}

/// A string built scalar by scalar as UTF-8 bytes, made a String once at the end (appending to a
/// String.UnicodeScalarView re-checks capacity and ASCII-ness on every scalar).
struct ScalarBuffer {
    var bytes: [UInt8]

    init(capacity: Int) {
        bytes = []
        bytes.reserveCapacity(capacity)
    }

    @inline(__always) mutating func append(_ c: Unicode.Scalar) {
        let v = c.value
        if v < 0x80 {
            bytes.append(UInt8(v))
        } else if v < 0x800 {
            bytes.append(UInt8(0xC0 | (v >> 6)))
            bytes.append(UInt8(0x80 | (v & 0x3F)))
        } else if v < 0x10000 {
            bytes.append(UInt8(0xE0 | (v >> 12)))
            bytes.append(UInt8(0x80 | ((v >> 6) & 0x3F)))
            bytes.append(UInt8(0x80 | (v & 0x3F)))
        } else {
            bytes.append(UInt8(0xF0 | (v >> 18)))
            bytes.append(UInt8(0x80 | ((v >> 12) & 0x3F)))
            bytes.append(UInt8(0x80 | ((v >> 6) & 0x3F)))
            bytes.append(UInt8(0x80 | (v & 0x3F)))
        }
    }

    var string: String { String(decoding: bytes, as: UTF8.self) }
}
