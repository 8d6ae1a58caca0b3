// Line and scatter plots written directly as SVG text (no plotting dependency): linear or log
// axes with readable ticks, one colour per series, a legend. Used by the HTML report.
#pragma once
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
  int width = 680, height = 380;
  std::vector<PlotSeries> series;
};

// The <svg> element, or "" when no point can be drawn (none given, or none positive on a log
// axis): callers skip the plot instead of drawing empty axes.
std::string render_svg_plot(const PlotSpec& spec);

// Escapes &, <, >, " and ' for HTML and SVG text and attributes.
std::string xml_escape(const std::string& text);

}  // namespace seqbench
