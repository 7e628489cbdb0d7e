import HTTPTypes
import Hummingbird

/// 405 with `Allow` for a method a known path does not take (RFC 9110 §15.5.6); the router alone answers
/// 404 there. `routes` maps each path to its methods (the OpenAPI document's paths).
struct MethodNotAllowedMiddleware: RouterMiddleware {
    typealias Context = BrevityContext
    let routes: [String: [HTTPRequest.Method]]

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        do {
            return try await next(request, context)
        } catch let e as HTTPError where e.status == .notFound {
            var path = request.uri.path
            if path.count > 1, path.hasSuffix("/") { path.removeLast() }
            guard let allowed = routes[path], !allowed.contains(request.method) else { throw e }
            let allow = allowed.map(\.rawValue).joined(separator: ", ")
            throw APIError(status: .methodNotAllowed, type: "method_not_allowed", field: nil,
                           message: "\(request.method.rawValue) is not allowed on \(path); allowed: \(allow)",
                           headers: [(.allow, allow)])
        }
    }
}
