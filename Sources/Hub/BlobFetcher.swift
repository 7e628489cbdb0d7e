// One file of one commit into the cache, as huggingface_hub's `_hf_hub_download_to_cache_dir` does it:
// HEAD for the ETag; if blobs/<etag> is absent, take .locks/<repo>/<etag>.lock (flock, the lock Python's
// filelock takes too), download into blobs/<etag>.incomplete (resuming with Range what an earlier attempt
// left), check the size and, for LFS files, the sha256 the ETag names, rename into place, and only then
// link snapshots/<commit>/<file> to it. An interrupted download leaves only the .incomplete blob, which no
// snapshot points at.

import AsyncHTTPClient
import Crypto
import Foundation
import NIOCore
#if canImport(Glibc)
import Glibc
#endif

struct BlobFetcher {
    let client: HubClient
    let cache: HubCache
    let repo: String
    let commit: String
    let resolver: ModelResolver

    /// Puts `file` into snapshots/<commit>/ unless it is there already.
    func fetch(_ file: String) async throws {
        guard ModelSpec.isSafeRelativePath(file) else {
            throw HubError.protocolError("refusing the file name '\(file)': it would leave the snapshot folder")
        }
        let pointer = cache.snapshot(repo, commit: commit).appendingPathComponent(file)
        if FileManager.default.fileExists(atPath: pointer.path) { return }    // a link to a present blob
        let meta = try await client.metadata(repo: repo, revision: commit, file: file)
        guard !meta.etag.isEmpty, !meta.etag.contains("/"), !meta.etag.hasPrefix(".") else {
            throw HubError.protocolError("\(file): unusable ETag '\(meta.etag)'")
        }
        let blob = cache.blobs(repo).appendingPathComponent(meta.etag)
        if !FileManager.default.fileExists(atPath: blob.path) {
            try FileManager.default.createDirectory(at: cache.blobs(repo), withIntermediateDirectories: true)
            try await withFileLock(cache.lock(repo, etag: meta.etag), waitingFor: file) {
                // another process may have finished it while this one waited
                if FileManager.default.fileExists(atPath: blob.path) { return }
                try await download(file, meta, to: blob)
            }
        }
        try cache.link(repo: repo, commit: commit, file: file, etag: meta.etag)
    }

    private func download(_ file: String, _ meta: HubFileMetadata, to blob: URL) async throws {
        let incomplete = blob.path + ".incomplete"
        let progress = Progress(name: file, total: meta.size, enabled: resolver.showProgress)
        defer { progress.finish() }
        var failures = 0
        while true {
            do {
                try await transfer(meta, into: incomplete, file: file, progress: progress)
                break
            } catch let error as Retryable {
                failures += 1
                guard failures <= resolver.retries else { throw error.underlying }
                try await Task.sleep(nanoseconds: UInt64(resolver.retryDelay * Double(min(failures, 4)) * 1e9))
            }
        }
        let have = fileSize(incomplete)
        if let size = meta.size, have != size {
            try? FileManager.default.removeItem(atPath: incomplete)
            throw HubError.integrity(file: file, reason: "\(have) bytes received, the hub announced \(size)")
        }
        if meta.isLFS {
            let digest = try sha256(incomplete)
            guard digest == meta.etag else {
                try? FileManager.default.removeItem(atPath: incomplete)
                throw HubError.integrity(file: file, reason: "sha256 \(digest), the hub's ETag says \(meta.etag); the partial file was removed")
            }
        }
        guard rename(incomplete, blob.path) == 0 else {
            throw HubError.protocolError("cannot move \(incomplete) into place: \(String(cString: strerror(errno)))")
        }
    }

    struct Retryable: Error { let underlying: Error }

    /// One GET, appending to what `incomplete` holds (Range) or starting over when the server ignores the
    /// range. Network failures (and 5xx/429) come back as `Retryable`, keeping the bytes received so far.
    private func transfer(_ meta: HubFileMetadata, into incomplete: String, file: String, progress: Progress) async throws {
        var have = fileSize(incomplete)
        if let size = meta.size, have > size { truncate(incomplete, 0); have = 0 }
        if let size = meta.size, have == size, size > 0 { return }
        let sameHost = HubClient.origin(of: meta.location) == HubClient.origin(of: client.environment.endpoint)
        var request = client.request(meta.location, method: .GET, auth: sameHost)
        if have > 0 { request.headers.add(name: "Range", value: "bytes=\(have)-") }
        let response: HTTPClientResponse
        do {
            (response, _) = try await client.send(request, follow: true, deadline: .distantFuture)
        } catch let e as HubError {
            if case .network = e { throw Retryable(underlying: e) }
            throw e
        }
        let code = Int(response.status.code)
        var append = false
        switch code {
        case 206:
            // Content-Range: bytes <start>-<end>/<total>
            let range = response.headers.first(name: "Content-Range") ?? ""
            let start = range.split(whereSeparator: { " -/".contains($0) }).dropFirst().first.flatMap { Int($0) }
            guard start == have else {
                try? await client.drain(response)
                truncate(incomplete, 0)
                throw Retryable(underlying: HubError.protocolError("\(file): asked for bytes \(have)-, got '\(range)'"))
            }
            append = true
        case 200: append = false
        case 416:
            try? await client.drain(response)
            truncate(incomplete, 0)      // what we hold does not fit the file: start over
            throw Retryable(underlying: HubError.http(status: 416, url: meta.location, message: "range not satisfiable"))
        case 429, 500, 502, 503, 504:
            try? await client.drain(response)
            throw Retryable(underlying: HubError.http(status: code, url: meta.location, message: "server busy"))
        default:
            try await client.check(response, url: meta.location, repo: repo, what: "file '\(file)'")
            throw HubError.http(status: code, url: meta.location, message: "unexpected status")
        }
        let fd = open(incomplete, O_WRONLY | O_CREAT | (append ? O_APPEND : O_TRUNC), 0o644)
        guard fd >= 0 else { throw HubError.protocolError("cannot write \(incomplete): \(String(cString: strerror(errno)))") }
        defer { close(fd) }
        progress.start(at: append ? have : 0)
        do {
            for try await chunk in response.body {
                if let code = chunk.withUnsafeReadableBytes({ writeAll(fd, $0) }) {
                    let full = code == ENOSPC || code == EFBIG || code == EDQUOT
                    throw HubError.protocolError("cannot write \(incomplete): \(String(cString: strerror(code)))" + (full
                        ? " (the hub cache's disk is full: free space there or point HF_HUB_CACHE at a larger disk; the bytes received stay in this .incomplete file, which no reader takes for the file, and the next download resumes from them)"
                        : ""))
                }
                progress.advance(chunk.readableBytes)
            }
        } catch let e as HubError {
            throw e                                   // disk errors are not retried
        } catch is CancellationError {
            throw CancellationError()
        } catch {
            throw Retryable(underlying: HubError.network(url: meta.location, reason: "transfer of \(file) broke off: \(error)"))
        }
        if let size = meta.size, fileSize(incomplete) < size {
            throw Retryable(underlying: HubError.network(url: meta.location,
                reason: "transfer of \(file) ended at \(fileSize(incomplete)) of \(size) bytes"))
        }
    }
}

func fileSize(_ path: String) -> Int {
    var st = stat()
    return stat(path, &st) == 0 ? Int(st.st_size) : 0
}

private func truncate(_ path: String, _ size: Int) { _ = Glibc.truncate(path, off_t(size)) }

/// sha256 of a file, as lowercase hex, read in 4 MiB pieces.
func sha256(_ path: String) throws -> String {
    guard let h = FileHandle(forReadingAtPath: path) else { throw HubError.protocolError("cannot read \(path)") }
    defer { try? h.close() }
    var hasher = SHA256()
    while true {
        let data = h.readData(ofLength: 4 << 20)
        if data.isEmpty { break }
        hasher.update(data: data)
    }
    return hasher.finalize().map { String(format: "%02x", $0) }.joined()
}

/// Runs `body` holding an exclusive flock on `url` (polling, so no thread blocks); other processes, and
/// other downloads in this one, wait. Python's filelock takes the same kind of lock on the same file.
func withFileLock<T>(_ url: URL, waitingFor what: String, _ body: () async throws -> T) async throws -> T {
    try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
    let fd = open(url.path, O_RDWR | O_CREAT, 0o644)
    guard fd >= 0 else { throw HubError.protocolError("cannot open lock \(url.path): \(String(cString: strerror(errno)))") }
    defer { close(fd) }                       // closing releases the lock
    var polls = 0
    while flock(fd, LOCK_EX | LOCK_NB) != 0 {
        guard errno == EWOULDBLOCK || errno == EINTR else {
            throw HubError.protocolError("cannot lock \(url.path): \(String(cString: strerror(errno)))")
        }
        polls += 1
        if polls == 100 {
            FileHandle.standardError.write(Data("brevity: waiting for another download of \(what) (lock \(url.path))\n".utf8))
        }
        try await Task.sleep(nanoseconds: 50_000_000)
    }
    defer { flock(fd, LOCK_UN) }
    return try await body()
}

/// A one-line progress bar on standard error, redrawn at most ten times a second; silent when disabled.
final class Progress: @unchecked Sendable {
    let name: String
    let total: Int?
    let enabled: Bool
    private var done = 0
    private var startedAt = Date()
    private var startBytes = 0
    private var lastDraw = Date.distantPast
    private var drew = false

    init(name: String, total: Int?, enabled: Bool) {
        self.name = name
        self.total = total
        self.enabled = enabled
    }

    func start(at bytes: Int) {
        done = bytes
        startBytes = bytes
        startedAt = Date()
    }

    func advance(_ n: Int) {
        done += n
        guard enabled, Date().timeIntervalSince(lastDraw) >= 0.1 else { return }
        draw()
    }

    func finish() {
        guard enabled, drew else { return }
        draw()
        FileHandle.standardError.write(Data("\n".utf8))
    }

    private func draw() {
        lastDraw = Date()
        drew = true
        let elapsed = max(Date().timeIntervalSince(startedAt), 1e-3)
        let rate = Double(done - startBytes) / elapsed
        var line = "\(name)  \(formatBytes(done))"
        if let total, total > 0 {
            let fraction = min(1, Double(done) / Double(total))
            let width = 24, filled = Int(fraction * Double(width))
            line = "\(name)  [" + String(repeating: "#", count: filled) + String(repeating: ".", count: width - filled)
                + "] \(Int(fraction * 100))%  \(formatBytes(done))/\(formatBytes(total))"
        }
        line += "  \(formatBytes(Int(rate)))/s"
        FileHandle.standardError.write(Data(("\r\u{1B}[K" + line).utf8))
    }
}

public func formatBytes(_ n: Int) -> String {
    let units = ["B", "kB", "MB", "GB", "TB"]
    var v = Double(n), u = 0
    while v >= 1000 && u < units.count - 1 { v /= 1000; u += 1 }
    return u == 0 ? "\(n) B" : String(format: "%.1f", v) + " " + units[u]
}
