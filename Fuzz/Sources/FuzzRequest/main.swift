// POST /summarize bodies: `SummarizeRequest.parse` as the route calls it, then the error body it would
// answer. Every input must end in a request or an APIError, never a trap.
import Foundation
import Serving

/// FUZZ_VERBOSE=1: say what became of each input (run the binary on files to check seeds or a crash).
let verbose = ProcessInfo.processInfo.environment["FUZZ_VERBOSE"] != nil

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let body = [UInt8](UnsafeBufferPointer(start: data, count: size))
    do {
        let req = try SummarizeRequest.parse(body, maxTexts: 8)
        _ = req.extractiveLength()
        if verbose { print("accepted") }
    } catch let e as APIError {
        _ = try? JSONSerialization.data(withJSONObject: e.body)
        if verbose { print("refused: \(e)") }
    } catch {
        fatalError("SummarizeRequest.parse threw a non-APIError: \(error)")
    }
    return 0
}
