// Model spec -> a local folder: the folder itself; else the hub cache (no network when the snapshot there is
// complete); else a download of only the files Brevity needs, unless HF_HUB_OFFLINE forbids it.

import Foundation

/// Which files of a repository Brevity needs.
public enum ModelFiles {
    public static let configs = ["config.json", "generation_config.json"]
    public static let tokenizer = [
        "tokenizer.json", "tokenizer_config.json", "special_tokens_map.json", "added_tokens.json",
        "vocab.json", "merges.txt", "vocab.txt", "spiece.model", "sentencepiece.bpe.model", "tokenizer.model",
        "source.spm", "target.spm",
    ]
    /// sentence-transformers' small metadata (the pooling mode lives in 1_Pooling/config.json).
    public static let sentenceTransformers = ["modules.json", "sentence_bert_config.json", "config_sentence_transformers.json"]
    /// Weights in order of preference; an index names its shards.
    public static let weights = ["model.safetensors", "model.safetensors.index.json", "pytorch_model.bin", "pytorch_model.bin.index.json"]

    /// The files to fetch from a repository listing: the small files, and one weights format (safetensors
    /// preferred). Shards named by an index are added once the index is read (`shards(ofIndex:)`).
    public static func select(_ siblings: [String]) -> (small: [String], weights: String?) {
        let present = Set(siblings)
        var small = (configs + tokenizer + sentenceTransformers).filter(present.contains)
        // N_Pooling/config.json and the like: folder-local configs of sentence-transformers modules
        small += siblings.filter { f in
            let parts = f.split(separator: "/")
            return parts.count == 2 && parts[1] == "config.json" && parts[0].contains("_Pooling")
        }.sorted()
        return (small, weights.first(where: present.contains))
    }

    /// The shard files an index (`*.index.json`) names, sorted.
    public static func shards(ofIndex url: URL) throws -> [String] {
        guard let json = try? JSONSerialization.jsonObject(with: Data(contentsOf: url)) as? [String: Any],
              let map = json["weight_map"] as? [String: String] else {
            throw HubError.protocolError("\(url.lastPathComponent) has no weight_map object")
        }
        return Array(Set(map.values)).sorted()
    }

    /// What is missing for the folder to load: config.json and one complete set of weights.
    public static func missing(in folder: URL) -> [String] {
        let fm = FileManager.default
        func has(_ f: String) -> Bool { fm.fileExists(atPath: folder.appendingPathComponent(f).path) }   // follows links
        var missing: [String] = []
        if !has("config.json") { missing.append("config.json") }
        guard let w = weights.first(where: has) else {
            return missing + ["weights (model.safetensors, pytorch_model.bin or a sharded index)"]
        }
        if w.hasSuffix(".index.json") {
            let shards = (try? ModelFiles.shards(ofIndex: folder.appendingPathComponent(w))) ?? []
            if shards.isEmpty { missing.append(w + " (unreadable)") }
            missing += shards.filter { !has($0) }
        }
        return missing
    }
}

public struct ModelResolver: Sendable {
    public var environment: HubEnvironment
    /// A progress bar on standard error (default: when standard error is a terminal).
    public var showProgress: Bool
    /// Attempts per file after a transfer breaks off; each resumes with Range.
    public var retries = 3
    public var retryDelay: Double = 1
    /// Seconds to keep trying to connect to the hub.
    public var connectTimeout: Double = 10

    public init(environment: HubEnvironment = .fromProcess(), showProgress: Bool? = nil) {
        self.environment = environment
        self.showProgress = showProgress ?? (isatty(2) == 1)
    }

    public var cache: HubCache { HubCache(root: environment.cache) }

    /// A folder as is; a repo from the cache when its snapshot there is complete, else downloaded.
    public func resolve(_ text: String, revision: String? = nil) async throws -> URL {
        try await resolve(ModelSpec.parse(text, revision: revision))
    }

    public func resolve(_ spec: ModelSpec) async throws -> URL {
        switch spec {
        case .folder(let url): return url
        case let .repo(id, revision):
            if let snapshot = cache.cachedSnapshot(repo: id, revision: revision),
               ModelFiles.missing(in: snapshot).isEmpty {
                return snapshot
            }
            return try await download(id, revision: revision)
        }
    }

    /// The cache only, no network: the snapshot folder when it is complete.
    public func resolveCached(_ spec: ModelSpec) -> URL? {
        switch spec {
        case .folder(let url): return url
        case let .repo(id, revision):
            guard let s = cache.cachedSnapshot(repo: id, revision: revision), ModelFiles.missing(in: s).isEmpty else { return nil }
            return s
        }
    }

    /// Asks the hub for the revision's commit and fetches what is missing (always contacts the hub unless
    /// offline, so a branch moves to its newest commit). Returns snapshots/<commit>.
    public func download(_ repo: String, revision: String = ModelSpec.defaultRevision) async throws -> URL {
        let refPath = cache.ref(repo, revision: revision).path
        let looked = HubCache.isCommitHash(revision)
            ? cache.snapshot(repo, commit: revision).path : "\(refPath) and its snapshot"
        if environment.offline {
            if let s = cache.cachedSnapshot(repo: repo, revision: revision) {
                let missing = ModelFiles.missing(in: s)
                if missing.isEmpty { return s }
                throw HubError.offlineNotCached(repo: repo, revision: revision,
                                                looked: "\(s.path), which lacks \(missing.joined(separator: ", "))")
            }
            throw HubError.offlineNotCached(repo: repo, revision: revision, looked: looked)
        }
        let client = HubClient(environment: environment, connectTimeout: connectTimeout)
        do {
            let folder = try await fetch(repo, revision: revision, looked: looked, client: client)
            await client.shutdown()
            return folder
        } catch {
            await client.shutdown()
            throw error
        }
    }

    private func localPlaces(_ repo: String, _ looked: String) -> [String] {
        let cacheNote = FileManager.default.fileExists(atPath: cache.repoFolder(repo).path)
            ? "the hub cache: \(looked) (absent)" : "the hub cache: \(cache.repoFolder(repo).path) (absent)"
        return ["a local folder: ./\(repo) (absent)", cacheNote]
    }

    private func fetch(_ repo: String, revision: String, looked: String, client: HubClient) async throws -> URL {
        let info: RepoInfo
        do {
            info = try await client.repoInfo(repo: repo, revision: revision)
        } catch HubError.notFound(_, let remote) {
            throw HubError.notFound(spec: ModelSpec.repo(id: repo, revision: revision).description,
                                    looked: localPlaces(repo, looked) + remote)
        } catch let HubError.unauthorized(repo, status, hadToken, endpoint, _) {
            throw HubError.unauthorized(repo: repo, status: status, hadToken: hadToken, endpoint: endpoint,
                                        looked: localPlaces(repo, looked))
        } catch let error as HubError {
            // the hub unreachable: a complete snapshot in the cache still serves
            if case .network = error, let s = cache.cachedSnapshot(repo: repo, revision: revision),
               ModelFiles.missing(in: s).isEmpty {
                return s
            }
            throw error
        }
        let commit = info.sha
        guard HubCache.isCommitHash(commit) else { throw HubError.protocolError("the hub answered commit '\(commit)', not a commit hash") }
        let (small, weights) = ModelFiles.select(info.siblings)
        guard let weights else {
            throw HubError.protocolError("'\(repo)' at \(revision) has no weights Brevity reads (model.safetensors, "
                + "pytorch_model.bin or their sharded indexes); its files: \(info.siblings.sorted().joined(separator: ", "))")
        }
        let fetcher = BlobFetcher(client: client, cache: cache, repo: repo, commit: commit, resolver: self)
        for file in small + [weights] { try await fetcher.fetch(file) }
        if weights.hasSuffix(".index.json") {
            let shards = try ModelFiles.shards(ofIndex: cache.snapshot(repo, commit: commit).appendingPathComponent(weights))
            let listed = Set(info.siblings)
            for shard in shards {
                guard listed.contains(shard) else { throw HubError.protocolError("\(weights) names \(shard), which '\(repo)' lacks") }
                try await fetcher.fetch(shard)
            }
        }
        try cache.writeRef(repo: repo, revision: revision, commit: commit)
        return cache.snapshot(repo, commit: commit)
    }
}
