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
        let (config, prepared, queued) = try tracedPrepare(req, trace: RequestTrace.current)
        let results: [TextResult]
        do {
            results = try await scheduler.summarize(prepared, config: config, chunked: req.truncation == .chunk, prefix: req.prefix,
                                                    draftTokens: req.draftTokens, register: { [scheduler] in cancel.register($0, { scheduler.cancel($0) }) })
        } catch {
            cancel.cancelAll()
            throw error
        }
        if let trace = RequestTrace.current { Self.trace(trace, results, queued: queued) }
        return respond(req, results, started: t0)
    }

    /// `prepare`, with its tokenize span and the request's generation attributes when traced; also when
    /// the texts were queued (Unix nanoseconds, 0 untraced).
    func tracedPrepare(_ req: SummarizeRequest, trace: RequestTrace?) throws -> (ResolvedGeneration, [PreparedText], UInt64) {
        let tokenizing = trace == nil ? 0 : unixNanos()
        let (config, prepared) = try prepare(req)
        guard let trace else { return (config, prepared, 0) }
        let queued = unixNanos()
        trace.child("tokenize", start: tokenizing, end: queued, [("brevity.texts", .int(prepared.count)),
                                                                 ("gen_ai.usage.input_tokens", .int(prepared.reduce(0) { $0 + $1.inputTokens }))])
        trace.annotate([("gen_ai.request.model", .string(engine.name)), ("gen_ai.request.max_tokens", .int(config.maxLength)),
                        ("brevity.num_beams", .int(config.numBeams))])
        return (config, prepared, queued)
    }

    /// Each text's queue wait, encoder pass and decoding as children of the request's span, laid end to end
    /// from when the texts were queued (a chunked text's rounds summed).
    static func trace(_ trace: RequestTrace, _ results: [TextResult], queued: UInt64) {
        for (i, r) in results.enumerated() {
            let wait = queued + UInt64(max(0, r.queueSeconds) * 1e9)
            let encoded = wait + UInt64(max(0, r.run.encodeSeconds) * 1e9)
            let done = wait + UInt64(max(0, r.inferenceSeconds) * 1e9)
            trace.child("queue wait", start: queued, end: wait, [("brevity.text.index", .int(i))])
            trace.child("encode", start: wait, end: encoded, [("brevity.text.index", .int(i)), ("gen_ai.usage.input_tokens", .int(r.inputTokens))])
            trace.child("decode", start: encoded, end: max(encoded, done), [
                ("brevity.text.index", .int(i)), ("gen_ai.usage.output_tokens", .int(SummarizationEngine.generatedCount(r.ids))),
                ("brevity.decode.steps", .int(r.run.steps)), ("brevity.decode.passes", .int(r.run.passes)),
                ("brevity.draft.proposed_tokens", .int(r.run.draftedTokens)), ("brevity.draft.accepted_tokens", .int(r.run.acceptedTokens)),
            ])
        }
    }

    func respond(_ req: SummarizeRequest, _ results: [TextResult], started t0: UInt64) -> Response {
        let r = result(req, results, started: t0)
        var response = jsonResponse(r.body)
        response.headers[.xQueueTime] = String(format: "%.1f", r.queueMs)
        response.headers[.xInferenceTime] = String(format: "%.1f", r.inferenceMs)
        return response
    }

    /// The response body in the request's shape (and the metrics it counts).
    func result(_ req: SummarizeRequest, _ results: [TextResult], started t0: UInt64, trace: RequestTrace? = RequestTrace.current)
        -> (body: SummarizeBody, queueMs: Double, inferenceMs: Double) {
        let latency = Double(DispatchTime.now().uptimeNanoseconds - t0) / 1e6
        var inputTotal = 0, generatedTotal = 0
        let detokenizing = trace == nil ? 0 : unixNanos()
        defer { trace?.child("detokenize", start: detokenizing, end: unixNanos(), [("brevity.texts", .int(results.count))]) }
        let summaries = results.map { r in
            let generated = SummarizationEngine.generatedCount(r.ids)
            inputTotal += r.inputTokens
            generatedTotal += generated
            return SummaryBody(text: engine.text(r.ids), inputTokens: r.inputTokens, generatedTokens: generated, truncated: r.truncated)
        }
        metrics.inputTokens.increment(by: Int64(inputTotal))
        metrics.generatedTokens.increment(by: Int64(generatedTotal))
        trace?.annotate([("gen_ai.usage.input_tokens", .int(inputTotal)), ("gen_ai.usage.output_tokens", .int(generatedTotal))])
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
