// Which models a service runs and why (ServingModels.load), without starting one: a sentence-embedding
// model is extractive, a seq2seq model abstractive with an optional extractive model beside it, --mode picks
// the default, a model that cannot be had gives way to the fallback, and impossible choices are errors
// that say why. ServeModelTests covers the same through `brevity serve`.

import BrevityKit
import Foundation
import Hub
import Tensor
import TestSupport
import XCTest

final class ModelChoiceTests: XCTestCase {
    static let seq2seq = TestPaths.fixtures.appendingPathComponent("summarizer-tiny")

    /// A resolver with an empty cache and the hub offline: only folders can be had.
    func offlineResolver() throws -> ModelResolver {
        let cache = FileManager.default.temporaryDirectory.appendingPathComponent("brevity-model-choice-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: cache, withIntermediateDirectories: true)
        addTeardownBlock { try? FileManager.default.removeItem(at: cache) }
        return ModelResolver(environment: HubEnvironment(cache: cache, offline: true), showProgress: false)
    }

    func load(_ choice: ModelChoice) async throws -> ServingModels {
        try await ServingModels.load(choice, resolver: try offlineResolver())
    }

    /// The message of the error `choice` is refused with.
    func refusal(_ choice: ModelChoice) async throws -> String {
        do {
            let models = try await load(choice)
            XCTFail("\(choice.model) was served: \(models.reason)")
            return ""
        } catch let e as ModelChoiceError { return e.description }
    }

    func testAFolderDecidesItsMode() throws {
        XCTAssertEqual(SummaryMode(folder: try TestPaths.miniLMFolder()), .extractive)
        XCTAssertEqual(SummaryMode(folder: Self.seq2seq), .abstractive)
    }

    func testSentenceEmbeddingModelServesExtractive() async throws {
        let minilm = try TestPaths.miniLMFolder().path
        let models = try await load(ModelChoice(model: minilm))
        XCTAssertNil(models.abstractive)
        XCTAssertEqual(models.extractive?.name, minilm)
        XCTAssertEqual(models.modes, [.extractive])
        XCTAssertEqual(models.defaultMode, .extractive)
        XCTAssertEqual(models.device, "cpu")
        XCTAssertEqual(models.dtype, "float32")
        XCTAssertTrue(models.reason.contains("\(minilm) is the model folder given"), models.reason)
        XCTAssertTrue(models.reason.contains("it is a sentence-embedding model, so summaries are extractive"), models.reason)
    }

    func testSeq2SeqModelWithAnExtractiveModelServesBothModes() async throws {
        let minilm = try TestPaths.miniLMFolder().path
        let both = try await load(ModelChoice(model: Self.seq2seq.path, extractiveModel: minilm, numBeams: 3, dtype: .bf16))
        XCTAssertEqual(both.modes, [.abstractive, .extractive])
        XCTAssertEqual(both.defaultMode, .abstractive, "the seq2seq model is the default without --mode")
        XCTAssertEqual(both.defaultName, Self.seq2seq.path)
        XCTAssertEqual(both.abstractive?.defaults.numBeams, 3, "numBeams replaces the model's default")
        XCTAssertEqual(both.abstractive?.dtype, "bfloat16")
        XCTAssertEqual(both.extractive?.dtype, "bfloat16", "both models share one placement")
        XCTAssertTrue(both.reason.contains("it is a seq2seq model, so summaries are abstractive (\"mode\": \"extractive\" uses \(minilm))"),
                      both.reason)

        let extractiveFirst = try await load(ModelChoice(model: Self.seq2seq.path, extractiveModel: minilm, mode: .extractive))
        XCTAssertEqual(extractiveFirst.defaultMode, .extractive)
        XCTAssertEqual(extractiveFirst.defaultName, minilm)
        XCTAssertTrue(extractiveFirst.reason.hasSuffix("; --mode makes extractive the default"), extractiveFirst.reason)
    }

    func testTheFallbackServesWhenTheModelCannotBeHad() async throws {
        let minilm = try TestPaths.miniLMFolder().path
        let models = try await load(ModelChoice(model: "nobody/absent-model", fallbackModel: minilm))
        XCTAssertEqual(models.defaultName, minilm)
        XCTAssertEqual(models.modes, [.extractive])
        XCTAssertTrue(models.reason.hasPrefix("nobody/absent-model could not be had ("), models.reason)
        XCTAssertTrue(models.reason.contains("), so the fallback \(minilm) serves; it is a sentence-embedding model"), models.reason)
    }

    func testImpossibleChoicesAreErrorsThatSayWhy() async throws {
        let minilm = try TestPaths.miniLMFolder().path
        let cases: [(ModelChoice, String)] = [
            (ModelChoice(model: minilm, mode: .abstractive), "--mode abstractive: the service has no abstractive model"),
            (ModelChoice(model: Self.seq2seq.path, mode: .extractive), "--mode extractive: the service has no extractive model"),
            (ModelChoice(model: Self.seq2seq.path, extractiveModel: Self.seq2seq.path), "is not a sentence-transformers model"),
            (ModelChoice(model: Self.seq2seq.path, extractiveModel: "nobody/absent-embedder"), "extractive model nobody/absent-embedder: "),
            (ModelChoice(model: "nobody/absent-model"), "model nobody/absent-model: "),
            (ModelChoice(model: "nobody/absent-model", fallbackModel: "/no/such/folder"),
             "model nobody/absent-model could not be had, and neither could the fallback /no/such/folder"),
        ]
        for (choice, message) in cases {
            let got = try await refusal(choice)
            XCTAssertTrue(got.contains(message), "\(choice): \(got)")
        }
    }
}
