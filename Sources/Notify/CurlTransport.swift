public import Ingest

/// Delivers notifications with the agent's libcurl client (`Ingest.HTTPClient`): one multi handle,
/// keep-alive connections to each receiver, no thread per request.
///
/// Redirects are not followed: libcurl would turn a redirected POST into a GET without its body,
/// so a 3xx is reported (permanently) and the configuration should name the final URL.
public struct CurlTransport: Transport {
    let client: HTTPClient
    /// Largest answer read from a receiver (only an excerpt is ever logged).
    static let bodyLimit = 1 << 20

    public init(client: HTTPClient) { self.client = client }

    public func send(_ request: TransportRequest, completion: @escaping @Sendable (Result<TransportResponse, TransportError>) -> Void) {
        let http = HTTPRequest(
            url: request.url, method: request.method, headers: request.headers.map { HTTPHeader($0.name, $0.value) },
            body: request.body, timeoutMilliseconds: Int(max(1, request.timeout.milliseconds)), bodyLimit: CurlTransport.bodyLimit,
            maxRedirects: 0, acceptGzip: false)
        let url = request.url
        client.start(http) { result in
            switch result {
            case .success(let response):
                completion(.success(TransportResponse(status: response.status, headers: response.headers.map { ($0.name, $0.value) }, body: response.body)))
            case .failure(let error):
                // libcurl's messages name the host at most; scrub the URL anyway, it may hold a token.
                let message = error.message.replacingAll(url, with: RedactedURL.string(url))
                completion(.failure(TransportError(retryable: CurlTransport.isRetryable(error.kind), message)))
            }
        }
    }

    /// Network trouble is worth retrying; a request that cannot be made (bad URL, unreadable
    /// credentials, redirect loop) is not.
    static func isRetryable(_ kind: HTTPError.Kind) -> Bool {
        switch kind {
        case .invalidRequest, .tooManyRedirects: false
        case .timeout, .connectionFailed, .nameResolution, .bodyTooLarge, .tls, .badContentEncoding, .credentials, .cancelled, .transport: true
        }
    }
}

extension String {
    func replacingAll(_ target: String, with replacement: String) -> String {
        guard !target.isEmpty else { return self }
        var out = ""
        var rest = Substring(self)
        while let range = rest.firstRange(of: target) {
            out += rest[..<range.lowerBound]
            out += replacement
            rest = rest[range.upperBound...]
        }
        return out + rest
    }
}
