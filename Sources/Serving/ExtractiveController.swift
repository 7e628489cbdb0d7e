import BrevityKit
import Foundation
import HTTPTypes
import Hummingbird

/// Extractive summaries for `POST /summarize` and `POST /summarize/stream` (`"mode": "extractive"`, or
/// the default when the service runs a sentence-embedding model): request -> extractive worker queue ->
/// segment, embed, rank (centrality + MMR) -> the chosen sentences in document order.
struct ExtractiveController {
    let worker: ExtractiveWorker
    let metrics: ServiceMetrics
    let device: String

    /// Queues every text of the request and waits for all of them.
    func run(_ req: SummarizeRequest, cancel: RequestCancellation) async throws -> [ExtractiveWorker.Outcome] {
        let length = req.extractiveLength
        let field = req.shape == .huggingFace ? "inputs" : "texts"
        let submitted = try worker.submit(req.texts.map { ($0, length) }, strategy: req.strategy ?? .default)
        guard cancel.register(submitted.map(\.id), { [worker] in worker.cancel($0) }) else { throw CancellationError() }
        return try await withThrowingTaskGroup(of: (Int, ExtractiveWorker.Outcome).self) { group in
            for (i, s) in submitted.enumerated() {
                group.addTask {
                    do {
                        for try await outcome in s.result { return (i, outcome) }
                    } catch let e as RuntimeError {
                        throw e
                    } catch is CancellationError {
                        throw CancellationError()
                    } catch {
                        throw APIError.invalid("\(field)[\(i)]", "cannot summarize: \(error)")
                    }
                    throw CancellationError()
                }
            }
            var out = [ExtractiveWorker.Outcome?](repeating: nil, count: submitted.count)
            do {
                for try await (i, r) in group { out[i] = r }
            } catch {
                cancel.cancelAll()
                throw error
            }
            return out.map { $0! }
        }
    }

    func summarize(_ req: SummarizeRequest, cancel: RequestCancellation, started t0: UInt64) async throws -> Response {
        let outcomes = try await run(req, cancel: cancel)
        let r = result(req, outcomes, started: t0)
        var response = jsonResponse(r.body)
        response.headers[.xQueueTime] = String(format: "%.1f", r.queueMs)
        response.headers[.xInferenceTime] = String(format: "%.1f", r.inferenceMs)
        return response
    }

    /// SSE in the abstractive stream's shape: one `token` event per text with its whole summary when it is
    /// ready (`token_ids` empty: nothing is generated), then the `result` event.
    func stream(_ req: SummarizeRequest, cancel: RequestCancellation, started t0: UInt64) throws -> Response {
        let controller = self
        let headers: HTTPFields = [.contentType: "text/event-stream", .cacheControl: "no-cache"]
        return Response(status: .ok, headers: headers, body: .init { writer in
            do {
                // the summaries, with heartbeats while they are made (a hang-up cancels the texts not started)
                let (merged, sink) = AsyncStream<StreamItem<[ExtractiveWorker.Outcome]>>.makeStream()
                let outcomes: [ExtractiveWorker.Outcome] = try await withThrowingTaskGroup(of: Void.self) { group in
                    group.addTask {
                        do { sink.yield(.event(0, .success(try await controller.run(req, cancel: cancel)))) } catch { sink.yield(.event(0, .failure(error))) }
                    }
                    group.addTask { await ticks(into: sink) }
                    defer { group.cancelAll() }
                    var lastWrite = DispatchTime.now().uptimeNanoseconds
                    for await item in merged {
                        guard case .event(_, let result) = item else {
                            if try await heartbeat(&writer, lastWrite: lastWrite) { lastWrite = DispatchTime.now().uptimeNanoseconds }
                            continue
                        }
                        return try result.get()
                    }
                    throw CancellationError()
                }
                for (i, o) in outcomes.enumerated() {
                    try await writer.write(sse("token", TokenEvent(index: i, tokenIds: [], text: o.summary.text)))
                }
                try await writer.write(sse("result", controller.result(req, outcomes, started: t0).body))
            } catch {
                cancel.cancelAll()
                let api = APIError.from(error)
                try await writer.write(sse("error", ErrorBody(error: api)))
            }
            try await writer.finish(nil)
        })
    }

    /// The response object in the request's shape (and the metrics it counts).
    func result(_ req: SummarizeRequest, _ outcomes: [ExtractiveWorker.Outcome], started t0: UInt64)
        -> (body: SummarizeBody, queueMs: Double, inferenceMs: Double) {
        let latency = Double(DispatchTime.now().uptimeNanoseconds - t0) / 1e6
        let summaries = outcomes.map { o in
            SummaryBody(text: o.summary.text, inputTokens: o.summary.inputTokens, truncated: false,
                        inputSentences: o.summary.inputSentences,
                        sentences: o.summary.sentences.map { .init(index: $0.index, text: $0.text, tokens: $0.tokens) })
        }
        metrics.inputTokens.increment(by: Int64(outcomes.reduce(0) { $0 + $1.summary.inputTokens }))
        let body: SummarizeBody
        switch req.shape {
        case .originals:
            body = .originals(summaries: summaries, model: worker.name, device: device, mode: SummaryMode.extractive.rawValue,
                              latencyMs: (latency * 10).rounded() / 10)
        case .huggingFace:
            body = .huggingFace(summaries)
        }
        return (body, (outcomes.map(\.queueSeconds).max() ?? 0) * 1000, (outcomes.map(\.inferenceSeconds).max() ?? 0) * 1000)
    }
}
