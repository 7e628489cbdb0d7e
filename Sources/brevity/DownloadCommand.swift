import ArgumentParser
import Foundation
import Hub

/// `brevity download MODEL [--revision R]`: fetches what Brevity needs of a hub model into the standard
/// cache (see Sources/Hub) and prints the snapshot folder, so `--model "$(brevity download org/name)"` works.
struct DownloadCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "download",
        abstract: "Download a model from the hub into the cache ($HF_HUB_CACHE) and print its folder.",
        discussion: """
        Only what Brevity needs: config.json, generation_config.json, tokenizer files, and weights \
        (model.safetensors or its shards, else pytorch_model.bin or its shards). Reads HF_ENDPOINT, HF_TOKEN \
        (or $HF_HOME/token), HF_HOME / HF_HUB_CACHE and HF_HUB_OFFLINE like huggingface_hub, and shares its cache.
        """
    )

    @Argument(help: "org/name[@revision], or a local folder (printed as is).")
    var model: String

    @Option(help: "A branch, tag or commit (default: main).")
    var revision: String?

    @Flag(help: "No progress bar, even on a terminal.")
    var quiet = false

    func run() async throws {
        let spec: ModelSpec
        do { spec = try ModelSpec.parse(model, revision: revision) } catch { exitWith(error) }
        var resolver = ModelResolver()
        if quiet { resolver.showProgress = false }
        do {
            let folder: URL
            switch spec {
            case .folder(let url): folder = url
            case let .repo(id, rev): folder = try await resolver.download(id, revision: rev)
            }
            print(folder.path)
        } catch { exitWith(error) }
    }
}

/// Any model spec (a folder, or org/name[@revision] from the cache or downloaded) to a folder, or exit 2
/// with the resolver's message. The hook every `--model` option goes through.
func resolveModelFolder(_ model: String, revision: String? = nil) async -> URL {
    do {
        return try await ModelResolver().resolve(model, revision: revision)
    } catch { exitWith(error) }
}

func exitWith(_ error: Error) -> Never {
    printError("\(error)")
    Foundation.exit(2)
}
