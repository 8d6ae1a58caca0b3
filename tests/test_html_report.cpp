#include <catch2/catch.hpp>

#include <cstdlib>
#include <fstream>
#include <regex>
#include <set>

#include "harness/results_store.h"
#include "harness/timing_stats.h"
#include "reports/html_report.h"
#include "reports/svg_plot.h"
#include "tests/cli_harness.h"
#include "tests/results_store_fixtures.h"

using namespace seqbench;
using Catch::Matchers::Contains;

namespace {

size_t count_of(const std::string& text, const std::string& needle) {
  size_t n = 0;
  for (size_t p = text.find(needle); p != std::string::npos; p = text.find(needle, p + 1)) ++n;
  return n;
}

LeaderboardRow row(const std::string& backend, int d_model, int64_t state_bytes, double accuracy, double ms_per_token) {
  LeaderboardRow r;
  r.backend = backend;
  r.task = "mqar";
  r.task_params = "num_kv_pairs=8";
  r.params = {{"task_params", {{"num_kv_pairs", 8}}}};
  r.d_model = d_model;
  r.layers = 2;
  r.state_bytes = state_bytes;
  r.status = "ok";
  r.metrics["accuracy"] = accuracy;
  for (int len : {64, 128, 256, 512, 1024}) {
    r.metrics["prefill_ms@len" + std::to_string(len)] = ms_per_token * len;
    r.metrics["peak_mem_bytes@prefill" + std::to_string(len)] = 1e5 + 100.0 * len;
    r.metrics["state_bytes@len" + std::to_string(len)] = backend == "softmax" ? 512.0 * len : 4096.0;
  }
  return r;
}

Leaderboard sample_board() {
  Leaderboard board;
  board.run.id = 4;
  board.run.info.suite = "frontier <&>";
  board.run.info.environment_json = R"({"compiler":"g++ 12","cpu_model":"test cpu"})";
  board.rows = {row("softmax", 64, 65536, 0.99, 0.01), row("softmax", 128, 131072, 1.0, 0.02),
                row("linear", 64, 4096, 0.6, 0.004), row("linear", 128, 16384, 0.8, 0.006)};
  return board;
}

// True when the page references nothing outside itself (the SVG namespace is a name, not a fetch).
bool self_contained(const std::string& html) {
  std::string stripped = std::regex_replace(html, std::regex(R"(xmlns="http://www\.w3\.org/2000/svg")"), "");
  return stripped.find("http") == std::string::npos && stripped.find("<script") == std::string::npos &&
         stripped.find("src=") == std::string::npos && stripped.find("<link") == std::string::npos;
}

std::string find_chromium() {
  for (const char* name : {"chromium", "chromium-browser", "google-chrome"}) {
    const std::string probe = std::string("command -v ") + name + " >/dev/null 2>&1";
    if (std::system(probe.c_str()) == 0) return name;
  }
  return "";
}

}  // namespace

TEST_CASE("an SVG plot draws every series with axes, ticks and an escaped legend") {
  PlotSpec spec;
  spec.title = "latency <by> length";
  spec.x_label = "tokens";
  spec.y_label = "ms";
  spec.log_x = spec.log_y = true;
  spec.series = {{"softmax & co", {{64, 0.5}, {128, 1.1}, {256, 2.3}}}, {"linear", {{64, 0.4}, {256, 1.0}, {0, 3}}}};
  const std::string svg = render_svg_plot(spec);
  CHECK_THAT(svg, Contains("<svg") && Contains("</svg>") && Contains("latency &lt;by&gt; length") &&
                      Contains("softmax &amp; co"));
  CHECK(count_of(svg, "<polyline") == 2);
  // Five points (x = 0 is not on a log axis) and two legend markers: circles for the first series,
  // squares (with tooltips on the points) for the second.
  CHECK(count_of(svg, "<circle") == 3 + 1);
  CHECK(count_of(svg, "</rect>") == 2);
  CHECK_THAT(svg, Contains(">64<") && Contains(">256<"));  // powers-of-two ticks for a narrow range
}

TEST_CASE("no two of the first fifty series share a colour and marker, and neighbours differ in both") {
  std::set<std::pair<std::string, int>> seen;
  for (size_t i = 0; i < series_styles(); ++i) {
    const SeriesStyle style = series_style(i);
    CHECK(seen.insert({style.colour, style.marker}).second);
    if (i == 0) continue;
    const SeriesStyle previous = series_style(i - 1);
    CHECK(std::string(previous.colour) != style.colour);
    CHECK(previous.marker != style.marker);
  }
  CHECK(series_styles() == 50);
}

TEST_CASE("a legend shows every label whole and fits inside the SVG however many series there are") {
  PlotSpec spec;
  spec.log_x = true;
  const std::string long_label = "gla(decay=channel,normalize_output=true,output_gate=true) d=128 L=4";
  for (int i = 0; i < 30; ++i)
    spec.series.push_back({i == 7 ? long_label : "series " + std::to_string(i), {{64.0, 1.0 + i}, {128.0, 2.0 + i}}});
  const std::string svg = render_svg_plot(spec);
  CHECK_THAT(svg, Contains(">" + xml_escape(long_label) + "</text>"));
  std::smatch size;
  REQUIRE(std::regex_search(svg, size, std::regex(R"re(width="(\d+)" height="(\d+)")re")));
  const double width = std::stod(size[1]), height = std::stod(size[2]);
  // Every legend label's baseline is inside the SVG, and the longest label's estimated extent too.
  const std::regex label(R"re(<text x="([0-9.]+)" y="([0-9.]+)">([^<]*)</text>)re");
  int labels = 0;
  for (auto it = std::sregex_iterator(svg.begin(), svg.end(), label); it != std::sregex_iterator(); ++it) {
    const double x = std::stod((*it)[1]), y = std::stod((*it)[2]);
    CHECK(y < height);
    CHECK(x + 6.5 * static_cast<double>((*it)[3].length()) <= width);
    ++labels;
  }
  CHECK(labels >= 30);
}

TEST_CASE("an accuracy axis spans 0 to 1 whatever the accuracies are") {
  Leaderboard board = sample_board();
  for (auto& r : board.rows) r.metrics["accuracy"] *= 0.8;  // 0.48 .. 0.8: an axis fitted to the data stops short of 1
  const std::string html = render_html_report(board);
  const std::string frontier = html.substr(html.find("Accuracy vs state size"));
  const std::string plot = frontier.substr(0, frontier.find("</svg>"));
  CHECK_THAT(plot, Contains(">0</text>") && Contains(">1</text>"));
  CHECK_THAT(plot, !Contains(">1.2</text>"));
}

TEST_CASE("a plot with nothing drawable is left out") {
  PlotSpec spec;
  CHECK(render_svg_plot(spec).empty());
  spec.log_y = true;
  spec.series = {{"zeros", {{1, 0}, {2, -1}}}};
  CHECK(render_svg_plot(spec).empty());
}

TEST_CASE("byte ticks read as KiB and MiB") {
  PlotSpec spec;
  spec.log_x = true;
  spec.x_format = TickFormat::bytes;
  spec.series = {{"s", {{1024, 1}, {4 * 1048576.0, 2}}}};
  const std::string svg = render_svg_plot(spec);
  CHECK_THAT(svg, Contains("KiB") && Contains("MiB"));
}

TEST_CASE("the HTML report is one self-contained page with the leaderboard and the plots") {
  const std::string html = render_html_report(sample_board());
  CHECK_THAT(html, Contains("<!DOCTYPE html>") && Contains("<table id=\"leaderboard\">") &&
                       Contains("frontier &lt;&amp;&gt;") && Contains("test cpu"));
  CHECK(count_of(html, "<svg") == 5);  // frontier, width, prefill latency, peak memory, decode state
  CHECK_THAT(html, Contains("Accuracy vs state size") && Contains("Accuracy vs model width") && Contains("Prefill latency") &&
                       Contains("Peak memory during prefill") && Contains("Decode state"));
  CHECK(self_contained(html));
  CHECK(count_of(html, "<tr><td>") == 4);  // one leaderboard row per cell
  // Units in the headers; rows best accuracy first.
  CHECK_THAT(html, Contains("<th>accuracy (fraction)</th>") && Contains("<th>state (bytes)</th>"));
  const std::string table = html.substr(html.find("<table id=\"leaderboard\">"));
  CHECK(table.find(">1.000<") < table.find(">0.990<"));
  CHECK(table.find(">0.990<") < table.find(">0.800<"));
  CHECK(table.find(">0.800<") < table.find(">0.600<"));
}

TEST_CASE("the HTML report without accuracy or profile metrics notes the missing plots") {
  Leaderboard board = sample_board();
  for (auto& r : board.rows) r.metrics.clear();
  const std::string html = render_html_report(board);
  CHECK(count_of(html, "<svg") == 0);
  CHECK_THAT(html, Contains("no Accuracy vs state size plot") && Contains("no prefill_ms@len"));
}

TEST_CASE("seqbench report --format html writes the page for a stored run") {
  testing::TempDir dir;
  const std::string db = dir.file("r.db");
  CellRecord cell;
  cell.backend = "softmax";
  cell.task = "mqar";
  cell.params_json = R"({"task_params": {"num_kv_pairs": 4}})";
  cell.d_model = 32;
  cell.state_bytes = 8192;
  store_fixtures::write_one_cell_run(db, cell,
                                     {make_metric("accuracy", {0.75}), make_metric("prefill_ms@len64", {1.0, 1.1, 0.9}),
                                      make_metric("prefill_ms@len128", {2.0, 2.1, 1.9})});
  const std::string page = dir.file("report.html");
  auto r = testing::run_seqbench("report --db " + db + " --format html -o " + page);
  INFO(r.output);
  REQUIRE(r.exit_code == 0);
  std::ifstream in(page);
  const std::string html((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  CHECK(count_of(html, "<svg") == 3);  // accuracy vs state size and vs width, prefill latency
  CHECK(self_contained(html));

  // A headless browser loads it and finds the table and the plots in the DOM (skipped when no
  // Chromium is installed: ci/install-deps.sh --with-browser adds it).
  const std::string chromium = find_chromium();
  if (chromium.empty()) {
    WARN("SKIPPED: no chromium on PATH; the page was checked as text only");
    return;
  }
  const std::string dom_file = dir.file("dom.html");
  const std::string command = "timeout 60 " + chromium +
                              " --headless --no-sandbox --disable-gpu --no-first-run --disable-background-networking"
                              " --disable-component-update --disable-sync --user-data-dir='" + dir.file("profile") +
                              "' --dump-dom 'file://" + page + "' > '" + dom_file + "' 2>/dev/null";
  REQUIRE(std::system(command.c_str()) == 0);
  std::ifstream dom_in(dom_file);
  const std::string dom((std::istreambuf_iterator<char>(dom_in)), std::istreambuf_iterator<char>());
  CHECK_THAT(dom, Contains("<table id=\"leaderboard\">") && Contains("Prefill latency"));
  CHECK(count_of(dom, "<svg") == 3);
  CHECK(count_of(dom, "<circle") >= 2);
}
