import ArgumentParser
import BrevityKit
import Foundation
import Serving
import Tensor

// Line-oriented standard input and buffered standard output for the JSON Lines commands.

/// Reads standard input line by line as raw bytes (no newline), so invalid UTF-8 can be reported.
struct StdinLines: Sequence, IteratorProtocol {
    private var buffer: [UInt8] = []
    private var start = 0
    private var eof = false

    mutating func next() -> [UInt8]? {
        while true {
            if let nl = buffer[start...].firstIndex(of: 0x0A) {
                var line = Array(buffer[start..<nl])
                start = nl + 1
                if line.last == 0x0D { line.removeLast() }
                return line
            }
            if eof {
                if start < buffer.count {
                    let line = Array(buffer[start...])
                    start = buffer.count
                    return line
                }
                return nil
            }
            if start > 0 { buffer.removeFirst(start); start = 0 }
            var chunk = [UInt8](repeating: 0, count: 1 << 16)
            let n = read(0, &chunk, chunk.count)
            if n <= 0 { eof = true } else { buffer.append(contentsOf: chunk[0..<n]) }
        }
    }
}

/// Buffered writer to standard output.
final class StdoutWriter {
    private var buffer: [UInt8] = []

    func write(_ bytes: [UInt8]) {
        buffer.append(contentsOf: bytes)
        if buffer.count > 1 << 16 { flush() }
    }

    func flush() {
        var off = 0
        while off < buffer.count {
            let n = buffer[off...].withUnsafeBytes { Foundation.write(1, $0.baseAddress, $0.count) }
            if n <= 0 { break }
            off += n
        }
        buffer.removeAll(keepingCapacity: true)
    }

    deinit { flush() }
}

struct InputError: Error, CustomStringConvertible {
    let description: String
}

func printError(_ message: String) {
    FileHandle.standardError.write(Data(("brevity: " + message + "\n").utf8))
}

/// `--dtype` / DTYPE for the commands, parsed as the service parses it (`Placement.parseDType`; nil is
/// `auto`, the device's default). Also checks BREVITY_CPU_FEATURES, so a bad value stops the command before
/// any work.
func requestedDType(_ name: String?) throws -> DType? {
    if let problem = EngineEnvironment.cpuFeaturesProblem() { throw ValidationError(problem) }
    do { return try Placement.parseDType(name ?? ProcessInfo.processInfo.environment["DTYPE"]) } catch {
        throw ValidationError("\(error)")
    }
}

/// `--device` / DEVICE and `--dtype` / DTYPE for the commands (`Placement`): the CPU backend, or a GPU
/// that passed the start-up self-test (float16 there, bfloat16 for T5, unless a type is given; int8 is
/// CPU-only). `auto` falls back to the CPU with a note on standard error; `cuda` makes any reason an error.
func chooseBackend(device: String?, dtype: String?, modelType: String? = nil) throws -> (backend: any Backend, type: DType) {
    let env = ProcessInfo.processInfo.environment
    let type = try requestedDType(dtype)   // BREVITY_CPU_FEATURES and the name, with the commands' message
    guard let choice = Placement.parseDevice(device ?? env["DEVICE"].flatMap { $0.isEmpty ? nil : $0 } ?? "auto") else {
        throw ValidationError("--device: expected auto, cpu or cuda")
    }
    let p: Placement
    do {
        let (gpu, reason) = try choice.resolve()
        p = try Placement.choose(gpu: gpu, choice: choice, foundReason: reason, dtype: type, modelType: modelType)
    } catch { throw ValidationError("--device cuda: \(error)") }
    if let backend = p.backend as? CUDABackend {
        printError("device: \(backend.deviceName) (kernels \(backend.gpu.kernelImage)), \(p.weightType.userName)")
    } else if let (gpu, error) = p.gpuFailure {
        printError("device: the CPU (\(gpu) not used: \(error))")
    }
    return (p.backend, p.weightType)
}
