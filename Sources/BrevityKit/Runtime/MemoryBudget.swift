import Foundation

/// The memory the texts in the batch may hold, in tokens (TGI's `--max-batch-total-tokens`): every
/// decoder row's positions up to its `max_length` (the self-attention key/value cache, twice for beams)
/// plus every text's
/// source tokens (the cross-attention keys and values, about 69 MB per 700-token text in float32 for
/// bart-large-cnn). A text reserves its whole worst case when it joins the batch, so what the batch holds
/// never grows past the budget; a text that would exceed it waits, and one larger than the whole budget is
/// refused.
public struct MemoryBudget: Sendable, Equatable {
    /// How many tokens the batch may hold.
    public var tokens: Int
    /// Bytes one token holds: a key and a value of the model's width per decoder layer, in the cache's
    /// element type (the encoder's output row of a source token included).
    public var bytesPerToken: Int

    /// A budget of `tokens`, each `bytesPerToken` bytes.
    public init(tokens: Int, bytesPerToken: Int) {
        self.tokens = tokens
        self.bytesPerToken = bytesPerToken
    }

    /// The budget in bytes.
    public var bytes: Int { tokens * bytesPerToken }

    /// What one text holds while it decodes: `rows` decoder rows (its beams) of `maxLength` positions each,
    /// twice over for a beam search (a beam that forks shares its parent's cache until its next write,
    /// which copies it: for a step the old and the new caches are both held; measured, a flood of beam-4
    /// texts counted once per row passed the budget), plus its `sourceTokens`.
    public static func tokens(rows: Int, maxLength: Int, sourceTokens: Int) -> Int {
        (rows > 1 ? 2 * rows : 1) * max(1, maxLength) + sourceTokens
    }

    /// What a service keeps outside the budget besides its weights (the runtime, activations of one
    /// step and one encoder pass, the HTTP server).
    public static let overheadBytes = 256 << 20

    /// The budget a container's memory limit leaves: the limit, less what the process holds once its
    /// weights are loaded and warmed up (`residentBytes`), less `overheadBytes`; never negative.
    public static func derived(limitBytes: Int, residentBytes: Int, bytesPerToken: Int) -> MemoryBudget {
        MemoryBudget(tokens: max(0, limitBytes - residentBytes - overheadBytes) / max(1, bytesPerToken), bytesPerToken: bytesPerToken)
    }

    /// The memory limit of the process's container: cgroup v2 `memory.max` of its cgroup (or the root),
    /// else cgroup v1 `memory.limit_in_bytes`; nil when there is none ("max", or v1's "unlimited" value).
    public static func containerLimitBytes(cgroupRoot: String = "/sys/fs/cgroup", selfCgroup: String = "/proc/self/cgroup") -> Int? {
        func read(_ path: String) -> String? {
            (try? String(contentsOfFile: path, encoding: .utf8))?.trimmingCharacters(in: .whitespacesAndNewlines)
        }
        func limit(_ text: String?) -> Int? {
            guard let text, let n = Int(text), n > 0, n < 1 << 60 else { return nil }   // v1 says "none" with ~2^63
            return n
        }
        let lines = (read(selfCgroup) ?? "").split(separator: "\n").map { $0.split(separator: ":", maxSplits: 2, omittingEmptySubsequences: false).map(String.init) }
        // v2: "0::/path", else the root's
        let v2 = lines.first(where: { $0.count == 3 && $0[0] == "0" && $0[1].isEmpty })?[2] ?? ""
        for dir in [cgroupRoot + v2, cgroupRoot] {
            if let text = read(dir + "/memory.max") { return text == "max" ? nil : limit(text) }
        }
        // v1: "N:memory:/path" (the controller may share its line with others, "N:cpu,memory:/path")
        let path = lines.first(where: { $0.count == 3 && $0[1].split(separator: ",").contains("memory") })?[2] ?? "/"
        for dir in [cgroupRoot + "/memory" + path, cgroupRoot + "/memory"] {
            if let text = read(dir + "/memory.limit_in_bytes") { return limit(text) }
        }
        return nil
    }

    /// The process's resident memory in bytes (`/proc/self/statm`), nil where it cannot be read.
    public static func residentBytes() -> Int? {
        guard let text = try? String(contentsOfFile: "/proc/self/statm", encoding: .utf8) else { return nil }
        let fields = text.split(separator: " ")
        guard fields.count > 1, let pages = Int(fields[1]) else { return nil }
        return pages * Int(sysconf(Int32(_SC_PAGESIZE)))
    }
}

/// Where a scheduler's memory budget comes from.
public enum MemoryBudgetChoice: Sendable, Equatable {
    /// No budget: the batch's limits on rows and texts only.
    case none
    /// A budget of this many tokens (`--max-batch-tokens`).
    case tokens(Int)
    /// Derived after the warm-up from the container's memory limit, if it has one (`MemoryBudget.derived`).
    case container
}
