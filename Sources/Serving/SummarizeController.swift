import BrevityKit
import Foundation
import HTTPTypes
import Hummingbird
import Logging
import NIOCore

/// Abstractive summaries for `POST /summarize` and `POST /summarize/stream` (SummarizeRoutes parses the
/// body and picks the mode): request -> tokenizer -> scheduler queue -> batched encoder pass -> decoder
/// steps shared with other requests -> detokenize -> JSON or SSE.
struct SummarizeController {
    let engine: SummarizationEngine
    let scheduler: BatchScheduler
    let metrics: ServiceMetrics
    let config: ServerConfig

    /// Resolves the parameters and tokenizes (BrevityKit's one pipeline); every problem is an APIError
    /// naming the field, thrown before any work is queued.
    func prepare(_ req: SummarizeRequest) throws -> (ResolvedGeneration, [PreparedText]) {
        let resolved: ResolvedGeneration
        do { resolved = try engine.resolve(req.generation) } catch let GenerationError.invalidParameter(field, why) {
            throw APIError.invalid(field, why)
        }
        do {
            return (resolved, try engine.prepare(req.texts, prefix: req.prefix, truncation: req.truncation))
        } catch let e as TextError {
            throw APIError.invalid("\(req.shape == .huggingFace ? "inputs" : "texts")[\(e.index)]", e.message)
        }
    }

    // MARK: POST /summarize

    /// Texts that fit run together; with `truncation: "chunk"` each longer one is then summarized by
    /// map-reduce, its rounds' pieces queued together. A client that goes away cancels every text queued.
    func summarize(_ req: SummarizeRequest, cancel: RequestCancellation, started t0: UInt64) async throws -> Response {
        let (config, prepared) = try prepare(req)
        let results: [TextResult]
        do {
            results = try await scheduler.summarize(prepared, config: config, chunked: req.truncation == .chunk, prefix: req.prefix,
                                                    draftTokens: req.draftTokens, register: { [scheduler] in cancel.register($0, { scheduler.cancel($0) }) })
        } catch {
            cancel.cancelAll()
            throw error
        }
        return respond(req, results, started: t0)
    }

    func respond(_ req: SummarizeRequest, _ results: [TextResult], started t0: UInt64) -> Response {
        let r = result(req, results, started: t0)
        var response = jsonResponse(r.body)
        response.headers[.xQueueTime] = String(format: "%.1f", r.queueMs)
        response.headers[.xInferenceTime] = String(format: "%.1f", r.inferenceMs)
        return response
    }

    /// The response body in the request's shape (and the metrics it counts).
    func result(_ req: SummarizeRequest, _ results: [TextResult], started t0: UInt64) -> (body: SummarizeBody, queueMs: Double, inferenceMs: Double) {
        let latency = Double(DispatchTime.now().uptimeNanoseconds - t0) / 1e6
        var inputTotal = 0, generatedTotal = 0
        let summaries = results.map { r in
            let generated = SummarizationEngine.generatedCount(r.ids)
            inputTotal += r.inputTokens
            generatedTotal += generated
            return SummaryBody(text: engine.text(r.ids), inputTokens: r.inputTokens, generatedTokens: generated, truncated: r.truncated)
        }
        metrics.inputTokens.increment(by: Int64(inputTotal))
        metrics.generatedTokens.increment(by: Int64(generatedTotal))
        let body: SummarizeBody
        switch req.shape {
        case .originals:
            body = .originals(summaries: summaries, model: engine.name, device: engine.device, mode: SummaryMode.abstractive.rawValue,
                              latencyMs: (latency * 10).rounded() / 10)
        case .huggingFace:
            body = .huggingFace(summaries)
        }
        return (body, (results.map(\.queueSeconds).max() ?? 0) * 1000, (results.map(\.inferenceSeconds).max() ?? 0) * 1000)
    }

}
