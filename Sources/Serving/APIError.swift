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
