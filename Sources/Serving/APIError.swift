import BrevityKit
import Foundation
import HTTPTypes

/// An error answered as `{"error": {"type", "field", "message"}}` with its status and headers.
public struct APIError: Error, CustomStringConvertible {
    public var status: HTTPResponse.Status
    public var type: String
    public var field: String?
    public var message: String
    public var headers: [(HTTPField.Name, String)] = []

    public var description: String { "\(status.code) \(type)\(field.map { " [\($0)]" } ?? ""): \(message)" }

    public static func invalid(_ field: String, _ message: String) -> APIError {
        APIError(status: .unprocessableContent, type: "invalid_request", field: field, message: message)
    }
    public static func badRequest(_ message: String) -> APIError {
        APIError(status: .badRequest, type: "bad_request", field: nil, message: message)
    }
    public static func overloaded(_ message: String, retryAfter: Int) -> APIError {
        APIError(status: .serviceUnavailable, type: "overloaded", field: nil, message: message,
                 headers: [(.retryAfter, String(retryAfter))])
    }
    public static func unavailable(_ message: String) -> APIError {
        APIError(status: .serviceUnavailable, type: "unavailable", field: nil, message: message, headers: [(.retryAfter, "5")])
    }
    public static func timeout(_ message: String) -> APIError {
        APIError(status: .gatewayTimeout, type: "timeout", field: nil, message: message)
    }
    public static func internalError(_ message: String) -> APIError {
        APIError(status: .internalServerError, type: "internal", field: nil, message: message)
    }
}

extension APIError {
    /// The runtime's refusals as HTTP answers: 422 naming the field, 503 with Retry-After, 504.
    public init(_ error: RuntimeError) {
        switch error {
        case let .invalid(field, why): self = .invalid(field, why)
        case let .overloaded(why, retryAfter): self = .overloaded(why, retryAfter: retryAfter)
        case let .unavailable(why): self = .unavailable(why)
        case let .timeout(why): self = .timeout(why)
        }
    }

    /// Any error a route meets: API errors as they are, the runtime's mapped, a cancelled request as 499
    /// (the client went away), anything else 500.
    public static func from(_ error: Error) -> APIError {
        switch error {
        case let e as APIError: return e
        case let e as RuntimeError: return APIError(e)
        case is CancellationError:
            return APIError(status: .init(code: 499, reasonPhrase: "Client Closed Request"), type: "cancelled", field: nil,
                            message: "the client went away")
        default: return .internalError("\(error)")
        }
    }
}
