// The OpenAPI 3.1 description of every route (GET /openapi.json), rendered and made triable by GET /docs
// (DocsPage.swift). The request fields' schemas are written from the specs the parsers check against.

import BrevityKit

enum OpenAPIDocument {
    /// The document with the limits this server enforces: texts per request (--max-texts), beams (at most
    /// --max-batch-size rows) and, for a seq2seq model, lengths within its positions.
    /// `defaultBeams`: the model's num_beams, since sampling takes one beam (beam sampling is not
    /// supported): with a default above 1 a sampled request must say num_beams 1.
    static func json(maxTexts: Int, maxBeams: Int, maxPositions: Int?, modes: [SummaryMode] = SummaryMode.allCases,
                     defaultBeams: Int = 1) -> String {
        let lengths = maxPositions.map { (max: $0 + 1, new: $0) }
        let sampling = defaultBeams > 1 ? #"{"required": ["num_beams"], "properties": {"num_beams": {"const": 1}}}"#
                                        : #"{"properties": {"num_beams": {"enum": [1, null]}}}"#
        return template
            .replacingOccurrences(of: "\"__GENERATION_PROPERTIES__\"",
                                  with: generationProperties(maxBeams: maxBeams, lengths: lengths, modes: modes))
            .replacingOccurrences(of: "\"__SAMPLING__\"", with: sampling)
            .replacingOccurrences(of: "\"__MAX_TEXTS__\"", with: String(maxTexts))
            .replacingOccurrences(of: "\"__SUMMARIZE_POST__\"", with: summarizeOperation(id: "summarize", summary: "Summarize texts"))
            .replacingOccurrences(of: "\"__ROOT_POST__\"", with: summarizeOperation(
                id: "summarize_root",
                summary: "Summarize texts at the server root: the Hugging Face Inference Endpoints convention (InferenceClient(base_url=<server>).summarization posts here); the same as POST /summarize"))
    }

    /// `POST /summarize`'s operation, which `POST /` shares under its own id (the Hugging Face Inference
    /// Endpoints convention: the same body, shapes and answers).
    static func summarizeOperation(id: String, summary: String) -> String {
        #"""
      {
        "summary": "\#(summary)",
        "operationId": "\#(id)",
        "security": [{}, {"bearer": []}],
        "requestBody": {
          "required": true,
          "content": {"application/json": {
            "schema": {"oneOf": [
              {"$ref": "#/components/schemas/SummarizeRequest"},
              {"$ref": "#/components/schemas/HFRequest"}
            ]},
            "examples": {
              "texts": {"summary": "The originals' shape", "value": {"texts": ["The city council approved a new budget on Tuesday, raising spending on schools and roads by eight percent. The mayor said the plan would add two hundred teachers and repair forty bridges over the next three years. Critics on the council argued that the increase relies on a property tax rise that many families cannot afford. The budget takes effect in July after a final public hearing."], "max_length": 60, "min_length": 10}},
              "huggingFace": {"summary": "The Hugging Face shape", "value": {"inputs": "The city council approved a new budget on Tuesday, raising spending on schools and roads by eight percent. The mayor said the plan would add two hundred teachers and repair forty bridges over the next three years. Critics on the council argued that the increase relies on a property tax rise that many families cannot afford. The budget takes effect in July after a final public hearing.", "parameters": {"max_length": 60}}}
            }
          }}
        },
        "responses": {
          "200": {
            "description": "One summary per text, in order (an array of {summary_text} for the Hugging Face shape)",
            "headers": {
              "X-Request-Id": {"schema": {"type": "string"}},
              "X-Queue-Time": {"description": "Milliseconds the longest-waiting text queued", "schema": {"type": "string"}},
              "X-Inference-Time": {"description": "Milliseconds the slowest text spent in the batch", "schema": {"type": "string"}}
            },
            "content": {"application/json": {"schema": {"oneOf": [
              {"$ref": "#/components/schemas/SummarizeResponse"},
              {"type": "array", "items": {"$ref": "#/components/schemas/HFSummary"}}
            ]}}}
          },
          "400": {"$ref": "#/components/responses/Error"},
          "401": {"$ref": "#/components/responses/Error"},
          "413": {"$ref": "#/components/responses/Error"},
          "422": {"$ref": "#/components/responses/Error"},
          "429": {"$ref": "#/components/responses/Error"},
          "503": {"$ref": "#/components/responses/Error"},
          "504": {"$ref": "#/components/responses/Error"}
        }
      }
"""#
    }

    /// The request fields' schemas, written from BrevityKit's one list (`SummaryRequest.fields`) and
    /// `generate_parameters`, with the bounds this server and model set: beams up to --max-batch-size rows,
    /// lengths within the model's positions, the modes served.
    static func generationProperties(maxBeams: Int, lengths: (max: Int, new: Int)?, modes: [SummaryMode]) -> String {
        var fields: [String] = []
        for spec in SummaryRequest.fields.map(\.spec) + [SummarizeRequest.generateParameters] {
            let schema: String
            switch spec.name {
            case "max_length": schema = spec.schemaJSON(maximum: lengths.map { Double($0.max) })
            case "max_new_tokens": schema = spec.schemaJSON(maximum: lengths.map { Double($0.new) })
            case "num_beams": schema = spec.schemaJSON(maximum: Double(maxBeams), description: "At most the server's --max-batch-size decoder rows")
            case "mode": schema = spec.schemaJSON(choices: modes.map(\.rawValue))
            default: schema = spec.schemaJSON()
            }
            fields.append("\"\(spec.name)\": \(schema)")
        }
        return "{\n" + fields.map { "          " + $0 }.joined(separator: ",\n") + "\n        }"
    }

    /// The limits of a default configuration (tests, documentation).
    static var json: String { json(maxTexts: ServerConfig().maxTexts, maxBeams: ServerConfig().maxBatchSize, maxPositions: nil) }

    static let template = #"""
{
  "openapi": "3.1.0",
  "info": {
    "title": "Brevity",
    "version": "0.1.0",
    "description": "Text summarization: abstractive with encoder-decoder transformers (BART family), or extractive (whole sentences ranked by sentence-embedding centrality with a redundancy penalty); a drop-in for the FastAPI and Axum services it was modelled on. Errors are {\"error\": {\"type\", \"field\", \"message\"}}."
  },
  "paths": {
    "/": {
      "get": {
        "summary": "The playground: texts summarized from the browser as they stream (one HTML page, nothing loaded from elsewhere)",
        "operationId": "playground",
        "responses": {"200": {"description": "HTML", "content": {"text/html": {"schema": {"type": "string"}}}}}
      },
      "post": "__ROOT_POST__"
    },
    "/health": {
      "get": {
        "summary": "Liveness",
        "operationId": "health",
        "responses": {
          "200": {"description": "The process is up", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Health"}}}}
        }
      }
    },
    "/ready": {
      "get": {
        "summary": "Readiness: 200 once the model is loaded and warmed up, 503 before and while draining",
        "operationId": "ready",
        "responses": {
          "200": {"description": "Accepting work", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Ready"}}}},
          "503": {"description": "Loading, draining, or a failed warm-up (the reason says which)", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Ready"}}}}
        }
      }
    },
    "/summarize": {
      "post": "__SUMMARIZE_POST__"
    },
    "/summarize/stream": {
      "post": {
        "summary": "Summarize texts as Server-Sent Events",
        "description": "Events: `token` ({index, token_ids, text}: new tokens of text `index` and the text they add; a beam search sends its tokens as they settle (once every beam and finished hypothesis begins with them), the rest when it finishes; extractive summaries arrive whole, token_ids empty), then `result` (the /summarize response object), or `error`.",
        "operationId": "summarizeStream",
        "security": [{}, {"bearer": []}],
        "requestBody": {"required": true, "content": {"application/json": {
          "schema": {"$ref": "#/components/schemas/SummarizeRequest"},
          "example": {"texts": ["The city council approved a new budget on Tuesday, raising spending on schools and roads by eight percent. The mayor said the plan would add two hundred teachers and repair forty bridges over the next three years. Critics on the council argued that the increase relies on a property tax rise that many families cannot afford. The budget takes effect in July after a final public hearing."], "max_length": 60, "num_beams": 1}
        }}},
        "responses": {
          "200": {"description": "An event stream", "content": {"text/event-stream": {"schema": {"$ref": "#/components/schemas/StreamEvent"}}}},
          "400": {"$ref": "#/components/responses/Error"},
          "401": {"$ref": "#/components/responses/Error"},
          "413": {"$ref": "#/components/responses/Error"},
          "422": {"$ref": "#/components/responses/Error"},
          "429": {"$ref": "#/components/responses/Error"},
          "503": {"$ref": "#/components/responses/Error"}
        }
      }
    },
    "/metrics": {
      "get": {
        "summary": "Prometheus metrics",
        "operationId": "metrics",
        "responses": {"200": {"description": "Prometheus text exposition", "content": {"text/plain": {"schema": {"type": "string"}}}}}
      }
    },
    "/openapi.json": {
      "get": {
        "summary": "This document",
        "operationId": "openapi",
        "responses": {"200": {"description": "OpenAPI 3.1", "content": {"application/json": {"schema": {"type": "object"}}}}}
      }
    },
    "/docs": {
      "get": {
        "summary": "A page that renders this document; each operation can be tried from it with its example body",
        "operationId": "docs",
        "responses": {"200": {"description": "HTML", "content": {"text/html": {"schema": {"type": "string"}}}}}
      }
    }
  },
  "components": {
    "securitySchemes": {
      "bearer": {"type": "http", "scheme": "bearer", "description": "Required on the inference routes when the server runs with --api-key"}
    },
    "responses": {
      "Error": {
        "description": "An error",
        "headers": {"Retry-After": {"schema": {"type": "string"}}},
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}
      }
    },
    "schemas": {
      "GenerationParameters": {
        "type": "object",
        "properties": "__GENERATION_PROPERTIES__",
        "not": {"required": ["num_sentences", "ratio"], "properties": {"num_sentences": {"type": "integer"}, "ratio": {"type": "number"}}},
        "if": {"required": ["do_sample"], "properties": {"do_sample": {"const": true}}},
        "then": "__SAMPLING__",
        "description": "transformers' names; fields left out (or null) take the model's generation_config.json. Extractive length: num_sentences, else ratio, else max_new_tokens or max_length as a budget of the embedding model's tokens (the position strategy fills it to the middle of [min_length, max_length], min_length defaulting to a quarter of max_length), else 3 sentences; the sampling fields do not apply. num_sentences and ratio exclude each other; a minimum past the maximum decodes to the maximum (as transformers); do_sample takes num_beams 1 (beam sampling is not supported)"
      },
      "SummarizeRequest": {
        "allOf": [
          {"$ref": "#/components/schemas/GenerationParameters"},
          {"type": "object", "required": ["texts"], "properties": {"texts": {"type": "array", "minItems": 1, "maxItems": "__MAX_TEXTS__", "items": {"type": "string", "minLength": 1}}}}
        ]
      },
      "HFRequest": {
        "type": "object",
        "required": ["inputs"],
        "not": {"required": ["texts"], "properties": {"texts": {"not": {"type": "null"}}}},
        "description": "The Hugging Face Inference API's shape; a body with texts (not null) is the originals' shape instead",
        "properties": {
          "inputs": {"oneOf": [{"type": "string", "minLength": 1}, {"type": "array", "minItems": 1, "maxItems": "__MAX_TEXTS__", "items": {"type": "string", "minLength": 1}}]},
          "parameters": {"oneOf": [{"$ref": "#/components/schemas/GenerationParameters"}, {"type": "null"}]}
        }
      },
      "Summary": {
        "type": "object",
        "required": ["text"],
        "properties": {
          "text": {"type": "string"},
          "input_tokens": {"type": "integer"},
          "generated_tokens": {"type": "integer", "description": "Abstractive only"},
          "truncated": {"type": "boolean"},
          "input_sentences": {"type": "integer", "description": "Extractive only: sentences the input was split into"},
          "sentences": {
            "type": "array",
            "description": "Extractive only: the chosen sentences in document order",
            "items": {"type": "object", "properties": {"index": {"type": "integer"}, "text": {"type": "string"}, "tokens": {"type": "integer"}}}
          }
        }
      },
      "SummarizeResponse": {
        "type": "object",
        "required": ["summaries", "model", "device", "latency_ms"],
        "properties": {
          "summaries": {"type": "array", "items": {"$ref": "#/components/schemas/Summary"}},
          "model": {"type": "string"},
          "device": {"type": "string"},
          "mode": {"enum": ["abstractive", "extractive"]},
          "latency_ms": {"type": "number"}
        }
      },
      "HFSummary": {"type": "object", "required": ["summary_text"], "properties": {"summary_text": {"type": "string"}}},
      "Health": {
        "type": "object",
        "required": ["status", "model", "device"],
        "properties": {
          "status": {"enum": ["ok", "degraded"], "description": "degraded: a warm-up failed (see warmup_error); the process is up either way"},
          "ready": {"type": "boolean", "description": "Whether the service accepts work (GET /ready)"},
          "warmup_error": {"type": "string", "description": "Why the warm-up failed; the service stays unready"},
          "model": {"type": "string", "description": "The model of requests without \"mode\""},
          "device": {"type": "string"},
          "mode": {"enum": ["abstractive", "extractive"], "description": "The default mode"},
          "modes": {"type": "array", "items": {"enum": ["abstractive", "extractive"]}},
          "models": {"type": "object", "properties": {"abstractive": {"type": "string"}, "extractive": {"type": "string"}}},
          "reason": {"type": "string", "description": "Why these models and this mode serve (e.g. the fallback after MODEL_NAME could not be had)"},
          "dtype": {"enum": ["float32", "bfloat16", "float16", "int8"], "description": "The type the weights are held in (DTYPE)"},
          "cpu_kernels": {"enum": ["avx512", "avx2", "portable"], "description": "The instruction set of the CPU kernels"},
          "cpu_products": {"type": "string", "description": "What runs the products on the CPU for the weights' type, and why: the decode kernels' instruction set, and for many rows (the encoder over a document) oneDNN with its instruction set or OpenBLAS with the reason"},
          "device_reason": {"type": "string", "description": "Why this device serves (DEVICE / --device)"},
          "gpu": {"type": "string", "description": "The GPU's name when device is cuda"},
          "memory_budget_bytes": {"type": ["integer", "null"], "description": "The memory budget of the texts decoding (--max-batch-tokens, or derived from the container's memory limit); null when there is none"},
          "memory_used_bytes": {"type": "integer", "description": "What the texts decoding hold of the budget: their KV caches at max_length and their sources' keys and values"},
          "supported_model_types": {"type": "object", "additionalProperties": {"enum": ["summarizer", "sentenceEncoder"]}, "description": "The config.json model_type values Brevity runs, and as what"}
        }
      },
      "StreamEvent": {
        "type": "object",
        "description": "One Server-Sent Event: `token` (data: a StreamToken), then `result` (data: the /summarize response object), or `error` (data: an Error); data is JSON text",
        "required": ["event", "data"],
        "properties": {
          "event": {"enum": ["token", "result", "error"]},
          "data": {"type": "string", "contentMediaType": "application/json"},
          "id": {"type": "string"},
          "retry": {"type": "integer"}
        },
        "oneOf": [
          {"properties": {"event": {"const": "token"}, "data": {"contentSchema": {"$ref": "#/components/schemas/StreamToken"}}}},
          {"properties": {"event": {"const": "result"}, "data": {"contentSchema": {"$ref": "#/components/schemas/SummarizeResponse"}}}},
          {"properties": {"event": {"const": "error"}, "data": {"contentSchema": {"$ref": "#/components/schemas/Error"}}}}
        ]
      },
      "StreamToken": {
        "type": "object",
        "required": ["index", "token_ids", "text"],
        "properties": {
          "index": {"type": "integer", "description": "Which text of the request"},
          "token_ids": {"type": "array", "items": {"type": "integer"}, "description": "The ids since the last event (empty for extractive summaries)"},
          "text": {"type": "string", "description": "The text they add"}
        }
      },
      "Ready": {"type": "object", "required": ["ready"], "properties": {"ready": {"type": "boolean"}, "reason": {"type": "string"}}},
      "Error": {
        "type": "object",
        "required": ["error"],
        "properties": {
          "error": {
            "type": "object",
            "required": ["type", "message"],
            "properties": {"type": {"type": "string"}, "field": {"type": ["string", "null"]}, "message": {"type": "string"}}
          }
        }
      }
    }
  }
}
"""#
}

extension RequestFieldSpec {
    /// The field's JSON Schema as JSON text (null is always allowed: a null field is left out).
    /// `maximum` and `choices` replace the spec's where the server knows better (the model's positions,
    /// --max-batch-size, the modes it serves); `description` is appended to the spec's.
    func schemaJSON(maximum override: Double? = nil, choices: [String]? = nil, description extra: String? = nil) -> String {
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

}
