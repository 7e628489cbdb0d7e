// The CUDA backend's token choice (kernel choose_tokens, run by the simulator) against the host's: the same
// candidates bit for bit given the row's max and lse, on rows full of ties, -inf entries, touched tokens,
// one row read by several selections, and k from 1 to past what the kernel keeps.

import Foundation
import Tensor
import XCTest

final class DeviceTokenChoiceTests: XCTestCase {
    func testDeviceCandidatesEqualTheHostScanInEveryType() throws {
        var g = SystemRandomNumberGenerator()
        for type in [DType.f32, .f16, .bf16] {
            let backend = try CUDABackend(stream: CUDAEmulator(), dtype: type)
            for v in [1, 7, 300, 1013] {
                let rows = 3
                // few distinct values: many ties, which the order settles by token id
                let levels: [Float] = [-3.5, -1, 0, 0.25, 2, 2, 7.75, -.infinity]
                let values = (0..<rows * v).map { _ in levels.randomElement(using: &g)! * (Bool.random(using: &g) ? 1 : 1.5) }
                let logits = Tensor(values, shape: [rows, v], on: backend)
                let host = logits.toArray()   // as the device holds them (rounded to the type)
                var requests: [TopKRow] = []
                for s in 0..<7 {
                    let touched = (0..<v).filter { _ in Int.random(in: 0..<10, using: &g) == 0 || s == 6 }   // s 6: every token touched
                    requests.append(TopKRow(row: s % rows, logSoftmax: s % 2 == 0, offset: s % 3 == 0 ? 0 : Float.random(in: -20...0, using: &g),
                                                  excluded: touched))
                }
                for k in [1, 8, 64, 65] {
                    let got = backend.topK(logits, rows: requests, k: k)
                    XCTAssertEqual(got.count, requests.count)
                    for (r, c) in zip(requests, got) {
                        let row = Array(host[r.row * v..<(r.row + 1) * v])
                        XCTAssertEqual(c.max, row.max()!, "\(type) v \(v)")
                        let (_, lse) = row.withUnsafeBufferPointer { logSoftmaxShift($0.baseAddress!, count: v) }
                        if c.max.isFinite {   // a row of -inf has no log-softmax (NaN on the device, as in torch)
                            XCTAssertEqual(c.lse, lse, accuracy: 2e-6 * max(1, abs(lse)), "\(type) v \(v)")
                        }
                        // the host's scan with the device's constants picks the same candidates, bit for bit
                        var top = TopKList(k: k)
                        row.withUnsafeBufferPointer {
                            top.scan($0.baseAddress!, count: v, max: r.logSoftmax ? c.max : 0, lse: r.logSoftmax ? c.lse : 0, base: r.offset,
                                     skipping: r.excluded)
                        }
                        XCTAssertEqual(c.indices, top.indices, "\(type) v \(v) k \(k) row \(r.row)")
                        XCTAssertEqual(c.values.map(\.bitPattern), top.values.map(\.bitPattern), "\(type) v \(v) k \(k)")
                        XCTAssertEqual(c.indices.count, min(k, v - r.excluded.count))
                        XCTAssertEqual(c.excludedValues.map(\.bitPattern), r.excluded.map { row[$0].bitPattern })
                    }
                }
            }
        }
    }

    func testTheKernelKeepsAsManyCandidatesAsTheBackendAsks() {
        XCTAssertTrue(CUDAKernelSource.source.contains("#define MAX_CHOICES \(CUDABackend.maxChoices)\n"))
    }

    func testHostChoiceIsTheReferenceAndChecksItsRequests() {
        let cpu = CPUBackend()
        XCTAssertFalse(cpu.ranksOnDevice)
        let logits = Tensor([1, 5, 5, 2, -1, 0], shape: [2, 3], on: cpu)
        let got = cpu.topK(logits, rows: [TopKRow(row: 0, logSoftmax: false, offset: 0, excluded: [2]),
                                                  TopKRow(row: 1, logSoftmax: false, offset: 1, excluded: [])], k: 2)
        XCTAssertEqual(got[0].indices, [1, 0])
        XCTAssertEqual(got[0].values, [5, 1])
        XCTAssertEqual(got[0].excludedValues, [5])
        XCTAssertEqual(got[1].indices, [0, 2])
        XCTAssertEqual(got[1].values, [3, 1])
        XCTAssertEqual(got[1].max, 2)
    }
}
