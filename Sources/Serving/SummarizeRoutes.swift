import Foundation
import Hummingbird
import NIOCore

/// `POST /summarize` and `POST /summarize/stream`: reads and parses the body, picks the mode (the
/// request's `"mode"`, else the service's default) and hands the request to that mode's controller.
struct SummarizeRoutes {
    let abstractive: SummarizeController?
    let extractive: ExtractiveController?
    let defaultMode: SummaryMode
    let state: ServiceState
    let config: ServerConfig

    func addRoutes(to group: RouterGroup<BrevityContext>) {
        group.post("summarize") { request, _ in try await summarize(request) }
        group.post("summarize/stream") { request, _ in try await stream(request) }
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
        let (req, mode) = try parse(try await collect(request.body))
        switch mode {
        case .abstractive: return try abstractive!.stream(req, started: t0)
        case .extractive: return try extractive!.stream(req, started: t0)
        }
    }

    /// Readiness, then the body; the mode it asks for must be one this service runs.
    func parse(_ body: ByteBuffer) throws -> (SummarizeRequest, SummaryMode) {
        guard state.isReady else {
            throw state.isDraining ? APIError.unavailable("the service is shutting down")
                                   : APIError.unavailable("the model is still loading")
        }
        let req = try SummarizeRequest.parse(Array(buffer: body), maxTexts: config.maxTexts)
        let mode = req.mode ?? defaultMode
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

    func collect(_ body: RequestBody) async throws -> ByteBuffer {
        do {
            return try await body.collect(upTo: config.maxBodySize)
        } catch let e as HTTPError where e.status == .contentTooLarge {
            throw tooLarge
        } catch is NIOTooManyBytesError {
            throw tooLarge
        }
    }

    var tooLarge: APIError {
        APIError(status: .contentTooLarge, type: "payload_too_large", field: nil,
                 message: "the request body is larger than \(config.maxBodySize) bytes")
    }
}
