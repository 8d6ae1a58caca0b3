// The session modes (harness/scenarios/session_runner.h) on small untrained models: multi-turn
// with a dense cache is a fresh prefill of the same tokens, multi-request's restored snapshot
// continues bit for bit for every mixer, and the per-turn metrics say what each policy keeps.
#include <catch2/catch.hpp>
#include <cmath>

#include "harness/scenarios/session_metrics.h"
#include "harness/scenarios/session_runner.h"
#include "models/mixer_registry.h"
#include "tasks/scenarios/scenario_tasks.h"
#include "tasks/task.h"

using namespace seqbench;

namespace {

std::vector<Session> kv_sessions(int64_t count, int turns = 3) {
  const nlohmann::json params = resolve_task_params(find_task("scbench_kv"), {{"num_records", 6},
                                                                              {"key_tokens", 1},
                                                                              {"value_tokens", 2},
                                                                              {"num_symbols", 16},
                                                                              {"num_turns", turns},
                                                                              {"num_train", 1},
                                                                              {"num_test", count}});
  return scenario_sessions("scbench_kv", params, 3, SessionSplit::test);
}

SequenceModel make_model(const std::string& backend, const std::vector<Session>& sessions) {
  ModelConfig c;
  c.vocab_size = 16 + 2 * 16;
  c.d_model = 16;
  c.n_layers = 2;
  c.n_heads = 2;
  c.mlp_expand = 0;
  c.max_seq_len = static_cast<int>(common_layout(sessions).total());
  c.backend = backend;
  c.seed = 9;
  return SequenceModel(c);
}

SessionRunSettings settings_for(SessionMode mode, const nlohmann::json& policy = "dense", int64_t context = 100) {
  SessionRunSettings s;
  s.mode = mode;
  s.policy = make_kv_policy(policy, context);
  s.batch = 3;
  return s;
}

// The sessions replayed once in `mode` on a fresh model of `backend`: the model as the replay left
// it, every turn's greedy trace, and the sessions' common layout.
struct TracedReplay {
  SequenceModel model;
  GreedyTrace trace;
  SessionLayout layout;
  TracedReplay(const std::string& backend, const std::vector<Session>& sessions, SessionMode mode)
      : model(make_model(backend, sessions)), layout(common_layout(sessions)) {
    run_sessions(model, sessions, settings_for(mode), &trace);
  }
};

std::vector<int32_t> flat_prefix(const std::vector<Session>& sessions, int64_t length) {
  const int64_t L = common_layout(sessions).total();
  std::vector<int32_t> out;
  for (const Session& s : sessions) {
    std::vector<int32_t> inputs(L), labels(L);
    write_flat_session(s, inputs.data(), labels.data());
    out.insert(out.end(), inputs.begin(), inputs.begin() + length);
  }
  return out;
}

double metric(const std::vector<Metric>& metrics, const std::string& name, int64_t turn) {
  for (const Metric& m : metrics)
    if (m.name == name && m.turn == turn) return m.value;
  FAIL("no metric " << name << " at turn " << turn);
  return 0;
}

}  // namespace

TEST_CASE("multi-turn with a dense cache equals a fresh prefill of the same tokens at every turn", "[sessions]") {
  const std::vector<Session> sessions = kv_sessions(4);
  TracedReplay replay("softmax", sessions, SessionMode::multi_turn);
  auto& [model, trace, layout] = replay;
  const int64_t V = model.config().vocab_size, n = static_cast<int64_t>(sessions.size());
  for (int64_t t = 0; t < layout.turns(); ++t) {
    INFO("turn " << t + 1);
    const int64_t length = layout.answer_start(t);
    std::vector<float> logits;
    DecodeState fresh = model.prefill(flat_prefix(sessions, length).data(), n, length, layout.total(), logits);
    REQUIRE(logits.size() == trace.first_logits[t].size());
    for (size_t i = 0; i < logits.size(); ++i) CHECK(trace.first_logits[t][i] == Approx(logits[i]).margin(1e-4));
    // The same greedy answer, decoded from the fresh prefill.
    std::vector<int32_t> token(n);
    for (int64_t i = 0; i < layout.answer[t]; ++i) {
      for (int64_t b = 0; b < n; ++b) {
        token[b] = static_cast<int32_t>(std::max_element(logits.begin() + b * V, logits.begin() + (b + 1) * V) -
                                        (logits.begin() + b * V));
        CHECK(trace.answers[t][b * layout.answer[t] + i] == token[b]);
      }
      model.decode_step(fresh, token.data(), logits);
    }
  }
}

TEST_CASE("single-request's fresh prefill answers the first turn exactly as multi-turn does", "[sessions]") {
  const std::vector<Session> sessions = kv_sessions(3);
  SequenceModel model = make_model("softmax", sessions);
  GreedyTrace multi, single;
  run_sessions(model, sessions, settings_for(SessionMode::multi_turn), &multi);
  run_sessions(model, sessions, settings_for(SessionMode::single_request), &single);
  CHECK(multi.first_logits[0] == single.first_logits[0]);
  CHECK(multi.answers[0] == single.answers[0]);
}

TEST_CASE("multi-request's restored snapshot continues bit for bit for every mixer", "[sessions]") {
  const std::vector<Session> sessions = kv_sessions(2);
  std::vector<std::string> backends{"gla,softmax"};
  for (const MixerInfo& info : mixer_backends()) backends.push_back(info.name);
  for (const std::string& backend : backends) {
    SECTION(backend) {
      TracedReplay replay(backend, sessions, SessionMode::multi_request);
      auto& [model, trace, layout] = replay;
      for (int64_t t = 0; t < layout.turns(); ++t) {
        // A fresh prefill of the context, then the query token by token.
        std::vector<float> logits;
        DecodeState state =
            model.prefill(flat_prefix(sessions, layout.context).data(), 2, layout.context, layout.total(), logits);
        for (int64_t i = 0; i < layout.query[t]; ++i) {
          const int32_t column[2] = {sessions[0].turns[t].query[i], sessions[1].turns[t].query[i]};
          model.decode_step(state, column, logits);
        }
        INFO("turn " << t + 1);
        CHECK(logits == trace.first_logits[t]);
      }
    }
  }
}

TEST_CASE("one-pass answers are the teacher-forced argmax at the answer positions", "[sessions]") {
  const std::vector<Session> sessions = kv_sessions(3);
  TracedReplay replay("softmax", sessions, SessionMode::one_pass);
  auto& [model, trace, layout] = replay;
  const int64_t L = layout.total();
  const TokenDataset data = sessions_to_dataset(sessions, model.config().vocab_size);
  std::vector<int32_t> predictions(data.inputs.size());
  model.predict(data.inputs.data(), data.labels.data(), 3, L, predictions.data());
  const int64_t t = 1, La = layout.answer[t];
  for (int64_t b = 0; b < 3; ++b)
    for (int64_t i = 0; i < La; ++i)
      CHECK(trace.answers[t][b * La + i] == predictions[b * L + layout.answer_start(t) + i - 1]);
}

TEST_CASE("per-turn metrics carry their turn and the session mean at turn 0", "[sessions]") {
  const std::vector<Session> sessions = kv_sessions(4);
  SequenceModel model = make_model("gla,softmax", sessions);
  const SessionRunResult run = run_sessions(model, sessions, settings_for(SessionMode::multi_turn));
  const std::vector<Metric> metrics = session_metrics(run, SessionMode::multi_turn);
  double sum = 0;
  for (int64_t t = 1; t <= 3; ++t) sum += metric(metrics, "answer_exact_match", t);
  CHECK(metric(metrics, "answer_exact_match", 0) == Approx(sum / 3));
  CHECK(metric(metrics, "needle_retained", 2) == 1.0);  // dense keeps every token
  CHECK(metric(metrics, "needle_retained@layer1", 2) == 1.0);
  CHECK(metric(metrics, "context_tokens", 0) == static_cast<double>(sessions[0].context.size()));
  // The hybrid's state: the attention layer's kept keys and values plus the GLA layer's fixed state.
  const double attention_bytes = metric(metrics, "kept_tokens", 1) * 2 * 16 * 4;
  CHECK(metric(metrics, "session_kv_bytes", 1) > attention_bytes);
}

TEST_CASE("StreamingLLM keeps its budget and loses records outside its window", "[sessions]") {
  const std::vector<Session> sessions = kv_sessions(6);
  SequenceModel model = make_model("softmax", sessions);
  const int64_t context = static_cast<int64_t>(sessions[0].context.size());
  const nlohmann::json policy{{"name", "streaming_llm"}, {"budget", 8}, {"sinks", 2}};
  const auto streaming =
      session_metrics(run_sessions(model, sessions, settings_for(SessionMode::multi_request, policy, context)),
                      SessionMode::multi_request);
  const auto dense = session_metrics(run_sessions(model, sessions, settings_for(SessionMode::multi_request)),
                                     SessionMode::multi_request);
  // The shared context keeps 8 tokens; the query (3 tokens) and one decoded token are appended.
  CHECK(metric(streaming, "kept_tokens", 1) == 8 + 3 + 1);
  CHECK(metric(dense, "kept_tokens", 1) == context + 3 + 1);
  CHECK(metric(streaming, "needle_retained", 0) < 0.6);
  CHECK(metric(dense, "needle_retained", 0) == 1.0);
  CHECK(metric(streaming, "session_kv_bytes", 1) < metric(dense, "session_kv_bytes", 1));
}

TEST_CASE("multi-turn rolls decoded tokens back with golden answers and keeps its own otherwise", "[sessions]") {
  const std::vector<Session> sessions = kv_sessions(3);
  SequenceModel model = make_model("softmax", sessions);
  SessionRunSettings golden = settings_for(SessionMode::multi_turn), own = golden;
  own.golden_answers = false;
  GreedyTrace golden_trace, own_trace;
  const auto with_golden =
      session_metrics(run_sessions(model, sessions, golden, &golden_trace), SessionMode::multi_turn);
  const auto with_own = session_metrics(run_sessions(model, sessions, own, &own_trace), SessionMode::multi_turn);
  CHECK(golden_trace.first_logits[0] == own_trace.first_logits[0]);
  // After turn 2 the cache holds the context, both queries and answers (golden: rolled back, then
  // the golden answer appended; own: the decoded tokens and the last answer token): the same count.
  CHECK(metric(with_golden, "kept_tokens", 2) == metric(with_own, "kept_tokens", 2));
  CHECK(metric(with_golden, "restore_ms", 1) > 0);
  CHECK(metric(with_own, "restore_ms", 1) == 0);
}
