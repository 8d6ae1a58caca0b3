// Outside predictions are matched to examples by id, never by line order; an export says what
// its ids and tokens are.
#include <algorithm>
#include <catch2/catch.hpp>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "cli_harness.h"
#include "datasets/dataset_export.h"
#include "datasets/predictions_jsonl.h"
#include "datasets/word_vocabulary.h"
#include "ops/rng.h"
#include "tasks/split_export.h"
#include "tasks/task.h"
#include "tests/invalid_argument_message.h"

using Catch::Matchers::Contains;
using nlohmann::json;
using namespace seqbench;
using namespace seqbench::testing;

namespace {

std::string line(const std::string& id, const std::vector<int32_t>& row) {
  return json{{"id", id}, {"predictions", row}}.dump() + "\n";
}

std::vector<int32_t> read(const std::string& text, int64_t num_examples, int64_t seq_len) {
  std::istringstream in(text);
  return seqbench::read_predictions_by_id(in, "test", num_examples, seq_len, "p.jsonl");
}

std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream in(text);
  for (std::string l; std::getline(in, l);) out.push_back(l + "\n");
  return out;
}

std::string joined(const std::vector<std::string>& lines) {
  std::string out;
  for (const auto& l : lines) out += l;
  return out;
}

// The file's lines in a fixed random order (seed 5), never the original one.
std::string shuffled(const std::string& text) {
  std::vector<std::string> lines = lines_of(text);
  seqbench::Rng rng(5);
  const std::vector<std::string> original = lines;
  while (lines == original)
    for (size_t i = lines.size() - 1; i > 0; --i)
      std::swap(lines[i], lines[static_cast<size_t>(rng.uniform_int(0, i + 1))]);
  return joined(lines);
}

json read_json(const std::string& path) {
  std::ifstream in(path);
  return json::parse(in);
}

}  // namespace

TEST_CASE("prediction lines are put in example order by their ids, whatever the file order") {
  const std::string in_order = line("test-0", {1, 2}) + line("test-1", {3, 4}) + line("test-2", {5, 6});
  const std::string reordered = line("test-2", {5, 6}) + "\n" + line("test-0", {1, 2}) + line("test-1", {3, 4});
  CHECK(read(in_order, 3, 2) == std::vector<int32_t>{1, 2, 3, 4, 5, 6});
  CHECK(read(reordered, 3, 2) == std::vector<int32_t>{1, 2, 3, 4, 5, 6});
}

TEST_CASE("a missing id and an extra id are both reported, by id") {
  const std::string text = line("test-0", {1}) + line("test-1", {1}) + line("test-3", {1}) + line("test-9", {1});
  const std::string message = error_of([&] { read(text, 4, 1); });
  CHECK_THAT(message, Contains("p.jsonl: predictions do not match split 'test' (4 examples, ids test-0 .. test-3)") &&
                          Contains("1 missing: test-2") && Contains("1 not in the split: test-9"));
  // Another split's ids, and ids not written the way the export writes them, are not this split's.
  CHECK_THAT(error_of([&] { read(line("valid-0", {1}) + line("test-01", {1}), 1, 1); }),
             Contains("1 missing: test-0") && Contains("2 not in the split: valid-0, test-01"));
}

TEST_CASE("a long list of missing ids shows five and counts the rest") {
  const std::string message = error_of([&] { read(line("test-3", {1}), 9, 1); });
  CHECK_THAT(message, Contains("8 missing: test-0, test-1, test-2, test-4, test-5 and 3 more"));
  CHECK_THAT(message, !Contains("not in the split"));
}

TEST_CASE("malformed prediction lines are errors naming the line and the id") {
  CHECK_THAT(error_of([&] { read(line("test-0", {1}) + line("test-0", {2}), 1, 1); }),
             Contains("p.jsonl:2: id 'test-0' again (first at p.jsonl:1)"));
  CHECK_THAT(error_of([&] { read("{\"predictions\":[1]}\n", 1, 1); }),
             Contains("p.jsonl:1: expected a string \"id\"") && Contains("got none"));
  CHECK_THAT(error_of([&] { read("{\"id\":0,\"predictions\":[1]}\n", 1, 1); }), Contains("got 0"));
  CHECK_THAT(error_of([&] {
               read(line("test-0", {1, 2}), 1, 3);
             }),
             Contains("p.jsonl:1: 2 predictions for 'test-0', expected seq_len 3"));
  CHECK_THAT(error_of([&] { read("{\"id\":\"test-0\",\"pred\":[1]}\n", 1, 1); }), Contains("\"predictions\""));
  CHECK_THAT(error_of([&] { read("{\"id\":\"test-0\",\n", 1, 1); }), Contains("p.jsonl:1: not valid JSON"));
}

TEST_CASE("seqbench score gives the same score for the same predictions in another order") {
  TempDir dir;
  const json params = {{"min_contexts", 2}, {"max_contexts", 3}, {"min_keys", 2},
                       {"max_keys", 4},     {"num_train", 4},    {"num_test", 12}};
  const seqbench::TaskInstance task = seqbench::build_task("joint_recall", params, 3);
  const TokenDataset& test = task.tests[0].data;
  // Right on even examples, wrong everywhere on odd ones: an order mix-up would change the score.
  std::vector<int32_t> predictions(test.labels);
  for (int64_t i = 0; i < test.num_examples; ++i)
    for (int64_t t = 0; t < test.seq_len; ++t) {
      int32_t& p = predictions[i * test.seq_len + t];
      p = p == seqbench::kIgnoreLabel ? 0 : (i % 2 == 0 ? p : 0);
    }
  std::ostringstream text;
  seqbench::write_predictions_jsonl(predictions, test.seq_len, "test", text);
  const std::string common = "score --task joint_recall --params-json '" + params.dump() + "' --seed 3 --format json";
  auto in_order = run_seqbench(common + " --predictions " + dir.write("a.jsonl", text.str()));
  auto reordered = run_seqbench(common + " --predictions " + dir.write("b.jsonl", shuffled(text.str())));
  INFO(in_order.output << reordered.output);
  REQUIRE(in_order.exit_code == 0);
  REQUIRE(reordered.exit_code == 0);
  const json a = json::parse(in_order.output), b = json::parse(reordered.output);
  CHECK(a["exact_match"].get<double>() == Approx(0.5));
  CHECK(a["mean_example_accuracy"].get<double>() == Approx(0.5));
  CHECK(a["accuracy"] == b["accuracy"]);
  CHECK(a["exact_match"] == b["exact_match"]);
  CHECK(a["mean_example_accuracy"] == b["mean_example_accuracy"]);

  std::vector<std::string> lines = lines_of(text.str());
  lines.erase(lines.begin() + 4);                                           // test-4 missing
  lines.push_back(line("test-12", std::vector<int32_t>(test.seq_len, 0)));  // one past the end
  auto mismatched = run_seqbench(common + " --predictions " + dir.write("c.jsonl", joined(lines)));
  CHECK(mismatched.exit_code == 2);
  CHECK_THAT(mismatched.output, Contains("1 missing: test-4") && Contains("1 not in the split: test-12"));
  auto other_split = run_seqbench(common + " --split valid --predictions " + dir.file("a.jsonl"));
  CHECK(other_split.exit_code == 2);
  CHECK_THAT(other_split.output, Contains("12 missing: valid-0") && Contains("12 not in the split: test-0"));
}

TEST_CASE("an export carries ids and a description that is enough to score it") {
  TempDir dir;
  const json params = {{"min_contexts", 2}, {"max_contexts", 2}, {"min_keys", 3}, {"max_keys", 3},
                       {"num_values", 4},   {"num_train", 3},    {"num_test", 5}};
  auto exported = run_seqbench("dataset export --task joint_recall --params-json '" + params.dump() +
                               "' --seed 2 --split valid -o " + dir.file("jr.jsonl"));
  INFO(exported.output);
  REQUIRE(exported.exit_code == 0);
  CHECK_THAT(exported.output, Contains("jr.jsonl.meta.json"));
  const std::vector<std::string> lines = lines_of([&] {
    std::ifstream in(dir.file("jr.jsonl"));
    return std::string(std::istreambuf_iterator<char>(in), {});
  }());
  REQUIRE(lines.size() == 5);
  CHECK(json::parse(lines[0])["id"] == "valid-0");
  CHECK(json::parse(lines[4])["id"] == "valid-4");

  const json meta = read_json(dir.file("jr.jsonl.meta.json"));
  CHECK(meta["task"] == "joint_recall");
  CHECK(meta["split"] == "valid");
  CHECK(meta["seed"] == 2);
  CHECK(meta["data_file"] == "jr.jsonl");
  CHECK(meta["ids"] == "valid-0 .. valid-4");
  CHECK(meta["seq_len"] == 2 * 2 * 7 + 1);
  CHECK(meta["vocab_size"] == 100);
  CHECK(meta["params"]["num_valid"] == 5);
  // Numeric tokens: the role of each id range and the special ids.
  const json& vocabulary = meta["vocabulary"];
  CHECK(vocabulary["kind"] == "ids");
  CHECK(vocabulary["ranges"] == json::parse(R"([{"role": "value", "first": 10, "last": 13},
                                                 {"role": "key", "first": 14, "last": 16},
                                                 {"role": "context", "first": 17, "last": 18}])"));
  CHECK(vocabulary["special"] == json{{"BOS", 1}, {"PAD", 3}, {"SEP", 4}});

  // The description's task, params, seed and split regenerate the split for scoring.
  const TokenDataset data = seqbench::read_dataset_file(dir.file("jr.jsonl"), "jsonl");
  std::ostringstream perfect;
  seqbench::write_predictions_jsonl(data.labels, data.seq_len, "valid", perfect);
  auto scored =
      run_seqbench("score --task " + meta["task"].get<std::string>() + " --params-json '" + meta["params"].dump() +
                   "' --seed 2 --split valid --predictions " + dir.write("p.jsonl", shuffled(perfect.str())));
  INFO(scored.output);
  REQUIRE(scored.exit_code == 0);
  CHECK_THAT(scored.output, Contains("accuracy     1.0000") && Contains("5 scored examples"));
}

TEST_CASE("a word-token export lists every token string, and a binary one its ids in the description") {
  TempDir dir;
  auto exported = run_seqbench("dataset export --task passkey --param seq_len=80 --param num_test=3 --format bin -o " +
                               dir.file("pk.bin"));
  INFO(exported.output);
  REQUIRE(exported.exit_code == 0);
  const json meta = read_json(dir.file("pk.bin.meta.json"));
  CHECK(meta["data_format"] == "bin");
  CHECK(meta["ids"] == "test-0 .. test-2");
  CHECK(meta["vocabulary"]["kind"] == "words");
  CHECK(meta["vocabulary"]["tokens"] == json(seqbench::word_vocabulary()));
  CHECK(meta["vocabulary"]["size"] == meta["vocab_size"]);
  CHECK(meta["vocabulary"]["tokens"][seqbench::digit_token(7)] == "7");

  const seqbench::TaskInstance mqar = seqbench::build_task("mqar", {{"vocab_size", 100}, {"num_train", 1}}, 0);
  const json described = seqbench::split_description(mqar, "train", mqar.train, 0, "dir/m.jsonl", "jsonl");
  CHECK(described["vocabulary"]["ranges"] ==
        json::parse(R"([{"role": "key", "first": 1, "last": 49}, {"role": "value", "first": 50, "last": 99}])"));
  CHECK_THAT(described["vocabulary"]["note"].get<std::string>(), Contains("uniform random ids in [0, 100)"));
  CHECK(described["data_file"] == "m.jsonl");
}
