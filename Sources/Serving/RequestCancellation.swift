import Foundation

/// The texts one request queued, so a client that goes away cancels all of them (in the batch scheduler
/// or the extractive worker).
final class RequestCancellation: @unchecked Sendable {
    private let lock = NSLock()
    private var queued: [(id: Int, cancel: @Sendable (Int) -> Void)] = []
    private var cancelled = false

    init() {}

    /// Records queued ids and how to cancel them; false (and they are cancelled) when the client is already gone.
    func register(_ ids: [Int], _ cancel: @escaping @Sendable (Int) -> Void) -> Bool {
        lock.lock()
        queued += ids.map { ($0, cancel) }
        let gone = cancelled
        lock.unlock()
        if gone { for id in ids { cancel(id) } }
        return !gone
    }

    func cancelAll() {
        lock.lock()
        cancelled = true
        let all = queued
        lock.unlock()
        for q in all { q.cancel(q.id) }
    }
}
