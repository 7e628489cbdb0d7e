import BrevityKit
import Foundation
import HTTPTypes
import Hummingbird
import NIOCore

/// `POST /summarize/stream`: Server-Sent Events. `token` events carry each text's new tokens as they are
/// generated (`{"index", "token_ids", "text"}`: the ids since the last event and the text they add);
/// greedy and sampled texts stream every step, a beam search's tokens as they settle (once every beam and
/// finished hypothesis begins with them: `BeamSearch.settledPrefix`), the rest when its search ends. A
/// final `result` event holds the same object `POST /summarize` returns; an `error` event ends the stream
/// on failure. A client that disconnects cancels its texts: a write to it fails, and while no event is due
/// (a beam search's beams may disagree for many steps) a comment line goes out every `heartbeat` so that a
/// hang-up is seen within about that time.
extension SummarizeController {
    func stream(_ req: SummarizeRequest, cancel: RequestCancellation, started t0: UInt64) throws -> Response {
        let trace = RequestTrace.current
        let (config, prepared, queued) = try tracedPrepare(req, trace: trace)
        if req.truncation == .chunk && prepared.contains(where: \.truncated) {
            throw APIError.invalid("truncation", "\"chunk\" is not available with streaming; use POST /summarize")
        }
        let submitted = try scheduler.submit(prepared.map { .init(inputIds: $0.inputIds, config: config, stream: true, draftTokens: req.draftTokens) })
        guard cancel.register(submitted.map(\.id), { [scheduler] in scheduler.cancel($0) }) else { throw CancellationError() }
        let controller = self
        let headers: HTTPFields = [.contentType: "text/event-stream", .cacheControl: "no-cache"]
        trace?.hold()   // the request's span ends with the stream
        return Response(status: .ok, headers: headers, body: .init { writer in
            defer { trace?.release() }
            // Events from every text, merged in arrival order, and heartbeat ticks.
            let (merged, sink) = AsyncStream<StreamItem<BatchScheduler.Event>>.makeStream()
            // A client that went away makes the next write fail: its texts are cancelled then.
            do {
                try await withThrowingTaskGroup(of: Void.self) { group in
                    for (i, s) in submitted.enumerated() {
                        group.addTask {
                            do {
                                for try await e in s.events { sink.yield(.event(i, .success(e))) }
                            } catch { sink.yield(.event(i, .failure(error))) }
                        }
                    }
                    group.addTask { await ticks(into: sink) }
                    var lastWrite = DispatchTime.now().uptimeNanoseconds
                    var results = [TextResult?](repeating: nil, count: submitted.count)
                    var emitted = [String](repeating: "", count: submitted.count)
                    var sentIds = [Int](repeating: 1, count: submitted.count)   // the decoder start token is not streamed
                    var queue = [Double](repeating: 0, count: submitted.count)
                    var remaining = submitted.count
                    for await item in merged {
                        guard case .event(let i, let r) = item else {
                            if try await heartbeat(&writer, lastWrite: lastWrite) { lastWrite = DispatchTime.now().uptimeNanoseconds }
                            continue
                        }
                        switch r {
                        case .failure(let error):
                            cancel.cancelAll()
                            let api = APIError.from(error)
                            try await writer.write(sse("error", ErrorBody(error: api)))
                            try await writer.finish(nil)
                            return
                        case .success(.started(let q)):
                            queue[i] = q
                        case .success(.progress(let ids)):
                            if let e = controller.engine.delta(ids, from: sentIds[i], emitted: emitted[i]) {
                                try await writer.write(sse("token", TokenEvent(index: i, tokenIds: e.ids, text: e.text)))
                                lastWrite = DispatchTime.now().uptimeNanoseconds   // only a write proves the client is there
                                emitted[i] += e.text
                                sentIds[i] = ids.count
                            }
                        case .success(.finished(let seqs, let secs, let run)):
                            let ids = seqs.first ?? []
                            if let rest = SummaryDelta.rest(of: controller.engine.text(ids), ids: ids, sent: sentIds[i], emitted: emitted[i]) {
                                try await writer.write(sse("token", TokenEvent(index: i, tokenIds: rest.tokenIds, text: rest.text)))
                                lastWrite = DispatchTime.now().uptimeNanoseconds
                            }
                            results[i] = TextResult(ids: ids, inputTokens: prepared[i].inputTokens, truncated: prepared[i].truncated,
                                                    queueSeconds: queue[i], inferenceSeconds: secs, run: run)
                            remaining -= 1
                        }
                        if remaining == 0 { break }
                    }
                    sink.finish()
                    group.cancelAll()
                    if let trace { SummarizeController.trace(trace, results.map { $0! }, queued: queued) }
                    let result = controller.result(req, results.map { $0! }, started: t0, trace: trace)
                    try await writer.write(sse("result", result.body))
                    try await writer.finish(nil)
                }
            } catch {
                cancel.cancelAll()
                sink.finish()
                throw error
            }
        })
    }
}

/// What an SSE writer waits on: an event of text `index`, or a heartbeat tick.
enum StreamItem<Event> {
    case event(Int, Result<Event, Error>)
    case tick
}

/// Seconds between heartbeat checks; a comment goes out when nothing was written for that long.
let heartbeatSeconds = 0.05

/// Yields a tick every `heartbeatSeconds` until the task is cancelled.
func ticks<Event>(into sink: AsyncStream<StreamItem<Event>>.Continuation) async {
    while !Task.isCancelled {
        try? await Task.sleep(nanoseconds: UInt64(heartbeatSeconds * 1e9))
        sink.yield(.tick)
    }
}

/// Writes an SSE comment line when nothing was written since `lastWrite` for a heartbeat's time (true
/// then); it throws once the client is gone, which is how a silent stream notices a hang-up.
func heartbeat(_ writer: inout any ResponseBodyWriter, lastWrite: UInt64) async throws -> Bool {
    guard Double(DispatchTime.now().uptimeNanoseconds - lastWrite) / 1e9 >= heartbeatSeconds else { return false }
    try await writer.write(ByteBuffer(string: ":\n\n"))
    return true
}

