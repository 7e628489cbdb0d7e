// config.json's `task_specific_params.summarization`: the text prefix T5 checkpoints were trained with
// ("summarize: ") and generation values. transformers 4.x's summarization pipeline prepended the prefix
// and put the values over generation_config (the request's own values over both); transformers 5 removed
// that pipeline, and Brevity keeps its rule (README, "Task prefix").

import Foundation

public struct SummarizationTask: Sendable {
    /// Text put before every input; "" when the checkpoint names none.
    public var prefix: String
    /// The generation values among the task's parameters.
    public var generation: GenerationConfig

    /// nil when config.json has no task_specific_params.summarization.
    public init?(folder: URL) throws {
        let url = folder.appendingPathComponent("config.json")
        guard let data = FileManager.default.contents(atPath: url.path),
              let json = try? JSONSerialization.jsonObject(with: data) as? [String: Any],
              let tasks = json["task_specific_params"] as? [String: Any], !(tasks["summarization"] is NSNull),
              let task = tasks["summarization"] else { return nil }
        guard let params = task as? [String: Any] else {
            throw GenerationError.invalidParameter("task_specific_params.summarization", "is not an object in \(url.path)")
        }
        if let p = params["prefix"], !(p is NSNull) {
            guard let text = p as? String else {
                throw GenerationError.invalidParameter("task_specific_params.summarization.prefix", "is not a string in \(url.path)")
            }
            prefix = text
        } else {
            prefix = ""
        }
        generation = try GenerationConfig.lenient(params)
    }
}
