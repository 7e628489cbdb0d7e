// The CUDA kernel cache on a full disk: the compiled kernels are used all the same, the problem names the
// path, and nothing half-written is left where a later start would load it.

import Foundation
import Tensor
import TestSupport
import XCTest

final class KernelCacheDiskTests: XCTestCase {
    func testAFullDiskKeepsNothingAndSaysWhere() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("brevity-kernels-full-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: folder) }
        let disk = try DiskLimit(folder: folder, bytes: 64 << 10)
        defer { disk.release() }
        let cache = KernelCache(folder: folder)
        let image = [UInt8]((0..<(256 << 10)).map { UInt8(truncatingIfNeeded: $0 &* 31) })
        let problem = disk.during { cache.store(image, key: "0123456789abcdef", arch: "sm_90") }
        let why = try XCTUnwrap(problem, "a write past the disk's room must fail")
        XCTAssertTrue(why.contains(folder.appendingPathComponent("0123456789abcdef-sm_90.bin").path), why)
        XCTAssertTrue(why.contains(disk.failure), "\(why) should say \(disk.failure)")
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: folder.path), [], "nothing left behind")
        XCTAssertNil(cache.load(key: "0123456789abcdef", arch: "sm_90"))

        // with room again the same image is kept whole and read back
        disk.lift()
        XCTAssertNil(cache.store(image, key: "0123456789abcdef", arch: "sm_90"))
        XCTAssertEqual(cache.load(key: "0123456789abcdef", arch: "sm_90"), image)
    }

    /// NVRTC's image is used when the cache cannot keep it (the service starts on its GPU all the same).
    func testCompiledKernelsAreUsedWhenTheCacheCannotKeepThem() throws {
        let nvrtc = try Fixtures.nvrtc()
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("brevity-kernels-full-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: folder) }
        let disk = try DiskLimit(folder: folder, bytes: 16 << 10)
        defer { disk.release() }
        let out = try disk.during {
            try nvrtc.compile(CUDAKernelSource.source, name: "brevity_kernels.cu", arch: "compute_80", cache: KernelCache(folder: folder))
        }
        XCTAssertGreaterThan(out.image.count, 16 << 10, "the kernels' PTX does not fit the disk")
        XCTAssertFalse(out.cached)
        let why = try XCTUnwrap(out.cacheProblem, "the cache could not keep the image and must say so")
        XCTAssertTrue(why.contains(folder.path) && why.contains(disk.failure), why)
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: folder.path), [], "nothing left behind")
    }
}
