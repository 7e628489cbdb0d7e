// Admitted latency is a policy. The latency model fits step time against rows, and the planner admits a
// text only while every text in the batch stays within its target (ServingTests' AdmissionTests: the
// service's 503 when it would not).
import XCTest
@testable import BrevityKit

/// The admission plan's arithmetic: the latency model's fit, the planner's promises, the target's names.
final class AdmissionPlannerTests: XCTestCase {
    func testLatencyModelFitsBaseAndPerRowCost() {
        var m = LatencyModel()
        XCTAssertFalse(m.hasData)
        for _ in 0..<20 {
            m.recordStep(rows: 1, seconds: 0.010)
            m.recordStep(rows: 8, seconds: 0.045)
        }
        XCTAssertEqual(m.stepSeconds(rows: 1), 0.010, accuracy: 0.001)
        XCTAssertEqual(m.stepSeconds(rows: 4), 0.025, accuracy: 0.001)
        XCTAssertEqual(m.stepSeconds(rows: 32), 0.165, accuracy: 0.005)
        // one row count only: the prior slope (8 more rows cost one more base step) fills in
        var one = LatencyModel()
        for _ in 0..<10 { one.recordStep(rows: 1, seconds: 0.009) }
        XCTAssertGreaterThan(one.stepSeconds(rows: 9), one.stepSeconds(rows: 1) * 1.5)
        // texts that stop at a third of their allowed steps
        var lengths = LatencyModel()
        XCTAssertEqual(lengths.plannedFraction, 1)
        for _ in 0..<200 { lengths.recordLength(used: 10, allowed: 30) }
        XCTAssertEqual(lengths.plannedFraction, 1.0 / 3, accuracy: 0.02)
    }

    func testPlannerKeepsEveryTextWithinItsTarget() {
        var p = AdmissionPlanner(maxRows: 64, maxConcurrent: 16, target: .auto(factor: 2, slack: 0))
        for _ in 0..<20 {
            p.model.recordStep(rows: 1, seconds: 0.010)
            p.model.recordStep(rows: 8, seconds: 0.045)
        }
        // a running beam search (4 rows, 20 steps left at 25 ms = 0.5 s) due in 0.8 s
        let running = PlannedText(rows: 4, steps: 20, encodeTokens: 0, due: 100.8)
        // another like it: 8 rows cost 45 ms a step, 20 steps = 0.9 s: the running text would be late
        XCTAssertFalse(p.fits(PlannedText(rows: 4, steps: 20, encodeTokens: 0, due: 101.5), running: [running], now: 100))
        // a greedy text (1 row, 5 steps): 5 rows at 30 ms keeps both on time
        XCTAssertTrue(p.fits(PlannedText(rows: 1, steps: 5, encodeTokens: 0, due: 101), running: [running], now: 100))
        // an idle batch takes anything; the row limit holds whatever the times
        XCTAssertTrue(p.fits(PlannedText(rows: 4, steps: 1000, encodeTokens: 0, due: 100), running: [], now: 100))
        let wide = AdmissionPlanner(maxRows: 6, maxConcurrent: 16, target: .unbounded)
        XCTAssertFalse(wide.fits(PlannedText(rows: 4, steps: 1, encodeTokens: 0, due: .infinity),
                                 running: [PlannedText(rows: 4, steps: 1, encodeTokens: 0, due: .infinity)], now: 0))

        // budgets: twice the idle time (0.5 s), or a fixed bound, or none
        let new = [PlannedText(rows: 4, steps: 20, encodeTokens: 0, due: .infinity)]
        XCTAssertEqual(p.budget(new), 1.0, accuracy: 0.01)
        XCTAssertEqual(AdmissionPlanner(maxRows: 64, maxConcurrent: 16, target: .seconds(7)).budget(new), 7)
        XCTAssertEqual(AdmissionPlanner(maxRows: 64, maxConcurrent: 16, target: .unbounded).budget(new), .infinity)

        // queued behind the running text, in waves: the new text starts when the running one ends
        let finish = p.finishTimes(running: [running], waiting: [], new: [PlannedText(rows: 4, steps: 20, encodeTokens: 0, due: 101)], now: 100)
        XCTAssertEqual(finish[0], 101.0, accuracy: 0.01)
    }

    /// Texts that finish later than planned make the plan slower: the slowdown converges on the ratio,
    /// and a text that fitted before no longer does; it stays within bounds whatever it is told.
    func testThePlanLearnsFromTextsThatFinishLate() {
        var p = AdmissionPlanner(maxRows: 64, maxConcurrent: 16, target: .seconds(15))
        for _ in 0..<20 { p.recordStep(rows: 4, seconds: 0.05, alone: true) }
        // 8 rows: about 67 ms a step by the prior slope, 3.9 s for 59 steps
        let running = PlannedText(rows: 4, steps: 59, encodeTokens: 0, due: 100 + 5)
        let joining = PlannedText(rows: 4, steps: 59, encodeTokens: 0, due: 100 + 5)
        XCTAssertTrue(p.fits(joining, running: [running], now: 100), "59 steps of about 67 ms fit 5 s")
        // texts take 4.5 s where the unscaled plan says 3 s (the plan scaled by the slowdown as it learns)
        for _ in 0..<40 { p.recordOutcome(predicted: 3 * p.slowdown, actual: 4.5) }
        XCTAssertEqual(p.slowdown, 1.5, accuracy: 0.05)
        XCTAssertFalse(p.fits(joining, running: [running], now: 100), "at 1.5x the steps the pair misses its due time")
        for _ in 0..<100 { p.recordOutcome(predicted: 1, actual: 1000) }
        XCTAssertEqual(p.slowdown, 4)
        p.recordOutcome(predicted: .nan, actual: 1)
        p.recordOutcome(predicted: 0, actual: 1)
        XCTAssertEqual(p.slowdown, 4, "no plan, no lesson")
    }

    func testLatencyTargetParsing() throws {
        XCTAssertEqual(LatencyTarget.parse("auto"), .auto(factor: 1.75, slack: 2))
        XCTAssertEqual(LatencyTarget.parse("client"), .seconds(15))
        XCTAssertEqual(LatencyTarget.default, .client, "the default is named")
        XCTAssertEqual(LatencyTarget.parse("auto:3"), .auto(factor: 3, slack: 2))
        XCTAssertEqual(LatencyTarget.parse("12.5"), .seconds(12.5))
        XCTAssertEqual(LatencyTarget.parse("none"), .unbounded)
        for bad in ["", "0", "-1", "auto:0.5", "nan", "inf", "soon"] { XCTAssertNil(LatencyTarget.parse(bad), bad) }
    }
}
