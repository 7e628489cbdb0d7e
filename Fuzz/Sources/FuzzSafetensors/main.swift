// safetensors files: `SafetensorsFile(bytes:name:)`, the checks `SafetensorsFile(path:)` makes on a mapped
// file, then every tensor the header admits loaded on the CPU and read, so that a header that passes the
// checks cannot point outside the data (AddressSanitizer guards the heap copy the file is read from).
import Foundation
import NN
import Tensor

/// FUZZ_VERBOSE=1: say what became of each input (run the binary on files to check seeds or a crash).
let verbose = ProcessInfo.processInfo.environment["FUZZ_VERBOSE"] != nil

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let bytes = [UInt8](UnsafeBufferPointer(start: data, count: size))
    let file: SafetensorsFile
    do { file = try SafetensorsFile(bytes: bytes, name: "fuzz.safetensors") } catch {
        if verbose { print("refused: \(error)") }
        return 0
    }
    if verbose { print("read: \(file.entries.count) tensors") }
    for name in file.entries.keys.sorted() {
        let t: Tensor
        do { t = try file.load(name, on: CPUBackend.shared) } catch {
            if verbose { print("  \(name): \(error)") }
            continue
        }
        _ = t.toArray().reduce(0, +)
    }
    _ = file.metadata.count
    return 0
}
