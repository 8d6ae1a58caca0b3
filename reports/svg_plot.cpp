#include "reports/svg_plot.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <sstream>

namespace seqbench {
namespace {

// Okabe & Ito's colour-blind-safe palette (2008) without its pale yellow, which vanishes on
// white, then a few more distinct hues.
const char* kColours[] = {"#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00",
                          "#56B4E9", "#000000", "#6A3D9A", "#8C564B", "#7F7F7F"};
constexpr size_t kColourCount = sizeof(kColours) / sizeof(kColours[0]);
constexpr size_t kMarkerCount = 5;
constexpr int kLeft = 78, kTop = 34, kBottom = 52;
constexpr int kLegendGap = 14, kLegendRow = 16;
// Average advance of an 11 px sans-serif character; generous, so a label is never clipped.
constexpr double kCharWidth = 7.0;

std::string number_text(double v) {
  char buffer[32];
  std::snprintf(buffer, sizeof(buffer), "%.4g", v);
  return buffer;
}

std::string bytes_text(double v) {
  const char* units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
  int u = 0;
  while (std::abs(v) >= 1024 && u < 4) {
    v /= 1024;
    ++u;
  }
  char buffer[32];
  std::snprintf(buffer, sizeof(buffer), v == std::floor(v) ? "%.0f %s" : "%.3g %s", v, units[u]);
  return buffer;
}

std::string tick_text(double v, TickFormat format) { return format == TickFormat::bytes ? bytes_text(v) : number_text(v); }

// One axis: maps data values to [0, 1] in (log or linear) axis space and lists its ticks.
struct Axis {
  bool log = false;
  double lo = 0, hi = 1;  // axis space (log10 of the value on a log axis)
  std::vector<double> ticks;  // data values

  double fraction(double v) const {
    const double a = log ? std::log10(v) : v;
    return (a - lo) / (hi - lo);
  }
};

Axis linear_axis(double min, double max) {
  Axis axis;
  if (min == max) {
    const double pad = min == 0 ? 1 : std::abs(min) * 0.1;
    min -= pad;
    max += pad;
  }
  const double raw = (max - min) / 5;
  const double magnitude = std::pow(10, std::floor(std::log10(raw)));
  const double norm = raw / magnitude;
  const double step = (norm < 1.5 ? 1 : norm < 3 ? 2 : norm < 7 ? 5 : 10) * magnitude;
  axis.lo = std::floor(min / step) * step;
  axis.hi = std::ceil(max / step) * step;
  for (double t = axis.lo; t <= axis.hi + step * 1e-9; t += step) axis.ticks.push_back(std::abs(t) < step * 1e-9 ? 0 : t);
  return axis;
}

// Powers of two across a narrow range (sequence lengths 64..4096 read best so), powers of ten
// across a wide one; every k-th power so that at most eight ticks appear.
Axis log_axis(double min, double max) {
  Axis axis;
  axis.log = true;
  double lo = std::log10(min), hi = std::log10(max);
  if (hi - lo < 0.3) {
    lo -= 0.15;
    hi += 0.15;
  }
  const double pad = 0.04 * (hi - lo);
  axis.lo = lo - pad;
  axis.hi = hi + pad;
  const double base = hi - lo <= 4 ? 2 : 10;
  const double per_decade = std::log10(base);
  const auto first = static_cast<int64_t>(std::ceil(axis.lo / per_decade - 1e-9));
  const auto last = static_cast<int64_t>(std::floor(axis.hi / per_decade + 1e-9));
  const int64_t stride = std::max<int64_t>(1, (last - first + 8) / 8);
  for (int64_t e = first; e <= last; ++e)
    if (e % stride == 0) axis.ticks.push_back(std::pow(base, static_cast<double>(e)));
  return axis;
}

// A marker of the given shape centred at (x, y), with an optional tooltip.
std::string marker_svg(int marker, double x, double y, double r, const char* colour, const std::string& title) {
  std::ostringstream m;
  m.precision(5);
  const std::string tail = title.empty() ? "\"/>" : "\"><title>" + xml_escape(title) + "</title></polygon>";
  switch (marker) {
    case 0:
      m << "<circle cx=\"" << x << "\" cy=\"" << y << "\" r=\"" << r << "\" fill=\"" << colour
        << (title.empty() ? "\"/>" : "\"><title>" + xml_escape(title) + "</title></circle>");
      return m.str();
    case 1:
      m << "<rect x=\"" << x - r << "\" y=\"" << y - r << "\" width=\"" << 2 * r << "\" height=\"" << 2 * r
        << "\" fill=\"" << colour << (title.empty() ? "\"/>" : "\"><title>" + xml_escape(title) + "</title></rect>");
      return m.str();
    case 2:
      m << "<polygon points=\"" << x << "," << y - 1.3 * r << " " << x + 1.2 * r << "," << y + r << " " << x - 1.2 * r
        << "," << y + r << "\" fill=\"" << colour << tail;
      return m.str();
    case 3:
      m << "<polygon points=\"" << x << "," << y - 1.4 * r << " " << x + 1.4 * r << "," << y << " " << x << ","
        << y + 1.4 * r << " " << x - 1.4 * r << "," << y << "\" fill=\"" << colour << tail;
      return m.str();
    default:
      m << "<polygon points=\"" << x << "," << y + 1.3 * r << " " << x + 1.2 * r << "," << y - r << " " << x - 1.2 * r
        << "," << y - r << "\" fill=\"" << colour << tail;
      return m.str();
  }
}

bool drawable(const PlotSpec& spec, const std::pair<double, double>& p) {
  return std::isfinite(p.first) && std::isfinite(p.second) && (!spec.log_x || p.first > 0) &&
         (!spec.log_y || p.second > 0);
}

}  // namespace

SeriesStyle series_style(size_t index) {
  // Series i and i + 10 share a colour, so their markers differ; neighbours differ in both.
  const size_t colour = index % kColourCount;
  const size_t marker = (index % kMarkerCount + index / kColourCount) % kMarkerCount;
  return {kColours[colour], static_cast<int>(marker)};
}

size_t series_styles() { return kColourCount * kMarkerCount; }

std::string xml_escape(const std::string& text) {
  std::string out;
  for (char c : text) {
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&quot;";
        break;
      case '\'':
        out += "&#39;";
        break;
      default:
        out += c;
    }
  }
  return out;
}

std::string render_svg_plot(const PlotSpec& spec) {
  double x_min = INFINITY, x_max = -INFINITY, y_min = INFINITY, y_max = -INFINITY;
  for (const auto& s : spec.series)
    for (const auto& p : s.points)
      if (drawable(spec, p)) {
        x_min = std::min(x_min, p.first);
        x_max = std::max(x_max, p.first);
        y_min = std::min(y_min, p.second);
        y_max = std::max(y_max, p.second);
      }
  if (!(x_min <= x_max)) return "";
  const Axis x = spec.log_x ? log_axis(x_min, x_max) : linear_axis(x_min, x_max);
  const Axis y = spec.log_y    ? log_axis(y_min, y_max)
                 : spec.y_range ? linear_axis(std::min(spec.y_range->first, y_min), std::max(spec.y_range->second, y_max))
                                : linear_axis(std::min(0.0, y_min), y_max);
  // The plot area keeps its size; the SVG grows to fit the legend's longest label and its rows.
  size_t legend_entries = 0, longest_label = 0;
  for (const auto& s : spec.series) {
    if (std::none_of(s.points.begin(), s.points.end(), [&](const auto& p) { return drawable(spec, p); })) continue;
    ++legend_entries;
    longest_label = std::max(longest_label, s.label.size());
  }
  const double plot_w = spec.width - kLeft - 20, plot_h = spec.height - kTop - kBottom;
  const int w = static_cast<int>(kLeft + plot_w + 2 * kLegendGap + kCharWidth * static_cast<double>(longest_label) + 10);
  const int h = std::max(spec.height, kTop + 8 + kLegendRow * static_cast<int>(legend_entries) + 8);
  auto px = [&](double v) { return kLeft + plot_w * x.fraction(v); };
  auto py = [&](double v) { return kTop + plot_h * (1 - y.fraction(v)); };

  std::ostringstream svg;
  svg.precision(5);
  svg << "<svg xmlns=\"http://www.w3.org/2000/svg\" class=\"plot\" width=\"" << w << "\" height=\"" << h
      << "\" viewBox=\"0 0 " << w << " " << h << "\" role=\"img\" font-family=\"sans-serif\" font-size=\"11\">\n"
      << "<title>" << xml_escape(spec.title) << "</title>\n"
      << "<rect width=\"" << w << "\" height=\"" << h << "\" fill=\"#ffffff\"/>\n"
      << "<text x=\"" << kLeft << "\" y=\"20\" font-size=\"13\" font-weight=\"bold\">" << xml_escape(spec.title)
      << "</text>\n";
  for (double t : x.ticks) {
    const double at = px(t);
    svg << "<line x1=\"" << at << "\" y1=\"" << kTop << "\" x2=\"" << at << "\" y2=\"" << kTop + plot_h
        << "\" stroke=\"#e3e3e3\"/><text x=\"" << at << "\" y=\"" << kTop + plot_h + 15
        << "\" text-anchor=\"middle\">" << xml_escape(tick_text(t, spec.x_format)) << "</text>\n";
  }
  for (double t : y.ticks) {
    const double at = py(t);
    svg << "<line x1=\"" << kLeft << "\" y1=\"" << at << "\" x2=\"" << kLeft + plot_w << "\" y2=\"" << at
        << "\" stroke=\"#e3e3e3\"/><text x=\"" << kLeft - 6 << "\" y=\"" << at + 4 << "\" text-anchor=\"end\">"
        << xml_escape(tick_text(t, spec.y_format)) << "</text>\n";
  }
  svg << "<rect x=\"" << kLeft << "\" y=\"" << kTop << "\" width=\"" << plot_w << "\" height=\"" << plot_h
      << "\" fill=\"none\" stroke=\"#444444\"/>\n"
      << "<text x=\"" << kLeft + plot_w / 2 << "\" y=\"" << h - 12 << "\" text-anchor=\"middle\">"
      << xml_escape(spec.x_label + (spec.log_x ? " (log)" : "")) << "</text>\n"
      << "<text transform=\"translate(16," << kTop + plot_h / 2 << ") rotate(-90)\" text-anchor=\"middle\">"
      << xml_escape(spec.y_label + (spec.log_y ? " (log)" : "")) << "</text>\n";

  size_t index = 0;
  for (const auto& s : spec.series) {
    std::vector<std::pair<double, double>> points;
    for (const auto& p : s.points)
      if (drawable(spec, p)) points.push_back(p);
    if (points.empty()) continue;
    const SeriesStyle style = series_style(index);
    std::sort(points.begin(), points.end());
    if (spec.connect && points.size() > 1) {
      svg << "<polyline fill=\"none\" stroke=\"" << style.colour << "\" stroke-width=\"1.8\" points=\"";
      for (const auto& p : points) svg << px(p.first) << "," << py(p.second) << " ";
      svg << "\"/>\n";
    }
    for (const auto& p : points)
      svg << marker_svg(style.marker, px(p.first), py(p.second), 3.5, style.colour,
                        s.label + ": " + tick_text(p.first, spec.x_format) + ", " + tick_text(p.second, spec.y_format))
          << "\n";
    const double legend_y = kTop + 8 + kLegendRow * static_cast<double>(index);
    svg << marker_svg(style.marker, kLeft + plot_w + kLegendGap, legend_y, 4, style.colour, "")
        << "<text x=\"" << kLeft + plot_w + kLegendGap + 10 << "\" y=\"" << legend_y + 4 << "\">" << xml_escape(s.label)
        << "</text>\n";
    ++index;
  }
  svg << "</svg>\n";
  return svg.str();
}

}  // namespace seqbench
