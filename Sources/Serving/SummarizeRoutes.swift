import BrevityKit
import Foundation
import Hummingbird
import NIOCore

/// `POST /summarize` and `POST /summarize/stream` (and `POST /`, the Hugging Face Inference Endpoints
/// convention: `InferenceClient(base_url=<server>)` posts there): reads and parses the body, picks the mode (the
/// request's `"mode"`, else the service's default) and hands the request to that mode's controller.
struct SummarizeRoutes {
    let abstractive: SummarizeController?
    let extractive: ExtractiveController?
    let defaultMode: SummaryMode
    let state: ServiceState
    let config: ServerConfig

    func addRoutes(to group: RouterGroup<BrevityContext>) {
        group.post("summarize") { request, _ in try await shedding { try await summarize(request) } }
        group.post("/") { request, _ in try await shedding { try await summarize(request) } }
        group.post("summarize/stream") { request, _ in try await shedding { try await stream(request) } }
    }

    /// An overload 503 (queue full, latency target) goes out after `shedDelay` seconds: a client that
    /// retries at once, ignoring Retry-After, then costs a few requests a second instead of a busy loop.
    func shedding(_ body: () async throws -> Response) async throws -> Response {
        do {
            return try await body()
        } catch RuntimeError.overloaded(let why, let retry) where config.shedDelay > 0 {
            // (a client gone meanwhile cuts the delay short; nobody reads the answer then)
            try? await Task.sleep(nanoseconds: UInt64(config.shedDelay * 1e9))
            throw RuntimeError.overloaded(why, retryAfter: retry)
        }
    }

    func summarize(_ request: Request) async throws -> Response {
        let t0 = DispatchTime.now().uptimeNanoseconds
        let cancel = RequestCancellation()
        // The whole exchange runs under the connection watch: a client that disconnects cancels every
        // text it queued (they leave the batch before the next decoder step). The body is read from the
        // stream the watch hands over.
        return try await request.body.consumeWithInboundCloseHandler { body in
            let (req, mode) = try parse(try await collect(body))
            switch mode {
            case .abstractive: return try await abstractive!.summarize(req, cancel: cancel, started: t0)
            case .extractive: return try await extractive!.summarize(req, cancel: cancel, started: t0)
            }
        } onInboundClosed: {
            cancel.cancelAll()
        }
    }

    func stream(_ request: Request) async throws -> Response {
        let t0 = DispatchTime.now().uptimeNanoseconds
        let cancel = RequestCancellation()
        let (req, mode) = try parse(try await collect(request.body))
        // (the request's body is read: a client's hang-up shows in the writes, heartbeats included)
        switch mode {
        case .abstractive: return try abstractive!.stream(req, cancel: cancel, started: t0)
        case .extractive: return try extractive!.stream(req, cancel: cancel, started: t0)
        }
    }

    /// Readiness, then the body; the mode it asks for must be one this service runs.
    func parse(_ body: ByteBuffer) throws -> (SummarizeRequest, SummaryMode) {
        guard state.isReady else {
            if state.isDraining { throw APIError.unavailable("the service is shutting down") }
            if let why = state.warmUpError { throw APIError.unavailable("the service is not ready: \(why)") }
            throw APIError.unavailable("the model is still loading")
        }
        let req = try SummarizeRequest.parse(Array(buffer: body), maxTexts: config.maxTexts)
        let mode = req.mode ?? defaultMode
        // the server's beam limit, checked here only: the request's beams in both modes (extractive ignores
        // them), as the OpenAPI document states it, else the model's default (NUM_BEAMS or its config)
        let beams = req.numBeams ?? (mode == .abstractive ? abstractive?.engine.defaults.numBeams : nil)
        if let beams, beams > config.maxBatchSize {
            throw APIError.invalid("num_beams", "\(beams) beams: at most \(config.maxBatchSize) (the server's --max-batch-size)")
        }
        switch mode {
        case .abstractive where abstractive == nil:
            throw APIError.invalid("mode", "abstractive summaries need a seq2seq model (e.g. MODEL_NAME=facebook/bart-large-cnn); "
                                   + "this service runs \(extractive?.worker.name ?? "no model") for extractive summaries only")
        case .extractive where extractive == nil:
            throw APIError.invalid("mode", "extractive summaries need a sentence-embedding model; start the service with "
                                   + "--extractive-model (BREVITY_EXTRACTIVE_MODEL), e.g. models/all-MiniLM-L6-v2")
        default: break
        }
        return (req, mode)
    }

    /// The body, at most `maxBodySize` bytes. A larger one is answered 413 only after the rest of it has
    /// been read and dropped (at most `drainBytes` more, for at most `drainSeconds`): clients that write the
    /// whole body before reading (Python's urllib, requests) then get the 413 instead of a reset or a
    /// stalled upload. Past either bound the 413 goes out and the connection closes.
    func collect(_ body: RequestBody) async throws -> ByteBuffer {
        var buffer = ByteBuffer()
        var total = 0
        var parts = body.makeAsyncIterator()
        while let part = try await parts.next() {
            total += part.readableBytes
            if total > config.maxBodySize {
                let end = DispatchTime.now().uptimeNanoseconds + UInt64(Self.drainSeconds * 1e9)
                while total - config.maxBodySize <= Self.drainBytes, DispatchTime.now().uptimeNanoseconds < end,
                      let rest = try await parts.next() {
                    total += rest.readableBytes
                }
                throw tooLarge
            }
            buffer.writeImmutableBuffer(part)
        }
        return buffer
    }

    static let drainBytes = 64 << 20
    static let drainSeconds = 10.0

    var tooLarge: APIError {
        APIError(status: .contentTooLarge, type: "payload_too_large", field: nil,
                 message: "the request body is larger than \(config.maxBodySize) bytes")
    }
}
