// Sentence segmentation rules (Sources/Extractive/SentenceSegmenter.swift).

@testable import Extractive
import XCTest

final class SegmenterTests: XCTestCase {
    let seg = SentenceSegmenter()

    func check(_ text: String, _ expected: [String], file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertEqual(seg.split(text), expected, file: file, line: line)
    }

    func testPlainSentences() {
        check("The cat sat. The dog barked! Did it? Yes.", ["The cat sat.", "The dog barked!", "Did it?", "Yes."])
        check("No final stop here", ["No final stop here"])
        check("", [])
        check("   \n\n  ", [])
    }

    func testAbbreviationsAndTitles() {
        check("Mr. Smith met Dr. Jones at St. Mary's. They talked.", ["Mr. Smith met Dr. Jones at St. Mary's.", "They talked."])
        check("Prof. Ortega and Gen. Patel spoke. Then they left.", ["Prof. Ortega and Gen. Patel spoke.", "Then they left."])
        check("Use tools, e.g. hammers, i.e. heavy ones. Fine.", ["Use tools, e.g. hammers, i.e. heavy ones.", "Fine."])
        check("It was Apple Inc. that won. Others lost.", ["It was Apple Inc. that won.", "Others lost."])
        check("She works at Acme Inc. The firm is small.", ["She works at Acme Inc.", "The firm is small."])
        check("See No. 5 on p. 12 of Vol. 3. Good.", ["See No. 5 on p. 12 of Vol. 3.", "Good."])
        check("It opens Jan. 15 at 9 a.m. local time. Come early.", ["It opens Jan. 15 at 9 a.m. local time.", "Come early."])
        check("Mayor J. R. Whitfield spoke. He was brief.", ["Mayor J. R. Whitfield spoke.", "He was brief."])
        check("Main roads vs. side streets etc. are closed.", ["Main roads vs. side streets etc. are closed."])
        check("Die Kosten werden auf rund 7 Mrd. Euro geschätzt. Der Bau beginnt 2027.",
              ["Die Kosten werden auf rund 7 Mrd. Euro geschätzt.", "Der Bau beginnt 2027."])
    }

    func testInitialisms() {
        check("The U.S. Senate voted. It passed.", ["The U.S. Senate voted.", "It passed."])
        check("He moved to the U.S. The weather was warm.", ["He moved to the U.S.", "The weather was warm."])
        check("Talks at the U.N. and the E.U. continue. More soon.", ["Talks at the U.N. and the E.U. continue.", "More soon."])
        check("She has a Ph.D. in physics.", ["She has a Ph.D. in physics."])
        check("It ended at 5 p.m. The crowd left.", ["It ended at 5 p.m.", "The crowd left."])
    }

    func testDecimalsNumbersAndAddresses() {
        check("Inflation was 3.1% in May. It fell to 2.6% later.", ["Inflation was 3.1% in May.", "It fell to 2.6% later."])
        check("Pi is 3.14159. Version 2.0.1 shipped.", ["Pi is 3.14159.", "Version 2.0.1 shipped."])
        check("Write to jane.doe@example.com or visit example.org. Thanks.",
              ["Write to jane.doe@example.com or visit example.org.", "Thanks."])
        check("It cost $1,234.56 in total. He scored 5. Then he left.", ["It cost $1,234.56 in total.", "He scored 5.", "Then he left."])
    }

    func testEllipsesAndRunsOfStops() {
        check("Well... maybe not. Wait... The end.", ["Well... maybe not.", "Wait...", "The end."])
        check("Really?! Yes!!! Fine…", ["Really?!", "Yes!!!", "Fine…"])
        check("He waited… and waited. Nothing.", ["He waited… and waited.", "Nothing."])
    }

    func testQuotesAndBracketsAfterTheStop() {
        check("He said \"Go.\" Then he left.", ["He said \"Go.\"", "Then he left."])
        check("“We never gave up hope.” She smiled.", ["“We never gave up hope.”", "She smiled."])
        check("(This is an aside.) The story goes on.", ["(This is an aside.)", "The story goes on."])
        check("“Really?” he asked. “Yes.”", ["“Really?” he asked.", "“Yes.”"])
        check("« Simplifier, oui. » Le texte passe.", ["« Simplifier, oui. »", "Le texte passe."])
    }

    func testOtherScripts() {
        check("今天天气很好！我们去公园吧？好的。", ["今天天气很好！", "我们去公园吧？", "好的。"])
        check("東京は日本の首都です。「本当？」と聞いた。", ["東京は日本の首都です。", "「本当？」と聞いた。"])
        check("你好!我们走吧?", ["你好!", "我们走吧?"])
        check("बिल्ली चटाई पर बैठी है। कुत्ता भौंका।", ["बिल्ली चटाई पर बैठी है।", "कुत्ता भौंका।"])
        check("هل أنت بخير؟ نعم.", ["هل أنت بخير؟", "نعم."])
        check("Кошка сидит на ковре. Собака лает.", ["Кошка сидит на ковре.", "Собака лает."])
    }

    func testNewlinesAndParagraphs() {
        let text = "Headline Without a Stop\n\nFirst paragraph sentence one. Sentence two.\nA new line starts here\nand continues here.\n\n\nSecond paragraph."
        let s = seg.segment(text)
        XCTAssertEqual(s.map(\.text), ["Headline Without a Stop", "First paragraph sentence one.", "Sentence two.",
                                       "A new line starts here\nand continues here.", "Second paragraph."])
        XCTAssertEqual(s.map(\.paragraph), [0, 1, 1, 1, 2])
        for x in s { XCTAssertEqual(String(text[x.range]), x.text) }
        check("A list:\n- first item\n- second item", ["A list:", "- first item", "- second item"])
        check("Windows\r\nline ends.\r\n\r\nNext.", ["Windows\r\nline ends.", "Next."])
        check("Numbered:\n1. First point\n2. Second point", ["Numbered:", "1. First point", "2. Second point"])
    }

    func testSegmentsWithoutLettersAreDropped() {
        check("One.\n\n***\n\nTwo.", ["One.", "Two."])
        check("...", [])
    }

    func testRangesCoverTheInput() throws {
        for url in try articleURLs() {
            let text = try String(contentsOf: url, encoding: .utf8)
            let sentences = seg.segment(text)
            XCTAssertGreaterThanOrEqual(sentences.count, 5, url.lastPathComponent)
            var last = text.startIndex
            for s in sentences {
                XCTAssertEqual(String(text[s.range]), s.text)
                XCTAssertGreaterThanOrEqual(s.range.lowerBound, last, "sentences in order, not overlapping")
                XCTAssertTrue(text[last..<s.range.lowerBound].allSatisfy { $0.isWhitespace },
                              "only whitespace between sentences in \(url.lastPathComponent): \(text[last..<s.range.lowerBound])")
                last = s.range.upperBound
            }
        }
    }
}

func articleURLs() throws -> [URL] {
    let dir = MiniLM.fixtures.appendingPathComponent("extractive")
    return try FileManager.default.contentsOfDirectory(at: dir, includingPropertiesForKeys: nil)
        .filter { $0.pathExtension == "txt" }.sorted { $0.lastPathComponent < $1.lastPathComponent }
}
