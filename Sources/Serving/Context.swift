import Hummingbird
import NIOCore

/// The request context: Hummingbird's core storage plus who the client is (for rate limits and logs).
public struct BrevityContext: RequestContext, RemoteAddressRequestContext {
    public var coreContext: CoreRequestContextStorage
    public let remoteAddress: SocketAddress?
    /// `X-Request-Id`, accepted from the client or generated.
    public var requestId = ""
    /// The API key the client authenticated with, if any.
    public var apiKey: String?

    public init(source: ApplicationRequestContextSource) {
        coreContext = .init(source: source)
        remoteAddress = source.channel.remoteAddress
    }

    /// Rate limits count per API key, else per remote address.
    public var clientKey: String {
        if let k = apiKey { return "key:" + k }
        return "ip:" + (remoteAddress?.ipAddress ?? "unknown")
    }
}
