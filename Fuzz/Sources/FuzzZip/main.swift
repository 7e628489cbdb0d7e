// PyTorch zip checkpoints: `PyTorchCheckpoint(bytes:name:)` (the zip directory, data.pkl through the
// restricted unpickler, each tensor's view checked against its storage record), then every tensor loaded
// on the CPU and read, strided views included (AddressSanitizer guards the heap copy they are read from).
import Foundation
import NN
import Tensor

/// FUZZ_VERBOSE=1: say what became of each input (run the binary on files to check seeds or a crash).
let verbose = ProcessInfo.processInfo.environment["FUZZ_VERBOSE"] != nil

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let bytes = [UInt8](UnsafeBufferPointer(start: data, count: size))
    let file: PyTorchCheckpoint
    do { file = try PyTorchCheckpoint(bytes: bytes, name: "fuzz.bin") } catch {
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
    return 0
}
