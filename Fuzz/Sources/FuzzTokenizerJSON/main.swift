// tokenizer.json documents: `JSONValue.parse` then `Tokenizer(json:)` as `Tokenizer.load` does, and for a
// document that loads, an encode and a decode (ids in and out of the vocabulary), so that a file accepted
// at load time cannot trap later.
import Foundation
import Tokenizers

/// FUZZ_VERBOSE=1: say what became of each input (run the binary on files to check seeds or a crash).
let verbose = ProcessInfo.processInfo.environment["FUZZ_VERBOSE"] != nil
let texts = ["Hello, world! It's 3.14 o'clock.", "  naïve café — 東京 🤖\u{0}\t\n", ""]

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let bytes = [UInt8](UnsafeBufferPointer(start: data, count: size))
    let tok: Tokenizer
    do { tok = try Tokenizer(json: try JSONValue.parse(data: bytes)) } catch {
        if verbose { print("refused: \(error)") }
        return 0
    }
    if verbose { print("loaded: vocabulary of \(tok.vocabSize)") }
    for text in texts {
        for special in [true, false] {
            guard let enc = try? tok.encode(text, addSpecialTokens: special) else { continue }
            _ = tok.decode(enc.ids, skipSpecialTokens: !special)
        }
    }
    _ = tok.decode([-1, 0, 1, 2, tok.vocabSize, Int.max])
    _ = (tok.vocabSize, tok.specialTokenIds, tok.tokenToId("<unk>"), tok.idToToken(0), tok.idToToken(-1))
    return 0
}
