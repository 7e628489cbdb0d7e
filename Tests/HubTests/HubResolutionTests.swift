// Model specs, the environment huggingface_hub reads, cache paths and file selection: no server needed.

import Foundation
@testable import Hub
import XCTest

final class HubResolutionTests: XCTestCase {
    func testSpecs() throws {
        XCTAssertEqual(try ModelSpec.parse("facebook/bart-large-cnn"), .repo(id: "facebook/bart-large-cnn", revision: "main"))
        XCTAssertEqual(try ModelSpec.parse("facebook/bart-large-cnn@v1.0"), .repo(id: "facebook/bart-large-cnn", revision: "v1.0"))
        XCTAssertEqual(try ModelSpec.parse("gpt2"), .repo(id: "gpt2", revision: "main"))
        XCTAssertEqual(try ModelSpec.parse("org/name@refs/pr/1"), .repo(id: "org/name", revision: "refs/pr/1"))
        XCTAssertEqual(try ModelSpec.parse("org/name", revision: "dev"), .repo(id: "org/name", revision: "dev"))
        XCTAssertEqual(try ModelSpec.parse("org/name@dev", revision: "dev"), .repo(id: "org/name", revision: "dev"))
        XCTAssertThrowsError(try ModelSpec.parse("org/name@dev", revision: "main"))
        XCTAssertThrowsError(try ModelSpec.parse("org/name@"))
        for bad in ["../../etc", "a/../b", "/abs", "a//b", "."] {
            XCTAssertThrowsError(try ModelSpec.parse("org/name@" + bad), bad)
        }
        for bad in ["a/b/c", "org--x/y", "-org/x", "org/x.", "o rg/x", "org/x..y", ""] {
            XCTAssertThrowsError(try ModelSpec.parse(bad), bad)
        }
        // an existing folder wins, even when it also looks like a repo id
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("org-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir.appendingPathComponent("name"), withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let cwd = FileManager.default.currentDirectoryPath
        FileManager.default.changeCurrentDirectoryPath(dir.path)
        defer { FileManager.default.changeCurrentDirectoryPath(cwd) }
        guard case .folder(let url) = try ModelSpec.parse("name") else { return XCTFail("expected a folder") }
        XCTAssertEqual(url.lastPathComponent, "name")
        XCTAssertThrowsError(try ModelSpec.parse("name", revision: "main"))
        XCTAssertThrowsError(try ModelSpec.parse("./missing")) { e in
            XCTAssertTrue("\(e)".contains("no folder at ./missing"), "\(e)")
        }
    }

    /// `--model` with `..`: a repo id never climbs out of the cache (refused before any
    /// path is built from it); a path that names an existing folder is that folder, standardized; a path
    /// to nothing is "not found", never a hub request.
    func testModelSpecsWithDotDot() throws {
        for bad in ["org/..", "../org", "org/../../etc", "..org/x", "org/x/..", "facebook/bart-large-cnn/../../x"] {
            XCTAssertThrowsError(try ModelSpec.parse(bad), bad) { e in
                XCTAssertTrue("\(e)".contains("no folder") || "\(e)".contains("neither a folder nor"), "\(bad): \(e)")
            }
        }
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("brevity-dotdot-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir.appendingPathComponent("a/b"), withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        guard case .folder(let url) = try ModelSpec.parse(dir.path + "/a/b/../b") else { return XCTFail("expected a folder") }
        XCTAssertEqual(url.path, dir.appendingPathComponent("a/b").standardizedFileURL.path)
        XCTAssertThrowsError(try ModelSpec.parse(dir.path + "/a/../missing"))
    }

    func testEnvironmentAsHuggingFaceHubReadsIt() {
        var env = HubEnvironment.fromProcess(["HOME": "/home/u"])
        XCTAssertEqual(env.cache.path, "/home/u/.cache/huggingface/hub")
        XCTAssertEqual(env.endpoint, "https://huggingface.co")
        XCTAssertFalse(env.offline)
        env = HubEnvironment.fromProcess(["HOME": "/home/u", "XDG_CACHE_HOME": "/xdg"])
        XCTAssertEqual(env.cache.path, "/xdg/huggingface/hub")
        env = HubEnvironment.fromProcess(["HOME": "/home/u", "HF_HOME": "/hf", "XDG_CACHE_HOME": "/xdg"])
        XCTAssertEqual(env.cache.path, "/hf/hub")
        env = HubEnvironment.fromProcess(["HOME": "/home/u", "HF_HOME": "/hf", "HF_HUB_CACHE": "/cache"])
        XCTAssertEqual(env.cache.path, "/cache")
        env = HubEnvironment.fromProcess(["HOME": "/home/u", "HF_HOME": "~/hf"])
        XCTAssertEqual(env.cache.path, "/home/u/hf/hub")
        env = HubEnvironment.fromProcess(["HF_ENDPOINT": "http://127.0.0.1:8080/", "HF_HUB_OFFLINE": "yes"])
        XCTAssertEqual(env.endpoint, "http://127.0.0.1:8080")
        XCTAssertTrue(env.offline)
        XCTAssertTrue(HubEnvironment.fromProcess(["TRANSFORMERS_OFFLINE": "1"]).offline)
    }

    func testCachePaths() throws {
        let cache = HubCache(root: URL(fileURLWithPath: "/c"))
        XCTAssertEqual(HubCache.folderName(repo: "facebook/bart-large-cnn"), "models--facebook--bart-large-cnn")
        XCTAssertEqual(HubCache.folderName(repo: "gpt2"), "models--gpt2")
        XCTAssertEqual(cache.lock("a/b", etag: "e").path, "/c/.locks/models--a--b/e.lock")
        XCTAssertEqual(cache.ref("a/b", revision: "main").path, "/c/models--a--b/refs/main")
        XCTAssertTrue(HubCache.isCommitHash(String(repeating: "a1", count: 20)))
        XCTAssertFalse(HubCache.isCommitHash("main"))
        // refs: atomic write, read back, a commit hash needs no ref
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("cache-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: root) }
        let c = HubCache(root: root)
        let sha = String(repeating: "0f", count: 20)
        try c.writeRef(repo: "a/b", revision: "refs/pr/1", commit: sha)
        XCTAssertEqual(c.commit(repo: "a/b", revision: "refs/pr/1"), sha)
        XCTAssertEqual(c.commit(repo: "a/b", revision: sha), sha)
        XCTAssertNil(c.commit(repo: "a/b", revision: "main"))
        XCTAssertNil(c.cachedSnapshot(repo: "a/b", revision: "refs/pr/1"), "no snapshot folder yet")
    }

    func testETagsAndFileSelection() {
        XCTAssertEqual(HubClient.normalizeETag("\"abc\""), "abc")
        XCTAssertEqual(HubClient.normalizeETag("W/\"abc\""), "abc")
        XCTAssertEqual(HubClient.normalizeETag("abc"), "abc")
        let (small, weights) = ModelFiles.select(["config.json", "README.md", "model.safetensors", "pytorch_model.bin",
                                                  "tokenizer.json", "vocab.json", "merges.txt", "onnx/model.onnx",
                                                  "1_Pooling/config.json", "2_Dense/config.json", "tf_model.h5"])
        XCTAssertEqual(weights, "model.safetensors")
        XCTAssertEqual(Set(small), ["config.json", "tokenizer.json", "vocab.json", "merges.txt", "1_Pooling/config.json"])
        XCTAssertEqual(ModelFiles.select(["pytorch_model.bin.index.json", "pytorch_model.bin"]).weights, "pytorch_model.bin")
        XCTAssertEqual(ModelFiles.select(["pytorch_model.bin.index.json", "model.safetensors.index.json"]).weights,
                       "model.safetensors.index.json")
        XCTAssertNil(ModelFiles.select(["tf_model.h5"]).weights)
        XCTAssertEqual(HubClient.quotePath("1_Pooling/config.json"), "1_Pooling/config.json")
        XCTAssertEqual(HubClient.quote("refs/pr/1"), "refs%2Fpr%2F1")
    }
}
