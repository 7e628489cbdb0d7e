// A disk that fills up, for the tests of writes that fail: a small tmpfs mounted on a folder where the
// test may mount one (root on Linux), else a file-size limit (RLIMIT_FSIZE, SIGXFSZ ignored) while the
// work runs, so writes past it fail with EFBIG as a full disk fails them with ENOSPC.

import Foundation
#if canImport(Glibc)
import Glibc
#endif

public final class DiskLimit {
    public let folder: URL
    public let bytes: Int
    /// Whether a tmpfs is mounted on `folder` (else writes are limited by size while `during` runs).
    public let mounted: Bool

    /// `folder` (created) holding at most about `bytes`.
    public init(folder: URL, bytes: Int) throws {
        self.folder = folder
        self.bytes = bytes
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        // BREVITY_TEST_NO_TMPFS=1 takes the size limit even where a tmpfs could be mounted (to test that path)
        mounted = ProcessInfo.processInfo.environment["BREVITY_TEST_NO_TMPFS"] != "1"
            && Self.run("/bin/mount", ["-t", "tmpfs", "-o", "size=\(bytes)", "tmpfs", folder.path])
    }

    private var released = false

    /// Unmounts the tmpfs (its files go with it); call it (deferred) before removing `folder`.
    public func release() {
        if mounted && !released { _ = Self.run("/bin/umount", [folder.path]) }
        released = true
    }

    deinit { release() }

    /// What a failed write says: the full tmpfs's ENOSPC, or the size limit's EFBIG.
    public var failure: String { String(cString: strerror(mounted ? ENOSPC : EFBIG)) }

    /// Runs `body` with the limit in force.
    public func during<T>(_ body: () async throws -> T) async rethrows -> T {
        let saved = impose()
        defer { restore(saved) }
        return try await body()
    }

    /// The same for synchronous work.
    public func during<T>(_ body: () throws -> T) rethrows -> T {
        let saved = impose()
        defer { restore(saved) }
        return try body()
    }

    /// Without a tmpfs: the file-size limit, SIGXFSZ ignored (a write past it then fails with EFBIG instead
    /// of killing the process); what it replaced, for `restore`.
    private func impose() -> (limit: rlimit, handler: __sighandler_t?)? {
        if mounted { return nil }
        var old = rlimit()
        getrlimit(Int32(RLIMIT_FSIZE.rawValue), &old)
        var small = old
        small.rlim_cur = rlim_t(bytes)
        let handler = signal(SIGXFSZ, SIG_IGN)
        setrlimit(Int32(RLIMIT_FSIZE.rawValue), &small)
        return (old, handler)
    }

    private func restore(_ saved: (limit: rlimit, handler: __sighandler_t?)?) {
        guard var saved else { return }
        setrlimit(Int32(RLIMIT_FSIZE.rawValue), &saved.limit)
        signal(SIGXFSZ, saved.handler)
    }

    /// Makes room: the tmpfs grows (its files stay), or the size limit no longer applies.
    public func lift() {
        if mounted { _ = Self.run("/bin/mount", ["-o", "remount,size=\(64 << 20)", folder.path]) }
    }

    private static func run(_ tool: String, _ arguments: [String]) -> Bool {
        guard FileManager.default.isExecutableFile(atPath: tool) else { return false }
        let p = Process()
        p.executableURL = URL(fileURLWithPath: tool)
        p.arguments = arguments
        p.standardOutput = FileHandle.nullDevice
        p.standardError = FileHandle.nullDevice
        do { try p.run() } catch { return false }
        p.waitUntilExit()
        return p.terminationStatus == 0
    }
}
