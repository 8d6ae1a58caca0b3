// Line and scatter plots written directly as SVG text (no plotting dependency): linear or log
// axes with readable ticks, a legend. Every series gets its own colour and marker pair (ten
// colours times five markers: fifty series before a pair repeats; neighbours differ in both, so
// colour-blind readers can tell them apart), and the legend is sized to its longest label and
// its number of entries, never cut. Used by the HTML report.
#pragma once
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace seqbench {

enum class TickFormat { number, bytes };

struct PlotSeries {
  std::string label;
  std::vector<std::pair<double, double>> points;  // (x, y)
};

struct PlotSpec {
  std::string title, x_label, y_label;
  bool log_x = false, log_y = false;
  bool connect = true;  // join each series' points in x order
  TickFormat x_format = TickFormat::number, y_format = TickFormat::number;
  std::optional<std::pair<double, double>> y_range;  // fixed y axis span (linear axes), e.g. {0, 1}
  int width = 680, height = 380;  // of the plot area with its axes; the legend widens the SVG
  std::vector<PlotSeries> series;
};

// The <svg> element, or "" when no point can be drawn (none given, or none positive on a log
// axis): callers skip the plot instead of drawing empty axes.
std::string render_svg_plot(const PlotSpec& spec);

// The colour and marker of series `index`: distinct pairs for the first series_styles() series.
struct SeriesStyle {
  const char* colour;
  int marker;  // 0 circle, 1 square, 2 triangle, 3 diamond, 4 inverted triangle
};
SeriesStyle series_style(size_t index);
size_t series_styles();

// Escapes &, <, >, " and ' for HTML and SVG text and attributes.
std::string xml_escape(const std::string& text);

}  // namespace seqbench
