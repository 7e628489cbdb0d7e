// Beam reorders of KV caches (`reordered`, DecodingBatch.swift): a beam that forks takes over the cache of a
// beam that no one continues, its rows overwritten in place, with no new storage; the rows every beam sees
// are its origin's.

@testable import Generation
import Models
@testable import Tensor
import XCTest

final class BeamReorderTests: XCTestCase {
    let backend = CPUBackend.shared

    /// A cache of 2 layers x width 4 with `length` rows, every value tagged by (beam, layer, row, column).
    func cache(beam: Int, length: Int) -> DecoderCache {
        var c = DecoderCache(layers: 2, width: 4, capacity: 8, backend: backend)
        for l in 0..<2 {
            let k = (0..<length * 4).map { Float(beam * 1000 + l * 100 + $0) }
            let v = k.map { -$0 }
            c.write(layer: l, keys: Tensor(k, shape: [length, 4], on: backend),
                    values: Tensor(v, shape: [length, 4], on: backend), sourceRow: 0, count: length)
        }
        c.commit(length)
        return c
    }

    func rows(_ c: DecoderCache) -> [[Float]] {
        (0..<2).flatMap { l in
            [Array(c.layer(l).keys.toArray()[0..<c.length * 4]), Array(c.layer(l).values.toArray()[0..<c.length * 4])]
        }
    }

    func storages(_ c: DecoderCache) -> [ObjectIdentifier] {
        (0..<2).flatMap { [ObjectIdentifier(c.layer($0).keys.storage), ObjectIdentifier(c.layer($0).values.storage)] }
    }

    func testForksReuseTheCachesOfDroppedBeams() {
        var pool = (0..<4).map { cache(beam: $0, length: 3) }
        let expected = pool.map(rows), before = pool.map(storages)
        // beam 0 continues twice, beam 3 not at all; beams 1 and 2 once each
        let origins = [0, 2, 0, 1]
        let out = reordered(&pool, origins: origins)
        pool = []
        XCTAssertEqual(out.map(rows), origins.map { expected[$0] })
        XCTAssertEqual(out.map(\.length), [3, 3, 3, 3])
        // no new storage: the continuing beams keep theirs, the fork took beam 3's
        XCTAssertEqual(out.map(storages), [before[0], before[2], before[3], before[1]])
        // no two beams share a storage: the next step's writes copy nothing
        XCTAssertEqual(Set(out.flatMap(storages)).count, 16)
    }

    func testAForkWritesOnlyItsOwnCache() {
        var pool = (0..<2).map { cache(beam: $0, length: 2) }
        let expected = pool.map(rows)
        var out = reordered(&pool, origins: [1, 1])
        pool = []
        // the fork writes a new row: its twin (the origin's cache) is unchanged
        let row = Tensor([9, 9, 9, 9], shape: [1, 4], on: backend)
        for l in 0..<2 { out[1].write(layer: l, keys: row, values: row, sourceRow: 0, count: 1) }
        out[1].commit(1)
        XCTAssertEqual(rows(out[0]), expected[1])
        XCTAssertEqual(out[1].length, 3)
        XCTAssertEqual(Array(rows(out[1])[0][0..<8]), Array(expected[1][0]))
    }

    func testTheFirstStepSharesTheOneRow() {
        var pool = [cache(beam: 7, length: 1)]
        let out = reordered(&pool, origins: [0, 0, 0])
        XCTAssertEqual(out.map(rows), Array(repeating: rows(pool[0]), count: 3))
    }
}
