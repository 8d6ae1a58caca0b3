// The session modes (session_runner.h), after SCBench's GreedySearch.test and test_scdq
// (scbench/eval_utils.py): greedy decoding of each answer, decoded tokens rolled back in
// multi-turn mode with golden answers, one shared prefill restored per query in multi-request mode.
#include "harness/scenarios/session_runner.h"

#include <algorithm>
#include <cmath>
#include <functional>
#include <stdexcept>

#include "harness/interrupt.h"
#include "harness/timer.h"
#include "mixers/softmax/kv_policies/policy_kv_cache.h"
#include "mixers/softmax/softmax_attention_mixer.h"
#include "models/short_conv_wrapper.h"
#include "ops/device_memory.h"

namespace seqbench {
namespace {

int32_t argmax(const float* row, int64_t n) { return static_cast<int32_t>(std::max_element(row, row + n) - row); }

// A softmax layer, bare or behind a short convolution (whose cache then holds the attention's).
const SoftmaxAttentionMixer* softmax_layer(const Mixer* mixer) {
  if (auto* wrapper = dynamic_cast<const ShortConvWrapper*>(mixer)) mixer = &wrapper->inner();
  return dynamic_cast<const SoftmaxAttentionMixer*>(mixer);
}

// The layer's policy cache, when it has one.
PolicyKVCache* policy_cache(MixerCache* cache) {
  if (auto* conv = dynamic_cast<ShortConvCache*>(cache)) cache = conv->inner.get();
  return dynamic_cast<PolicyKVCache*>(cache);
}

// One batch of sessions run turn by turn in lockstep.
class BatchRun {
 public:
  BatchRun(SequenceModel& model, const std::vector<Session>& sessions, const SessionRunSettings& settings,
           SessionRunResult& result, GreedyTrace* trace)
      : model_(model),
        sessions_(sessions),
        s_(settings),
        result_(result),
        trace_(trace),
        B_(static_cast<int64_t>(sessions.size())),
        layout_(common_layout(sessions)),
        device_(model.config().device),
        vocab_(model.config().vocab_size) {}

  void run() {
    switch (s_.mode) {
      case SessionMode::multi_turn:
        return multi_turn();
      case SessionMode::multi_request:
        return multi_request();
      case SessionMode::single_request:
        return single_request();
      case SessionMode::one_pass:
        return one_pass();
    }
  }

 private:
  // ---- tokens of the batch ----
  std::vector<int32_t> rows(const std::function<std::vector<int32_t>(const Session&)>& part) const {
    std::vector<int32_t> out;
    for (const Session& s : sessions_) {
      const std::vector<int32_t> p = part(s);
      out.insert(out.end(), p.begin(), p.end());
    }
    return out;
  }
  std::vector<int32_t> context_and_query(int64_t t) const {
    return rows([t](const Session& s) {
      std::vector<int32_t> p = s.context;
      p.insert(p.end(), s.turns[t].query.begin(), s.turns[t].query.end());
      return p;
    });
  }

  // ---- caches ----
  DecodeState fresh_state() const {
    DecodeState state;
    state.batch = B_;
    const std::vector<Mixer*> mixers = model_.mixers();
    int attention_layers = 0, ordinal = 0;
    for (const Mixer* m : mixers) attention_layers += softmax_layer(m) != nullptr;
    const std::shared_ptr<const KvPolicy> policy = s_.policy ? s_.policy : make_kv_policy("dense", 1);
    for (const Mixer* m : mixers) {
      std::unique_ptr<MixerCache> cache = m->make_cache(static_cast<int>(B_), static_cast<int>(layout_.total()));
      if (const SoftmaxAttentionMixer* attention = softmax_layer(m)) {
        const PolicyCacheShape shape{B_, layout_.total(), attention->spec().n_heads, attention->spec().head_dim(),
                                     device_};
        auto managed = std::make_unique<PolicyKVCache>(policy, shape, ordinal++, attention_layers, s_.every_turn);
        if (auto* conv = dynamic_cast<ShortConvCache*>(cache.get()))
          conv->inner = std::move(managed);
        else
          cache = std::move(managed);
      }
      state.caches.push_back(std::move(cache));
    }
    return state;
  }
  static std::vector<PolicyKVCache*> policy_caches(const DecodeState& state) {
    std::vector<PolicyKVCache*> out;
    for (const auto& cache : state.caches)
      if (PolicyKVCache* p = policy_cache(cache.get())) out.push_back(p);
    return out;
  }
  DecodeState snapshot(const DecodeState& state, TurnTotals& turn) const {
    auto timer = make_timer(device_, s_.clock);
    timer->start();
    DecodeState copy;
    copy.batch = state.batch;
    copy.position = state.position;
    for (const auto& cache : state.caches) copy.caches.push_back(cache->clone());
    turn.restore_ms += timer->stop_ms();
    return copy;
  }

  // ---- phases, each timed into the turn ----
  std::vector<float> prefill(DecodeState& state, const std::vector<int32_t>& tokens, double& ms) {
    auto timer = make_timer(device_, s_.clock);
    std::vector<float> logits;
    timer->start();
    model_.prefill(state, tokens.data(), static_cast<int64_t>(tokens.size()) / B_, logits);
    ms += timer->stop_ms();
    return logits;
  }
  void compress(DecodeState& state, double& ms) {
    auto timer = make_timer(device_, s_.clock);
    timer->start();
    for (PolicyKVCache* cache : policy_caches(state)) cache->compress();
    ms += timer->stop_ms();
  }
  // Appends tokens [B, n] one step each (a turn's new tokens); returns the last step's logits.
  std::vector<float> feed(DecodeState& state, const std::vector<int32_t>& tokens, TurnTotals& turn) {
    const int64_t n = static_cast<int64_t>(tokens.size()) / B_;
    for (PolicyKVCache* cache : policy_caches(state)) cache->begin_turn_prefill(n);
    auto timer = make_timer(device_, s_.clock);
    std::vector<float> logits;
    std::vector<int32_t> column(static_cast<size_t>(B_));
    timer->start();
    for (int64_t i = 0; i < n; ++i) {
      for (int64_t b = 0; b < B_; ++b) column[b] = tokens[b * n + i];
      model_.decode_step(state, column.data(), logits);
    }
    turn.prefill_ms += timer->stop_ms();
    if (s_.every_turn) compress(state, turn.compress_ms);
    return logits;
  }
  // Greedy answers [B, La] from the logits after the query; La - 1 decode steps.
  std::vector<int32_t> generate(DecodeState& state, std::vector<float> logits, int64_t t, TurnTotals& turn) {
    const int64_t La = layout_.answer[t];
    if (trace_) trace_->first_logits[t].insert(trace_->first_logits[t].end(), logits.begin(), logits.end());
    for (PolicyKVCache* cache : policy_caches(state)) cache->begin_decoding();
    std::vector<int32_t> answers(static_cast<size_t>(B_ * La)), column(static_cast<size_t>(B_));
    auto timer = make_timer(device_, s_.clock);
    timer->start();
    for (int64_t i = 0; i < La; ++i) {
      for (int64_t b = 0; b < B_; ++b) answers[b * La + i] = column[b] = argmax(logits.data() + b * vocab_, vocab_);
      if (i + 1 < La) model_.decode_step(state, column.data(), logits);
    }
    turn.decode_ms += timer->stop_ms();
    turn.decode_steps += La - 1;
    return answers;
  }

  // ---- measurements ----
  void score(const std::vector<int32_t>& answers, int64_t t, TurnTotals& turn) const {
    const int64_t La = layout_.answer[t];
    for (int64_t b = 0; b < B_; ++b) {
      int64_t right = 0;
      for (int64_t i = 0; i < La; ++i) right += answers[b * La + i] == sessions_[b].turns[t].answer[i];
      turn.tokens_right += static_cast<double>(right);
      turn.tokens += static_cast<double>(La);
      turn.exact += right == La;
    }
    turn.sessions += B_;
    if (trace_) trace_->answers[t].insert(trace_->answers[t].end(), answers.begin(), answers.end());
  }
  void measure_cache(const DecodeState& state, int64_t t, TurnTotals& turn) const {
    const std::vector<Mixer*> mixers = model_.mixers();
    const std::vector<PolicyKVCache*> attention = policy_caches(state);
    double bytes = 0, kept = 0;
    for (size_t i = 0; i < mixers.size(); ++i) {
      if (PolicyKVCache* p = policy_cache(state.caches[i].get())) {
        bytes += p->bytes_per_sequence();
        kept += static_cast<double>(p->kept_tokens());
        if (auto* conv = dynamic_cast<const ShortConvCache*>(state.caches[i].get()))
          bytes += static_cast<double>(conv->conv_state.bytes()) / static_cast<double>(B_);
      } else {
        bytes += static_cast<double>(mixers[i]->state_bytes(state.caches[i]->position));
      }
    }
    turn.kv_bytes += bytes * static_cast<double>(B_);
    if (!attention.empty()) turn.kept_tokens += kept / static_cast<double>(attention.size()) * static_cast<double>(B_);
    turn.retained_by_layer.resize(attention.size(), 0.0);
    turn.retained_by_depth.resize(kDepthBins, 0.0);
    turn.sessions_by_depth.resize(kDepthBins, 0.0);
    for (int64_t b = 0; b < B_; ++b) {
      const std::vector<int32_t>& needle = sessions_[b].turns[t].needle;
      if (attention.empty() || needle.empty()) continue;
      double mean = 0;
      for (size_t l = 0; l < attention.size(); ++l) {
        const double r = attention[l]->retained_fraction(b, needle);
        turn.retained_by_layer[l] += r;
        mean += r / static_cast<double>(attention.size());
      }
      // The record's depth: where its last token sits in the context, in tenths.
      const double depth = static_cast<double>(*std::max_element(needle.begin(), needle.end()) + 1) /
                           static_cast<double>(layout_.context);
      const int bin = std::min(kDepthBins - 1, std::max(0, static_cast<int>(std::ceil(depth * kDepthBins)) - 1));
      turn.retained_by_depth[bin] += mean;
      turn.sessions_by_depth[bin] += 1;
    }
  }
  TurnTotals& start_turn(int64_t t) {
    throw_if_interrupted();
    reset_peak_memory(device_);
    ++result_.turns[t].batches;
    return result_.turns[t];
  }
  void end_turn(TurnTotals& turn) const {
    turn.peak_bytes = std::max(turn.peak_bytes, static_cast<double>(memory_counters(device_).peak_bytes));
  }

  // ---- modes ----
  void multi_turn() {
    DecodeState state = fresh_state();
    std::vector<int32_t> previous;  // the model's own last answers, when golden answers are off
    for (int64_t t = 0; t < layout_.turns(); ++t) {
      TurnTotals& turn = start_turn(t);
      std::vector<float> logits;
      if (t == 0) {
        logits = prefill(state, context_and_query(0), turn.prefill_ms);  // SCBench's first prompt: context + query 1
        compress(state, turn.compress_ms);
      } else {
        // The next prompt: the previous answer (golden, or the model's last token: its others are in
        // the cache already) and the query.
        const int64_t La = layout_.answer[t - 1];
        logits = feed(state, rows([&, t](const Session& s) {
                        std::vector<int32_t> p;
                        if (s_.golden_answers)
                          p = s.turns[t - 1].answer;
                        else
                          p.push_back(previous[(&s - sessions_.data()) * La + La - 1]);
                        p.insert(p.end(), s.turns[t].query.begin(), s.turns[t].query.end());
                        return p;
                      }),
                      turn);
      }
      // Golden answers: what is decoded is rolled back (eval_utils.py, global_kv_update_mode(False)).
      DecodeState before = s_.golden_answers ? snapshot(state, turn) : DecodeState{};
      previous = generate(state, logits, t, turn);
      score(previous, t, turn);
      measure_cache(state, t, turn);
      if (s_.golden_answers) {
        auto timer = make_timer(device_, s_.clock);
        timer->start();
        state = std::move(before);
        turn.restore_ms += timer->stop_ms();
      }
      end_turn(turn);
    }
  }

  void multi_request() {
    reset_peak_memory(device_);
    DecodeState shared = fresh_state();
    prefill(shared, rows([](const Session& s) { return s.context; }), result_.context_prefill_ms);
    compress(shared, result_.context_prefill_ms);
    for (int64_t t = 0; t < layout_.turns(); ++t) {
      TurnTotals& turn = start_turn(t);
      DecodeState state = snapshot(shared, turn);
      std::vector<float> logits = feed(state, rows([t](const Session& s) { return s.turns[t].query; }), turn);
      score(generate(state, logits, t, turn), t, turn);
      measure_cache(state, t, turn);
      end_turn(turn);
    }
  }

  void single_request() {
    for (int64_t t = 0; t < layout_.turns(); ++t) {
      TurnTotals& turn = start_turn(t);
      DecodeState state = fresh_state();
      std::vector<float> logits = prefill(state, context_and_query(t), turn.prefill_ms);
      compress(state, turn.compress_ms);
      score(generate(state, logits, t, turn), t, turn);
      measure_cache(state, t, turn);
      end_turn(turn);
    }
  }

  // The flat session in one forward, teacher-forced: the answers are the argmax at the labels.
  void one_pass() {
    const int64_t L = layout_.total();
    std::vector<int32_t> inputs(static_cast<size_t>(B_ * L)), labels(inputs.size()), predictions(inputs.size());
    for (int64_t b = 0; b < B_; ++b) write_flat_session(sessions_[b], inputs.data() + b * L, labels.data() + b * L);
    reset_peak_memory(device_);
    auto timer = make_timer(device_, s_.clock);
    timer->start();
    model_.predict(inputs.data(), labels.data(), B_, L, predictions.data());
    result_.context_prefill_ms += timer->stop_ms();
    for (int64_t t = 0; t < layout_.turns(); ++t) {
      TurnTotals& turn = result_.turns[t];
      ++turn.batches;
      const int64_t La = layout_.answer[t], first = layout_.answer_start(t);
      std::vector<int32_t> answers(static_cast<size_t>(B_ * La));
      for (int64_t b = 0; b < B_; ++b)
        for (int64_t i = 0; i < La; ++i) answers[b * La + i] = predictions[b * L + first + i - 1];
      score(answers, t, turn);
      end_turn(turn);
    }
  }

  SequenceModel& model_;
  const std::vector<Session>& sessions_;
  const SessionRunSettings& s_;
  SessionRunResult& result_;
  GreedyTrace* trace_;
  const int64_t B_;
  const SessionLayout layout_;
  const Device device_;
  const int64_t vocab_;
};

}  // namespace

SessionRunResult run_sessions(SequenceModel& model, const std::vector<Session>& sessions,
                              const SessionRunSettings& settings, GreedyTrace* trace) {
  const SessionLayout layout = common_layout(sessions);
  if (layout.total() > model.config().max_seq_len)
    throw std::invalid_argument("sessions of " + std::to_string(layout.total()) + " tokens do not fit the model's " +
                                std::to_string(model.config().max_seq_len) + " positions");
  if (settings.batch < 1)
    throw std::invalid_argument("session batch must be >= 1, got " + std::to_string(settings.batch));
  SessionRunResult result;
  result.turns.resize(static_cast<size_t>(layout.turns()));
  result.context_tokens = layout.context;
  for (const Mixer* m : model.mixers()) result.attention_layers += softmax_layer(m) != nullptr;
  if (trace) {
    trace->first_logits.assign(static_cast<size_t>(layout.turns()), {});
    trace->answers.assign(static_cast<size_t>(layout.turns()), {});
  }
  for (size_t first = 0; first < sessions.size(); first += static_cast<size_t>(settings.batch)) {
    const size_t last = std::min(sessions.size(), first + static_cast<size_t>(settings.batch));
    const std::vector<Session> batch(sessions.begin() + first, sessions.begin() + last);
    BatchRun(model, batch, settings, result, trace).run();
  }
  return result;
}

}  // namespace seqbench
