// The Hugging Face hub cache, laid out exactly as huggingface_hub does (file_download.py,
// `hf_hub_download` / `try_to_load_from_cache`), so a cache filled by Python tools serves Brevity and one
// filled by Brevity serves Python tools:
//
//   $HF_HUB_CACHE (else $HF_HOME/hub, else ~/.cache/huggingface/hub)
//   ├── .locks/models--org--name/<etag>.lock        flock'd while a blob downloads
//   └── models--org--name/
//       ├── blobs/<etag>                             the files, named by ETag (sha256 for LFS files)
//       ├── blobs/<etag>.incomplete                  a download in progress, resumed with Range
//       ├── refs/<revision>                          the commit a branch or tag pointed at
//       └── snapshots/<commit>/<path>                relative symlinks: ../../blobs/<etag>

import Foundation

/// Where models come from: the cache folder, the hub endpoint, the token, offline mode; read from the
/// same environment variables huggingface_hub reads (constants.py).
public struct HubEnvironment: Sendable, Equatable {
    public var cache: URL
    public var endpoint: String
    public var token: String?
    public var offline: Bool

    public init(cache: URL, endpoint: String = "https://huggingface.co", token: String? = nil, offline: Bool = false) {
        self.cache = cache
        self.endpoint = endpoint.hasSuffix("/") ? String(endpoint.dropLast()) : endpoint
        self.token = token
        self.offline = offline
    }

    /// `HF_HUB_CACHE` (or the older `HUGGINGFACE_HUB_CACHE`), else `$HF_HOME/hub`, else
    /// `$XDG_CACHE_HOME/huggingface/hub`, else `~/.cache/huggingface/hub`; `HF_ENDPOINT`; `HF_TOKEN`, else the
    /// file `HF_TOKEN_PATH` (default `$HF_HOME/token`); `HF_HUB_OFFLINE` (1/ON/YES/TRUE).
    public static func fromProcess(_ env: [String: String] = ProcessInfo.processInfo.environment) -> HubEnvironment {
        func nonEmpty(_ key: String) -> String? { env[key].flatMap { $0.isEmpty ? nil : $0 } }
        let home = nonEmpty("HOME") ?? NSHomeDirectory()
        func expand(_ p: String) -> String { p.hasPrefix("~") ? home + p.dropFirst() : p }
        let hfHome = expand(nonEmpty("HF_HOME") ?? ((nonEmpty("XDG_CACHE_HOME") ?? (home + "/.cache")) + "/huggingface"))
        let cache = expand(nonEmpty("HF_HUB_CACHE") ?? nonEmpty("HUGGINGFACE_HUB_CACHE") ?? (hfHome + "/hub"))
        var token = nonEmpty("HF_TOKEN")
        if token == nil {
            let path = expand(nonEmpty("HF_TOKEN_PATH") ?? (hfHome + "/token"))
            token = (try? String(contentsOfFile: path, encoding: .utf8))?.trimmingCharacters(in: .whitespacesAndNewlines)
            if token?.isEmpty == true { token = nil }
        }
        let offline = ["1", "ON", "YES", "TRUE"].contains((env["HF_HUB_OFFLINE"] ?? env["TRANSFORMERS_OFFLINE"] ?? "").uppercased())
        return HubEnvironment(cache: URL(fileURLWithPath: cache), endpoint: nonEmpty("HF_ENDPOINT") ?? "https://huggingface.co",
                              token: token, offline: offline)
    }
}

/// What a user names a model by: a local folder, or `org/name[@revision]` on the hub.
public enum ModelSpec: Sendable, Equatable, CustomStringConvertible {
    case folder(URL)
    case repo(id: String, revision: String)

    public static let defaultRevision = "main"

    /// `text` is a folder when one exists there (or it is written as a path: `/`, `./`, `../`, `~`);
    /// otherwise a repo id with an optional `@revision` (which `revision`, when given, must agree with).
    public static func parse(_ text: String, revision: String? = nil) throws -> ModelSpec {
        var isDir: ObjCBool = false
        let expanded = text.hasPrefix("~") ? NSHomeDirectory() + text.dropFirst() : text
        if FileManager.default.fileExists(atPath: expanded, isDirectory: &isDir) {
            guard isDir.boolValue else { throw HubError.invalidSpec("\(text) is a file; a model is a folder or org/name[@revision]") }
            if revision != nil { throw HubError.invalidSpec("--revision applies to hub models, not to the folder \(text)") }
            return .folder(URL(fileURLWithPath: expanded).standardizedFileURL)
        }
        if ["/", "./", "../", "~"].contains(where: { text.hasPrefix($0) }) || text == "." || text == ".." {
            throw HubError.notFound(spec: text, looked: ["no folder at \(expanded)"])
        }
        var id = text
        var rev = revision
        if let at = text.firstIndex(of: "@") {
            id = String(text[..<at])
            let inline = String(text[text.index(after: at)...])
            guard !inline.isEmpty else { throw HubError.invalidSpec("empty revision after '@' in \(text)") }
            if let revision, revision != inline {
                throw HubError.invalidSpec("\(text) names revision \(inline) but --revision says \(revision)")
            }
            rev = inline
        }
        if let rev, !isSafeRelativePath(rev) {
            throw HubError.invalidSpec("revision '\(rev)' is not a branch, tag or commit name")
        }
        guard isValidRepoID(id) else {
            throw HubError.invalidSpec("'\(text)' is neither a folder nor a hub model id (org/name[@revision], e.g. facebook/bart-large-cnn)")
        }
        return .repo(id: id, revision: rev ?? defaultRevision)
    }

    /// huggingface_hub's `validate_repo_id`: one or two parts, [A-Za-z0-9._-], no `--` or `..`, no leading
    /// or trailing `-`/`.`, at most 96 characters.
    public static func isValidRepoID(_ id: String) -> Bool {
        let parts = id.split(separator: "/", omittingEmptySubsequences: false)
        guard (1...2).contains(parts.count), id.count <= 96, !id.contains("--"), !id.contains("..") else { return false }
        let allowed = Set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-")
        return parts.allSatisfy { p in
            !p.isEmpty && p.allSatisfy(allowed.contains) && !"-.".contains(p.first!) && !"-.".contains(p.last!)
        }
    }

    /// A path that stays inside the folder it is joined to: relative, no `.`/`..`/empty components, no NUL
    /// or backslash (revision names and file names from the hub become paths in the cache).
    public static func isSafeRelativePath(_ p: String) -> Bool {
        !p.isEmpty && !p.hasPrefix("/") && !p.contains("\0") && !p.contains("\\")
            && p.split(separator: "/", omittingEmptySubsequences: false).allSatisfy { !$0.isEmpty && $0 != "." && $0 != ".." }
    }

    public var description: String {
        switch self {
        case .folder(let url): return url.path
        case let .repo(id, revision): return revision == ModelSpec.defaultRevision ? id : "\(id)@\(revision)"
        }
    }
}

public enum HubError: Error, CustomStringConvertible, Equatable {
    case invalidSpec(String)
    /// Nothing found; `looked` lists every place tried.
    case notFound(spec: String, looked: [String])
    case offlineNotCached(repo: String, revision: String, looked: String)
    case unauthorized(repo: String, status: Int, hadToken: Bool, endpoint: String, looked: [String] = [])
    case http(status: Int, url: String, message: String)
    case network(url: String, reason: String)
    case integrity(file: String, reason: String)
    case protocolError(String)

    public var description: String {
        switch self {
        case .invalidSpec(let m): return m
        case let .notFound(spec, looked):
            return "model '\(spec)' not found; looked in:\n" + looked.map { "  - " + $0 }.joined(separator: "\n")
        case let .offlineNotCached(repo, revision, looked):
            return "model '\(repo)' (revision \(revision)) is not in the hub cache (looked for \(looked)) and "
                + "HF_HUB_OFFLINE=1 forbids downloading it. Fix: run `brevity download \(repo)` with network access "
                + "(HF_HUB_OFFLINE unset), point HF_HUB_CACHE or HF_HOME at a cache that holds it, or pass a local model folder."
        case let .unauthorized(repo, status, hadToken, endpoint, looked):
            let why = hadToken
                ? "\(endpoint) refused access to '\(repo)' (HTTP \(status)) with the token given: it may lack access to "
                    + "this private or gated repository, or the repository may not exist"
                : "\(endpoint) refused access to '\(repo)' (HTTP \(status)): it is private, gated or does not exist; "
                    + "a token is needed: set HF_TOKEN or write one to $HF_HOME/token (`huggingface-cli login` does)"
            return why + (looked.isEmpty ? "" : "; also looked in:\n" + looked.map { "  - " + $0 }.joined(separator: "\n"))
        case let .http(status, url, message): return "\(url): HTTP \(status)\(message.isEmpty ? "" : ": " + message)"
        case let .network(url, reason):
            return "cannot reach \(url): \(reason) (set HF_HUB_OFFLINE=1 to use only the cache, or HF_ENDPOINT for a mirror)"
        case let .integrity(file, reason): return "download of \(file) failed verification: \(reason)"
        case .protocolError(let m): return m
        }
    }
}

/// Paths inside the cache for one repository.
public struct HubCache: Sendable {
    public let root: URL

    public init(root: URL) { self.root = root }

    /// `models--org--name` (huggingface_hub's `repo_folder_name`).
    public static func folderName(repo: String) -> String {
        (["models"] + repo.split(separator: "/").map(String.init)).joined(separator: "--")
    }

    public func repoFolder(_ repo: String) -> URL { root.appendingPathComponent(HubCache.folderName(repo: repo)) }
    public func blobs(_ repo: String) -> URL { repoFolder(repo).appendingPathComponent("blobs") }
    public func snapshot(_ repo: String, commit: String) -> URL {
        repoFolder(repo).appendingPathComponent("snapshots").appendingPathComponent(commit)
    }
    public func ref(_ repo: String, revision: String) -> URL {
        repoFolder(repo).appendingPathComponent("refs").appendingPathComponent(revision)
    }
    public func lock(_ repo: String, etag: String) -> URL {
        root.appendingPathComponent(".locks").appendingPathComponent(HubCache.folderName(repo: repo))
            .appendingPathComponent(etag + ".lock")
    }

    public static func isCommitHash(_ s: String) -> Bool {
        s.count == 40 && s.allSatisfy { "0123456789abcdef".contains($0) }
    }

    /// The commit a revision names here: itself when it is a commit hash, else the content of refs/<revision>.
    public func commit(repo: String, revision: String) -> String? {
        if HubCache.isCommitHash(revision) { return revision }
        guard let s = try? String(contentsOf: ref(repo, revision: revision), encoding: .utf8) else { return nil }
        let c = s.trimmingCharacters(in: .whitespacesAndNewlines)
        return c.isEmpty ? nil : c
    }

    /// The snapshot folder for a revision, when the cache has one.
    public func cachedSnapshot(repo: String, revision: String) -> URL? {
        guard let commit = commit(repo: repo, revision: revision) else { return nil }
        let folder = snapshot(repo, commit: commit)
        var isDir: ObjCBool = false
        return FileManager.default.fileExists(atPath: folder.path, isDirectory: &isDir) && isDir.boolValue ? folder : nil
    }

    /// Records that `revision` points at `commit` (tmp file + rename, so readers never see half a ref).
    public func writeRef(repo: String, revision: String, commit: String) throws {
        guard revision != commit else { return }
        let url = ref(repo, revision: revision)
        if (try? String(contentsOf: url, encoding: .utf8)) == commit { return }
        try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
        let tmp = url.deletingLastPathComponent().appendingPathComponent(".\(url.lastPathComponent).\(UUID().uuidString).tmp")
        // written whole before it takes the ref's name; a full disk leaves no temporary file behind
        if let reason = writeFile(Array(commit.utf8), to: tmp.path) ?? (rename(tmp.path, url.path) == 0 ? nil : String(cString: strerror(errno))) {
            unlink(tmp.path)
            throw HubError.protocolError("cannot write \(url.path): \(reason)")
        }
    }

    /// Points snapshots/<commit>/<file> at blobs/<etag> with a relative symlink, replacing any old link
    /// atomically (a temporary link renamed over it).
    public func link(repo: String, commit: String, file: String, etag: String) throws {
        let pointer = snapshot(repo, commit: commit).appendingPathComponent(file)
        let dir = pointer.deletingLastPathComponent()
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        let depth = file.split(separator: "/").count - 1     // nested files (1_Pooling/config.json) climb further
        let target = String(repeating: "../", count: 2 + depth) + "blobs/" + etag   // ../../blobs/<etag>
        let tmp = dir.appendingPathComponent(".\(pointer.lastPathComponent).\(UUID().uuidString).link")
        guard symlink(target, tmp.path) == 0 else {
            throw HubError.protocolError("cannot create a symlink at \(tmp.path): \(String(cString: strerror(errno)))")
        }
        guard rename(tmp.path, pointer.path) == 0 else {
            let reason = String(cString: strerror(errno))
            unlink(tmp.path)
            throw HubError.protocolError("cannot place \(pointer.path): \(reason)")
        }
    }
}
/// Writes `bytes` to a new file at `path`: nil, or why it failed (strerror); a failed file is the caller's
/// to remove.
func writeFile(_ bytes: [UInt8], to path: String) -> String? {
    let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
    guard fd >= 0 else { return String(cString: strerror(errno)) }
    defer { close(fd) }
    return bytes.withUnsafeBytes { writeAll(fd, $0) }.map { String(cString: strerror($0)) }
}

/// Writes all of `bytes` to `fd` (again after a signal or a short write): nil, or the errno of the failure
/// (ENOSPC on a full disk). The one write loop of the hub cache's files.
func writeAll(_ fd: Int32, _ bytes: UnsafeRawBufferPointer) -> Int32? {
    var off = 0
    while off < bytes.count {
        let n = write(fd, bytes.baseAddress! + off, bytes.count - off)
        if n < 0 {
            if errno == EINTR { continue }
            return errno
        }
        off += n
    }
    return nil
}
