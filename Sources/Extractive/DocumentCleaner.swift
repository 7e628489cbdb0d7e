// Page furniture removed before segmentation: what news pages put around the story and no summary
// wants. Each rule is a regular expression replaced by a space, in this order (bench/quality/selectors_py.py
// states the same rules for the fixtures):
// - a byline opening the text: "By . Sam Webb . " (the dataset's dotted form, "and . Tom Kelly . " too) or
//   "By Sam Webb for MailOnline" before a time stamp;
// - Daily Mail's "PUBLISHED: 12:23 EST, 6 February 2013 | UPDATED: ..." and "Last updated at 4:15 PM on
//   12th June 2013" time stamps, anywhere;
// - "Scroll down for video(s)", anywhere (the caption after it then starts a sentence of its own);
// - a dateline before "(CNN)" opening the text ("Washington (CNN) -- ").

import Foundation

public struct DocumentCleaner: Sendable {
    static let time = #"\d{1,2}:\d{2}\s*(?:[AP]M\s*)?(?:EST|EDT|GMT|BST|PST|PDT|CET)?,?\s*(?:on\s+)?\d{1,2}(?:st|nd|rd|th)?\s+[A-Z][a-z]+\s+\d{4}"#
    /// (rule, applies only at the very start of the text)
    static let rules: [(NSRegularExpression, startOnly: Bool)] = [
        (#"^\s*By\s+\.\s+[^.\n]{1,80}?\s+\.\s+(?:and\s+\.?\s*[^.\n]{1,80}?\s+\.\s+)?"#, true),
        (#"^\s*By\s+[^.\n]{1,80}?(?=\s+(?:PUBLISHED|UPDATED|Last updated)\b)"#, true),
        (#"\bPUBLISHED:\s*\.?\s*"# + time + #"\s*\.?\s*(?:\|\s*\.?\s*UPDATED:\s*\.?\s*"# + time + #"\s*\.?)?"#, false),
        (#"\bUPDATED:\s*\.?\s*"# + time + #"\s*\.?"#, false),
        (#"\bLast updated at\s+"# + time + #"\s*\.?"#, false),
        (#"\bScroll down for videos?\b\.?"#, false),
        (#"^\s*(?:[A-Z][\w.'-]*(?:[ ,]+[A-Z][\w.'-]*)*\s*)?\(CNN\)\s*(?:--\s*)?"#, true),
    ].map { (try! NSRegularExpression(pattern: $0.0), $0.1) }

    public init() {}

    public func clean(_ text: String) -> String {
        var s = text
        for (rule, startOnly) in Self.rules {
            let all = NSRange(s.startIndex..<s.endIndex, in: s)
            if startOnly {
                // anchored: `^` is the start of the text (no multi-line option)
                guard let m = rule.firstMatch(in: s, options: [.anchored], range: all), let r = Range(m.range, in: s) else { continue }
                s.replaceSubrange(r, with: " ")
            } else {
                s = rule.stringByReplacingMatches(in: s, range: all, withTemplate: " ")
            }
        }
        return s
    }
}
