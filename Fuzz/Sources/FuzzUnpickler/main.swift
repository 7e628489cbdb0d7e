// Pickle streams: `RestrictedUnpickler.load`, as it reads a checkpoint's data.pkl, then the value's
// (bounded) description, which errors quote.
import Foundation
import NN

/// FUZZ_VERBOSE=1: say what became of each input (run the binary on files to check seeds or a crash).
let verbose = ProcessInfo.processInfo.environment["FUZZ_VERBOSE"] != nil

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let bytes = [UInt8](UnsafeBufferPointer(start: data, count: size))
    do {
        let value = try RestrictedUnpickler.load(bytes, what: "fuzz.pkl")
        let d = value.description
        if verbose { print("accepted: \(d)") }
    } catch let e as UnpicklingError {
        _ = e.description
        if verbose { print("refused: \(e)") }
    } catch {
        fatalError("RestrictedUnpickler.load threw a non-UnpicklingError: \(error)")
    }
    return 0
}
