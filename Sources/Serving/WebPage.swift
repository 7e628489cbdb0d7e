import HTTPTypes
import Hummingbird
import NIOCore

/// The pages Brevity serves to browsers (`GET /`, `GET /docs`): self-contained HTML, inline CSS and script,
/// nothing loaded from elsewhere, which the Content-Security-Policy enforces (the pages work offline and
/// behind a path prefix: every URL they fetch is relative to where they are served).
enum WebPage {
    /// Only this origin may be fetched; scripts and styles are the page's own inline ones.
    static let contentSecurityPolicy = "default-src 'none'; connect-src 'self'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; "
        + "img-src 'self' data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"

    static func response(_ page: ByteBuffer) -> Response {
        Response(status: .ok, headers: [
            .contentType: "text/html; charset=utf-8",
            .contentSecurityPolicy: contentSecurityPolicy,
            .xContentTypeOptions: "nosniff",
            .referrerPolicy: "no-referrer",
            .cacheControl: "no-cache",
        ], body: .init(byteBuffer: page))
    }
}

extension HTTPField.Name {
    static let referrerPolicy = Self("Referrer-Policy")!
}
