// Page furniture removed before segmentation (DocumentCleaner), on the forms news pages use; the same
// inputs give the same outputs through bench/quality/selectors_py.py's `clean` (its Python statement).

@testable import Extractive
import XCTest

final class DocumentCleanerTests: XCTestCase {
    func testFurnitureIsRemovedAndTheStoryKept() {
        let c = DocumentCleaner()
        let story = "A man who stole a bus was jailed."
        let cases = [
            "By . Sam Webb . PUBLISHED: . 12:23 EST, 6 February 2013 . | . UPDATED: . 12:58 EST, 6 February 2013 . " + story,
            "By Sam Webb for MailOnline PUBLISHED: 11:35 EST, 19 June 2013 | UPDATED: 11:58 EST, 19 June 2013 " + story,
            "By . Daily Mail Reporter . Last updated at 4:15 PM on 12th June 2013 . " + story,
            "By . Sam Webb . and . Tom Kelly . " + story,
            "Washington (CNN) -- " + story,
            "(CNN)" + story,
        ]
        for text in cases {
            XCTAssertEqual(c.clean(text).trimmingCharacters(in: .whitespaces), story, text)
        }
        XCTAssertEqual(c.clean("He left. Scroll down for video He said so.").split(whereSeparator: \.isWhitespace).joined(separator: " "),
                       "He left. He said so.")
        // bylines and datelines only where the text opens; ordinary prose untouched
        for text in ["The report, by . the council . was late.", "He told CNN (CNN) nothing.", "It was published: 12 June.",
                     "By the river they camped. The night was cold.", story] {
            XCTAssertEqual(c.clean(text), text)
        }
    }

    func testPositionStrategySkipsCaptionsQuestionsAndRepeats() throws {
        let text = """
        Storm Hits Coast. A powerful storm brought heavy rain and strong winds to the northern coast on Monday. \
        Will the town recover before summer arrives? Residents (pictured) cleared debris from the main street on Tuesday. \
        A powerful storm brought heavy rain and strong winds to the northern coast on Monday. \
        Officials said power would be restored to most homes within two days. The mayor praised volunteers for their work.
        """
        let s = try ExtractiveSummarizer(embedder: HashingEmbedder()).summarize(text, length: .sentences(3))
        // the headline is too short, the question, the caption and the repeat are not eligible
        XCTAssertEqual(s.sentences.map(\.index), [1, 5, 6], s.text)
        // a caption restating the story (most of its words) is a repeat too
        let restated = "Officials met on Monday to approve the new flood defence budget for the town. "
            + "Battered: officials met on Monday to approve the new flood defence budget. "
            + "Work on the walls will begin in the spring and take two years to finish. The budget is the largest in a decade."
        let r = try ExtractiveSummarizer(embedder: HashingEmbedder()).summarize(restated, length: .sentences(2))
        XCTAssertEqual(r.sentences.map(\.index), [0, 2], r.text)
        XCTAssertFalse(PositionSelector.isQuestion("He said \"yes.\""))
        XCTAssertTrue(PositionSelector.isQuestion("Is it over?\u{201D}"))
    }
}
