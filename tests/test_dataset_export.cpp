#include <catch2/catch.hpp>
#include <functional>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

#include "cli_harness.h"
#include "datasets/dataset_export.h"
#include "datasets/predictions_jsonl.h"
#include "tasks/task.h"
#include "tests/invalid_argument_message.h"

using Catch::Matchers::Contains;
using nlohmann::json;
using namespace seqbench;
using namespace seqbench::testing;

namespace {

TokenDataset small_dataset(int64_t examples, int64_t seq_len, int32_t vocab) {
  TokenDataset data;
  data.num_examples = examples;
  data.seq_len = seq_len;
  data.vocab_size = vocab;
  for (int64_t i = 0; i < examples * seq_len; ++i) {
    data.inputs.push_back(static_cast<int32_t>((i * 7919) % vocab));
    data.labels.push_back(i % 3 == 0 ? static_cast<int32_t>((i * 31) % vocab) : seqbench::kIgnoreLabel);
  }
  return data;
}

void require_same_tokens(const TokenDataset& a, const TokenDataset& b) {
  REQUIRE(a.num_examples == b.num_examples);
  REQUIRE(a.seq_len == b.seq_len);
  CHECK(a.inputs == b.inputs);
  CHECK(a.labels == b.labels);
}

// Predictions equal to the labels where there are labels (0 elsewhere), one JSON line per example.
std::string perfect_predictions(const TokenDataset& data, const std::string& split) {
  std::vector<int32_t> predictions(data.labels);
  for (auto& p : predictions) p = p == seqbench::kIgnoreLabel ? 0 : p;
  std::ostringstream out;
  seqbench::write_predictions_jsonl(predictions, data.seq_len, split, out);
  return out.str();
}

}  // namespace

TEST_CASE("a dataset survives a JSONL round trip, odd sizes included") {
  for (auto [examples, seq_len] : {std::pair<int64_t, int64_t>{1, 1}, {3, 7}, {13, 31}}) {
    INFO(examples << " x " << seq_len);
    const TokenDataset data = small_dataset(examples, seq_len, 97);
    std::stringstream buffer;
    seqbench::write_dataset_jsonl(data, "valid", buffer);
    const TokenDataset back = seqbench::read_dataset_jsonl(buffer, "memory");
    require_same_tokens(data, back);
    CHECK(back.vocab_size == 0);  // JSONL does not carry it
  }
  const json first = json::parse([] {
    std::stringstream b;
    seqbench::write_dataset_jsonl(small_dataset(2, 3, 11), "len512", b);
    std::string line;
    std::getline(b, line);
    return line;
  }());
  CHECK(first["id"] == "len512-0");
  CHECK(first["inputs"].size() == 3);
  CHECK(first["labels"][1] == -100);
}

TEST_CASE("a dataset survives a binary round trip with its vocabulary size") {
  for (auto [examples, seq_len] : {std::pair<int64_t, int64_t>{0, 5}, {1, 1}, {5, 17}}) {
    INFO(examples << " x " << seq_len);
    const TokenDataset data = small_dataset(examples, seq_len, 1031);
    std::stringstream buffer;
    seqbench::write_dataset_binary(data, buffer);
    CHECK(buffer.str().size() == 32 + 2 * 4 * static_cast<size_t>(examples * seq_len));
    const TokenDataset back = seqbench::read_dataset_binary(buffer, "memory");
    require_same_tokens(data, back);
    CHECK(back.vocab_size == 1031);
  }
}

TEST_CASE("the binary header is little-endian SQBT, version 1") {
  std::stringstream buffer;
  seqbench::write_dataset_binary(small_dataset(2, 3, 258), buffer);
  const std::string bytes = buffer.str();
  CHECK(bytes.substr(0, 4) == "SQBT");
  CHECK(bytes.substr(4, 4) == std::string("\x01\x00\x00\x00", 4));
  CHECK(bytes.substr(8, 8) == std::string("\x02\0\0\0\0\0\0\0", 8));
  CHECK(bytes.substr(16, 8) == std::string("\x03\0\0\0\0\0\0\0", 8));
  CHECK(bytes.substr(24, 4) == std::string("\x02\x01\x00\x00", 4));  // 258
  // The first label (-100 or a token) follows the six inputs.
  CHECK(bytes.substr(32 + 24, 4) == std::string("\x00\x00\x00\x00", 4));
  CHECK(bytes.substr(32 + 28, 4) == std::string("\x9c\xff\xff\xff", 4));  // -100
}

TEST_CASE("corrupt files are errors naming the file and the problem") {
  std::stringstream good;
  seqbench::write_dataset_binary(small_dataset(2, 3, 10), good);
  std::string bytes = good.str();
  std::stringstream truncated(bytes.substr(0, bytes.size() - 1));
  CHECK_THAT(error_of([&] { seqbench::read_dataset_binary(truncated, "d.bin"); }),
             Contains("d.bin") && Contains("truncated"));
  std::stringstream wrong_magic("XXXX" + bytes.substr(4));
  CHECK_THAT(error_of([&] { seqbench::read_dataset_binary(wrong_magic, "d.bin"); }), Contains("magic"));
  std::string newer = bytes;
  newer[4] = 2;
  std::stringstream newer_stream(newer);
  CHECK_THAT(error_of([&] { seqbench::read_dataset_binary(newer_stream, "d.bin"); }), Contains("version 2"));
  std::stringstream header_only(bytes.substr(0, 10));
  CHECK_THAT(error_of([&] { seqbench::read_dataset_binary(header_only, "d.bin"); }), Contains("header"));

  std::stringstream ragged("{\"inputs\":[1,2],\"labels\":[3,4]}\n{\"inputs\":[1],\"labels\":[3]}\n");
  CHECK_THAT(error_of([&] { seqbench::read_dataset_jsonl(ragged, "d.jsonl"); }),
             Contains("d.jsonl:2") && Contains("length 1"));
  std::stringstream broken("{\"inputs\":[1,2],\"labels\":[3,4]}\nnot json\n");
  CHECK_THAT(error_of([&] { seqbench::read_dataset_jsonl(broken, "d.jsonl"); }), Contains("d.jsonl:2"));
  CHECK_THAT(error_of([] { seqbench::read_dataset_file("/nonexistent/x.bin", "bin"); }),
             Contains("/nonexistent/x.bin"));
  CHECK_THAT(error_of([] { seqbench::write_dataset_file(TokenDataset{}, "test", "/tmp/x", "csv"); }),
             Contains("'csv'"));
}

TEST_CASE("seqbench dataset export writes the task's split in both formats") {
  TempDir dir;
  const json params = {{"seq_len", 90}, {"num_train", 5}, {"num_test", 4}, {"depth", 0.25}, {"test_lengths", {120}}};
  const seqbench::TaskInstance task = seqbench::build_task("passkey", params, 7);
  const std::string common =
      "--task passkey --param seq_len=90 --param num_train=5 --param depth=0.25 "
      "--params-json '{\"num_test\": 4, \"test_lengths\": [120]}' --seed 7";

  auto jsonl = run_seqbench("dataset export " + common + " --split test --format jsonl -o " + dir.file("t.jsonl"));
  INFO(jsonl.output);
  REQUIRE(jsonl.exit_code == 0);
  require_same_tokens(seqbench::read_dataset_file(dir.file("t.jsonl"), "jsonl"), task.tests[0].data);

  auto bin = run_seqbench("dataset export " + common + " --split train --format bin -o " + dir.file("t.bin"));
  REQUIRE(bin.exit_code == 0);
  const TokenDataset train = seqbench::read_dataset_file(dir.file("t.bin"), "bin");
  require_same_tokens(train, task.train);
  CHECK(train.vocab_size == task.vocab_size);

  auto longer = run_seqbench("dataset export " + common + " --split len120 --format bin -o " + dir.file("l.bin"));
  REQUIRE(longer.exit_code == 0);
  CHECK(seqbench::read_dataset_file(dir.file("l.bin"), "bin").seq_len == 120);

  auto valid = run_seqbench("dataset export " + common + " --split valid --format bin -o " + dir.file("v.bin"));
  REQUIRE(valid.exit_code == 0);
  require_same_tokens(seqbench::read_dataset_file(dir.file("v.bin"), "bin"), task.valid);

  auto bad_split = run_seqbench("dataset export " + common + " --split len999 -o " + dir.file("x"));
  CHECK(bad_split.exit_code == 2);
  CHECK_THAT(bad_split.output, Contains("no split 'len999'") && Contains("train, valid, test, len120"));
  auto empty_split = run_seqbench("dataset export --task passkey --param num_valid=0 --split test -o " + dir.file("x"));
  CHECK(empty_split.exit_code == 2);
  CHECK_THAT(empty_split.output, Contains("'num_valid' must be >= 1"));
  auto bad_param = run_seqbench("dataset export --task passkey --param depht=0.5 -o " + dir.file("x"));
  CHECK(bad_param.exit_code == 2);
  CHECK_THAT(bad_param.output, Contains("'depht'"));
  auto bad_flag = run_seqbench("dataset export --task passkey --param depth -o " + dir.file("x"));
  CHECK(bad_flag.exit_code == 2);
  CHECK_THAT(bad_flag.output, Contains("key=value"));
}

TEST_CASE("seqbench score scores outside predictions against the regenerated split") {
  TempDir dir;
  const json params = {{"layout", "mqar"}, {"vocab_size", 256}, {"seq_len", 64}, {"num_train", 3}, {"num_test", 9}};
  const seqbench::TaskInstance task = seqbench::build_task("joint_recall", params, 4);
  const TokenDataset& test = task.tests[0].data;
  const std::string common = "--task joint_recall --params-json '" + params.dump() + "' --seed 4";

  const std::string perfect = dir.write("perfect.jsonl", perfect_predictions(test, "test"));
  auto text = run_seqbench("score " + common + " --predictions " + perfect);
  INFO(text.output);
  REQUIRE(text.exit_code == 0);
  CHECK_THAT(text.output,
             Contains("accuracy     1.0000") && Contains("exact_match  1.0000") && Contains("9 scored examples"));

  // Spoil the first labelled position of the first example: one of 72 positions, one of 9 examples.
  std::vector<int32_t> predictions(test.labels);
  for (auto& p : predictions) p = p == seqbench::kIgnoreLabel ? 0 : p;
  for (int64_t t = 0; t < test.seq_len; ++t)
    if (test.labels[t] != seqbench::kIgnoreLabel) {
      predictions[t] = 0;
      break;
    }
  std::ostringstream spoiled;
  seqbench::write_predictions_jsonl(predictions, test.seq_len, "test", spoiled);
  auto json_run =
      run_seqbench("score " + common + " --format json --predictions " + dir.write("one.jsonl", spoiled.str()));
  REQUIRE(json_run.exit_code == 0);
  const json doc = json::parse(json_run.output);
  CHECK(doc["task"] == "joint_recall");
  CHECK(doc["labelled"] == 72);
  CHECK(doc["accuracy"].get<double>() == Approx(71.0 / 72.0));
  CHECK(doc["exact_match"].get<double>() == Approx(8.0 / 9.0));

  auto wrong_seed = run_seqbench("score --task joint_recall --params-json '" + params.dump() +
                                 "' --seed 5 --format json --predictions " + perfect);
  REQUIRE(wrong_seed.exit_code == 0);
  CHECK(json::parse(wrong_seed.output)["exact_match"].get<double>() < 0.5);

  auto short_file = run_seqbench("score " + common + " --predictions " +
                                 dir.write("short.jsonl", "{\"id\":\"test-0\",\"predictions\":[1]}\n"));
  CHECK(short_file.exit_code == 2);
  CHECK_THAT(short_file.output, Contains("short.jsonl:1") && Contains("expected seq_len 64"));
  auto missing = run_seqbench("score " + common + " --predictions " + dir.file("absent.jsonl"));
  CHECK(missing.exit_code == 2);
  CHECK_THAT(missing.output, Contains("absent.jsonl"));
}
