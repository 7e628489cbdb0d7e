// The step-level API: a set of requests decoding together. Between steps a caller (the server's
// scheduler) adds requests — they are encoded together and join at their first decoder step — and drops
// finished or cancelled ones. Every request's state is explicit here: its search (greedy, sampling or
// beams), its KV caches (one value per running row) and its encoder output.
// Each request's result is the one it would get generating alone.

import Models
import Tensor

public struct GenerationRequest: Sendable {
    public var id: Int
    /// Encoder input ids, unpadded.
    public var inputIds: [Int]
    public var config: ResolvedGeneration
    /// Drafted tokens a step may check for this text (0: none); nil takes the batch's `draftTokens`.
    /// Never used for sampling, whose draws would differ.
    public var draftTokens: Int?
    /// Processors applied after the ones `config` calls for (a bench's forced replay, for example).
    public var processors: [any LogitsProcessor]

    public init(id: Int, inputIds: [Int], config: ResolvedGeneration, draftTokens: Int? = nil,
                processors: [any LogitsProcessor] = []) {
        self.id = id
        self.inputIds = inputIds
        self.config = config
        self.draftTokens = draftTokens
        self.processors = processors
    }
}

public struct GenerationResult: Sendable, Equatable {
    public var id: Int
    /// `num_return_sequences` sequences, best first; each starts with the decoder start token.
    public var sequences: [[Int]]
    /// What its decoding took: the passes it was in (`textPasses`), its search steps and its drafted
    /// tokens fed and used (`passes` counts the same passes).
    public var statistics = DraftStatistics()

    public init(id: Int, sequences: [[Int]], statistics: DraftStatistics = DraftStatistics()) {
        self.id = id
        self.sequences = sequences
        self.statistics = statistics
    }
}

public struct DecodingBatch: @unchecked Sendable {
    enum Search {
        case single(SingleSequenceSearch)
        case beam(BeamSearch)
    }

    struct Active {
        let request: GenerationRequest
        let encoded: EncodedInput
        let processors: LogitsProcessorList
        var search: Search
        var caches: [DecoderCache]     // one per running row; a beam search starts with one row
        var pendingTokens: [[Int]]     // the tokens each row feeds at the next step
        var scores: [Float]            // [V]: a row's processed scores, formed where processors need them
        var top: TopKList              // the step's best candidates (beam search) or token (greedy)
        var drafts: [[Int]] = []       // per row: tokens fed after its last one this step, to be checked (empty: none)
        var accepted = 0               // drafted positions whose logits the step used
        var decided = 0                // search steps the last pass decided
        var statistics = DraftStatistics()   // this text's share of every pass so far
        var isDrafted: Bool { drafts.contains { !$0.isEmpty } }
    }

    public let model: any Seq2SeqModel
    private var active: [Active] = []
    /// Greedy texts check up to this many drafted tokens a pass (0: none), proposed by `proposer`, unless
    /// their request says otherwise (`GenerationRequest.draftTokens`). A beam search drafts only when its
    /// request asks: drafts that its beams do not all continue cost rows and save no pass.
    public var draftTokens = 0
    public var proposer = DraftProposer.source
    /// Rows a pass may hold with its drafts (nil: the backend's `nearlyFreeRows`; at most `invariantRows`).
    public var draftRowLimit: Int?
    public private(set) var draftStatistics = DraftStatistics()
    /// Rows one decoder call may hold while a row's result stays independent of the others (the skinny
    /// products' bound): drafts are cut to stay within it.
    public static var invariantRows: Int { min(SkinnyGEMM.maxRows, SkinnyGEMM.maxRowsWidened) }

    public init(model: any Seq2SeqModel) { self.model = model }

    public var isEmpty: Bool { active.isEmpty }
    public var count: Int { active.count }
    public var ids: [Int] { active.map(\.request.id) }
    /// Decoder rows the next step runs (the batch size the model sees).
    public var rowCount: Int { active.reduce(0) { $0 + $1.caches.count } }

    /// Encodes the requests together and adds them; they decode from the next `step()`.
    public mutating func add(_ requests: [GenerationRequest]) throws {
        try check(requests)
        try add(requests, encoded: model.encode(requests.map(\.inputIds)))
    }

    /// Adds requests whose inputs this model has encoded already (`model.encode`, one per request), e.g. to
    /// decode one encoding several ways.
    public mutating func add(_ requests: [GenerationRequest], encoded: [EncodedInput]) throws {
        require(requests.count == encoded.count, "add: one encoded input per request")
        try check(requests)
        for (r, e) in zip(requests, encoded) {
            let c = r.config
            let start = c.decoderStartTokenId
            let search: Search = c.numBeams > 1 ? .beam(BeamSearch(startToken: start, config: c))
                                                : .single(SingleSequenceSearch(startToken: start, config: c))
            var keep = 1   // candidates a step keeps: the beam search's, else the argmax
            if case .beam(let b) = search { keep = b.beamsToKeep }
            let processors = LogitsProcessorList(LogitsProcessorList(c).processors + r.processors)
            active.append(Active(request: r, encoded: e, processors: processors, search: search,
                                 caches: [model.makeCache(capacity: c.maxLength)], pendingTokens: [[start]],
                                 scores: [Float](repeating: 0, count: model.vocabularySize), top: TopKList(k: keep)))
        }
    }

    private func check(_ requests: [GenerationRequest]) throws {
        // ids come from outside (tokenizers, clients): checked here with errors, since the backend's own
        // checks only trap
        let v = model.vocabularySize
        for (i, r) in requests.enumerated() {
            if r.inputIds.isEmpty || r.inputIds.count > model.maxPositions {
                throw GenerationError.inputTooLong(r.inputIds.count, model.maxPositions)
            }
            do { try TokenIdError.check(r.inputIds, vocabulary: v) } catch let e as TokenIdError {
                throw GenerationError.tokenOutOfVocabulary(input: i, e)
            }
            try r.config.checkTokenIds(vocabulary: v)
        }
    }

    /// Drops a request (cancelled); its caches are released.
    public mutating func drop(id: Int) { active.removeAll { $0.request.id == id } }

    /// The tokens a request has settled so far, for streaming: greedy and sampling sequences grow one
    /// token a step; a beam search's grow as its beams and finished hypotheses agree on them
    /// (`BeamSearch.settledPrefix`), the rest with its result.
    public func progress(id: Int) -> [Int]? {
        guard let a = active.first(where: { $0.request.id == id }) else { return nil }
        switch a.search {
        case .single(let g): return g.tokens
        case .beam(let b): return b.settledPrefix
        }
    }

    /// Runs one decoder step for every active request; returns the requests that finished.
    public mutating func step() -> [GenerationResult] {
        guard !active.isEmpty else { return [] }
        proposeDrafts()
        let drafted = active.contains(where: \.isDrafted)
        // gather every request's rows
        var tokens: [[Int]] = [], caches: [DecoderCache] = [], encoded: [EncodedInput] = []
        for a in active {
            tokens += a.pendingTokens
            caches += a.caches
            encoded += Array(repeating: a.encoded, count: a.caches.count)
        }
        for i in active.indices { active[i].caches = [] }   // caches now live in `caches` alone (unique)
        let logits = model.decode(tokens, caches: &caches, encoded: encoded, allPositions: drafted)
        let v = model.vocabularySize
        draftStatistics.passes += 1
        draftStatistics.textPasses += active.count

        // each request's search (log-softmax over the vocabulary, processors, top-k) is its own state alone:
        // requests advance on the engine's threads at once, each with the result it gets alone
        var starts: [Int] = [], row = 0            // each request's first cache
        var logitStarts: [Int] = [], logitRow = 0  // and first logits row (one per fed token when drafting)
        for a in active {
            starts.append(row); row += a.pendingTokens.count
            logitStarts.append(logitRow); logitRow += drafted ? a.pendingTokens.reduce(0) { $0 + $1.count } : a.pendingTokens.count
        }
        var outcomes = [GenerationResult?](repeating: nil, count: active.count)
        // each request's caches held by its own array alone, so a beam reorder can reuse them in place
        var split = active.indices.map { Array(caches[starts[$0]..<starts[$0] + active[$0].pendingTokens.count]) }
        caches = []
        /// Every request advanced by `body(request, its caches, its index)` on the engine's threads.
        func advanceAll(_ body: (inout Active, inout [DecoderCache], Int) -> GenerationResult?) {
            outcomes.withUnsafeMutableBufferPointer { out in
                split.withUnsafeMutableBufferPointer { split in
                    active.withUnsafeMutableBufferPointer { act in
                        Parallel.forEach(act.count) { i in out[i] = body(&act[i], &split[i], i) }
                    }
                }
            }
        }
        if !drafted, logits.backend.ranksOnDevice, let (requests, first, k) = choiceRequests(starts: starts, vocabulary: v) {
            // the backend ranks each row's candidates where the logits are (a GPU); the host processes the
            // touched tokens and settles the searches
            let choices = logits.backend.topK(logits, rows: requests, k: k)
            advanceAll { a, caches, i in
                let rows = first[i]..<(i + 1 < first.count ? first[i + 1] : requests.count)
                return Self.advance(&a, requests: requests[rows], choices: choices[rows], caches: &caches, vocabulary: v)
            }
        } else {
            logits.withHostFloats { all in
                advanceAll { a, caches, i in
                    let start = logitStarts[i]
                    let rows = drafted ? a.pendingTokens.reduce(0) { $0 + $1.count } : a.pendingTokens.count
                    let rowLogits = UnsafeBufferPointer(rebasing: all[start * v..<(start + rows) * v])
                    guard a.isDrafted else { return Self.advance(&a, logits: rowLogits, caches: &caches, vocabulary: v) }
                    if case .beam = a.search { return Self.advanceDraftedBeams(&a, logits: rowLogits, caches: &caches, vocabulary: v) }
                    return Self.advanceDrafted(&a, logits: rowLogits, caches: &caches, vocabulary: v)
                }
            }
        }
        var done: [GenerationResult] = []
        var keep: [Active] = []
        for i in active.indices {
            var pass = DraftStatistics()   // this text's steps and drafts in the pass (the batch counted the pass above)
            if active[i].isDrafted {
                pass.proposed = active[i].drafts.reduce(0) { $0 + $1.count }
                pass.steps = active[i].decided
                pass.accepted = active[i].accepted
                pass.rollbacks = active[i].accepted < pass.proposed ? 1 : 0
                active[i].drafts = []
            } else {
                pass.steps = 1
            }
            draftStatistics = draftStatistics.adding(pass)
            pass.passes = 1   // the text was in one more pass
            pass.textPasses = 1
            active[i].statistics = active[i].statistics.adding(pass)
        }
        for (a, outcome) in zip(active, outcomes) {
            guard var outcome else { keep.append(a); continue }
            outcome.statistics = a.statistics
            done.append(outcome)
        }
        active = keep
        return done
    }

    /// The step's rows for `Backend.topK`, the step's token choice where the logits are: one per greedy
    /// request (raw logits) and one per beam (the running score as the offset of the log-softmax; at the first
    /// step every beam reads the one row), each excluding the tokens its processors touch (processed here); the index of each request's first row; and the most candidates a row must keep.
    /// nil when a row needs its whole logits: sampling, or a processor that may touch any token (a forced
    /// token).
    private func choiceRequests(starts: [Int], vocabulary v: Int) -> ([TopKRow], [Int], Int)? {
        var requests: [TopKRow] = [], first: [Int] = [], k = 1
        for (a, start) in zip(active, starts) {
            first.append(requests.count)
            switch a.search {
            case .single(let g):
                guard !g.sample, let touched = a.processors.touchedTokens(sequence: g.tokens, vocabulary: v) else { return nil }
                requests.append(TopKRow(row: start, logSoftmax: false, offset: 0, excluded: touched))
            case .beam(let b):
                k = max(k, b.beamsToKeep)
                for i in 0..<b.numBeams {
                    guard let touched = a.processors.touchedTokens(sequence: b.running[i], vocabulary: v) else { return nil }
                    requests.append(TopKRow(row: start + (a.pendingTokens.count == 1 ? 0 : i), logSoftmax: true,
                                            offset: b.runningScores[i], excluded: touched))
                }
            }
        }
        return (requests, first, k)
    }

    /// Feeds one step's chosen candidates (`Backend.topK`, one per row of `requests`) to a request's
    /// search: its touched tokens processed here as on the host path, every candidate offered to its top-k.
    private static func advance(_ a: inout Active, requests: ArraySlice<TopKRow>, choices: ArraySlice<TopKRowResult>,
                                caches: inout [DecoderCache], vocabulary v: Int) -> GenerationResult? {
        a.top.removeAll()
        for (b, (r, c)) in zip(requests, choices).enumerated() {
            let sequence: [Int]
            switch a.search {
            case .single(let g): sequence = g.tokens
            case .beam(let beam): sequence = beam.running[b]
            }
            let offset = b * v
            let (m, lse) = r.logSoftmax ? (c.max, c.lse) : (0, 0)
            offerTouched(r.excluded, logits: c.excludedValues, max: m, lse: lse, base: r.offset, sequence: sequence, offset: offset,
                         processors: a.processors, scores: &a.scores, top: &a.top)
            for (value, index) in zip(c.values, c.indices) { a.top.offer(value, index: offset + index) }
        }
        switch a.search {
        case .single(var single):
            let token = a.top[0].index
            single.step(chosen: token)
            return settle(&a, single: single, token: token, caches: caches)
        case .beam(var beam):
            return settle(&a, beam: &beam, caches: &caches, vocabulary: v)
        }
    }

    /// Drafts for this step: each greedy or beam text (not sampling) with drafting on feeds `[last] + draft`
    /// for each of its rows, while the call's rows stay within the backend's nearly free rows (past them a
    /// drafted row costs its arithmetic, more than the pass it may save: on the CPU, drafting pays for one
    /// text or a few, not for a full batch) and `invariantRows`, and the text within its maximum length. A
    /// beam search drafts from its second step (at its first, its beams share one row), each beam an equal
    /// share of the rows left (none when they are fewer than its beams).
    private mutating func proposeDrafts() {
        let v = model.vocabularySize
        var rows = active.reduce(0) { $0 + $1.pendingTokens.count }
        let limit = min(Self.invariantRows, max(rows, draftRowLimit ?? model.backend.nearlyFreeRows))
        for i in active.indices {
            let sequences: [[Int]], maxLength: Int, k: Int
            switch active[i].search {
            case .single(let g):
                guard !g.sample, !g.isDone else { continue }
                (sequences, maxLength, k) = ([g.tokens], g.maxLength, active[i].request.draftTokens ?? draftTokens)
            case .beam(let b):
                guard !b.isDone, active[i].pendingTokens.count == b.numBeams else { continue }
                (sequences, maxLength, k) = (b.running, b.maxLength, active[i].request.draftTokens ?? 0)
            }
            guard k > 0 else { continue }
            // a beam search's rows left are shared evenly: a step from a drafted row needs every kept beam to
            // continue its parent's draft, so a draft for only some beams rarely saves a pass
            let share = sequences.count > 1 ? (limit - rows) / sequences.count : limit - rows
            var drafts: [[Int]] = []
            for tokens in sequences {
                let room = min(k, maxLength - tokens.count - 1, share, limit - rows)
                let draft = room > 0 ? Array(proposer.propose(tokens, active[i].request.inputIds, room).prefix(room).prefix { $0 >= 0 && $0 < v }) : []
                drafts.append(draft)
                rows += draft.count
            }
            guard drafts.contains(where: { !$0.isEmpty }) else { continue }
            active[i].drafts = drafts
            active[i].accepted = 0
            active[i].pendingTokens = zip(active[i].pendingTokens, drafts).map { $0 + $1 }
        }
    }

    /// A greedy step over `[last] + draft`: `logits` holds a row per fed token. Row j's processed argmax is
    /// the token plain decoding would choose after the j drafted tokens before it; drafted tokens are kept
    /// while they equal it, the first different choice ends the step, and the cache forgets the positions
    /// of drafted tokens that were not kept.
    private static func advanceDrafted(_ a: inout Active, logits: UnsafeBufferPointer<Float>, caches: inout [DecoderCache],
                                       vocabulary v: Int) -> GenerationResult? {
        guard case .single(var single) = a.search else { return nil }
        let draft = a.drafts[0]
        let before = caches[0].length - (1 + draft.count)   // positions cached before this pass
        var token = 0, appended = 0
        for j in 0...draft.count {
            token = greedyChoice(&a, row: logits.baseAddress! + j * v, sequence: single.tokens, vocabulary: v)
            single.step(chosen: token)
            appended += 1
            if single.isDone || j == draft.count || token != draft[j] { break }
        }
        a.accepted = appended - 1   // the last token appended is the model's own choice
        a.decided = appended
        caches[0].truncate(to: before + appended)   // the last token and the kept drafts; the next step feeds `token`
        return settle(&a, single: single, token: token, caches: caches)
    }

    /// A beam step over each beam's `[last] + draft` (`logits`: a row per fed token, beam by beam). The first
    /// search step reads each beam's first row, exactly as a plain step. While every beam it keeps continues
    /// its parent's draft (the token the parent was fed next), the next step's rows were computed by this
    /// pass too: beam i then reads its origin's next row, with its own sequence for the processors, and the
    /// search steps again. The first step where some kept beam leaves its parent's draft ends the pass; each
    /// beam's cache is its origin's, cut after the positions its sequence holds.
    private static func advanceDraftedBeams(_ a: inout Active, logits: UnsafeBufferPointer<Float>, caches: inout [DecoderCache],
                                            vocabulary v: Int) -> GenerationResult? {
        guard case .beam(var beam) = a.search else { return nil }
        let drafts = a.drafts
        var first: [Int] = [], row = 0   // each origin's first logits row
        for d in drafts { first.append(row); row += 1 + d.count }
        let before = caches[0].length - (1 + drafts[0].count)   // every beam has cached as many positions
        // for each running beam: the pass row (origin) whose fed tokens its sequence follows, and how many
        // of that origin's drafted tokens it has taken
        var at = (0..<beam.numBeams).map { (origin: $0, depth: 0) }
        var steps = 0
        while true {
            offerBeams(&a, beam, vocabulary: v) { b in logits.baseAddress! + (first[at[b].origin] + at[b].depth) * v }
            let origins = beam.step(top: a.top, vocabulary: v)
            steps += 1
            at = origins.map { at[$0] }
            if beam.isDone { break }
            // each kept beam's next row exists when its new token is its origin's next drafted token
            let next = zip(at, beam.running).map { p, tokens in
                p.depth < drafts[p.origin].count && tokens.last! == drafts[p.origin][p.depth] ? (p.origin, p.depth + 1) : nil
            }
            guard next.allSatisfy({ $0 != nil }) else { break }
            at = next.map { $0! }
        }
        a.decided = steps
        a.accepted = (steps - 1) * beam.numBeams
        // beam i continues origin at[i].origin after at[i].depth of its drafted tokens: its cache holds the
        // origin's last token and those, and it feeds its own new token next
        return settle(&a, beam: beam, origins: at.map(\.origin), caches: &caches, lengths: at.map { before + 1 + $0.depth })
    }

    /// After a single-sequence step chose `token`: the result when the request finished, else its next row.
    private static func settle(_ a: inout Active, single: SingleSequenceSearch, token: Int, caches: [DecoderCache]) -> GenerationResult? {
        a.search = .single(single)
        if single.isDone { return GenerationResult(id: a.request.id, sequences: [single.tokens]) }
        a.caches = caches
        a.pendingTokens = [[token]]
        return nil
    }

    /// A beam step from the candidates in `a.top`: the result when the request finished, else its beams'
    /// caches (reordered) and next rows.
    private static func settle(_ a: inout Active, beam: inout BeamSearch, caches: inout [DecoderCache],
                               vocabulary v: Int) -> GenerationResult? {
        let origins = beam.step(top: a.top, vocabulary: v)
        return settle(&a, beam: beam, origins: origins, caches: &caches)
    }

    /// After beam steps: the result when the request finished, else its beams' caches (new beam i continues
    /// the cache of row origins[i], cut to lengths[i] positions when given) and next rows.
    private static func settle(_ a: inout Active, beam: BeamSearch, origins: [Int], caches: inout [DecoderCache],
                               lengths: [Int]? = nil) -> GenerationResult? {
        a.search = .beam(beam)
        if beam.isDone {
            return GenerationResult(id: a.request.id, sequences: beam.results(a.request.config.numReturnSequences))
        }
        var kept = reordered(&caches, origins: origins)
        if let lengths { for i in kept.indices { kept[i].truncate(to: lengths[i]) } }
        a.caches = kept
        a.pendingTokens = beam.running.map { [$0.last!] }
        return nil
    }

    /// Feeds one step's logits to a request's search; returns its result when it finished. `caches` (the
    /// request's rows, held by that array alone) are taken.
    private static func advance(_ a: inout Active, logits: UnsafeBufferPointer<Float>, caches: inout [DecoderCache],
                                vocabulary v: Int) -> GenerationResult? {
        switch a.search {
        case .single(var single):
            let token: Int
            if single.sample {
                // sampling draws from the whole processed row
                token = a.scores.withUnsafeMutableBufferPointer { s in
                    _ = s.initialize(from: logits)
                    a.processors.process(s, sequence: single.tokens)
                    return single.step(scores: UnsafeBufferPointer(s))
                }
            } else {
                token = greedyChoice(&a, row: logits.baseAddress!, sequence: single.tokens, vocabulary: v)
                single.step(chosen: token)
            }
            return settle(&a, single: single, token: token, caches: caches)

        case .beam(var beam):
            // one computed row stands for all beams at the first step
            let shared = caches.count == 1
            offerBeams(&a, beam, vocabulary: v) { b in logits.baseAddress! + (shared ? 0 : b) * v }
            return settle(&a, beam: &beam, caches: &caches, vocabulary: v)
        }
    }

    /// The argmax of a row's processed logits (max = lse = base = 0: the row's own values).
    private static func greedyChoice(_ a: inout Active, row: UnsafePointer<Float>, sequence: [Int], vocabulary v: Int) -> Int {
        a.top.removeAll()
        offerProcessedRow(row, vocabulary: v, max: 0, lse: 0, base: 0, sequence: sequence, offset: 0, processors: a.processors,
                          scores: &a.scores, top: &a.top)
        return a.top[0].index
    }

    /// Each running beam's log-softmax, processors and running score over its logits row (`row(b)`),
    /// offered to the step's top-k in `a.top`; no row of log-probabilities is written.
    private static func offerBeams(_ a: inout Active, _ beam: BeamSearch, vocabulary v: Int, row: (Int) -> UnsafePointer<Float>) {
        a.top.removeAll()
        for b in 0..<beam.numBeams {
            let r = row(b)
            let (m, lse) = logSoftmaxShift(r, count: v)
            offerProcessedRow(r, vocabulary: v, max: m, lse: lse, base: beam.runningScores[b], sequence: beam.running[b],
                              offset: b * v, processors: a.processors, scores: &a.scores, top: &a.top)
        }
    }
}

/// Offers a row's processed scores, base + processors((x[t] - max) - lse), to `top` with indices offset + t.
/// When the processors touch only some tokens, those alone are formed in `scores` ([V], scratch) and processed,
/// and the rest of the row is scanned straight from the logits; otherwise (forced BOS/EOS steps) the whole row
/// is formed and processed first. Either way every token is offered once with the value the whole-row path
/// gives it, so the selection is the same.
func offerProcessedRow(_ row: UnsafePointer<Float>, vocabulary v: Int, max: Float, lse: Float, base: Float,
                       sequence: [Int], offset: Int, processors: LogitsProcessorList, scores: inout [Float],
                       top: inout TopKList) {
    guard let touched = processors.touchedTokens(sequence: sequence, vocabulary: v) else {
        scores.withUnsafeMutableBufferPointer { s in
            for t in 0..<v { s[t] = (row[t] - max) - lse }
            processors.process(s, sequence: sequence)
            top.scan(s.baseAddress!, count: v, base: base, offset: offset)
        }
        return
    }
    top.scan(row, count: v, max: max, lse: lse, base: base, skipping: touched, offset: offset)
    offerTouched(touched, logits: touched.map { row[$0] }, max: max, lse: lse, base: base, sequence: sequence, offset: offset,
                 processors: processors, scores: &scores, top: &top)
}

/// Offers the tokens the processors touch, base + processors((x - max) - lse) with index offset + t, where
/// `logits` holds each touched token's raw logit; they are formed in `scores` ([V], scratch) alone.
func offerTouched(_ touched: [Int], logits: [Float], max: Float, lse: Float, base: Float, sequence: [Int], offset: Int,
                  processors: LogitsProcessorList, scores: inout [Float], top: inout TopKList) {
    guard !touched.isEmpty else { return }
    scores.withUnsafeMutableBufferPointer { s in
        for (t, x) in zip(touched, logits) { s[t] = (x - max) - lse }
        processors.process(s, sequence: sequence)
        for t in touched { top.offer(base + s[t], index: offset + t) }
    }
}

/// The caches of the beams that continue `origins` (new beam i continues beam origins[i]) out of the previous
/// beams' caches (`pool`, held by that array alone; it keeps holding them until the caller drops it). The
/// first beam to continue a beam takes its cache; each other one takes the cache of a beam no one continues,
/// overwritten with its origin's rows in place: a reorder allocates nothing and copies only what forks
/// (transformers gathers every beam's cache every step). With one previous row (the first step) every beam
/// shares it, copied at its first write.
func reordered(_ pool: inout [DecoderCache], origins: [Int]) -> [DecoderCache] {
    guard pool.count > 1 else { return origins.map { _ in pool[0] } }
    var taken = [Bool](repeating: false, count: pool.count)
    var result: [Int] = []   // for each new beam, the index in pool of its cache
    var forks: [(beam: Int, origin: Int)] = []
    for (i, o) in origins.enumerated() {
        if !taken[o] { taken[o] = true; result.append(o) } else { result.append(-1); forks.append((i, o)) }
    }
    var free = pool.indices.filter { !taken[$0] }.makeIterator()
    for (beam, origin) in forks {
        guard let f = free.next() else { result[beam] = origin; continue }   // more beams than caches: share
        let source = pool[origin]
        pool[f].overwrite(with: source)
        result[beam] = f
    }
    return result.map { pool[$0] }
}

/// Generates for every input (each as if alone), `maxBatchSize` requests decoding together at most.
/// `finished(index, sequences)` hears of each input as soon as it is done (not in input order);
/// `afterStep` sees the batch after each decoder step (`progress(id:)`, ids being input indices) and may
/// throw to stop, e.g. when the caller cancelled.
/// `drafts`: greedy and beam texts check up to `tokens` drafted tokens a pass from `proposer`, within
/// `draftRowLimit` rows a pass (nil: the backend's nearly free rows); `statistics` hears what drafting did
/// once all are done.
public func generate(model: any Seq2SeqModel, inputs: [[Int]], configs: [ResolvedGeneration],
                     maxBatchSize: Int = 8, finished: ((Int, [[Int]]) -> Void)? = nil,
                     afterStep: ((DecodingBatch) throws -> Void)? = nil,
                     drafts: (tokens: Int, proposer: DraftProposer)? = nil, draftRowLimit: Int? = nil,
                     statistics: ((DraftStatistics) -> Void)? = nil) throws -> [[[Int]]] {
    require(inputs.count == configs.count, "generate: one config per input")
    var results = [[[Int]]](repeating: [], count: inputs.count)
    var batch = DecodingBatch(model: model)
    if let drafts { batch.proposer = drafts.proposer }
    batch.draftRowLimit = draftRowLimit
    defer { statistics?(batch.draftStatistics) }
    var next = 0
    while next < inputs.count || !batch.isEmpty {
        // continuous batching: top up between steps
        if batch.count < maxBatchSize && next < inputs.count {
            let n = min(maxBatchSize - batch.count, inputs.count - next)
            try batch.add((next..<next + n).map { GenerationRequest(id: $0, inputIds: inputs[$0], config: configs[$0], draftTokens: drafts?.tokens) })
            next += n
        }
        for r in batch.step() {
            results[r.id] = r.sequences
            finished?(r.id, r.sequences)
        }
        try afterStep?(batch)
    }
    return results
}
