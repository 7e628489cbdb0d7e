// A decode step's token choice without a row of log-probabilities (Sources/CKernels/topk.c,
// Sources/Tensor/TopK.swift, `offerProcessedRow` in Sources/Generation/DecodingBatch.swift): the top-k list
// against a sort, the scan against one offer per element on every tier, log-softmax's constants against its
// output, and processing only the touched tokens against processing the whole row.

import CKernels
@testable import Generation
import Tensor
import XCTest

final class TokenChoiceTests: XCTestCase {
    /// The first k of (value, index) sorted by value descending, then index ascending.
    func reference(_ pairs: [(Float, Int)], k: Int) -> [(Float, Int)] {
        Array(pairs.sorted { $0.0 > $1.0 || ($0.0 == $1.0 && $0.1 < $1.1) }.prefix(k))
    }

    func assertSame(_ top: TopKList, _ expected: [(Float, Int)], _ message: String) {
        XCTAssertEqual(top.count, expected.count, message)
        XCTAssertEqual(top.indices, expected.map(\.1), message)
        XCTAssertEqual(top.values.map(\.bitPattern), expected.map(\.0.bitPattern), message)
    }

    func testTopKKeepsTheBestWhateverTheOrderOfOffers() {
        var g = SystemRandomNumberGenerator()
        for k in [1, 2, 3, 8, 9] {
            for trial in 0..<20 {
                // few distinct values: ties everywhere, and some -inf
                let pairs = (0..<200).map { i -> (Float, Int) in
                    (Int.random(in: 0..<10, using: &g) == 0 ? -.infinity : Float(Int.random(in: -6...6, using: &g)) / 4, i * 3)
                }
                var top = TopKList(k: k)
                for (v, i) in pairs.shuffled(using: &g) { top.offer(v, index: i) }
                assertSame(top, reference(pairs, k: k), "k=\(k) trial \(trial)")
                top.removeAll()
                XCTAssertEqual(top.count, 0)
            }
        }
    }

    func testScanEqualsOneOfferPerElementOnEveryTier() {
        var g = SystemRandomNumberGenerator()
        for tier in CPUTier.allCases where tier <= CPUTier.supported {
            for n in [1, 5, 8, 9, 17, 63, 1031] {
                for k in [1, 3, 8] {
                    // quantized values (ties that reach the k-th exactly), large and small
                    let row = (0..<n).map { _ in Float(Int.random(in: -40...40, using: &g)) / 8 }
                    let m = Float.random(in: -3...3, using: &g), lse = Float.random(in: 0...12, using: &g)
                    let base = Float(Int.random(in: -3...0, using: &g))
                    let skip = (0..<n).filter { _ in Int.random(in: 0..<6, using: &g) == 0 }
                    let offset = 7 * n
                    var expected: [(Float, Int)] = []
                    for t in 0..<n where !skip.contains(t) { expected.append((base + ((row[t] - m) - lse), offset + t)) }
                    var top = TopKList(k: k)
                    // an earlier row already in the list, as for a beam after the first
                    top.offer(base - 1, index: 3)
                    expected.append((base - 1, 3))
                    row.withUnsafeBufferPointer {
                        top.scan($0.baseAddress!, count: n, max: m, lse: lse, base: base, skipping: skip, offset: offset,
                                 tier: tier)
                    }
                    assertSame(top, reference(expected, k: k), "\(tier.name) n=\(n) k=\(k)")
                }
            }
        }
    }

    func testLogSoftmaxConstantsGiveItsOutputExactly() {
        var g = SystemRandomNumberGenerator()
        for tier in CPUTier.allCases where tier <= CPUTier.supported {
            for n in [1, 7, 8, 9, 1000, 50265] {
                var x = (0..<n).map { _ in Float.random(in: -30...30, using: &g) }
                if n > 2 { x[1] = -.infinity }
                var out = [Float](repeating: 0, count: n)
                x.withUnsafeBufferPointer { xs in
                    out.withUnsafeMutableBufferPointer { logSoftmaxRow(xs.baseAddress!, into: $0.baseAddress!, count: n, tier: tier) }
                }
                let (m, lse) = x.withUnsafeBufferPointer { logSoftmaxShift($0.baseAddress!, count: n, tier: tier) }
                XCTAssertEqual(out.map(\.bitPattern), x.map { ((($0 - m) - lse)).bitPattern }, "\(tier.name) n=\(n)")
            }
        }
    }

    /// Every sparse processor's writes fall inside the tokens it reports; the forced ones report nil on their
    /// step and nothing otherwise.
    func testProcessorsTouchOnlyWhatTheyReport() {
        var g = SystemRandomNumberGenerator()
        let v = 40
        let processors: [any LogitsProcessor] = [RepetitionPenalty(1.7), NoRepeatNGram(2), NoRepeatNGram(3), NoRepeatNGram(1),
                                                 MinLength(9, eos: [2, 5]), MinNewTokens(promptLength: 1, minNewTokens: 6, eos: [2]),
                                                 ForcedBOS(0), ForcedEOS(maxLength: 9, eos: [2])]
        for trial in 0..<200 {
            let sequence = [2] + (0..<Int.random(in: 0...10, using: &g)).map { _ in Int.random(in: 0..<8, using: &g) }
            for p in processors {
                let row = (0..<v).map { _ in Float.random(in: -5...5, using: &g) }
                var processed = row
                processed.withUnsafeMutableBufferPointer { p.process($0, sequence: sequence) }
                let changed = (0..<v).filter { processed[$0].bitPattern != row[$0].bitPattern }
                guard let touched = p.touchedTokens(sequence: sequence, vocabulary: v) else {
                    XCTAssertTrue(p is ForcedBOS || p is ForcedEOS, "\(p) trial \(trial)")
                    continue
                }
                XCTAssertEqual(touched, Set(touched).sorted(), "\(p): ascending and distinct")
                XCTAssertTrue(Set(changed).isSubset(of: touched), "\(p) sequence \(sequence): changed \(changed), reported \(touched)")
            }
        }
        XCTAssertNil(LogitsProcessorList([Temperature(0.7)]).touchedTokens(sequence: [2], vocabulary: v))
    }

    /// The step's choice from the touched tokens alone equals the choice from the whole processed row (the path
    /// the decode loop took before: log-softmax written out, every processor over it, then the top-k).
    func testProcessingTouchedTokensChoosesWhatTheWholeRowChooses() {
        var g = SystemRandomNumberGenerator()
        let v = 300
        var c = ResolvedGeneration()
        c.repetitionPenalty = 1.3; c.noRepeatNgramSize = 2; c.minLength = 6; c.maxLength = 12
        c.eosTokenIds = [2]; c.forcedBosTokenId = 0; c.forcedEosTokenIds = [2]
        let processors = LogitsProcessorList(c)
        XCTAssertEqual(processors.processors.count, 5)
        for trial in 0..<300 {
            // sequences of every length up to max_length - 1 (the forced BOS and EOS steps included), over few
            // tokens so that n-grams repeat
            let sequence = [2] + (0..<Int.random(in: 0...10, using: &g)).map { _ in Int.random(in: 0..<12, using: &g) }
            let row = (0..<v).map { _ in Float(Int.random(in: -64...64, using: &g)) / 16 }
            let beamSearch = trial % 2 == 0
            let (m, lse) = beamSearch ? row.withUnsafeBufferPointer { logSoftmaxShift($0.baseAddress!, count: v) } : (0, 0)
            let base: Float = beamSearch ? -Float(trial % 5) : 0
            let k = beamSearch ? 8 : 1

            var whole = [Float](repeating: 0, count: v)
            row.withUnsafeBufferPointer { r in
                whole.withUnsafeMutableBufferPointer { w in
                    if beamSearch { logSoftmaxRow(r.baseAddress!, into: w.baseAddress!, count: v) } else { _ = w.update(from: r) }
                    processors.process(w, sequence: sequence)
                }
            }
            let expected = reference(whole.enumerated().map { (base + $0.element, 2 * v + $0.offset) }, k: k)

            var scores = [Float](repeating: .nan, count: v), top = TopKList(k: k)
            row.withUnsafeBufferPointer {
                offerProcessedRow($0.baseAddress!, vocabulary: v, max: m, lse: lse, base: base, sequence: sequence,
                                  offset: 2 * v, processors: processors, scores: &scores, top: &top)
            }
            assertSame(top, expected, "trial \(trial) sequence \(sequence)")
        }
    }
}
