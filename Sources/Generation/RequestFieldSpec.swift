// A request field's JSON type and limits, written once: the request parsers check values against it
// (GenerationConfig.request here; the service's own fields in Serving) and the service's OpenAPI
// document writes each field's schema from it, so the two cannot disagree.

import Foundation

public struct RequestFieldSpec: Sendable, Equatable {
    public enum Kind: Sendable, Equatable {
        case integer, number, boolean, string, object
        /// One of these strings.
        case choice([String])
        /// true, false or "never" (early_stopping).
        case booleanOrNever
    }

    public var name: String
    public var kind: Kind
    public var minimum: Double?
    public var exclusiveMinimum: Double?
    /// For integers nil means below 10^15, the largest the parsers take (`largestInteger`).
    public var maximum: Double?
    /// Strings: the most Unicode scalars.
    public var maxLength: Int?
    public var description: String?

    /// The largest integer a request may give where no maximum is set (JSON numbers are doubles; 10^15
    /// keeps every integer below it exact).
    public static let largestInteger = 999_999_999_999_999.0

    public init(_ name: String, _ kind: Kind, minimum: Double? = nil, exclusiveMinimum: Double? = nil, maximum: Double? = nil,
                maxLength: Int? = nil, description: String? = nil) {
        self.name = name
        self.kind = kind
        self.minimum = minimum
        self.exclusiveMinimum = exclusiveMinimum
        self.maximum = maximum
        self.maxLength = maxLength
        self.description = description
    }

    /// The largest value taken: `maximum`, or `largestInteger` for an integer without one.
    public var upperBound: Double? { maximum ?? (kind == .integer ? Self.largestInteger : nil) }

    /// Why `value` is out of range ("must be >= 1, got 0"), or nil when it is within.
    public func rangeProblem(_ value: Double) -> String? {
        let got = kind == .integer ? Self.format(value) : String(value)
        if let lo = minimum, let hi = maximum, !(value >= lo && value <= hi) {
            return "must be in [\(Self.format(lo)), \(Self.format(hi))], got \(got)"
        }
        if let lo = exclusiveMinimum, let hi = maximum, !(value > lo && value <= hi) {
            return "must be in (\(Self.format(lo)), \(Self.format(hi))], got \(got)"
        }
        if let lo = minimum, maximum == nil, !(value >= lo) { return "must be >= \(Self.format(lo)), got \(got)" }
        if let lo = exclusiveMinimum, maximum == nil, !(value > lo) { return "must be > \(Self.format(lo)), got \(got)" }
        return nil
    }

    /// The field's JSON Schema as JSON text (null is always allowed: a null field is left out).
    /// `maximum` and `choices` replace the spec's where the server knows better (the model's positions,
    /// --max-batch-size, the modes it serves); `description` is appended to the spec's.
    public func schemaJSON(maximum override: Double? = nil, choices: [String]? = nil, description extra: String? = nil) -> String {
        var parts: [String] = []
        switch kind {
        case .integer: parts.append(#""type": ["integer", "null"]"#)
        case .number: parts.append(#""type": ["number", "null"]"#)
        case .boolean: parts.append(#""type": ["boolean", "null"]"#)
        case .string: parts.append(#""type": ["string", "null"]"#)
        case .object: parts.append(#""type": ["object", "null"]"#)
        case let .choice(values):
            parts.append(#""enum": ["# + ((choices ?? values).map(Self.quote) + ["null"]).joined(separator: ", ") + "]")
        case .booleanOrNever: parts.append(#""oneOf": [{"type": ["boolean", "null"]}, {"const": "never"}]"#)
        }
        if let lo = minimum { parts.append(#""minimum": "# + Self.format(lo)) }
        if let lo = exclusiveMinimum { parts.append(#""exclusiveMinimum": "# + Self.format(lo)) }
        if let hi = override ?? upperBound { parts.append(#""maximum": "# + Self.format(hi)) }
        if let n = maxLength { parts.append(#""maxLength": \#(n)"#) }
        let text = [description, extra].compactMap { $0 }.joined(separator: "; ")
        if !text.isEmpty { parts.append(#""description": "# + Self.quote(text)) }
        return "{" + parts.joined(separator: ", ") + "}"
    }

    /// Integral values without a fraction (2, not 2.0); others as Swift prints them. 2^63, the nearest
    /// double to Int64.max, prints as Int64.max (seed's bound).
    static func format(_ v: Double) -> String {
        if v >= 9_223_372_036_854_775_807.0 { return String(Int64.max) }
        return v == v.rounded() && abs(v) < 1e18 ? String(Int64(v)) : String(v)
    }

    static func quote(_ s: String) -> String {
        let data = try! JSONSerialization.data(withJSONObject: [s], options: [.withoutEscapingSlashes])
        return String(decoding: data.dropFirst().dropLast(), as: UTF8.self)
    }
}
