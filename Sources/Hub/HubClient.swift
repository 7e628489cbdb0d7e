// The hub's HTTP endpoints, as huggingface_hub calls them (hf_api.py, file_download.py):
//   GET  {endpoint}/api/models/{repo}/revision/{rev}    -> {"sha": commit, "siblings": [{"rfilename"}]}
//   HEAD {endpoint}/{repo}/resolve/{rev}/{file}         -> X-Repo-Commit, ETag / X-Linked-Etag, size;
//                                                         LFS files answer 302 to a CDN host, read there
//   GET  {endpoint}/{repo}/resolve/{rev}/{file}         -> the bytes, with Range to resume
// Redirects are followed by hand: ones on the same host keep the token, ones to another host drop it (a
// signed CDN URL must not receive the user's token).

import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1

/// What a HEAD on /resolve says about one file.
public struct HubFileMetadata: Sendable, Equatable {
    public var commit: String
    /// Normalized (quotes and `W/` stripped); the sha256 of the content for LFS files.
    public var etag: String
    public var size: Int?
    /// Where to GET the bytes (the CDN location for LFS files).
    public var location: String
    public var isLFS: Bool { etag.count == 64 && etag.allSatisfy { "0123456789abcdef".contains($0) } }
}

public struct RepoInfo: Sendable, Equatable {
    public var sha: String
    public var siblings: [String]
}

public final class HubClient: Sendable {
    public let environment: HubEnvironment
    let http: HTTPClient

    /// `connectTimeout`: how long to keep trying to reach the hub (AsyncHTTPClient retries until then).
    public init(environment: HubEnvironment, connectTimeout: Double = 10) {
        self.environment = environment
        var config = HTTPClient.Configuration(redirectConfiguration: .disallow,
                                              timeout: .init(connect: .milliseconds(Int64(connectTimeout * 1000)),
                                                             read: .seconds(60)))
        config.decompression = .disabled
        http = HTTPClient(eventLoopGroupProvider: .singleton, configuration: config)
    }

    /// Must be called once the client is done (AsyncHTTPClient requires it).
    public func shutdown() async { try? await http.shutdown() }

    /// huggingface_hub's `_normalize_etag`.
    public static func normalizeETag(_ etag: String) -> String {
        var s = Substring(etag.trimmingCharacters(in: .whitespaces))
        if s.hasPrefix("W/") { s = s.dropFirst(2) }
        return s.trimmingCharacters(in: CharacterSet(charactersIn: "\""))
    }

    static func quote(_ s: String) -> String {
        s.addingPercentEncoding(withAllowedCharacters: CharacterSet(charactersIn:
            "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-._~")) ?? s
    }

    static func quotePath(_ s: String) -> String {
        s.split(separator: "/", omittingEmptySubsequences: false).map { quote(String($0)) }.joined(separator: "/")
    }

    public func resolveURL(repo: String, revision: String, file: String) -> String {
        "\(environment.endpoint)/\(repo)/resolve/\(HubClient.quote(revision))/\(HubClient.quotePath(file))"
    }

    func request(_ url: String, method: HTTPMethod, auth: Bool = true) -> HTTPClientRequest {
        var r = HTTPClientRequest(url: url)
        r.method = method
        r.headers.add(name: "User-Agent", value: "brevity/0.1; hf_hub-compatible")
        r.headers.add(name: "Accept-Encoding", value: "identity")
        if auth, let token = environment.token { r.headers.add(name: "Authorization", value: "Bearer \(token)") }
        return r
    }

    /// Sends `request`, following up to 10 redirects by hand (when `follow`); an absolute redirect to another
    /// host loses the Authorization header.
    func send(_ request: HTTPClientRequest, follow: Bool, deadline: NIODeadline) async throws
        -> (HTTPClientResponse, url: String) {
        var req = request
        for _ in 0..<10 {
            let response: HTTPClientResponse
            do {
                response = try await http.execute(req, deadline: deadline)
            } catch {
                throw HubError.network(url: req.url, reason: "\(error)")
            }
            let code = Int(response.status.code)
            guard (300..<400).contains(code), code != 304, let location = response.headers.first(name: "Location") else {
                return (response, req.url)
            }
            let next = location.hasPrefix("/") ? HubClient.origin(of: req.url) + location : location
            let sameHost = HubClient.origin(of: next) == HubClient.origin(of: req.url)
            // HEAD stops at a redirect to another host (the CDN): its headers carry X-Linked-Etag/-Size
            // (huggingface_hub's `_httpx2_follow_hub_redirects_with_backoff` does the same)
            if !follow && !sameHost { return (response, req.url) }
            try? await drain(response)
            var r = HTTPClientRequest(url: next)
            r.method = req.method
            for (name, value) in req.headers where sameHost || name.lowercased() != "authorization" {
                r.headers.add(name: name, value: value)
            }
            req = r
        }
        throw HubError.protocolError("\(request.url): too many redirects")
    }

    static func origin(of url: String) -> String {
        guard let c = URLComponents(string: url), let scheme = c.scheme, let host = c.host else { return url }
        return "\(scheme)://\(host)" + (c.port.map { ":\($0)" } ?? "")
    }

    func drain(_ response: HTTPClientResponse) async throws {
        for try await _ in response.body {}
    }

    func body(_ response: HTTPClientResponse, limit: Int = 32 << 20) async throws -> [UInt8] {
        var out: [UInt8] = []
        for try await chunk in response.body {
            out.append(contentsOf: chunk.readableBytesView)
            if out.count > limit { throw HubError.protocolError("response larger than \(limit) bytes") }
        }
        return out
    }

    /// Maps an error status to a helpful error (401/403: a token is needed; 404: not found).
    func check(_ response: HTTPClientResponse, url: String, repo: String, what: String) async throws {
        let code = Int(response.status.code)
        if (200..<300).contains(code) { return }
        let text = String(decoding: (try? await body(response, limit: 1 << 16)) ?? [], as: UTF8.self)
        var message = text
        if let json = try? JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any],
           let e = json["error"] as? String { message = e }
        switch code {
        case 401, 403:
            throw HubError.unauthorized(repo: repo, status: code, hadToken: environment.token != nil,
                                        endpoint: environment.endpoint)
        case 404:
            let kind = response.headers.first(name: "X-Error-Code") ?? ""
            throw HubError.notFound(spec: repo, looked: ["\(environment.endpoint): \(what) answered 404"
                + (kind.isEmpty ? "" : " (\(kind))") + (message.isEmpty ? "" : ": \(message)")])
        default:
            throw HubError.http(status: code, url: url, message: String(message.prefix(300)))
        }
    }

    /// GET of a small JSON answer (API calls), after the status check.
    func getJSON(_ url: String, repo: String, what: String) async throws -> Any {
        let (response, _) = try await send(request(url, method: .GET), follow: true, deadline: .now() + .seconds(60))
        try await check(response, url: url, repo: repo, what: what)
        let data = try await body(response)
        guard let json = try? JSONSerialization.jsonObject(with: Data(data)) else {
            throw HubError.protocolError("\(url): the answer is not JSON; is HF_ENDPOINT (\(environment.endpoint)) a hub?")
        }
        return json
    }

    /// `GET /api/models/{repo}/revision/{rev}`: the commit and the file list.
    public func repoInfo(repo: String, revision: String) async throws -> RepoInfo {
        let url = "\(environment.endpoint)/api/models/\(repo)/revision/\(HubClient.quote(revision))"
        let answer = try await getJSON(url, repo: repo, what: "revision '\(revision)' of '\(repo)'")
        guard let json = answer as? [String: Any], let sha = json["sha"] as? String else {
            throw HubError.protocolError("\(url): the answer has no \"sha\"; is HF_ENDPOINT (\(environment.endpoint)) a hub?")
        }
        let siblings = (json["siblings"] as? [[String: Any]] ?? []).compactMap { $0["rfilename"] as? String }
        return RepoInfo(sha: sha, siblings: siblings)
    }

    /// `HEAD /{repo}/resolve/{rev}/{file}` without following the CDN redirect.
    public func metadata(repo: String, revision: String, file: String) async throws -> HubFileMetadata {
        let url = resolveURL(repo: repo, revision: revision, file: file)
        let (response, finalURL) = try await send(request(url, method: .HEAD), follow: false, deadline: .now() + .seconds(60))
        let code = Int(response.status.code)
        if !(300..<400).contains(code) {       // a redirect to another host (LFS, the CDN) carries the metadata
            try await check(response, url: url, repo: repo, what: "file '\(file)' at '\(revision)'")
        }
        let h = response.headers
        guard let commit = h.first(name: "X-Repo-Commit") else {
            throw HubError.protocolError("\(url): no X-Repo-Commit header; is HF_ENDPOINT (\(environment.endpoint)) a hub?")
        }
        guard let raw = h.first(name: "X-Linked-Etag") ?? h.first(name: "ETag") else {
            throw HubError.protocolError("\(url): no ETag header, so the file cannot be cached reproducibly")
        }
        let size = (h.first(name: "X-Linked-Size") ?? h.first(name: "Content-Length")).flatMap { Int($0) }
        let location = (300..<400).contains(code) ? (h.first(name: "Location") ?? finalURL) : finalURL
        return HubFileMetadata(commit: commit, etag: HubClient.normalizeETag(raw), size: size, location: location)
    }
}
