// Downloads against the stand-in hub on loopback: cache layout as huggingface_hub writes it, only the
// needed files, revisions (branch, tag, commit), a private repo and its token, a transfer that breaks off and
// resumes with Range, corrupt content caught by sha256, two concurrent downloads, offline mode, and errors
// that say where Brevity looked.

import Foundation
@testable import Hub
import TestSupport
import XCTest

final class HubDownloadTests: XCTestCase {
    var hub: StandInHub!
    var cacheDir: URL!

    override func setUp() async throws {
        hub = StandInHub()
        try await hub.start()
        cacheDir = FileManager.default.temporaryDirectory.appendingPathComponent("brevity-hub-\(UUID().uuidString)")
    }

    override func tearDown() async throws {
        await hub.stop()
        try? FileManager.default.removeItem(at: cacheDir)
    }

    func resolver(token: String? = nil, offline: Bool = false, retries: Int = 0) -> ModelResolver {
        var r = ModelResolver(environment: HubEnvironment(cache: cacheDir, endpoint: hub.endpoint, token: token, offline: offline),
                              showProgress: false)
        r.retries = retries
        r.retryDelay = 0.01
        r.connectTimeout = 1
        return r
    }

    // MARK: layout

    func testDownloadLaysOutTheCacheAsHuggingFaceHub() async throws {
        let repo = TinyRepo.withExtras()
        let commit = hub.publish("brevity-test/tiny", files: repo)
        let folder = try await resolver().download("brevity-test/tiny")
        let base = cacheDir.appendingPathComponent("models--brevity-test--tiny")
        XCTAssertEqual(folder.path, base.appendingPathComponent("snapshots/\(commit)").path)
        XCTAssertEqual(try String(contentsOf: base.appendingPathComponent("refs/main"), encoding: .utf8), commit)

        // only what Brevity needs: no README, ONNX, TF or flax files
        let linked = Set(try listFiles(folder))
        XCTAssertEqual(linked, ["config.json", "generation_config.json", "tokenizer.json", "tokenizer_config.json",
                                "model.safetensors", "1_Pooling/config.json", "modules.json", "sentence_bert_config.json"])
        let fm = FileManager.default
        for name in linked {
            let pointer = folder.appendingPathComponent(name).path
            let target = try fm.destinationOfSymbolicLink(atPath: pointer)
            let depth = name.split(separator: "/").count - 1
            let etag = StandInHub.isLFS(name) ? sha256hex(repo[name]!) : gitBlobSHA1(repo[name]!)
            XCTAssertEqual(target, String(repeating: "../", count: 2 + depth) + "blobs/" + etag, name)
            XCTAssertEqual(Array(try Data(contentsOf: folder.appendingPathComponent(name))), repo[name], name)
        }
        // blobs named by ETag, no partial file left, the lock folder as huggingface_hub names it
        let blobs = try fm.contentsOfDirectory(atPath: base.appendingPathComponent("blobs").path)
        XCTAssertFalse(blobs.contains { $0.hasSuffix(".incomplete") }, "\(blobs)")
        XCTAssertTrue(blobs.contains(sha256hex(repo["model.safetensors"]!)))
        XCTAssertTrue(fm.fileExists(atPath: cacheDir.appendingPathComponent(".locks/models--brevity-test--tiny").path))
        // the folder loads: the resolver finds it in the cache without the network
        hub.clearLog()
        let again = try await resolver().resolve("brevity-test/tiny")
        XCTAssertEqual(again, folder)
        XCTAssertEqual(hub.requests.count, 0, "\(hub.requests)")
    }

    func testPrefersSafetensorsAndFollowsShardedIndexes() async throws {
        var files = TinyRepo.base()
        files["pytorch_model.bin"] = [1, 2, 3]
        hub.publish("org/both", files: files)
        let both = try await resolver().download("org/both")
        XCTAssertTrue(FileManager.default.fileExists(atPath: both.appendingPathComponent("model.safetensors").path))
        XCTAssertFalse(FileManager.default.fileExists(atPath: both.appendingPathComponent("pytorch_model.bin").path))

        // only a sharded PyTorch checkpoint: the index and exactly the shards it names
        var sharded = TinyRepo.base()
        sharded["model.safetensors"] = nil
        let dir = Fixtures.hub.appendingPathComponent("tiny-bin-sharded")
        for f in try FileManager.default.contentsOfDirectory(atPath: dir.path) {
            sharded[f] = Array(try Data(contentsOf: dir.appendingPathComponent(f)))
        }
        sharded["pytorch_model-00003-of-00003.bin"] = [9, 9, 9]     // listed nowhere: not fetched
        hub.publish("org/sharded", files: sharded)
        let folder = try await resolver().download("org/sharded")
        let got = Set(try listFiles(folder))
        XCTAssertTrue(got.isSuperset(of: ["pytorch_model.bin.index.json", "pytorch_model-00001-of-00002.bin",
                                          "pytorch_model-00002-of-00002.bin"]), "\(got)")
        XCTAssertFalse(got.contains("pytorch_model-00003-of-00003.bin"))
        XCTAssertEqual(ModelFiles.missing(in: folder), [])
    }

    func testRevisionsBranchTagAndCommit() async throws {
        var v1 = TinyRepo.base()
        v1["config.json"] = Array(#"{"model_type": "bart", "v": 1}"#.utf8)
        let c1 = hub.publish("org/rev", files: v1, refs: ["main", "v1.0"])
        var v2 = TinyRepo.base()
        v2["config.json"] = Array(#"{"model_type": "bart", "v": 2}"#.utf8)
        let c2 = hub.publish("org/rev", files: v2, refs: ["main"])
        XCTAssertNotEqual(c1, c2)

        let r = resolver()
        let tag = try await r.resolve("org/rev@v1.0")
        XCTAssertEqual(tag.lastPathComponent, c1)
        let main = try await r.resolve("org/rev")
        XCTAssertEqual(main.lastPathComponent, c2)
        let byCommit = try await r.resolve("org/rev", revision: c1)
        XCTAssertEqual(byCommit, tag)
        let refs = cacheDir.appendingPathComponent("models--org--rev/refs")
        XCTAssertEqual(try String(contentsOf: refs.appendingPathComponent("v1.0"), encoding: .utf8), c1)
        XCTAssertEqual(try String(contentsOf: refs.appendingPathComponent("main"), encoding: .utf8), c2)
        // the weights did not change between the commits: one blob serves both snapshots
        let gets = hub.gets(of: "model.safetensors")
        XCTAssertEqual(gets.count, 1, "\(gets)")
        // a commit already in the cache needs no network
        hub.clearLog()
        _ = try await r.resolve("org/rev@\(c1)")
        XCTAssertTrue(hub.requests.isEmpty, "\(hub.requests)")
        // an unknown revision
        do {
            _ = try await r.resolve("org/rev@nope")
            XCTFail("expected an error")
        } catch let e as HubError {
            XCTAssertTrue(e.description.contains("RevisionNotFound") || e.description.contains("nope"), e.description)
        }
    }

    func testTreeListingAsHuggingFaceHubReadsIt() async throws {
        let files = TinyRepo.withExtras()
        hub.publish("org/tree", files: files)
        let client = HubClient(environment: HubEnvironment(cache: cacheDir, endpoint: hub.endpoint))
        func list(_ query: String) async throws -> [[String: Any]] {
            try await client.getJSON("\(hub.endpoint)/api/models/org/tree/tree/main\(query)", repo: "org/tree", what: "tree")
                as! [[String: Any]]
        }
        let all = try await list("?recursive=true&expand=false")
        let top = try await list("")
        await client.shutdown()
        let paths = Set(all.compactMap { $0["path"] as? String })
        XCTAssertTrue(paths.isSuperset(of: Set(files.keys)), "\(paths)")
        XCTAssertTrue(paths.contains("1_Pooling") && paths.contains("onnx"))
        let weights = all.first { $0["path"] as? String == "model.safetensors" }!
        let lfs = weights["lfs"] as! [String: Any]
        XCTAssertEqual(lfs["oid"] as? String, sha256hex(files["model.safetensors"]!))
        XCTAssertEqual(weights["size"] as? Int, files["model.safetensors"]!.count)
        XCTAssertEqual(all.first { $0["path"] as? String == "config.json" }?["oid"] as? String, gitBlobSHA1(files["config.json"]!))
        XCTAssertFalse(top.contains { ($0["path"] as! String).contains("/") }, "non-recursive lists the top level only")
        XCTAssertTrue(top.contains { $0["path"] as? String == "1_Pooling" && $0["type"] as? String == "directory" })
    }

    // MARK: tokens

    func testPrivateRepoNeedsAToken() async throws {
        hub.publish("org/private", files: TinyRepo.base(), token: "hf_secret")
        do {
            _ = try await resolver().download("org/private")
            XCTFail("expected 401")
        } catch let e as HubError {
            guard case .unauthorized(_, 401, false, _, _) = e else { return XCTFail("\(e)") }
            XCTAssertTrue(e.description.contains("token is needed"), e.description)
            XCTAssertTrue(e.description.contains("HF_TOKEN"), e.description)
        }
        XCTAssertFalse(FileManager.default.fileExists(atPath: cacheDir.appendingPathComponent("models--org--private/snapshots").path))
        do {
            _ = try await resolver(token: "hf_wrong").download("org/private")
            XCTFail("expected 401")
        } catch let e as HubError {
            XCTAssertTrue(e.description.contains("with the token given"), e.description)
        }
        hub.clearLog()
        let folder = try await resolver(token: "hf_secret").download("org/private")
        XCTAssertEqual(ModelFiles.missing(in: folder), [])
        // the token went to the hub's own host only, never to the CDN host the weights redirect to
        let api = hub.requests.filter { !$0.path.hasPrefix("/cdn/") }
        XCTAssertTrue(api.allSatisfy { $0.auth == "Bearer hf_secret" }, "\(api)")
        let cdn = hub.requests.filter { $0.path.hasPrefix("/cdn/") }
        XCTAssertFalse(cdn.isEmpty)
        XCTAssertTrue(cdn.allSatisfy { $0.auth == nil }, "the token leaked to the CDN: \(cdn)")
    }

    func testTokenFromHFHomeFile() throws {
        let home = FileManager.default.temporaryDirectory.appendingPathComponent("hf-home-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: home, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: home) }
        try "hf_from_file\n".write(to: home.appendingPathComponent("token"), atomically: true, encoding: .utf8)
        let env = HubEnvironment.fromProcess(["HF_HOME": home.path, "HOME": "/nonexistent"])
        XCTAssertEqual(env.token, "hf_from_file")
        XCTAssertEqual(env.cache.path, home.appendingPathComponent("hub").path)
        XCTAssertEqual(HubEnvironment.fromProcess(["HF_HOME": home.path, "HF_TOKEN": "hf_env"]).token, "hf_env")
    }

    // MARK: failures

    func testBrokenTransferLeavesNothingVisibleAndResumesWithRange() async throws {
        let files = TinyRepo.base()
        let size = files["model.safetensors"]!.count
        let commit = hub.publish("org/flaky", files: files)
        hub.breakTransfers(of: "model.safetensors", times: 1, after: 100_000)
        do {
            _ = try await resolver(retries: 0).download("org/flaky")
            XCTFail("expected the broken transfer to fail")
        } catch let e as HubError {
            XCTAssertTrue(e.description.contains("model.safetensors"), e.description)
        }
        let base = cacheDir.appendingPathComponent("models--org--flaky")
        let sha = sha256hex(files["model.safetensors"]!)
        let partial = base.appendingPathComponent("blobs/\(sha).incomplete")
        let have = (try? FileManager.default.attributesOfItem(atPath: partial.path)[.size] as? Int) ?? 0
        // the bytes received before the connection dropped stay in blobs/<sha>.incomplete (some of the 100000
        // sent may be lost in flight when the server closes)
        XCTAssertTrue(have > 0 && have <= 100_000, "\(have) bytes kept of \(size)")
        // nothing partial is visible: no snapshot link to the weights, no ref yet, no blob under its name
        XCTAssertFalse(FileManager.default.fileExists(atPath: base.appendingPathComponent("snapshots/\(commit)/model.safetensors").path))
        XCTAssertNil(try? FileManager.default.destinationOfSymbolicLink(atPath: base.appendingPathComponent("snapshots/\(commit)/model.safetensors").path))
        XCTAssertFalse(FileManager.default.fileExists(atPath: base.appendingPathComponent("blobs/\(sha)").path))
        XCTAssertFalse(FileManager.default.fileExists(atPath: base.appendingPathComponent("refs/main").path))

        hub.clearLog()
        let folder = try await resolver().download("org/flaky")
        let gets = hub.gets(of: "model.safetensors")
        XCTAssertEqual(gets.map(\.range), ["bytes=\(have)-"], "\(gets)")
        XCTAssertEqual(Array(try Data(contentsOf: folder.appendingPathComponent("model.safetensors"))), files["model.safetensors"])
        XCTAssertEqual(size, files["model.safetensors"]!.count)
    }

    /// A full disk under the hub cache: the error names the file being written and why, nothing is left
    /// where a later start would take it for the model (no blob under its name, no snapshot link, no ref),
    /// and once there is room the download resumes from the bytes kept.
    func testAFullDiskNamesThePathLeavesNothingTrustedAndResumes() async throws {
        let files = TinyRepo.base()
        let weights = files["model.safetensors"]!
        let commit = hub.publish("org/full", files: files)
        let disk = try DiskLimit(folder: cacheDir, bytes: 96 << 10)
        defer { disk.release() }
        XCTAssertGreaterThan(weights.count, 96 << 10, "the weights do not fit")
        do {
            _ = try await disk.during { try await resolver(retries: 2).download("org/full") }
            XCTFail("the download fit a full disk")
        } catch let e as HubError {
            let base = cacheDir.appendingPathComponent("models--org--full").path
            XCTAssertTrue(e.description.contains(base) && e.description.contains(disk.failure), e.description)
        }
        let base = cacheDir.appendingPathComponent("models--org--full")
        let sha = sha256hex(weights)
        XCTAssertFalse(FileManager.default.fileExists(atPath: base.appendingPathComponent("blobs/\(sha)").path))
        XCTAssertNil(try? FileManager.default.destinationOfSymbolicLink(atPath: base.appendingPathComponent("snapshots/\(commit)/model.safetensors").path))
        XCTAssertFalse(FileManager.default.fileExists(atPath: base.appendingPathComponent("refs/main").path))
        let leftovers = try listFiles(base).filter { $0.hasPrefix("blobs/") && !$0.hasSuffix(".incomplete") && !$0.hasSuffix(".lock") }
        for f in leftovers {   // only whole, checked small files may sit under their names
            let name = String(f.dropFirst("blobs/".count))
            XCTAssertTrue(files.values.contains { sha256hex($0) == name || gitBlobSHA1($0) == name }, f)
        }
        do {
            _ = try await resolver(offline: true).download("org/full")
            XCTFail("an offline start took the half-downloaded model")
        } catch {}

        disk.lift()
        hub.clearLog()
        let folder = try await resolver().download("org/full")
        XCTAssertEqual(Array(try Data(contentsOf: folder.appendingPathComponent("model.safetensors"))), weights)
        let resumed = hub.gets(of: "model.safetensors").map(\.range)
        XCTAssertEqual(resumed.count, 1)
        XCTAssertTrue(resumed.first??.hasPrefix("bytes=") ?? false, "the transfer resumes from what the full disk kept: \(resumed)")
    }

    func testRetriesResumeWithinOneCall() async throws {
        let files = TinyRepo.base()
        hub.publish("org/flaky2", files: files)
        hub.breakTransfers(of: "model.safetensors", times: 2, after: 50_000)
        let folder = try await resolver(retries: 3).download("org/flaky2")
        XCTAssertEqual(Array(try Data(contentsOf: folder.appendingPathComponent("model.safetensors"))), files["model.safetensors"])
        // three GETs: the first from 0, each retry resuming where the bytes received so far end
        let starts = hub.gets(of: "model.safetensors").map { Int($0.range?.dropFirst(6).dropLast() ?? "0") ?? -1 }
        XCTAssertEqual(starts.count, 3, "\(hub.requests)")
        XCTAssertEqual(starts.first, 0)
        XCTAssertEqual(starts, starts.sorted())
        XCTAssertTrue(starts.dropFirst().allSatisfy { $0 > 0 }, "\(starts)")
    }

    func testCorruptContentFailsTheSha256Check() async throws {
        let files = TinyRepo.base()
        let commit = hub.publish("org/corrupt", files: files)
        hub.corruptContent(of: "model.safetensors")
        do {
            _ = try await resolver().download("org/corrupt")
            XCTFail("expected a verification failure")
        } catch let e as HubError {
            guard case .integrity = e else { return XCTFail("\(e)") }
            XCTAssertTrue(e.description.contains("sha256"), e.description)
        }
        let base = cacheDir.appendingPathComponent("models--org--corrupt")
        let blobs = (try? FileManager.default.contentsOfDirectory(atPath: base.appendingPathComponent("blobs").path)) ?? []
        XCTAssertFalse(blobs.contains(sha256hex(files["model.safetensors"]!)))
        XCTAssertFalse(blobs.contains { $0.hasSuffix(".incomplete") }, "the bad bytes are removed: \(blobs)")
        XCTAssertFalse(FileManager.default.fileExists(atPath: base.appendingPathComponent("snapshots/\(commit)/model.safetensors").path))
    }

    func testTwoConcurrentDownloadsOfOneRepo() async throws {
        let files = TinyRepo.base()
        let commit = hub.publish("org/busy", files: files)
        hub.chunkDelay = 20_000_000     // 20 ms per 16 KiB: the two downloads overlap
        let r = resolver()
        async let a = r.download("org/busy")
        async let b = r.download("org/busy")
        let (fa, fb) = try await (a, b)
        XCTAssertEqual(fa, fb)
        XCTAssertEqual(fa.lastPathComponent, commit)
        XCTAssertEqual(Array(try Data(contentsOf: fa.appendingPathComponent("model.safetensors"))), files["model.safetensors"])
        // the lock made the second wait for the first's blob instead of fetching it again
        XCTAssertEqual(hub.gets(of: "model.safetensors").count, 1, "\(hub.requests)")
        let blobs = try FileManager.default.contentsOfDirectory(atPath: cacheDir.appendingPathComponent("models--org--busy/blobs").path)
        XCTAssertFalse(blobs.contains { $0.hasSuffix(".incomplete") })
    }

    // MARK: offline and errors

    func testOfflineUsesTheCacheAndSaysHowToFixAMiss() async throws {
        hub.publish("org/off", files: TinyRepo.base())
        do {
            _ = try await resolver(offline: true).resolve("org/off")
            XCTFail("expected an offline error")
        } catch let e as HubError {
            guard case .offlineNotCached = e else { return XCTFail("\(e)") }
            XCTAssertTrue(e.description.contains("HF_HUB_OFFLINE=1"), e.description)
            XCTAssertTrue(e.description.contains("brevity download org/off"), e.description)
            XCTAssertTrue(e.description.contains(cacheDir.path), e.description)
        }
        XCTAssertTrue(hub.requests.isEmpty, "offline must not touch the network: \(hub.requests)")
        let online = try await resolver().download("org/off")
        hub.clearLog()
        let offline = try await resolver(offline: true).resolve("org/off")
        XCTAssertEqual(online, offline)
        let viaDownload = try await resolver(offline: true).download("org/off")
        XCTAssertEqual(online, viaDownload)
        XCTAssertTrue(hub.requests.isEmpty, "\(hub.requests)")
        // a snapshot missing its weights: offline says what is missing instead of failing later
        try FileManager.default.removeItem(at: online.appendingPathComponent("model.safetensors"))
        do {
            _ = try await resolver(offline: true).resolve("org/off")
            XCTFail("expected an offline error")
        } catch let e as HubError {
            XCTAssertTrue(e.description.contains("lacks weights") && e.description.contains("HF_HUB_OFFLINE=1"), e.description)
        }
        XCTAssertTrue(HubEnvironment.fromProcess(["HF_HUB_OFFLINE": "1"]).offline)
        XCTAssertTrue(HubEnvironment.fromProcess(["HF_HUB_OFFLINE": "true"]).offline)
        XCTAssertFalse(HubEnvironment.fromProcess(["HF_HUB_OFFLINE": "0"]).offline)
    }

    func testUnknownModelSaysWhereItLooked() async throws {
        do {
            _ = try await resolver().resolve("nobody/nothing")
            XCTFail("expected not found")
        } catch let e as HubError {
            let m = e.description
            XCTAssertTrue(m.contains("nobody/nothing"), m)
            XCTAssertTrue(m.contains(cacheDir.path), m)
            XCTAssertTrue(m.contains(hub.endpoint), m)
        }
        do {
            _ = try await resolver().resolve("./no/such/folder")
            XCTFail("expected not found")
        } catch let e as HubError {
            XCTAssertTrue(e.description.contains("no folder at ./no/such/folder"), e.description)
        }
        // a hub that is not there
        var r = resolver()
        r.environment.endpoint = "http://127.0.0.1:1"
        do {
            _ = try await r.resolve("org/x")
            XCTFail("expected a network error")
        } catch let e as HubError {
            guard case .network = e else { return XCTFail("\(e)") }
            XCTAssertTrue(e.description.contains("HF_HUB_OFFLINE"), e.description)
        }
    }

    func testAHostileIndexCannotWriteOutsideTheSnapshot() async throws {
        var files = TinyRepo.base()
        files["model.safetensors"] = nil
        let escape = "../../../../escaped.safetensors"
        files["model.safetensors.index.json"] = Array(#"{"weight_map": {"w": "../../../../escaped.safetensors"}}"#.utf8)
        files[escape] = [1, 2, 3]
        hub.publish("org/hostile", files: files)
        do {
            _ = try await resolver().download("org/hostile")
            XCTFail("expected a refusal")
        } catch let e as HubError {
            XCTAssertTrue(e.description.contains("would leave the snapshot folder"), e.description)
        }
        XCTAssertFalse(FileManager.default.fileExists(atPath: cacheDir.appendingPathComponent("escaped.safetensors").path))
        XCTAssertFalse(FileManager.default.fileExists(atPath: cacheDir.deletingLastPathComponent().appendingPathComponent("escaped.safetensors").path))
    }

    func testRepoWithoutWeightsIsRefusedUpFront() async throws {
        var files = TinyRepo.base()
        files["model.safetensors"] = nil
        files["tf_model.h5"] = [1, 2, 3]
        hub.publish("org/tf-only", files: files)
        do {
            _ = try await resolver().download("org/tf-only")
            XCTFail("expected an error")
        } catch let e as HubError {
            XCTAssertTrue(e.description.contains("no weights Brevity reads"), e.description)
            XCTAssertTrue(e.description.contains("tf_model.h5"), e.description)
        }
    }

    func listFiles(_ folder: URL) throws -> [String] {
        var out: [String] = []
        let walker = FileManager.default.enumerator(atPath: folder.path)!
        while let rel = walker.nextObject() as? String {
            var isDir: ObjCBool = false
            if FileManager.default.fileExists(atPath: folder.appendingPathComponent(rel).path, isDirectory: &isDir), !isDir.boolValue {
                out.append(rel)
            }
        }
        return out
    }
}

/// Repository contents for the stand-in hub, from Tests/Fixtures/summarizer-tiny.
enum TinyRepo {
    static func base() -> [String: [UInt8]] {
        var files: [String: [UInt8]] = [:]
        for f in ["config.json", "generation_config.json", "tokenizer.json", "tokenizer_config.json", "model.safetensors"] {
            files[f] = Array(try! Data(contentsOf: Fixtures.summarizerTiny.appendingPathComponent(f)))
        }
        return files
    }

    /// Plus files Brevity must skip, and sentence-transformers metadata it must fetch.
    static func withExtras() -> [String: [UInt8]] {
        var files = base()
        files["README.md"] = Array("# tiny\n".utf8)
        files[".gitattributes"] = Array("*.safetensors filter=lfs\n".utf8)
        files["onnx/model.onnx"] = [UInt8](repeating: 7, count: 1000)
        files["flax_model.msgpack"] = [UInt8](repeating: 8, count: 100)
        files["1_Pooling/config.json"] = Array(#"{"pooling_mode_mean_tokens": true}"#.utf8)
        files["modules.json"] = Array("[]".utf8)
        files["sentence_bert_config.json"] = Array(#"{"max_seq_length": 64}"#.utf8)
        return files
    }
}

enum Fixtures {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Fixtures")
    static let hub = root.appendingPathComponent("hub")
    static let summarizerTiny = root.appendingPathComponent("summarizer-tiny")
}
