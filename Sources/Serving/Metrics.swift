import BrevityKit
import Foundation
import Prometheus

/// The service's Prometheus metrics, in a registry of their own so several applications
/// (tests) do not share counters.
public final class ServiceMetrics: @unchecked Sendable {
    public let registry = PrometheusCollectorRegistry()
    let queueSize: Gauge
    let batchSize: ValueHistogram
    let requestDuration: ValueHistogram
    let queueDuration: ValueHistogram
    let inferenceDuration: ValueHistogram
    let inputTokens: Counter
    let generatedTokens: Counter
    let disconnects: Counter
    let rateLimited: Counter
    let shedCount: Counter
    let ready: Gauge
    let memoryBudget: Gauge
    let memoryUsed: Gauge
    let decoderPasses: Counter
    let textPasses: Counter
    let decodeSteps: Counter
    let draftedTokens: Counter
    let draftedTokensUsed: Counter

    static let secondsBuckets: [Double] = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 20, 30, 60, 120]

    public init() {
        queueSize = registry.makeGauge(name: "brevity_queue_size", help: "Texts waiting for a place in the batch")
        batchSize = registry.makeValueHistogram(name: "brevity_batch_size", buckets: [1, 2, 4, 8, 16, 32, 64, 128, 256],
                                                help: "Decoder rows (sequences x beams) per decoder step")
        requestDuration = registry.makeValueHistogram(name: "brevity_request_duration_seconds", buckets: Self.secondsBuckets,
                                                      help: "Time from request to response")
        queueDuration = registry.makeValueHistogram(name: "brevity_queue_duration_seconds", buckets: Self.secondsBuckets,
                                                    help: "Time a text waited before entering the batch")
        inferenceDuration = registry.makeValueHistogram(name: "brevity_inference_duration_seconds", buckets: Self.secondsBuckets,
                                                        help: "Time a text spent in the batch")
        inputTokens = registry.makeCounter(name: "brevity_input_tokens_total", help: "Input tokens summarized")
        generatedTokens = registry.makeCounter(name: "brevity_generated_tokens_total", help: "Tokens generated")
        disconnects = registry.makeCounter(name: "brevity_client_disconnects_total", help: "Texts cancelled because their client went away")
        rateLimited = registry.makeCounter(name: "brevity_rate_limited_total", help: "Requests refused by the rate limit")
        shedCount = registry.makeCounter(name: "brevity_requests_shed_total",
                                    help: "Requests refused with 503 because they could not be answered within the latency target")
        ready = registry.makeGauge(name: "brevity_ready", help: "1 when the service accepts work")
        memoryBudget = registry.makeGauge(name: "brevity_memory_budget_bytes",
                                          help: "The memory budget of the texts decoding (0: none): --max-batch-tokens or the container's limit")
        memoryUsed = registry.makeGauge(name: "brevity_memory_used_bytes",
                                        help: "Memory the texts decoding hold of the budget: KV caches at max_length and source keys and values")
        decoderPasses = registry.makeCounter(name: "brevity_decoder_passes_total", help: "Decoder forward passes (each over every text decoding)")
        textPasses = registry.makeCounter(name: "brevity_decoder_text_passes_total",
                                          help: "Decoder passes summed over the texts in them; over brevity_decode_steps_total: passes per step")
        decodeSteps = registry.makeCounter(name: "brevity_decode_steps_total",
                                           help: "Search steps decided, summed over texts (tokens for greedy texts, beam-search steps for beam texts)")
        draftedTokens = registry.makeCounter(name: "brevity_draft_tokens_proposed_total", help: "Drafted tokens fed to decoder passes to be checked")
        draftedTokensUsed = registry.makeCounter(name: "brevity_draft_tokens_accepted_total",
                                                 help: "Drafted tokens whose positions a search step used (accepted)")
    }

    func requests(route: String, status: Int) -> Counter {
        registry.makeCounter(name: "brevity_requests_total", labels: [("route", route), ("status", String(status))],
                             help: "HTTP requests by route and status")
    }

    public func exposition() -> [UInt8] {
        var buffer: [UInt8] = []
        registry.emit(into: &buffer)
        return buffer
    }
}

/// The runtime's workers report into the service's metrics.
extension ServiceMetrics: RuntimeObserver {
    public func shed() { shedCount.increment() }
    public func cancelled() { disconnects.increment() }
    public func started(waited seconds: Double) { queueDuration.record(seconds) }
    public func finished(seconds: Double) { inferenceDuration.record(seconds) }
    public func stepped(rows: Int) { batchSize.record(Double(rows)) }
    public func decoded(texts: Int, steps: Int, drafted: Int, used: Int) {
        decoderPasses.increment()
        textPasses.increment(by: Int64(texts))
        decodeSteps.increment(by: Int64(steps))
        draftedTokens.increment(by: Int64(drafted))
        draftedTokensUsed.increment(by: Int64(used))
    }
}
