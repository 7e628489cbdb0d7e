// `brevity download`, `brevity inspect` and `--model org/name` end to end against the stand-in hub, through
// the `brevity` binary that `swift test` builds beside the test bundle (skipped locally when it is absent,
// a failure under CI, where swift test always builds it); two
// processes downloading one repo at once share the cache safely.

import Foundation
import Hub
import TestSupport
import XCTest

final class HubCLITests: XCTestCase {
    var hub: StandInHub!
    var cacheDir: URL!
    var binary: URL!

    override func setUp() async throws {
        binary = try brevityBinary()
        hub = StandInHub()
        try await hub.start()
        cacheDir = FileManager.default.temporaryDirectory.appendingPathComponent("brevity-cli-hub-\(UUID().uuidString)")
    }

    override func tearDown() async throws {
        await hub?.stop()
        if let cacheDir { try? FileManager.default.removeItem(at: cacheDir) }
    }

    struct Run { let status: Int32; let out: String; let err: String }

    /// Runs brevity without blocking a thread (the stand-in hub answers on this process's threads).
    func brevity(_ args: [String], env extra: [String: String] = [:], stdin: String = "") async throws -> Run {
        let p = Process()
        p.executableURL = binary
        p.arguments = args
        var env = ProcessInfo.processInfo.environment
        for k in ["HF_TOKEN", "HF_HUB_OFFLINE", "HF_HOME", "HF_TOKEN_PATH", "TRANSFORMERS_OFFLINE"] { env[k] = nil }
        env["HF_HUB_CACHE"] = cacheDir.path
        env["HF_ENDPOINT"] = hub.endpoint
        env["HF_HOME"] = cacheDir.appendingPathComponent("home").path
        for (k, v) in extra { env[k] = v }
        p.environment = env
        let outURL = FileManager.default.temporaryDirectory.appendingPathComponent("out-\(UUID().uuidString)")
        let errURL = FileManager.default.temporaryDirectory.appendingPathComponent("err-\(UUID().uuidString)")
        FileManager.default.createFile(atPath: outURL.path, contents: nil)
        FileManager.default.createFile(atPath: errURL.path, contents: nil)
        defer { try? FileManager.default.removeItem(at: outURL); try? FileManager.default.removeItem(at: errURL) }
        p.standardOutput = try FileHandle(forWritingTo: outURL)
        p.standardError = try FileHandle(forWritingTo: errURL)
        let inPipe = Pipe()
        p.standardInput = inPipe
        let done = AsyncStream<Void>.makeStream()
        p.terminationHandler = { _ in done.continuation.yield(); done.continuation.finish() }
        try p.run()
        inPipe.fileHandleForWriting.write(Data(stdin.utf8))
        try inPipe.fileHandleForWriting.close()
        for await _ in done.stream {}
        return Run(status: p.terminationStatus,
                   out: (try? String(contentsOf: outURL, encoding: .utf8)) ?? "",
                   err: (try? String(contentsOf: errURL, encoding: .utf8)) ?? "")
    }

    func testDownloadPrintsTheSnapshotFolder() async throws {
        let commit = hub.publish("brevity-test/tiny", files: TinyRepo.base())
        let r = try await brevity(["download", "brevity-test/tiny"])
        XCTAssertEqual(r.status, 0, r.err)
        let folder = r.out.trimmingCharacters(in: .whitespacesAndNewlines)
        XCTAssertEqual(folder, cacheDir.appendingPathComponent("models--brevity-test--tiny/snapshots/\(commit)").path)
        XCTAssertTrue(r.err.isEmpty, "no progress bar when standard error is not a terminal: \(r.err)")
        let tag = try await brevity(["download", "brevity-test/tiny", "--revision", commit])
        XCTAssertEqual(tag.out, r.out)
    }

    func testProgressBarOnATerminalOnly() async throws {
        guard FileManager.default.isExecutableFile(atPath: "/usr/bin/script") else { try prerequisiteMissing("no script(1) for a pty (bsdutils)") }
        hub.publish("org/bar", files: TinyRepo.base())
        hub.chunkDelay = 30_000_000   // slow enough for the bar to draw
        // script(1) gives brevity a terminal for its standard streams; the transcript is what it drew
        let transcript = cacheDir.appendingPathComponent("typescript").path
        try FileManager.default.createDirectory(at: cacheDir, withIntermediateDirectories: true)
        let r = try await brevity(["--help"])   // warm: the binary runs
        XCTAssertEqual(r.status, 0)
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/script")
        p.arguments = ["-q", "-e", "-c", "'\(binary.path)' download org/bar", transcript]
        var env = ProcessInfo.processInfo.environment
        env["HF_HUB_CACHE"] = cacheDir.path
        env["HF_ENDPOINT"] = hub.endpoint
        env["HF_TOKEN"] = nil
        p.environment = env
        p.standardInput = FileHandle.nullDevice
        p.standardOutput = FileHandle.nullDevice
        let done = AsyncStream<Void>.makeStream()
        p.terminationHandler = { _ in done.continuation.finish() }
        try p.run()
        for await _ in done.stream {}
        XCTAssertEqual(p.terminationStatus, 0)
        let drawn = (try? String(contentsOfFile: transcript, encoding: .utf8)) ?? ""
        XCTAssertTrue(drawn.contains("model.safetensors") && drawn.contains("%") && drawn.contains("/s"),
                      "no progress bar on a terminal: \(drawn)")
    }

    func testTwoProcessesDownloadingAtOnce() async throws {
        let files = TinyRepo.base()
        hub.publish("org/race", files: files)
        hub.chunkDelay = 20_000_000
        async let a = brevity(["download", "org/race"])
        async let b = brevity(["download", "org/race"])
        let (ra, rb) = try await (a, b)
        XCTAssertEqual(ra.status, 0, ra.err)
        XCTAssertEqual(rb.status, 0, rb.err)
        XCTAssertEqual(ra.out, rb.out)
        let folder = URL(fileURLWithPath: ra.out.trimmingCharacters(in: .whitespacesAndNewlines))
        XCTAssertEqual(Array(try Data(contentsOf: folder.appendingPathComponent("model.safetensors"))), files["model.safetensors"])
        XCTAssertEqual(hub.gets(of: "model.safetensors").count, 1, "\(hub.requests)")
    }

    func testSummarizeAcceptsAHubSpecOfflineFromTheCache() async throws {
        hub.publish("org/sum", files: TinyRepo.base())
        let input = #"{"text": "The city council approved a new budget on Tuesday."}"# + "\n"
        let missing = try await brevity(["summarize", "--model", "org/sum"], env: ["HF_HUB_OFFLINE": "1"], stdin: input)
        XCTAssertEqual(missing.status, 2)
        XCTAssertTrue(missing.err.contains("HF_HUB_OFFLINE=1") && missing.err.contains("brevity download org/sum"), missing.err)

        let online = try await brevity(["summarize", "--model", "org/sum"], stdin: input)
        XCTAssertEqual(online.status, 0, online.err)
        hub.clearLog()
        let offline = try await brevity(["summarize", "--model", "org/sum"], env: ["HF_HUB_OFFLINE": "1"], stdin: input)
        XCTAssertEqual(offline.status, 0, offline.err)
        XCTAssertEqual(offline.out, online.out)
        XCTAssertTrue(hub.requests.isEmpty, "\(hub.requests)")
        let byFolder = try await brevity(["summarize", "--model", Fixtures.summarizerTiny.path], stdin: input)
        XCTAssertEqual(byFolder.out, online.out)
        XCTAssertTrue(online.out.contains("token_ids"), online.out)
    }

    func testInspectDescribesTheModel() async throws {
        hub.publish("org/insp", files: TinyRepo.base())
        let r = try await brevity(["inspect", "org/insp"])
        XCTAssertEqual(r.status, 0, r.err)
        for needle in ["BartForConditionalGeneration", "model_type bart", "parameters", "F32", "model.safetensors",
                       "num_beams=", "tokenizer.json", "commit"] {
            XCTAssertTrue(r.out.contains(needle), "inspect output lacks '\(needle)':\n\(r.out)")
        }
        // the same model as a PyTorch checkpoint: the same parameter count (tied copies counted once)
        let dir = cacheDir.appendingPathComponent("bin-model")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        for f in ["config.json", "generation_config.json"] {
            try FileManager.default.copyItem(at: Fixtures.summarizerTiny.appendingPathComponent(f), to: dir.appendingPathComponent(f))
        }
        try FileManager.default.copyItem(at: Fixtures.hub.appendingPathComponent("tiny-bin/pytorch_model.bin"),
                                         to: dir.appendingPathComponent("pytorch_model.bin"))
        let st = try await brevity(["inspect", "--json", Fixtures.summarizerTiny.path])
        let bin = try await brevity(["inspect", "--json", dir.path])
        XCTAssertEqual(st.status, 0, st.err)
        XCTAssertEqual(bin.status, 0, bin.err)
        let js = try JSONSerialization.jsonObject(with: Data(st.out.utf8)) as! [String: Any]
        let jb = try JSONSerialization.jsonObject(with: Data(bin.out.utf8)) as! [String: Any]
        XCTAssertEqual(js["parameters"] as? Int, jb["parameters"] as? Int)
        XCTAssertGreaterThan(js["parameters"] as? Int ?? 0, 0)
    }

    func testErrorsExitTwoWithTheReason() async throws {
        hub.publish("org/secret", files: TinyRepo.base(), token: "hf_cli")
        let denied = try await brevity(["download", "org/secret"])
        XCTAssertEqual(denied.status, 2)
        XCTAssertTrue(denied.err.contains("token is needed"), denied.err)
        let allowed = try await brevity(["download", "org/secret"], env: ["HF_TOKEN": "hf_cli"])
        XCTAssertEqual(allowed.status, 0, allowed.err)
        let bad = try await brevity(["download", "not a/valid/spec"])
        XCTAssertEqual(bad.status, 2)
        XCTAssertTrue(bad.err.contains("neither a folder nor a hub model id"), bad.err)
    }
}
