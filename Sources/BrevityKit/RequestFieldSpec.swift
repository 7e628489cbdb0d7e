// A request field's JSON type and limits, written once in `SummaryRequest.fields`: the request is checked
// against it (`SummaryRequest.validate`), the service's JSON reader takes values of its kind, and the
// OpenAPI document writes each field's schema from it, so the three cannot disagree.

import Foundation

/// One request field: its wire name, JSON type, bounds and description.
public struct RequestFieldSpec: Sendable, Equatable {
    /// The field's JSON type.
    public enum Kind: Sendable, Equatable {
        /// A whole number (JSON numbers with no fraction).
        case integer
        /// Any finite number.
        case number
        /// true or false.
        case boolean
        /// A string.
        case string
        /// A JSON object (a container of other fields).
        case object
        /// One of these strings.
        case choice([String])
        /// true, false or "never" (early_stopping).
        case booleanOrNever
    }

    /// The wire name, transformers' where it has one ("num_beams").
    public var name: String
    /// The JSON type.
    public var kind: Kind
    /// The smallest value taken.
    public var minimum: Double?
    /// Values must be above this.
    public var exclusiveMinimum: Double?
    /// For integers nil means below 10^15, the largest the parsers take (`largestInteger`).
    public var maximum: Double?
    /// Strings: the most Unicode scalars.
    public var maxLength: Int?
    /// What the field does, for the API's documentation.
    public var description: String?

    /// The largest integer a request may give where no maximum is set (JSON numbers are doubles; 10^15
    /// keeps every integer below it exact).
    public static let largestInteger = 999_999_999_999_999.0

    /// A field named `name` of JSON type `kind`, with its bounds.
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

    /// What a value of this field is, for messages: "an integer", "one of \"cut\", \"chunk\"".
    public var expected: String {
        switch kind {
        case .integer: return "an integer"
        case .number: return "a number"
        case .boolean: return "true or false"
        case .string: return "a string"
        case .object: return "an object"
        case let .choice(values): return "one of " + values.map(Self.quote).joined(separator: ", ")
        case .booleanOrNever: return "true, false or \"never\""
        }
    }

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

    /// Integral values without a fraction (2, not 2.0); others as Swift prints them. 2^63, the nearest
    /// double to Int64.max, prints as Int64.max (seed's bound).
    public static func format(_ v: Double) -> String {
        if v >= 9_223_372_036_854_775_807.0 { return String(Int64.max) }
        return v == v.rounded() && abs(v) < 1e18 ? String(Int64(v)) : String(v)
    }

    /// `s` as a JSON string literal, quotes included.
    public static func quote(_ s: String) -> String {
        let data = try! JSONSerialization.data(withJSONObject: [s], options: [.withoutEscapingSlashes])
        return String(decoding: data.dropFirst().dropLast(), as: UTF8.self)
    }
}
