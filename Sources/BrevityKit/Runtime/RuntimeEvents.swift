import Foundation
import Logging

/// Why the runtime did not summarize a text. The service answers them as 422 (`invalid`), 503 with
/// Retry-After (`overloaded`, `unavailable`) and 504 (`timeout`); a library caller catches them.
public enum RuntimeError: Error, Equatable, CustomStringConvertible {
    /// A request value the model cannot take; `field` names it (`texts[2]`, `num_beams`).
    case invalid(field: String, String)
    /// The queue is full or admission refused the texts: retry after `retryAfter` seconds.
    case overloaded(String, retryAfter: Int)
    /// The runtime is shutting down or has stopped.
    case unavailable(String)
    /// The text waited or ran longer than the request timeout.
    case timeout(String)

    /// The reason, with the field when there is one.
    public var description: String {
        switch self {
        case let .invalid(field, why): return "\(field): \(why)"
        case let .overloaded(why, _), let .unavailable(why), let .timeout(why): return why
        }
    }
}

/// What the runtime's workers report as they go, for metrics; every method has a default that does nothing.
/// Called from the workers' threads and request tasks, so implementations must be thread-safe.
public protocol RuntimeObserver: Sendable {
    /// Admission refused a request that could not finish within its latency target.
    func shed()
    /// A text's caller went away before it finished.
    func cancelled()
    /// A text left the queue after waiting `seconds`.
    func started(waited seconds: Double)
    /// A text finished after `seconds` in the worker (the batch, or the extractive summarizer).
    func finished(seconds: Double)
    /// One decoder step ran over `rows` rows (texts × beams).
    func stepped(rows: Int)
    /// What that step's decoder pass did for its `texts`: the search steps it decided (tokens, for greedy
    /// texts), and the drafted tokens it fed and of those the ones used.
    func decoded(texts: Int, steps: Int, drafted: Int, used: Int)
}

extension RuntimeObserver {
    /// Nothing, by default.
    public func shed() {}
    /// Nothing, by default.
    public func cancelled() {}
    /// Nothing, by default.
    public func started(waited seconds: Double) {}
    /// Nothing, by default.
    public func finished(seconds: Double) {}
    /// Nothing, by default.
    public func stepped(rows: Int) {}
    /// Nothing, by default.
    public func decoded(texts: Int, steps: Int, drafted: Int, used: Int) {}
}

/// Reports nothing: the library's default.
public struct SilentObserver: RuntimeObserver {
    /// An observer that reports nothing.
    public init() {}
}

/// The runtime's defaults: drafting, and the limits of a runtime that serves a program's own calls rather
/// than clients.
public enum RuntimeDefaults {
    static let unboundedQueue = 1 << 30
    /// Seconds: about 31 years.
    static let noTimeout = 1e9
    /// Drafted tokens a greedy text's decoder pass checks by default (BENCHMARKS.md, "Drafting from the
    /// source": fewest decoder passes per token and the shortest decode on the replay of bart-large-cnn's
    /// own summaries).
    public static let draftTokens = 6
    static let quietLogger: Logger = {
        var l = Logger(label: "brevity.runtime")
        l.logLevel = .warning
        return l
    }()
}
