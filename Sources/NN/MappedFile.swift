import Foundation

/// A whole file mapped read-only (weights are used in place, never copied); unmapped when released.
/// `init(copying:)` holds bytes from memory instead (a heap copy), for parsing weights without a file.
final class MappedFile: @unchecked Sendable {
    let path: String
    let base: UnsafeMutableRawPointer
    let size: Int
    /// false: a heap copy (`init(copying:)`), freed rather than unmapped, and never madvised.
    private let mapped: Bool

    /// `minimumSize`: smaller files are refused with `tooSmall(size)` as the corrupt-header reason.
    init(path: String, minimumSize: Int, tooSmall: (Int) -> String) throws {
        self.path = path
        let fd = open(path, O_RDONLY)
        guard fd >= 0 else { throw WeightError.unreadable(file: path, reason: String(cString: strerror(errno))) }
        defer { close(fd) }
        var st = stat()
        guard fstat(fd, &st) == 0 else { throw WeightError.unreadable(file: path, reason: "fstat failed") }
        size = Int(st.st_size)
        guard size >= minimumSize else { throw WeightError.corruptHeader(file: path, reason: tooSmall(size)) }
        guard let p = mmap(nil, size, PROT_READ, MAP_PRIVATE, fd, 0), p != MAP_FAILED else {
            throw WeightError.unreadable(file: path, reason: "mmap failed")
        }
        base = p
        mapped = true
    }

    /// A copy of `bytes` on the heap standing in for a file named `name` in errors (tests, fuzzing).
    init(copying bytes: [UInt8], name: String, minimumSize: Int, tooSmall: (Int) -> String) throws {
        let n = bytes.count
        guard n >= minimumSize else { throw WeightError.corruptHeader(file: name, reason: tooSmall(n)) }
        let p = UnsafeMutableRawPointer.allocate(byteCount: max(n, 1), alignment: 64)
        bytes.withUnsafeBytes { if let src = $0.baseAddress { p.copyMemory(from: src, byteCount: n) } }
        path = name
        size = n
        base = p
        mapped = false
    }

    deinit { if mapped { munmap(base, size) } else { base.deallocate() } }

    var bytes: UnsafeRawBufferPointer { UnsafeRawBufferPointer(start: base, count: size) }

    /// Tells the kernel the pages wholly inside [pointer, pointer + count) are no longer needed: a tensor
    /// converted to another type leaves its source pages out of the resident set (they read back from the
    /// file if touched again, so this is only a hint).
    func dropPages(_ pointer: UnsafeRawPointer, count: Int) {
        guard mapped else { return }
        let page = Int(sysconf(Int32(_SC_PAGESIZE)))
        let start = (Int(bitPattern: pointer) + page - 1) / page * page
        let end = (Int(bitPattern: pointer) + count) / page * page
        guard end > start else { return }
        _ = madvise(UnsafeMutableRawPointer(bitPattern: start), end - start, Int32(MADV_DONTNEED))
    }
}
