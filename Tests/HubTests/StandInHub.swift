// A stand-in for the Hugging Face hub on loopback (Hummingbird), implementing what huggingface_hub and
// Brevity use:
//   GET  /api/models/{repo}/revision/{rev}       {"id", "sha", "siblings": [{"rfilename"}], "private"}
//   GET  /api/models/{repo}/tree/{rev}[/{path}]  [{"type", "oid", "size", "path", "lfs"?}] (?recursive=true)
//   HEAD /{repo}/resolve/{rev}/{file}            X-Repo-Commit, ETag (git blob sha1); LFS files (*.safetensors,
//                                                *.bin): 302 to http://localhost:<port>/cdn/<sha256> (another host
//                                                to clients) with X-Linked-Etag / X-Linked-Size
//   GET  the same, and /cdn/<sha256>             the bytes, with Range (206 + Content-Range)
// Private repos answer 401 without `Authorization: Bearer <token>`. Tests can make a file's next transfers
// break off after some bytes, slow transfers down, corrupt LFS content, and read the request log.

import Crypto
import Foundation
import HTTPTypes
import Hummingbird
import Logging
import NIOCore

final class StandInHub: @unchecked Sendable {
    struct Commit { let sha: String; let files: [String: [UInt8]] }
    struct Repo {
        var commits: [String: Commit] = [:]
        var refs: [String: String] = [:]        // branch/tag -> commit
        var token: String?                      // private: this bearer token is needed
    }
    struct Logged: CustomStringConvertible {
        let method: String, path: String, range: String?, auth: String?
        var description: String { "\(method) \(path)" + (range.map { " [\($0)]" } ?? "") }
    }

    private let lock = NSLock()
    private var repos: [String: Repo] = [:]
    private var log: [Logged] = []
    private var breaks: [String: (times: Int, after: Int)] = [:]   // file name -> break the next N bodies after K bytes
    private var corrupt: Set<String> = []
    var chunkDelay: UInt64 = 0                 // nanoseconds between 16 KiB chunks
    private(set) var port = 0
    private var task: Task<Void, Error>?

    var endpoint: String { "http://127.0.0.1:\(port)" }
    /// The "CDN": the same server under another host name, so clients treat it as another host (no token).
    var cdnEndpoint: String { "http://localhost:\(port)" }

    private func locked<T>(_ body: () throws -> T) rethrows -> T {
        lock.lock(); defer { lock.unlock() }
        return try body()
    }

    // MARK: set-up

    /// Adds a commit of `files` to `repo` and points `refs` (default: main) at it. Returns the commit sha.
    @discardableResult
    func publish(_ repo: String, files: [String: [UInt8]], refs: [String] = ["main"], token: String? = nil) -> String {
        locked {
            var r = repos[repo] ?? Repo()
            var h = Insecure.SHA1()
            h.update(data: Data(repo.utf8))
            for (k, v) in files.sorted(by: { $0.key < $1.key }) { h.update(data: Data(k.utf8)); h.update(data: Data(v)) }
            h.update(data: Data("\(r.commits.count)".utf8))
            let sha = hex(h.finalize())
            r.commits[sha] = Commit(sha: sha, files: files)
            for ref in refs { r.refs[ref] = sha }
            if token != nil { r.token = token }
            repos[repo] = r
            return sha
        }
    }

    func breakTransfers(of file: String, times: Int, after bytes: Int) { locked { breaks[file] = (times, bytes) } }
    func corruptContent(of file: String) { locked { _ = corrupt.insert(file) } }
    var requests: [Logged] { locked { log } }
    func clearLog() { locked { log.removeAll() } }
    func gets(of file: String) -> [Logged] {
        requests.filter { $0.method == "GET" && ($0.path.hasSuffix("/" + file) || $0.path.hasPrefix("/cdn/")) }
    }

    // MARK: server

    func start() async throws {
        let ready = AsyncStream<Int>.makeStream()
        let router = CallbackResponder<BasicRequestContext> { [self] request, _ in try await handle(request) }
        let app = Application(
            responder: router,
            configuration: .init(address: .hostname("127.0.0.1", port: 0)),
            onServerRunning: { channel in ready.continuation.yield(channel.localAddress?.port ?? 0) },
            logger: { var l = Logger(label: "stand-in-hub"); l.logLevel = .critical; return l }()
        )
        task = Task { try await app.runService(gracefulShutdownSignals: []) }
        for await p in ready.stream { port = p; break }
    }

    func stop() async {
        task?.cancel()
        _ = try? await task?.value
    }

    // MARK: handlers

    private func handle(_ request: Request) async throws -> Response {
        let path = request.uri.path
        let method = request.method.rawValue
        locked { log.append(Logged(method: method, path: path, range: request.headers[.range],
                                   auth: request.headers[.authorization])) }
        let parts = path.split(separator: "/", omittingEmptySubsequences: false).dropFirst()
            .map { String($0).removingPercentEncoding ?? String($0) }
        if parts.first == "cdn", parts.count == 2 { return try cdn(parts[1], request) }
        if parts.count >= 6, parts[0] == "api", parts[1] == "models" {
            let repo = parts[2] + "/" + parts[3]
            switch parts[4] {
            case "revision": return try revision(repo, parts[5...].joined(separator: "/"), request)
            case "tree": return try tree(repo, parts[5], parts.count > 6 ? parts[6...].joined(separator: "/") : "", request)
            default: break
            }
        }
        if parts.count >= 5, parts[2] == "resolve" {
            return try resolve(parts[0] + "/" + parts[1], parts[3], parts[4...].joined(separator: "/"), request)
        }
        return json(["error": "not found: \(path)"], status: .notFound)
    }

    private func json(_ obj: Any, status: HTTPResponse.Status = .ok, headers extra: HTTPFields = [:]) -> Response {
        let data = (try? JSONSerialization.data(withJSONObject: obj, options: [.sortedKeys])) ?? Data()
        var headers = extra
        headers[.contentType] = "application/json"
        return Response(status: status, headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: data)))
    }

    /// The repo's commit for `rev` (a ref or a commit sha), or an error response (401 before 404, as the hub
    /// hides private repos from anonymous callers).
    private func lookup(_ repo: String, _ rev: String, _ request: Request) -> Result<(Repo, Commit), ErrorResponse> {
        locked {
            guard let r = repos[repo] else {
                return .failure(ErrorResponse(status: .unauthorized, code: "RepoNotFound", message: "Repository Not Found for url"))
            }
            if let token = r.token, request.headers[.authorization] != "Bearer \(token)" {
                return .failure(ErrorResponse(status: .unauthorized, code: "RepoNotFound",
                                              message: "Invalid username or password."))
            }
            guard let c = r.commits[r.refs[rev] ?? rev] else {
                return .failure(ErrorResponse(status: .notFound, code: "RevisionNotFound", message: "Invalid rev id: \(rev)"))
            }
            return .success((r, c))
        }
    }

    struct ErrorResponse: Error {
        let status: HTTPResponse.Status, code: String, message: String
    }

    private func errorResponse(_ e: ErrorResponse) -> Response {
        var h = HTTPFields()
        h[HTTPField.Name("X-Error-Code")!] = e.code
        return json(["error": e.message], status: e.status, headers: h)
    }

    private func revision(_ repo: String, _ rev: String, _ request: Request) throws -> Response {
        switch lookup(repo, rev, request) {
        case .failure(let e): return errorResponse(e)
        case .success(let (r, c)):
            return json(["id": repo, "sha": c.sha, "private": r.token != nil,
                         "siblings": c.files.keys.sorted().map { ["rfilename": $0] }])
        }
    }

    private func tree(_ repo: String, _ rev: String, _ under: String, _ request: Request) throws -> Response {
        switch lookup(repo, rev, request) {
        case .failure(let e): return errorResponse(e)
        case .success(let (_, c)):
            let recursive = request.uri.queryParameters.get("recursive") == "true"
            let prefix = under.isEmpty ? "" : under + "/"
            var entries: [[String: Any]] = []
            var dirs = Set<String>()
            for (name, bytes) in c.files.sorted(by: { $0.key < $1.key }) where name.hasPrefix(prefix) {
                let rest = name.dropFirst(prefix.count)
                let comps = rest.split(separator: "/")
                for i in 1..<comps.count where recursive || i == 1 {
                    let dir = prefix + comps[0..<i].joined(separator: "/")
                    if dirs.insert(dir).inserted {
                        entries.append(["type": "directory", "oid": gitBlobSHA1(Array(dir.utf8)), "size": 0, "path": dir])
                    }
                }
                if !recursive && comps.count > 1 { continue }
                var e: [String: Any] = ["type": "file", "oid": gitBlobSHA1(bytes), "size": bytes.count, "path": name]
                if StandInHub.isLFS(name) { e["lfs"] = ["oid": sha256hex(bytes), "size": bytes.count, "pointerSize": 134] }
                entries.append(e)
            }
            return json(entries)
        }
    }

    static func isLFS(_ name: String) -> Bool { name.hasSuffix(".safetensors") || name.hasSuffix(".bin") }

    private func resolve(_ repo: String, _ rev: String, _ file: String, _ request: Request) throws -> Response {
        let (r, c): (Repo, Commit)
        switch lookup(repo, rev, request) {
        case .failure(let e): return errorResponse(e)
        case .success(let v): (r, c) = v
        }
        _ = r
        var headers = HTTPFields()
        headers[HTTPField.Name("X-Repo-Commit")!] = c.sha
        guard let bytes = c.files[file] else {
            headers[HTTPField.Name("X-Error-Code")!] = "EntryNotFound"
            return json(["error": "Entry not found"], status: .notFound, headers: headers)
        }
        if StandInHub.isLFS(file) {
            let sha = sha256hex(bytes)
            headers[HTTPField.Name("X-Linked-Etag")!] = "\"\(sha)\""
            headers[HTTPField.Name("X-Linked-Size")!] = String(bytes.count)
            headers[.eTag] = "W/\"\(gitBlobSHA1(Array("pointer \(sha)".utf8)))\""
            headers[.location] = "\(cdnEndpoint)/cdn/\(sha)?file=\(file.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? "")"
            headers[.contentLength] = "0"
            return Response(status: .found, headers: headers, body: .init())
        }
        headers[.eTag] = "\"\(gitBlobSHA1(bytes))\""
        return serve(bytes, name: file, request, headers: headers)
    }

    private func cdn(_ sha: String, _ request: Request) throws -> Response {
        let found: (String, [UInt8])? = locked {
            for r in repos.values { for c in r.commits.values { for (n, b) in c.files where sha256hex(b) == sha { return (n, b) } } }
            return nil
        }
        guard let (name, bytes) = found else { return json(["error": "no such object"], status: .notFound) }
        var headers = HTTPFields()
        headers[.eTag] = "\"\(sha)\""
        var content = bytes
        if locked({ corrupt.contains(name) }) { content[content.count / 2] ^= 0xFF }
        return serve(content, name: name, request, headers: headers)
    }

    /// The bytes with Range support; a scheduled break sends the headers for all of it, then some bytes,
    /// then drops the connection.
    private func serve(_ bytes: [UInt8], name: String, _ request: Request, headers base: HTTPFields) -> Response {
        var headers = base
        headers[.acceptRanges] = "bytes"
        var start = 0, end = bytes.count - 1
        var status = HTTPResponse.Status.ok
        if let range = request.headers[.range], range.hasPrefix("bytes=") {
            let spec = range.dropFirst(6).split(separator: "-", omittingEmptySubsequences: false)
            if spec.count == 2, let s = Int(spec[0]) {
                if s >= bytes.count {
                    headers[.contentRange] = "bytes */\(bytes.count)"
                    return Response(status: .rangeNotSatisfiable, headers: headers, body: .init())
                }
                start = s
                if let e = Int(spec[1]) { end = min(e, bytes.count - 1) }
                status = .partialContent
                headers[.contentRange] = "bytes \(start)-\(end)/\(bytes.count)"
            }
        }
        let slice = bytes.isEmpty ? [] : Array(bytes[start...end])
        headers[.contentLength] = String(slice.count)
        if request.method == .head { return Response(status: status, headers: headers, body: .init()) }
        let breakAfter: Int? = locked {
            guard let b = breaks[name], b.times > 0 else { return nil }
            breaks[name] = (b.times - 1, b.after)
            return b.after
        }
        let delay = chunkDelay
        let body = ResponseBody(contentLength: slice.count) { writer in
            var off = 0
            while off < slice.count {
                let n = min(16 << 10, slice.count - off, breakAfter.map { max($0 - off, 0) } ?? Int.max)
                if n == 0 {
                    // break off: let the client read what was sent, then drop the connection mid-body
                    try await Task.sleep(nanoseconds: 200_000_000)
                    throw CancellationError()
                }
                try await writer.write(ByteBuffer(bytes: slice[off..<off + n]))
                off += n
                if delay > 0 { try await Task.sleep(nanoseconds: delay) }
            }
            try await writer.finish(nil)
        }
        return Response(status: status, headers: headers, body: body)
    }
}

func hex<D: Sequence>(_ d: D) -> String where D.Element == UInt8 { d.map { String(format: "%02x", $0) }.joined() }
func sha256hex(_ b: [UInt8]) -> String { hex(SHA256.hash(data: b)) }
/// git's blob id: sha1("blob <size>\0" + content), the ETag the hub gives regular files.
func gitBlobSHA1(_ b: [UInt8]) -> String { hex(Insecure.SHA1.hash(data: Array("blob \(b.count)\0".utf8) + b)) }
