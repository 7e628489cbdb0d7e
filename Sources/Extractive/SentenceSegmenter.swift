// Sentence segmentation for extractive summaries: rule-based, deterministic, no model.
//
// A sentence ends at
// - `.` `!` `?` `…` (and runs of them: `?!`, `...`) followed by whitespace or the end of the text, with any
//   closing quotes or brackets after the stop kept in the sentence (`He said "Go." Then` -> `He said "Go."`);
//   not when the next word starts with a lowercase letter (`e.g. the`, `3 p.m. yesterday`);
//   a `.` after an abbreviation: never after a title (`Mr.` `Dr.` `Prof.`), and after an initialism,
//   a single initial or an ambiguous abbreviation (`U.S.` `J.` `Inc.` `Jan.`) only when the next word is a
//   common sentence opener (`the U.S. The` splits, `the U.S. Senate` does not); decimals (`3.14`),
//   URLs and e-mail addresses have no space after the dot and never split;
// - the full stops of other scripts: `。！？｡` (no space needed after them), `।` `॥` `؟` `۔` `።` `։` `။`;
//   `!` or `?` directly followed by Han, kana or Hangul text;
// - a blank line (paragraph break); a single newline too, unless the next line continues the sentence
//   (it starts with a lowercase letter, or the line ends with `,` `;` `-` `(` and the like).
// Segments without any letter or digit (`***`, `--`) are dropped.

public struct Sentence: Sendable, Equatable {
    /// The sentence, as it appears in the input with surrounding whitespace trimmed.
    public var text: String
    /// Where `text` lies in the input.
    public var range: Range<String.Index>
    /// Paragraph number (paragraphs are separated by blank lines), from 0.
    public var paragraph: Int
}

public struct SentenceSegmenter: Sendable {
    /// Abbreviations that precede a name and never end a sentence (lowercase, without the dot).
    public var titles: Set<String> = [
        "mr", "mrs", "ms", "messrs", "mmes", "dr", "drs", "prof", "profs", "rev", "hon", "gen", "gov", "sen", "rep",
        "reps", "lt", "col", "maj", "capt", "cmdr", "adm", "sgt", "cpl", "pvt", "supt", "insp", "det", "pres", "atty",
        "fr", "mme", "mlle", "sra", "srta", "dott", "avv", "e.g", "i.e", "cf", "vs", "viz", "approx", "ca", "z.b",
        "d.h", "p.ej", "bzw", "usw", "ggf", "evtl", "vgl", "sog",
    ]
    /// Abbreviations that may also end a sentence: they end one only before a common sentence opener
    /// (`Main St. The` splits, `St. Louis` and `No. 5` do not).
    public var ambiguous: Set<String> = [
        "inc", "ltd", "co", "corp", "llc", "plc", "bros", "etc", "al", "jr", "sr", "st", "mt", "ft", "jan", "feb",
        "apr", "jun", "jul", "aug", "sep", "sept", "oct", "nov", "dec", "mon", "tue", "tues", "wed", "thu", "thurs",
        "fri", "ave", "blvd", "rd", "govt", "dept", "univ", "est", "mfg", "hrs", "yrs", "mins", "secs", "oz", "lb",
        "lbs", "km", "cm", "mm", "kg", "yd", "sq", "esq", "phd", "no", "nos", "nr", "vol", "vols", "p", "pp", "fig",
        "figs", "ch", "sec", "art", "para", "ed", "eds", "ext", "tel", "incl", "resp", "op", "str", "mrd", "mio",
        "tsd", "jh", "abs", "bd", "env", "av", "dpto",
    ]
    /// Words that start sentences far more often than they follow an abbreviation inside one (lowercase).
    public var openers: Set<String> = [
        "the", "a", "an", "he", "she", "it", "they", "we", "i", "you", "this", "that", "these", "those", "there",
        "here", "his", "her", "its", "their", "our", "my", "your", "but", "and", "or", "so", "yet", "then", "now",
        "in", "on", "at", "for", "from", "with", "by", "as", "after", "before", "when", "while", "if", "although",
        "though", "because", "since", "what", "where", "why", "how", "who", "which", "however", "meanwhile",
        "still", "also", "some", "many", "most", "all", "both", "each", "every", "such", "another", "other",
        "one", "two", "three", "no", "not", "nor", "yes", "instead", "today", "yesterday", "tomorrow", "last",
        "next", "earlier", "later", "officials", "analysts", "experts", "critics", "according", "during", "despite",
    ]

    public init() {}

    /// The sentences of `text`, in order.
    public func split(_ text: String) -> [String] { segment(text).map(\.text) }

    public func segment(_ text: String) -> [Sentence] {
        let chars = Array(text)
        var indices = Array(text.indices)
        indices.append(text.endIndex)
        let n = chars.count
        var out: [Sentence] = []
        var start = 0, paragraph = 0, i = 0

        func emit(_ end: Int) {
            var a = start, b = end
            while a < b && chars[a].isWhitespace { a += 1 }
            while b > a && chars[b - 1].isWhitespace { b -= 1 }
            if a < b && chars[a..<b].contains(where: { $0.isLetter || $0.isNumber }) {
                let range = indices[a]..<indices[b]
                out.append(Sentence(text: String(text[range]), range: range, paragraph: paragraph))
            }
        }
        func skipSpaces(_ k: Int) -> Int {
            var k = k
            while k < n && chars[k].isWhitespace && !chars[k].isNewline { k += 1 }
            return k
        }

        while i < n {
            let c = chars[i]
            if c.isNewline {
                // a run of whitespace holding one newline (a line break) or more (a paragraph break)
                var j = i, newlines = 0
                while j < n && chars[j].isWhitespace { if chars[j].isNewline { newlines += 1 }; j += 1 }
                if newlines >= 2 {
                    emit(i)
                    if !out.isEmpty && out.last!.paragraph == paragraph { paragraph += 1 }
                    start = j
                } else if !continuesLine(chars, lineEnd: i, next: j) {
                    emit(i)
                    start = j
                }
                i = j
                continue
            }
            if Self.fullStops.contains(c) {
                var end = i + 1
                while end < n && (Self.fullStops.contains(chars[end]) || Self.stops.contains(chars[end])) { end += 1 }
                let closed = end
                while end < n && Self.closers.contains(chars[end]) { end += 1 }
                // a quoted question or exclamation followed by a quotative particle goes on: 「本当？」と聞いた。
                if end > closed && end < n && "と、，".contains(chars[end]) { i = end; continue }
                emit(end)
                start = end
                i = end
                continue
            }
            if Self.stops.contains(c) || Self.isOtherStop(c) {
                var end = i + 1
                while end < n && (Self.stops.contains(chars[end]) || Self.isOtherStop(chars[end])) { end += 1 }
                while end < n && Self.closers.contains(chars[end]) { end += 1 }
                // French spacing before a closing guillemet: `oui. »`
                if end + 1 < n && chars[end].isWhitespace && !chars[end].isNewline && "»›".contains(chars[end + 1]) { end += 2 }
                let run = chars[i..<end]
                if end < n && !chars[end].isWhitespace {
                    // `!` or `?` straight before CJK text still ends the sentence; otherwise (3.14, a.b.c) not
                    if (c == "!" || c == "?") && Self.isCJK(chars[end]) { emit(end); start = end }
                    i = end
                    continue
                }
                let next = skipSpaces(end)
                if next >= n || chars[next].isNewline || isBoundary(chars, stop: i, run: run, next: next) {
                    emit(end)
                    start = next
                    i = next
                    continue
                }
                i = end
                continue
            }
            i += 1
        }
        emit(n)
        return out
    }

    // MARK: rules

    static let stops: Set<Character> = [".", "!", "?", "…", "‼", "⁇", "⁈", "⁉"]
    /// Stops of scripts without letter case: a boundary whenever whitespace follows.
    /// Compared by scalar, not as Characters: Character comparison is canonical equivalence, under which
    /// U+037E GREEK QUESTION MARK equals `;`, and a semicolon does not end a sentence.
    static let otherStops: Set<Unicode.Scalar> = ["।", "॥", "؟", "۔", "።", "։", "။", "\u{037E}"]

    static func isOtherStop(_ c: Character) -> Bool {
        c.unicodeScalars.count == 1 && otherStops.contains(c.unicodeScalars.first!)
    }
    /// Full stops that end a sentence with or without whitespace after them.
    static let fullStops: Set<Character> = ["。", "！", "？", "｡", "．"]
    static let closers: Set<Character> = [
        "\"", "'", "”", "’", "“", "‘", "»", "›", ")", "]", "}", "」", "』", "】", "）", "〕", "〉", "》", "］", "｝", "＂", "＇", "〞",
    ]

    static func isCJK(_ c: Character) -> Bool {
        guard let s = c.unicodeScalars.first?.value else { return false }
        return (0x3040...0x30FF).contains(s) || (0x3400...0x4DBF).contains(s) || (0x4E00...0x9FFF).contains(s)
            || (0xAC00...0xD7AF).contains(s) || (0xF900...0xFAFF).contains(s) || (0x20000...0x2FFFF).contains(s)
    }

    /// Whether the stop run `run` (starting at `stop`), followed by whitespace and then `chars[next]`, ends a sentence.
    func isBoundary(_ chars: [Character], stop: Int, run: ArraySlice<Character>, next: Int) -> Bool {
        let nextChar = chars[next]
        if nextChar.isLowercase { return false }
        let stopsOnly = run.filter { !Self.closers.contains($0) }
        if Self.isOtherStop(stopsOnly.first!) { return true }
        // an ellipsis inside a sentence is followed by a lowercase word (handled above); before anything else it ends one
        guard stopsOnly == ["."] else { return true }
        if run.count > 1 { return true }   // `."` `.)`: the quote or bracket closes the sentence
        // the word before the dot, back to whitespace or an opening bracket or quote
        var a = stop
        while a > 0 && !chars[a - 1].isWhitespace && !"([{\"'“‘«".contains(chars[a - 1]) { a -= 1 }
        let word = String(chars[a..<stop])
        let lower = word.lowercased()
        if word.isEmpty { return true }
        if titles.contains(lower) { return false }
        // a list marker (`1.` `a.`) alone at the start of a line is not a sentence
        if a == 0 || chars[a - 1].isNewline, word.count <= 3, word.allSatisfy({ $0.isNumber }) { return false }
        // U.S, a.m, Ph.D (short letter groups; not example.org)
        let initialism = word.contains(".") && word.split(separator: ".").allSatisfy { $0.count <= 2 && $0.allSatisfy(\.isLetter) }
        let initial = word.count == 1 && word.first!.isUppercase                               // J. K. Rowling
        if initialism || initial || ambiguous.contains(lower) {
            return startsWithOpener(chars, at: next)
        }
        return true
    }

    func startsWithOpener(_ chars: [Character], at k: Int) -> Bool {
        var e = k
        while e < chars.count && chars[e].isLetter { e += 1 }
        guard e > k else { return chars[k].isNumber ? false : true }   // a quote or bracket opens a new sentence
        return openers.contains(String(chars[k..<e]).lowercased())
    }

    /// Whether a single line break at `lineEnd` continues the sentence onto the line starting at `next`.
    func continuesLine(_ chars: [Character], lineEnd: Int, next: Int) -> Bool {
        guard next < chars.count else { return false }
        if chars[next].isLowercase { return true }
        var b = lineEnd
        while b > 0 && chars[b - 1].isWhitespace { b -= 1 }
        guard b > 0 else { return false }
        return ",;(-–—/&".contains(chars[b - 1])
    }
}
